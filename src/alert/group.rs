//! Grouping (`settings.group_window`): when many monitors go down (or
//! recover) within the window, a channel that talks to people gets one
//! notification listing them, each with its class, instead of an alert
//! storm. The per-monitor incidents stay underneath: each member keeps its
//! incident id, and channels that track incidents themselves (PagerDuty,
//! Opsgenie, Alertmanager) still get one event per incident, since only
//! that lets a RECOVERED resolve its page — those services group on their side.
//!
//! A group is one notification like any other, so every template renders
//! it: its monitor reads "20 monitors", its message lists them, and `group`
//! carries each member for templates and webhook receivers.

use crate::check::{Class, Phase};
use crate::notification::Notification;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most notifications in one group; more wait for the next.
pub const MAX_GROUP: usize = 50;

/// One monitor of a grouped notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupMember {
    /// Monitor name.
    pub monitor: String,
    /// The URL checked (credentials redacted).
    pub url: String,
    /// Its failure class (for a recovery: the outage's).
    pub class: Class,
    /// The phase that failed.
    pub phase: Option<Phase>,
    /// What went wrong, in one line.
    pub message: Option<String>,
    /// Its own incident's id.
    pub incident_id: String,
    /// Its page on the status page, when `settings.public_url` is set.
    pub link: Option<String>,
    /// Its first failed run.
    pub first_seen: DateTime<Utc>,
    /// Its outage, in seconds (recoveries).
    pub outage_secs: Option<u64>,
}

impl GroupMember {
    fn of(n: &Notification) -> GroupMember {
        GroupMember {
            monitor: n.monitor.clone(),
            url: n.url.clone(),
            class: n.class,
            phase: n.phase,
            message: n.message.clone(),
            incident_id: n.incident_id(),
            link: n.link.clone(),
            first_seen: n.first_seen,
            outage_secs: n.outage_secs,
        }
    }

    /// "api (timeout in upgrade)".
    fn describe(&self) -> String {
        match self.phase {
            Some(p) => format!("{} ({} in {p})", self.monitor, self.class),
            None => format!("{} ({})", self.monitor, self.class),
        }
    }
}

/// `notes` (two or more, of one kind) as one notification: "N monitors",
/// the class most of them show, every member listed in the message and in
/// `group`; the report is the first member's.
pub fn grouped(notes: &[&Notification]) -> Option<Notification> {
    let first = notes.first()?;
    let members: Vec<GroupMember> = notes.iter().map(|n| GroupMember::of(n)).collect();
    let count = |class: Class| notes.iter().filter(|n| n.class == class).count();
    let class = notes.iter().map(|n| n.class).max_by_key(|c| count(*c))?;
    let same_class = notes.iter().all(|n| n.class == class);
    let phase = notes
        .iter()
        .find(|n| n.class == class)
        .and_then(|n| n.phase);
    let mut classes_seen: Vec<Class> = Vec::new();
    for c in notes.iter().flat_map(|n| n.classes_seen.iter()) {
        if !classes_seen.contains(c) {
            classes_seen.push(*c);
        }
    }
    let listed: Vec<String> = members.iter().map(GroupMember::describe).collect();
    let message = format!(
        "{} monitors {} together: {}",
        notes.len(),
        match first.kind {
            crate::notification::NotificationKind::Recovered => "recovered",
            crate::notification::NotificationKind::Reminder => "are still down",
            crate::notification::NotificationKind::Down => "went down",
        },
        listed.join(", ")
    );
    Some(Notification {
        kind: first.kind,
        monitor: format!("{} monitors", notes.len()),
        url: String::new(),
        class,
        phase,
        message: Some(message),
        hint: first.hint.clone().filter(|_| same_class),
        first_seen: notes.iter().map(|n| n.first_seen).min()?,
        at: notes.iter().map(|n| n.at).max()?,
        outage_secs: notes.iter().filter_map(|n| n.outage_secs).max(),
        previous_class: None,
        failed_runs: notes.iter().map(|n| n.failed_runs).sum(),
        classes_seen,
        first_phase: phase,
        link: None,
        labels: common_labels(notes),
        in_maintenance: false,
        suppressed_by: None,
        round: None,
        group: members,
        report: first.report.clone(),
        report_text: format!(
            "{} — the first of them, {}:\n{}",
            listed.join(", "),
            first.monitor,
            first.report_text
        ),
    })
}

/// The labels every member has with the same value.
fn common_labels(notes: &[&Notification]) -> BTreeMap<String, String> {
    let Some((first, rest)) = notes.split_first() else {
        return BTreeMap::new();
    };
    first
        .labels
        .iter()
        .filter(|(k, v)| rest.iter().all(|n| n.labels.get(*k) == Some(*v)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::sample;
    use crate::notification::NotificationKind;

    fn down(monitor: &str, class: Class, team: &str) -> Notification {
        let mut n = sample::notification(NotificationKind::Down);
        n.monitor = monitor.into();
        n.class = class;
        n.phase = Some(Phase::Connect);
        n.classes_seen = vec![class];
        n.labels = BTreeMap::from([
            ("team".to_string(), team.to_string()),
            ("tier".to_string(), "1".to_string()),
        ]);
        n
    }

    #[test]
    fn a_group_lists_every_member_with_its_class_and_keeps_their_incidents() {
        let notes = [
            down("api", Class::ConnectError, "core"),
            down("chat", Class::ConnectError, "core"),
            down("push", Class::Timeout, "mobile"),
        ];
        let g = grouped(&notes.iter().collect::<Vec<_>>()).expect("a group");
        assert_eq!(g.kind, NotificationKind::Down);
        assert_eq!(g.monitor, "3 monitors");
        assert_eq!(g.class, Class::ConnectError, "the class most of them show");
        assert_eq!(
            g.message.as_deref(),
            Some(
                "3 monitors went down together: api (connect_error in connect), \
                 chat (connect_error in connect), push (timeout in connect)"
            )
        );
        assert_eq!(g.hint, None, "their classes differ");
        assert_eq!(g.classes_seen, [Class::ConnectError, Class::Timeout]);
        assert_eq!(
            g.labels,
            BTreeMap::from([("tier".to_string(), "1".to_string())])
        );
        let ids: Vec<&str> = g.group.iter().map(|m| m.incident_id.as_str()).collect();
        let own: Vec<String> = notes.iter().map(|n| n.incident_id()).collect();
        assert_eq!(ids, own);
        assert_eq!(grouped(&[]), None);
    }
}
