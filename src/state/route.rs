//! Which of a monitor's channels hear of what: a channel's `when:` (the
//! monitor's labels, the notification kinds) and `escalate_after:`. Pure,
//! like the machine it follows: [`route`] takes the machine's notification
//! of a run and the monitor's channels, and returns each notification with
//! the channels to enqueue it for — nothing is queued for a channel that
//! does not want it.
//!
//! The rules:
//! * A DOWN goes to every channel whose `when:` matches it, except those
//!   with an `escalate_after` the incident has not been open for yet.
//! * **A REMINDER or RECOVERED follows the DOWN**: it goes only to the
//!   channels the incident's DOWN was queued for (and whose `kinds` list
//!   it), kept in the incident ([`Incident::channels_told`]) and saved with
//!   it. A channel that never heard of an outage is not told it ended: not
//!   an escalation channel whose delay had not come, not one added or whose
//!   `when:` came to match (a reload) after the DOWN. So `kinds` must list
//!   `down` (the config refuses it otherwise).
//! * **Escalation** is decided where reminders are, at each failed run:
//!   while the monitor is down, its DOWN was announced and nothing holds
//!   alerts, a channel with `escalate_after` that has not been told gets
//!   the DOWN once the incident has been open that long
//!   ([`machine::escalation_due`]). The channel joins `channels_told` in
//!   the same commit as the outbox row, and the outbox enqueues a DOWN once
//!   per incident and channel, so a restart sends a due escalation at the
//!   first run after it, and never twice. An incident that recovers first
//!   never reaches the channel.
//! * A held notification (maintenance, a parent down) is kept for the record
//!   for the channels whose `when:` matches; it tells nobody.

use super::machine::{self, Health, Incident, MonitorState, RunOutcome};
use crate::notification::{Notification, NotificationKind};
use std::collections::BTreeMap;
use std::time::Duration;

/// A channel's routing: `when:` and `escalate_after:`. The default hears
/// every notification of every monitor that names it, at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Route {
    /// Every label listed must equal the monitor's (`when: {labels: …}`).
    pub labels: BTreeMap<String, String>,
    /// The kinds it receives (`when: {kinds: …}`, always with `down`);
    /// `None`: every kind.
    pub kinds: Option<Vec<NotificationKind>>,
    /// It gets a DOWN only once the incident has been open this long.
    pub escalate_after: Option<Duration>,
}

impl Route {
    /// Its `when:` matches a notification of `kind` about a monitor with `labels`.
    pub fn accepts(&self, labels: &BTreeMap<String, String>, kind: NotificationKind) -> bool {
        self.labels
            .iter()
            .all(|(name, value)| labels.get(name) == Some(value))
            && self
                .kinds
                .as_ref()
                .is_none_or(|kinds| kinds.contains(&kind))
    }
}

/// One channel a monitor alerts (`alert: [...]`), with its routing.
#[derive(Debug, Clone, Copy)]
pub struct Recipient<'a> {
    /// The channel's name.
    pub channel: &'a str,
    /// Its `when:` and `escalate_after:`.
    pub route: &'a Route,
}

/// A notification and the channels to enqueue it for (never empty).
#[derive(Debug, Clone, PartialEq)]
pub struct Routed {
    /// What to tell.
    pub note: Notification,
    /// Whom.
    pub channels: Vec<String>,
}

/// Route the run's notification (`note`, from [`machine::apply`], which
/// turned `before` into `after`) to the monitor's channels, and escalate
/// the open incident to the channels it is due for. Records in `after`'s
/// incident which channels were told of its DOWN.
pub fn route(
    before: &MonitorState,
    after: &mut MonitorState,
    note: Option<Notification>,
    outcome: &RunOutcome,
    labels: &BTreeMap<String, String>,
    recipients: &[Recipient],
) -> Vec<Routed> {
    let mut out = Vec::new();
    if let Some(note) = note {
        let wants = |r: &&Recipient| r.route.accepts(labels, note.kind);
        let channels: Vec<String> = if note.held() {
            names(recipients.iter().filter(wants))
        } else {
            match note.kind {
                NotificationKind::Down => {
                    let now = recipients.iter().filter(wants).filter(|r| {
                        r.route
                            .escalate_after
                            .is_none_or(|delay| machine::escalation_due(after, outcome.at, delay))
                    });
                    let channels = names(now);
                    tell(after, &channels);
                    channels
                }
                NotificationKind::Reminder => {
                    names(told(after.incident.as_ref(), recipients).filter(wants))
                }
                NotificationKind::Recovered => {
                    names(told(before.incident.as_ref(), recipients).filter(wants))
                }
            }
        };
        if !channels.is_empty() {
            out.push(Routed { note, channels });
        }
    }
    out.extend(escalate(after, outcome, labels, recipients));
    out
}

/// The DOWN for the channels whose `escalate_after` has come, if any.
fn escalate(
    after: &mut MonitorState,
    outcome: &RunOutcome,
    labels: &BTreeMap<String, String>,
    recipients: &[Recipient],
) -> Option<Routed> {
    if outcome.held() || after.health != Health::Down {
        return None;
    }
    let incident = after.incident.as_ref()?;
    let told_already: Vec<&str> = told(Some(incident), recipients)
        .map(|r| r.channel)
        .collect();
    let due = recipients.iter().filter(|r| {
        r.route.accepts(labels, NotificationKind::Down)
            && !told_already.contains(&r.channel)
            && r.route
                .escalate_after
                .is_some_and(|delay| machine::escalation_due(after, outcome.at, delay))
    });
    let channels = names(due);
    if channels.is_empty() {
        return None;
    }
    let mut note = machine::notification(
        NotificationKind::Down,
        outcome,
        incident.current_class,
        incident,
    );
    // How long it has been down is the point of an escalation.
    note.outage_secs = Some(machine::seconds_between(incident.first_seen, outcome.at));
    tell(after, &channels);
    Some(Routed { note, channels })
}

/// The recipients told of `incident`'s DOWN. An incident saved before
/// routing existed told every channel of the monitor.
fn told<'r, 'a>(
    incident: Option<&'r Incident>,
    recipients: &'r [Recipient<'a>],
) -> impl Iterator<Item = &'r Recipient<'a>> {
    let list = incident.and_then(|i| i.channels_told.as_ref());
    recipients
        .iter()
        .filter(move |r| list.is_none_or(|told| told.iter().any(|c| c == r.channel)))
}

/// Add `channels` to those told of the open incident's DOWN.
fn tell(after: &mut MonitorState, channels: &[String]) {
    if let Some(incident) = after.incident.as_mut() {
        let told = incident.channels_told.get_or_insert_with(Vec::new);
        for channel in channels {
            if !told.contains(channel) {
                told.push(channel.clone());
            }
        }
    }
}

fn names<'r, 'a: 'r>(recipients: impl Iterator<Item = &'r Recipient<'a>>) -> Vec<String> {
    recipients.map(|r| r.channel.to_string()).collect()
}

#[cfg(test)]
mod tests;
