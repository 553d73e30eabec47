//! What `GET /` shows and in which order, decided from the in-memory state
//! of every monitor (no store read): the status of each, the counts per
//! status for the summary, failing monitors first, and which slice of the
//! failing cards and of the compact list of the others a `?page=N` holds.
//! Only the failing monitors on the requested page cost a history read, so a
//! render stays small whatever the number of monitors.

use crate::config::Monitor;
use crate::state::machine::{Health, MonitorState};
use serde::Serialize;

/// At most this many monitors, every one gets a full card (and no paging).
pub const ALL_CARDS_UP_TO: usize = 25;
/// Failing monitors shown as full cards per page, above that.
pub const CARDS_PER_PAGE: usize = 25;
/// Passing and pending monitors listed per page, above that.
pub const ROWS_PER_PAGE: usize = 200;

/// What a monitor is, as the page words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Failing: the failure threshold was reached.
    Down,
    /// The last run failed, not yet down.
    Degraded,
    /// No run yet.
    Pending,
    /// Passing.
    Up,
}

impl Status {
    /// From the state machine's view: its health and its streaks.
    pub fn of(state: &MonitorState) -> Status {
        match state.health {
            Health::Down => Status::Down,
            _ if state.consecutive_failures > 0 => Status::Degraded,
            Health::Unknown if state.consecutive_successes == 0 => Status::Pending,
            _ => Status::Up,
        }
    }

    /// The CSS class and the word in the summary.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Down => "down",
            Status::Degraded => "degraded",
            Status::Pending => "pending",
            Status::Up => "up",
        }
    }

    /// The label of its pill.
    pub fn label(self) -> &'static str {
        match self {
            Status::Down => "Down",
            Status::Degraded => "Degraded",
            Status::Pending => "No data yet",
            Status::Up => "Up",
        }
    }

    /// Shown as a full card with its cause, even on a page of thousands.
    pub fn is_failing(self) -> bool {
        matches!(self, Status::Down | Status::Degraded)
    }
}

/// How many monitors are in each status.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Down.
    pub down: usize,
    /// Degraded.
    pub degraded: usize,
    /// No data yet.
    pub pending: usize,
    /// Up.
    pub up: usize,
}

impl Counts {
    /// All monitors.
    pub fn total(&self) -> usize {
        self.down + self.degraded + self.pending + self.up
    }

    fn add(&mut self, s: Status) {
        match s {
            Status::Down => self.down += 1,
            Status::Degraded => self.degraded += 1,
            Status::Pending => self.pending += 1,
            Status::Up => self.up += 1,
        }
    }
}

/// One monitor with its state, as listed.
#[derive(Debug)]
pub struct Entry<'a> {
    /// As configured.
    pub monitor: &'a Monitor,
    /// The state machine's view, as of the listing.
    pub state: MonitorState,
    /// Its status, from `state`.
    pub status: Status,
}

/// One page of the index.
#[derive(Debug)]
pub struct Listing<'a> {
    /// Every monitor, per status.
    pub counts: Counts,
    /// Shown as full cards: failing first (down, then degraded), then, on a
    /// small installation, every other monitor.
    pub cards: Vec<Entry<'a>>,
    /// Shown as one compact line each (large installations only).
    pub rows: Vec<Entry<'a>>,
    /// 1-based page number.
    pub page: usize,
    /// Pages in all (at least 1).
    pub pages: usize,
}

/// Page `page` (1-based) of `monitors` with their states; `None` when there
/// is no such page.
pub fn listing<'a>(
    monitors: &'a [Monitor],
    state: impl Fn(&str) -> MonitorState,
    page: usize,
) -> Option<Listing<'a>> {
    let mut counts = Counts::default();
    let mut all: Vec<Entry> = monitors
        .iter()
        .map(|monitor| {
            let state = state(&monitor.name);
            let status = Status::of(&state);
            counts.add(status);
            Entry {
                monitor,
                state,
                status,
            }
        })
        .collect();
    // Stable: within a status, config order.
    all.sort_by_key(|e| e.status);
    if all.len() <= ALL_CARDS_UP_TO {
        return (page == 1).then_some(Listing {
            counts,
            cards: all,
            rows: Vec::new(),
            page: 1,
            pages: 1,
        });
    }
    let failing = all.iter().take_while(|e| e.status.is_failing()).count();
    let others = all.split_off(failing);
    let pages = failing
        .div_ceil(CARDS_PER_PAGE)
        .max(others.len().div_ceil(ROWS_PER_PAGE))
        .max(1);
    if page == 0 || page > pages {
        return None;
    }
    Some(Listing {
        counts,
        cards: nth_page(all, page, CARDS_PER_PAGE),
        rows: nth_page(others, page, ROWS_PER_PAGE),
        page,
        pages,
    })
}

