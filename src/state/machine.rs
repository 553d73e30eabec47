//! The per-monitor up/down machine: one run's outcome in, the next state and
//! at most one notification out. Pure — no clock, no I/O — so every rule is
//! pinned by a table below; the daemon persists the result through
//! [`super::store::Store::commit_run`] in one transaction.

use super::policy::Policy;
use crate::check::{CheckReport, Class, Phase};
use crate::notification::{Notification, NotificationKind};
use crate::report::document::ReportDocument;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What the machine currently believes about a monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// No verdict yet: neither threshold has been reached since the monitor appeared.
    #[default]
    Unknown,
    /// Passing (the success threshold was reached).
    Up,
    /// Failing (the failure threshold was reached and DOWN was produced).
    Down,
}

impl Health {
    /// `up`, `down` or `unknown`: the word the API, the logs and the page use.
    pub fn word(self) -> &'static str {
        match self {
            Health::Up => "up",
            Health::Down => "down",
            Health::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.word())
    }
}

/// The durable state of one monitor, saved after every run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MonitorState {
    /// Current verdict.
    pub health: Health,
    /// When the current health began (`None` while Unknown).
    pub since: Option<DateTime<Utc>>,
    /// Failed runs in a row (reset by a passing run).
    pub consecutive_failures: u32,
    /// Passing runs in a row (reset by a failed run).
    pub consecutive_successes: u32,
    /// The open incident, from the first failed run until recovery (or until a
    /// sub-threshold failure streak is closed by passing runs).
    pub incident: Option<Incident>,
    /// The last round evaluated, when the monitor is checked from several
    /// locations: each location's result and what they decided together
    /// (an undecided round leaves the health `unknown` unless it was down).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<crate::quorum::evidence::Round>,
}

/// One stretch of failure, from its first failed run to recovery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// The first failed run of the incident.
    pub first_seen: DateTime<Utc>,
    /// DOWN was produced (sent, or held by maintenance).
    pub alerted: bool,
    /// When the last DOWN or REMINDER was produced.
    pub last_notified_at: Option<DateTime<Utc>>,
    /// The class that last DOWN or REMINDER reported.
    pub last_notified_class: Option<Class>,
    /// The class of the latest failed run.
    pub current_class: Class,
    /// A DOWN or REMINDER for this incident was produced outside maintenance,
    /// i.e. people were told. When false, the RECOVERED is held too: nobody
    /// needs to hear that an outage they never heard of has ended.
    pub announced: bool,
    /// Failed runs since `first_seen`, also those before a pass too short to
    /// end the incident: the RECOVERED reports them (absent in states saved
    /// by versions before it was kept).
    #[serde(default)]
    pub failed_runs: u32,
    /// Every class the incident's failed runs showed, in order of first appearance.
    #[serde(default)]
    pub classes_seen: Vec<Class>,
    /// The phase of the latest failed run, which the RECOVERED names.
    #[serde(default)]
    pub last_phase: Option<Phase>,
    /// The phase of the first failed run: with the first of `classes_seen`,
    /// what the incident opened with, which stays the same to its end.
    #[serde(default)]
    pub first_phase: Option<Phase>,
    /// The parent (`depends_on`) that was down when this incident's DOWN was
    /// held; `None` once people were told, or when nothing held it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed_by: Option<String>,
    /// The channels this incident's DOWN was queued for, at once or by
    /// escalation: only they get its REMINDERs and RECOVERED (see
    /// [`super::route`]). `None` in states saved before routing existed,
    /// whose DOWN went to every channel of the monitor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels_told: Option<Vec<String>>,
}

/// What the machine needs to know about one run, taken from its [`CheckReport`].
/// Kept apart from the report so the machine's tables can build runs directly.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// The run passed (warnings count as passing).
    pub ok: bool,
    /// `ok` or the failure class of the decisive attempt.
    pub class: Class,
    /// The phase that failed.
    pub phase: Option<Phase>,
    /// One-line description of the failure.
    pub message: Option<String>,
    /// Likely causes.
    pub hint: Option<String>,
    /// Duration of the decisive attempt, in milliseconds.
    pub total_ms: f64,
    /// The run as the typed report document (`--format json`).
    pub report: ReportDocument,
    /// The run as verbose human text (`report::text::render`).
    pub report_text: String,
}

