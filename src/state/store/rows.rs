//! The rows the store hands out — [`ResultRow`], [`Delivery`] — and the
//! column decoding both backends share.

use super::StoreError;
use crate::check::{Class, Phase};
use crate::notification::Notification;
use crate::report::document::ReportDocument;
use crate::state::machine::RunSummary;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// One run of one monitor, as kept in the history.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultRow {
    /// When the run finished.
    pub at: DateTime<Utc>,
    /// The run passed (warnings count as passing).
    pub ok: bool,
    /// `ok` or the failure class.
    pub class: Class,
    /// The phase that failed.
    pub phase: Option<Phase>,
    /// Duration of the decisive attempt, in milliseconds.
    pub total_ms: f64,
    /// The run happened inside a maintenance window.
    pub in_maintenance: bool,
    /// The run's report document.
    pub report: StoredReport,
}

/// The report of a stored run, decoded from its `report_json` column.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum StoredReport {
    /// The typed document (rows from before `schema_version` existed load as version 1).
    Document(Box<ReportDocument>),
    /// A row this version cannot decode, kept as its text: shown rather than hidden.
    Unreadable(String),
}

impl StoredReport {
    /// The document, when the row decoded.
    pub fn document(&self) -> Option<&ReportDocument> {
        match self {
            StoredReport::Document(doc) => Some(doc),
            StoredReport::Unreadable(_) => None,
        }
    }

    pub(super) fn decode(text: String) -> StoredReport {
        match serde_json::from_str(&text) {
            Ok(doc) => StoredReport::Document(Box::new(doc)),
            Err(e) => {
                tracing::warn!(error = %e, "a stored report does not decode; kept as text");
                StoredReport::Unreadable(text)
            }
        }
    }

    pub(super) fn encode(&self) -> String {
        match self {
            StoredReport::Document(doc) => serde_json::to_string(doc).unwrap_or_default(),
            StoredReport::Unreadable(text) => text.clone(),
        }
    }
}

impl ResultRow {
    /// The history row of a run the machine has seen. A passing run is stored
    /// without `attempt_details`: its top level already is the decisive
    /// attempt and there is nothing to diagnose, and the copy doubled every
    /// row (the history is most of the database). Failed runs keep every
    /// attempt's evidence.
    pub fn from_summary(at: DateTime<Utc>, run: &RunSummary, in_maintenance: bool) -> ResultRow {
        let report = if run.ok {
            run.report.without_attempt_details()
        } else {
            run.report.clone()
        };
        ResultRow {
            at,
            ok: run.ok,
            class: run.class,
            phase: run.phase,
            total_ms: run.total_ms,
            in_maintenance,
            report: StoredReport::Document(Box::new(report)),
        }
    }
}

/// One run without its report: what charts and uptime need, cheap to read in bulk.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResultPoint {
    /// When the run finished.
    pub at: DateTime<Utc>,
    /// The run passed (warnings count as passing).
    pub ok: bool,
    /// `ok` or the failure class.
    pub class: Class,
    /// The phase that failed.
    pub phase: Option<Phase>,
    /// Duration of the decisive attempt, in milliseconds.
    pub total_ms: f64,
    /// The run happened inside a maintenance window.
    pub in_maintenance: bool,
}

/// One notification to deliver through one channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Outbox row id, for [`super::Store::mark_delivered`] / [`super::Store::mark_failed`].
    pub id: i64,
    /// The channel's name from the config.
    pub channel: String,
    /// What to deliver.
    pub notification: Notification,
    /// Failed attempts so far.
    pub attempts: u32,
    /// The error of the last failed attempt.
    pub last_error: Option<String>,
    /// When it was enqueued (the notification's time).
    pub created_at: DateTime<Utc>,
    /// On disk; false for an alert kept only in memory while the disk
    /// refuses writes (it would not survive a restart).
    pub durable: bool,
}

/// An outbox row as read, before its JSON is decoded.
pub(super) struct RawDelivery {
    pub id: i64,
    pub channel: String,
    pub json: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
}

impl RawDelivery {
    /// Decode the notification; the error text says why it could not be.
    pub fn decode(&self) -> Result<Delivery, String> {
        let notification = serde_json::from_str(&self.json)
            .map_err(|e| format!("undecodable notification: {e}"))?;
        Ok(Delivery {
            id: self.id,
            channel: self.channel.clone(),
            notification,
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            last_error: self.last_error.clone(),
            created_at: from_micros(self.created_at).map_err(|e| e.to_string())?,
            // Memory alerts have negative ids (`store/overlay.rs`).
            durable: self.id >= 0,
        })
    }
}

pub(super) fn class_of(class: String) -> Result<Class, StoreError> {
    Class::ALL
        .into_iter()
        .find(|c| c.as_str() == class)
        .ok_or(StoreError::Corrupt {
            what: "class",
            value: class,
        })
}

pub(super) fn phase_of(phase: Option<String>) -> Result<Option<Phase>, StoreError> {
    phase
        .map(|p| {
            Phase::ALL
                .into_iter()
                .find(|known| known.as_str() == p)
                .ok_or(StoreError::Corrupt {
                    what: "phase",
                    value: p,
                })
        })
        .transpose()
}

pub(super) fn from_micros(us: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(us).ok_or(StoreError::Corrupt {
        what: "timestamp",
        value: us.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::document::sample_document;

    fn summary(ok: bool) -> RunSummary {
        let class = if ok { Class::Ok } else { Class::EarlyFin };
        RunSummary {
            ok,
            class,
            phase: None,
            message: None,
            hint: None,
            total_ms: 1.0,
            report: sample_document(class, 2),
            report_text: String::new(),
        }
    }

    fn stored(row: &ResultRow) -> &ReportDocument {
        row.report.document().expect("a typed document")
    }

    #[test]
    fn a_passing_run_is_stored_without_the_copy_of_its_attempts() {
        let row = ResultRow::from_summary(Utc::now(), &summary(true), false);
        assert!(!row.report.encode().contains("attempt_details"));
        assert!(stored(&row).attempt_details.is_empty());
        assert_eq!(stored(&row).class, Class::Ok);
    }

    #[test]
    fn a_failed_run_keeps_every_attempt() {
        let row = ResultRow::from_summary(Utc::now(), &summary(false), false);
        let back = StoredReport::decode(row.report.encode());
        assert_eq!(back.document().unwrap().attempt_details.len(), 2);
        assert_eq!(back, row.report);
    }

    #[test]
    fn a_report_stored_before_schema_version_loads_as_version_1() {
        let mut old = serde_json::to_value(&summary(false).report).unwrap();
        old.as_object_mut().unwrap().remove("schema_version");
        let back = StoredReport::decode(old.to_string());
        assert_eq!(back.document().unwrap().schema_version, 1);
        assert_eq!(back.document().unwrap().class, Class::EarlyFin);
    }

    #[test]
    fn a_row_that_does_not_decode_is_kept_as_its_text() {
        let back = StoredReport::decode("{\"ok\": 3}".into());
        assert_eq!(back, StoredReport::Unreadable("{\"ok\": 3}".into()));
        assert_eq!(serde_json::to_value(&back).unwrap(), "{\"ok\": 3}");
    }
}
