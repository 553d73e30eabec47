//! `Notification`: what the state machine decided to tell people, with the
//! diagnostics of the run that triggered it. Produced by `state`, stored in the
//! outbox as JSON, rendered by `alert` from templates.

use crate::check::{Class, Phase};
use crate::report::document::ReportDocument;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

/// Why a notification is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// The monitor went down (failure threshold reached).
    Down,
    /// The monitor is up again (success threshold reached).
    Recovered,
    /// Still down; sent every `repeat`.
    Reminder,
}

impl NotificationKind {
    /// "DOWN", "RECOVERED", "REMINDER".
    pub fn word(self) -> &'static str {
        match self {
            NotificationKind::Down => "DOWN",
            NotificationKind::Recovered => "RECOVERED",
            NotificationKind::Reminder => "REMINDER",
        }
    }
}

/// One alert to deliver, with everything a template may show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Down, recovered or reminder.
    pub kind: NotificationKind,
    /// Monitor name.
    pub monitor: String,
    /// The URL checked (credential query parameters redacted).
    pub url: String,
    /// The failure class (for a recovery: the class of the outage that ended).
    pub class: Class,
    /// The phase that failed.
    pub phase: Option<Phase>,
    /// One-line description of the failure.
    pub message: Option<String>,
    /// Likely causes.
    pub hint: Option<String>,
    /// When the incident's first failed run happened.
    pub first_seen: DateTime<Utc>,
    /// When this notification was generated.
    pub at: DateTime<Utc>,
    /// Outage so far (reminder) or in total (recovery), in seconds.
    pub outage_secs: Option<u64>,
    /// For a reminder: the class when the incident was last reported, if it changed since.
    pub previous_class: Option<Class>,
    /// Consecutive failed runs so far.
    pub failed_runs: u32,
    /// True when generated inside a maintenance window (delivery is held).
    pub in_maintenance: bool,
    /// The triggering run's report document, every attempt's evidence
    /// included; `None` when an outbox row's report no longer decodes (the
    /// alert still goes out, with its headline fields, rather than die).
    #[serde(deserialize_with = "report_or_none")]
    pub report: Option<ReportDocument>,
    /// The same run as human text (`report::text::render`, verbose).
    pub report_text: String,
}

/// The report of a stored notification, or `None` when it does not decode as
/// a [`ReportDocument`] (a row written by another version).
fn report_or_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ReportDocument>, D::Error> {
    let Some(value) = Option::<serde_json::Value>::deserialize(d)? else {
        return Ok(None);
    };
    match serde_json::from_value(value) {
        Ok(doc) => Ok(Some(doc)),
        Err(e) => {
            tracing::warn!(error = %e, "a notification's report does not decode; sent without it");
            Ok(None)
        }
    }
}

impl Notification {
    /// The outage as humans read it ("5m 3s"), when known.
    pub fn outage_text(&self) -> Option<String> {
        self.outage_secs
            .map(|s| humantime::format_duration(std::time::Duration::from_secs(s)).to_string())
    }
}