/// Items of 1-based page `page`, `per` to a page (empty past the end).
fn nth_page<T>(items: Vec<T>, page: usize, per: usize) -> Vec<T> {
    items.into_iter().skip((page - 1) * per).take(per).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// `n` monitors named m0, m1, …
    fn monitors(n: usize) -> Vec<Monitor> {
        let mut yaml = String::from("monitors:\n");
        for i in 0..n {
            yaml.push_str(&format!(
                "  - {{ name: m{i}, url: \"ws://127.0.0.1:9/{i}\" }}\n"
            ));
        }
        crate::config::load_str(&yaml, Path::new("m.yaml"), &|_| None)
            .expect("valid")
            .monitors
    }

    /// m3 and every 7th from m100 down, m5 degraded, m1 pending, the rest up.
    fn state_of(name: &str) -> MonitorState {
        let i: usize = name[1..].parse().unwrap();
        let (health, failures, successes) = match i {
            3 => (Health::Down, 3, 0),
            _ if i >= 100 && i.is_multiple_of(7) => (Health::Down, 3, 0),
            5 => (Health::Up, 1, 0),
            1 => (Health::Unknown, 0, 0),
            _ => (Health::Up, 0, 4),
        };
        MonitorState {
            health,
            consecutive_failures: failures,
            consecutive_successes: successes,
            ..MonitorState::default()
        }
    }

    fn names(entries: &[Entry]) -> Vec<String> {
        entries.iter().map(|e| e.monitor.name.clone()).collect()
    }

    #[test]
    fn status_comes_from_health_and_streaks() {
        let names = ["m3", "m5", "m1", "m2"];
        let got: Vec<Status> = names.iter().map(|n| Status::of(&state_of(n))).collect();
        assert_eq!(
            got,
            [Status::Down, Status::Degraded, Status::Pending, Status::Up]
        );
    }

    #[test]
    fn a_small_installation_shows_every_card_failing_first_in_config_order() {
        let all = monitors(8);
        let l = listing(&all, state_of, 1).unwrap();
        assert_eq!(
            names(&l.cards),
            ["m3", "m5", "m1", "m0", "m2", "m4", "m6", "m7"]
        );
        assert!(l.rows.is_empty());
        assert_eq!((l.page, l.pages), (1, 1));
        assert!(listing(&all, state_of, 2).is_none());
    }

    #[test]
    fn a_large_installation_pages_failing_cards_and_the_compact_list() {
        let all = monitors(1000);
        let down: Vec<String> = std::iter::once("m3".to_string())
            .chain(
                (100..1000usize)
                    .filter(|i| i.is_multiple_of(7))
                    .map(|i| format!("m{i}")),
            )
            .collect();
        let first = listing(&all, state_of, 1).unwrap();
        assert_eq!(
            first.counts,
            Counts {
                down: down.len(),
                degraded: 1,
                pending: 1,
                up: 1000 - down.len() - 2
            }
        );
        assert_eq!(names(&first.cards), down[..CARDS_PER_PAGE]);
        assert_eq!(first.rows.len(), ROWS_PER_PAGE);
        assert_eq!(names(&first.rows[..3]), ["m1", "m0", "m2"]);
        // 129 down + 1 degraded: 6 pages of cards; 870 others: 5 pages of rows.
        assert_eq!(down.len(), 129);
        assert_eq!(first.pages, 6);
        let last = listing(&all, state_of, 6).unwrap();
        assert_eq!(
            names(&last.cards),
            ["m973", "m980", "m987", "m994", "m5"],
            "degraded after every down"
        );
        assert!(last.rows.is_empty());
        let mut seen: Vec<String> = (1..=first.pages)
            .flat_map(|p| {
                let l = listing(&all, state_of, p).unwrap();
                names(&l.cards).into_iter().chain(names(&l.rows))
            })
            .collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 1000, "every monitor on exactly one page");
        assert!(listing(&all, state_of, 0).is_none());
        assert!(listing(&all, state_of, first.pages + 1).is_none());
    }
}
