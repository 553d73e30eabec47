//! Which due rows go out together (`settings.group_window`): a DOWN or
//! RECOVERED waits until it is as old as the window, so the others produced
//! with it can join; then the rows of one kind go as one grouped
//! notification (up to [`MAX_GROUP`]), a row alone as itself. Reminders
//! never wait, and neither does a row already tried once (its group's retry).
//!
//! Pure: due rows and a time in, the deliveries to start out.

use crate::alert::group::MAX_GROUP;
use crate::notification::NotificationKind;
use crate::state::store::Delivery;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// `due` (oldest first) as the deliveries to start at `now`: each one row,
/// or with `window` the rows of a kind together; rows younger than the
/// window stay out, unless `flush` (at shutdown everything goes).
pub fn batches(
    due: Vec<Delivery>,
    now: DateTime<Utc>,
    window: Option<Duration>,
    flush: bool,
) -> Vec<Vec<Delivery>> {
    let Some(window) = window else {
        return due.into_iter().map(|d| vec![d]).collect();
    };
    let window = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
    let mut out: Vec<Vec<Delivery>> = Vec::new();
    let mut downs: Vec<Delivery> = Vec::new();
    let mut recoveries: Vec<Delivery> = Vec::new();
    for d in due {
        let kind = d.notification.kind;
        let gathering = !flush && d.attempts == 0 && now - d.created_at < window;
        match kind {
            NotificationKind::Reminder => out.push(vec![d]),
            _ if gathering => {}
            NotificationKind::Down => downs.push(d),
            NotificationKind::Recovered => recoveries.push(d),
        }
    }
    for rows in [downs, recoveries] {
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            out.push(rows.by_ref().take(MAX_GROUP).collect());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::sample;

    fn row(id: i64, kind: NotificationKind, age_secs: i64, attempts: u32) -> Delivery {
        let now = DateTime::from_timestamp(1_900_000_000, 0).unwrap();
        let mut notification = sample::notification(kind);
        notification.monitor = format!("m{id}");
        Delivery {
            id,
            channel: "chat".into(),
            notification,
            attempts,
            last_error: None,
            created_at: now - chrono::Duration::seconds(age_secs),
            durable: true,
        }
    }

    fn ids(batches: &[Vec<Delivery>]) -> Vec<Vec<i64>> {
        batches
            .iter()
            .map(|b| b.iter().map(|d| d.id).collect())
            .collect()
    }

    const NOW: i64 = 1_900_000_000;
    const WINDOW: Option<Duration> = Some(Duration::from_secs(30));

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(NOW, 0).unwrap()
    }

    #[test]
    fn without_a_window_every_row_goes_alone() {
        let due = vec![
            row(1, NotificationKind::Down, 0, 0),
            row(2, NotificationKind::Down, 0, 0),
        ];
        assert_eq!(ids(&batches(due, now(), None, false)), [vec![1], vec![2]]);
    }

    #[test]
    fn rows_of_a_kind_go_together_once_the_window_has_passed() {
        let due = vec![
            row(1, NotificationKind::Down, 31, 0),
            row(2, NotificationKind::Recovered, 40, 0),
            row(3, NotificationKind::Down, 30, 0),
            row(4, NotificationKind::Reminder, 0, 0),
            row(5, NotificationKind::Down, 5, 0),
            row(6, NotificationKind::Down, 2, 3),
        ];
        // 5 is still gathering; 6 is a group's retry; 4 never waits.
        assert_eq!(
            ids(&batches(due, now(), WINDOW, false)),
            [vec![4], vec![1, 3, 6], vec![2]]
        );
    }

    #[test]
    fn at_shutdown_nothing_waits_and_a_large_group_is_cut_in_parts() {
        let due: Vec<Delivery> = (0..MAX_GROUP as i64 + 3)
            .map(|id| row(id, NotificationKind::Down, 0, 0))
            .collect();
        let out = batches(due, now(), WINDOW, true);
        let sizes: Vec<usize> = out.iter().map(Vec::len).collect();
        assert_eq!(sizes, [MAX_GROUP, 3]);
    }
}
