//! `Notification`: what the state machine decided to tell people, with the
//! diagnostics of the run that triggered it. Produced by `state`, stored in the
//! outbox as JSON, rendered by `alert` from templates.

use crate::check::{Class, Phase};
use crate::report::document::ReportDocument;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Why a notification is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::VariantArray)]
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

    /// "down", "recovered", "reminder": the kind as the webhook JSON, the
    /// templates and a channel's `when: {kinds: [...]}` spell it.
    pub fn name(self) -> &'static str {
        match self {
            NotificationKind::Down => "down",
            NotificationKind::Recovered => "recovered",
            NotificationKind::Reminder => "reminder",
        }
    }

    /// The kind named `name` ([`NotificationKind::name`]), if any.
    pub fn from_name(name: &str) -> Option<NotificationKind> {
        <NotificationKind as strum::VariantArray>::VARIANTS
            .iter()
            .copied()
            .find(|k| k.name() == name)
    }

    /// Every kind, in declaration order.
    pub fn all() -> &'static [NotificationKind] {
        <NotificationKind as strum::VariantArray>::VARIANTS
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
    /// Failed runs of the incident so far (for a recovery: all of them).
    pub failed_runs: u32,
    /// Every failure class the incident's runs showed, in order of first
    /// appearance (empty in outbox rows written before incidents kept them).
    #[serde(default)]
    pub classes_seen: Vec<Class>,
    /// The phase of the incident's first failed run (with the first of
    /// `classes_seen`: what the incident opened with, the same on every alert).
    #[serde(default)]
    pub first_phase: Option<Phase>,
    /// The monitor's page on the status page (`settings.public_url`), when set.
    #[serde(default)]
    pub link: Option<String>,
    /// The monitor's `labels:` (its own over `defaults:`), for routing on
    /// the receiving side (Alertmanager labels, webhook JSON, PagerDuty
    /// custom details).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// True when generated inside a maintenance window (delivery is held).
    pub in_maintenance: bool,
    /// The parent monitor (`depends_on`) that was down: delivery is held,
    /// the parent's own alert already tells of the outage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed_by: Option<String>,
    /// The round that triggered it, when the monitor is checked from
    /// several locations: every location's result side by side and the
    /// quorum's count (reports left out: `report` is the round's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<crate::quorum::evidence::Round>,
    /// A grouped notification's monitors (`settings.group_window`), each
    /// with its class and its own incident id; empty for one monitor's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group: Vec<crate::alert::group::GroupMember>,
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

/// Hex digits of the incident id's digest: 96 bits, unique per incident in practice.
const INCIDENT_HEX: usize = 24;

impl Notification {
    /// Kept in the outbox but never delivered: inside maintenance, or held
    /// because a parent monitor is down.
    pub fn held(&self) -> bool {
        self.in_maintenance || self.suppressed_by.is_some()
    }

    /// The incident's id: the same on the DOWN, every REMINDER and the
    /// RECOVERED of one outage of one monitor, on every instance of a cluster
    /// and after a restart, because it is derived from what the store keeps
    /// of the incident (monitor and first failed run), not from the process.
    /// PagerDuty's dedup key, Opsgenie's alias, Alertmanager's fingerprint
    /// input and the `X-Wsprobe-Incident` email header all carry it.
    pub fn incident_id(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.monitor.as_bytes());
        h.update([0]);
        h.update(self.first_seen.timestamp_micros().to_be_bytes());
        let digest = hex::encode(h.finalize());
        format!("wsp-inc-{}", &digest[..INCIDENT_HEX])
    }

    /// The outage as humans read it ("5m 3s"), when known.
    pub fn outage_text(&self) -> Option<String> {
        self.outage_secs
            .map(|s| humantime::format_duration(std::time::Duration::from_secs(s)).to_string())
    }
}

/// The page of `monitor` on the status page served under `public_url`
/// (`/monitors/{name}`, the name percent-encoded as one path segment), keeping
/// any path prefix a reverse proxy serves the page under.
pub fn monitor_page(public_url: &url::Url, monitor: &str) -> String {
    let mut page = public_url.clone();
    if let Ok(mut segments) = page.path_segments_mut() {
        segments.pop_if_empty().extend(["monitors", monitor]);
    }
    page.set_query(None);
    page.set_fragment(None);
    page.to_string()
}

#[cfg(test)]
mod tests {
    use super::monitor_page;
    use crate::alert::sample;
    use crate::notification::NotificationKind;

    #[test]
    fn every_alert_of_one_incident_carries_one_id_and_another_incident_another() {
        let down = sample::notification(NotificationKind::Down);
        let id = down.incident_id();
        for kind in [NotificationKind::Reminder, NotificationKind::Recovered] {
            assert_eq!(sample::notification(kind).incident_id(), id);
        }
        let mut later = down.clone();
        later.first_seen += chrono::Duration::microseconds(1);
        assert_ne!(later.incident_id(), id);
        let mut other = down.clone();
        other.monitor.push('2');
        assert_ne!(other.incident_id(), id);
        assert!(
            id.starts_with("wsp-inc-") && id.len() == 8 + super::INCIDENT_HEX,
            "{id}"
        );
    }

    #[test]
    fn every_kind_is_found_by_its_name_and_no_other_name_is_a_kind() {
        for kind in NotificationKind::all() {
            assert_eq!(NotificationKind::from_name(kind.name()), Some(*kind));
            assert_eq!(kind.name(), kind.word().to_lowercase());
        }
        assert_eq!(NotificationKind::all().len(), 3);
        assert_eq!(NotificationKind::from_name("DOWN"), None);
        assert_eq!(NotificationKind::from_name("resolved"), None);
    }

    #[test]
    fn the_monitor_page_sits_under_the_public_url_with_the_name_encoded() {
        let cases = [
            (
                "https://status.example.com",
                "api",
                "https://status.example.com/monitors/api",
            ),
            (
                "https://status.example.com/",
                "api",
                "https://status.example.com/monitors/api",
            ),
            (
                "https://example.com/wsprobe/?x=1",
                "chat gw/eu#1",
                "https://example.com/wsprobe/monitors/chat%20gw%2Feu%231",
            ),
        ];
        for (base, name, want) in cases {
            assert_eq!(monitor_page(&url::Url::parse(base).unwrap(), name), want);
        }
    }
}