impl RunSummary {
    /// Summarise a finished check.
    pub fn from_report(report: &CheckReport) -> RunSummary {
        let decisive = report.decisive();
        RunSummary {
            ok: report.ok(),
            class: decisive.class,
            phase: decisive.phase,
            message: decisive.message.clone(),
            hint: decisive.hint.clone(),
            total_ms: decisive.timings.total_ms,
            report: ReportDocument::new(report),
            report_text: crate::report::text::render(std::slice::from_ref(report), true),
        }
    }
}

/// One run of one monitor, as the machine sees it.
#[derive(Debug, Clone, Copy)]
pub struct RunOutcome<'a> {
    /// When the run finished.
    pub at: DateTime<Utc>,
    /// Monitor name.
    pub monitor: &'a str,
    /// The URL checked (credentials redacted).
    pub url: &'a str,
    /// The run's verdict and diagnostics.
    pub summary: &'a RunSummary,
    /// The run happened inside a maintenance window: the state still moves, but
    /// notifications are marked so the daemon holds their delivery.
    pub in_maintenance: bool,
    /// A monitor this one depends on (`depends_on`) is down: as in
    /// maintenance the state moves and the notifications are held.
    pub suppressed_by: Option<&'a str>,
    /// A monitor this one depends on has not been checked since this one
    /// began failing (it may run a moment later in the same period): the
    /// run that reaches the failure threshold waits one run for its
    /// verdict instead of paging, so the child's DOWN never beats a parent
    /// that is about to hold it. Once only: the next failed run decides.
    pub parent_unchecked: bool,
}

impl RunOutcome<'_> {
    /// Notifications of this run are held, not sent: people either planned
    /// the outage (maintenance) or hear of it from the parent's alert.
    pub fn held(&self) -> bool {
        self.in_maintenance || self.suppressed_by.is_some()
    }
}

/// Fold one run into the state. Returns the next state and the notification
/// it calls for, if any (at most one per run).
pub fn apply(
    state: &MonitorState,
    outcome: &RunOutcome,
    policy: &Policy,
) -> (MonitorState, Option<Notification>) {
    let mut next = state.clone();
    let note = if outcome.summary.ok {
        on_pass(&mut next, outcome, policy)
    } else {
        on_failure(&mut next, outcome, policy)
    };
    (next, note)
}

/// True when the monitor is down, reminders are configured and `repeat` has
/// passed since the last DOWN or REMINDER.
pub fn reminder_due(state: &MonitorState, now: DateTime<Utc>, policy: &Policy) -> bool {
    let (Health::Down, Some(repeat), Some(incident)) =
        (state.health, policy.repeat, state.incident.as_ref())
    else {
        return false;
    };
    let last = incident.last_notified_at.unwrap_or(incident.first_seen);
    // A repeat too large for chrono never elapses.
    chrono::Duration::from_std(repeat).is_ok_and(|repeat| now - last >= repeat)
}

/// True when the monitor is down, people were told of its incident, and
/// the incident has been open (since its first failed run) at least
/// `delay`: a channel with `escalate_after: delay` hears of it now. Like
/// [`reminder_due`], asked at each failed run.
pub fn escalation_due(state: &MonitorState, now: DateTime<Utc>, delay: Duration) -> bool {
    let (Health::Down, Some(incident)) = (state.health, state.incident.as_ref()) else {
        return false;
    };
    // A delay too large for chrono never elapses.
    incident.announced
        && chrono::Duration::from_std(delay).is_ok_and(|delay| now - incident.first_seen >= delay)
}

fn on_failure(
    next: &mut MonitorState,
    outcome: &RunOutcome,
    policy: &Policy,
) -> Option<Notification> {
    let class = outcome.summary.class;
    next.consecutive_failures = next.consecutive_failures.saturating_add(1);
    next.consecutive_successes = 0;
    let incident = next.incident.get_or_insert(Incident {
        first_seen: outcome.at,
        alerted: false,
        last_notified_at: None,
        last_notified_class: None,
        current_class: class,
        announced: false,
        failed_runs: 0,
        classes_seen: Vec::new(),
        last_phase: None,
        first_phase: outcome.summary.phase,
        suppressed_by: None,
        channels_told: None,
    });
    incident.current_class = class;
    incident.failed_runs = incident.failed_runs.saturating_add(1);
    incident.last_phase = outcome.summary.phase;
    if !incident.classes_seen.contains(&class) {
        incident.classes_seen.push(class);
    }

    let kind = match next.health {
        Health::Down if !incident.announced && !outcome.held() => {
            // The DOWN was held by a maintenance window that has ended (or a
            // parent that recovered) while the monitor is still failing: tell
            // people now.
            NotificationKind::Down
        }
        Health::Down if reminder_due(next, outcome.at, policy) => NotificationKind::Reminder,
        Health::Down => return None,
        Health::Unknown | Health::Up
            if outcome.parent_unchecked
                && next.consecutive_failures == policy.failure_threshold.max(1) =>
        {
            return None;
        }
        Health::Unknown | Health::Up
            if next.consecutive_failures >= policy.failure_threshold.max(1) =>
        {
            next.health = Health::Down;
            next.since = Some(outcome.at);
            NotificationKind::Down
        }
        Health::Unknown | Health::Up => return None,
    };

    let incident = next.incident.as_mut()?;
    // A class change alone never sends; it rides on the next reminder.
    let previous_class = match (kind, incident.last_notified_class) {
        (NotificationKind::Reminder, Some(last)) if last != class => Some(last),
        _ => None,
    };
    let outage_secs = match kind {
        NotificationKind::Reminder => Some(seconds_between(incident.first_seen, outcome.at)),
        _ => None,
    };
    incident.alerted = true;
    incident.last_notified_at = Some(outcome.at);
    incident.last_notified_class = Some(class);
    incident.announced |= !outcome.held();
    incident.suppressed_by = outcome
        .suppressed_by
        .filter(|_| !incident.announced)
        .map(str::to_string);
    let mut note = notification(kind, outcome, class, incident);
    note.outage_secs = outage_secs;
    note.previous_class = previous_class;
    Some(note)
}

fn on_pass(next: &mut MonitorState, outcome: &RunOutcome, policy: &Policy) -> Option<Notification> {
    next.consecutive_successes = next.consecutive_successes.saturating_add(1);
    next.consecutive_failures = 0;
    if next.consecutive_successes < policy.success_threshold.max(1) {
        return None;
    }
    let was = next.health;
    let incident = next.incident.take();
    if was != Health::Up {
        next.health = Health::Up;
        next.since = Some(outcome.at);
    }
    // Failing below the threshold, or Unknown → Up: nothing to tell.
    let incident = incident.filter(|_| was == Health::Down)?;
    let mut note = notification(
        NotificationKind::Recovered,
        outcome,
        incident.current_class,
        &incident,
    );
    // The outage's phase, not the passing run's (which has none); what went
    // wrong in words belongs to the DOWN, the passing run has no message.
    note.phase = incident.last_phase;
    note.message = None;
    note.hint = None;
    note.outage_secs = Some(seconds_between(incident.first_seen, outcome.at));
    // Nobody heard of an outage that was never announced: its RECOVERED is
    // held for the reason its DOWN was (a parent down, or maintenance).
    let never_told = !incident.announced;
    note.suppressed_by = incident.suppressed_by.clone().filter(|_| never_told);
    note.in_maintenance = outcome.in_maintenance || (never_told && note.suppressed_by.is_none());
    Some(note)
}

/// The notification of `kind` about `incident`, from this run.
pub(super) fn notification(
    kind: NotificationKind,
    outcome: &RunOutcome,
    class: Class,
    incident: &Incident,
) -> Notification {
    let run = outcome.summary;
    Notification {
        kind,
        monitor: outcome.monitor.to_string(),
        url: outcome.url.to_string(),
        class,
        phase: run.phase,
        message: run.message.clone(),
        hint: run.hint.clone(),
        first_seen: incident.first_seen,
        at: outcome.at,
        outage_secs: None,
        previous_class: None,
        failed_runs: incident.failed_runs,
        classes_seen: incident.classes_seen.clone(),
        first_phase: incident.first_phase,
        link: None,
        labels: Default::default(),
        in_maintenance: outcome.in_maintenance,
        suppressed_by: outcome.suppressed_by.map(str::to_string),
        round: None,
        group: Vec::new(),
        report: Some(run.report.clone()),
        report_text: run.report_text.clone(),
    }
}

/// Whole seconds from `from` to `to`; zero if the clock went backwards.
pub(super) fn seconds_between(from: DateTime<Utc>, to: DateTime<Utc>) -> u64 {
    u64::try_from((to - from).num_seconds()).unwrap_or(0)
}

#[cfg(test)]
mod tests;
