//! What templates see: a [`Notification`] turned into plain values — times as
//! text, the outage in words, and the evidence of every attempt digested from
//! `report.attempt_details` — so every template shows the same facts the same
//! way and a custom template needs no logic beyond `if` and `for`. The
//! evidence comes from the typed [`ReportDocument`], never from keys of JSON.
//!
//! Header values and URLs are redacted again here. Reports are redacted when
//! they are built, but a notification can come from an older outbox row or a
//! hand-written test, and an alert is the last place a secret could escape.

use crate::alert::group::GroupMember;
use crate::check::model::{Event, ResponseHead};
use crate::check::redact::{header_value_for_evidence, redact_url};
use crate::check::{AttemptReport, CheckError, Class, Phase};
use crate::notification::{Notification, NotificationKind};
use crate::quorum::RoundOutcome;
use crate::quorum::evidence::Round;
use crate::report::document::ReportDocument;
use crate::report::text::close_text;
use crate::report::{ms_text, timings_line};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Response headers shown per attempt; the rest are counted.
const MAX_HEADERS: usize = 12;
/// Timeline lines shown per attempt: the first few and the last ones.
const EVENTS_HEAD: usize = 10;
const EVENTS_TAIL: usize = 20;
/// Body snippet shown per attempt, in characters.
const MAX_BODY_CHARS: usize = 300;

/// The template context. Field names are the variables templates use
/// (documented in `templates/README.md`).
#[derive(Debug, Clone, Serialize)]
pub struct AlertView {
    /// "down", "recovered" or "reminder".
    pub kind: &'static str,
    /// "DOWN", "RECOVERED" or "REMINDER".
    pub kind_word: &'static str,
    /// One line, e.g. "DOWN chat-gateway: early_fin in open".
    pub summary: String,
    /// Monitor name.
    pub monitor: String,
    /// URL checked, credential query parameters redacted.
    pub url: String,
    /// Failure class (for a recovery: the class of the outage that ended).
    pub class: &'static str,
    /// Phase that failed.
    pub phase: Option<&'static str>,
    /// One-line description of the failure.
    pub message: Option<String>,
    /// Likely causes.
    pub hint: Option<String>,
    /// First failed run, RFC 3339.
    pub first_seen: String,
    /// First failed run, "2026-05-01 10:00:00 UTC".
    pub first_seen_text: String,
    /// When the notification was generated, RFC 3339.
    pub at: String,
    /// When the notification was generated, "2026-05-01 10:05:03 UTC".
    pub at_text: String,
    /// Outage length in seconds (reminder: so far; recovery: in total).
    pub outage_secs: Option<u64>,
    /// Outage length in words, "5m 3s".
    pub outage: Option<String>,
    /// Reminder: the class reported before, when it changed since.
    pub previous_class: Option<&'static str>,
    /// Failed runs of the incident (for a recovery: all of them).
    pub failed_runs: u32,
    /// The incident's id, the same on its DOWN, REMINDERs and RECOVERED.
    pub incident_id: String,
    /// Every class the incident showed, in order of first appearance.
    pub classes_seen: Vec<&'static str>,
    /// The monitor's page on the status page, when `settings.public_url` is set.
    pub link: Option<String>,
    /// The monitor's `labels:` (name → value, sorted by name).
    pub labels: BTreeMap<String, String>,
    /// The class the incident opened with (the first of `classes_seen`):
    /// the same on every alert of it, for services that identify an alert
    /// by its labels.
    pub incident_class: &'static str,
    /// The phase the incident opened with.
    pub incident_phase: Option<&'static str>,
    /// Generated inside a maintenance window.
    pub in_maintenance: bool,
    /// The round, when the monitor is checked from several locations:
    /// each location's result and the quorum's count; null otherwise.
    pub round: Option<RoundView>,
    /// A grouped notification's monitors (`settings.group_window`), each
    /// with its class, phase, message and incident id; empty otherwise.
    pub group: Vec<GroupMember>,
    /// Every attempt of the triggering run, digested.
    pub attempts: Vec<AttemptView>,
    /// The same evidence as plain text, ready to print.
    pub evidence: String,
    /// The triggering run's report document, headers redacted again; null
    /// when the stored one did not decode.
    pub report: Option<ReportDocument>,
    /// The triggering run as human text.
    pub report_text: String,
    /// The delivery's idempotency key, the same on every retry of one
    /// delivery (`wsp-` and hex); null outside a delivery (previews).
    pub delivery_id: Option<String>,
}

/// A round of checks from several locations, for templates.
#[derive(Debug, Clone, Serialize)]
pub struct RoundView {
    /// Every location side by side, then the count: "eu-west: timeout in
    /// upgrade after 10.0 s; us-east: ok 41 ms — 1 of 2 failing, below quorum 2".
    pub line: String,
    /// The count alone: "2 of 3 failing, quorum 2 reached".
    pub verdict: String,
    /// `failing`, `passing` or `not_enough_locations`.
    pub outcome: RoundOutcome,
    /// Locations that failed, passed, and did not report.
    pub failing: usize,
    /// Locations that passed.
    pub passing: usize,
    /// Locations without a result.
    pub unknown: usize,
    /// Failing locations that fail the round.
    pub quorum: usize,
    /// Each listed location, in the order listed.
    pub locations: Vec<LocationView>,
}

/// One location's result in a round.
#[derive(Debug, Clone, Serialize)]
pub struct LocationView {
    /// The location.
    pub location: String,
    /// "timeout in upgrade after 10.0 s", "ok 41 ms" or "no result".
    pub result: String,
    /// Passed there; null when it did not report.
    pub ok: Option<bool>,
    /// `ok` or the failure class; null when it did not report.
    pub class: Option<&'static str>,
    /// The phase that failed.
    pub phase: Option<&'static str>,
    /// What went wrong there, in one line.
    pub message: Option<String>,
    /// The instance that checked from there.
    pub instance: Option<String>,
    /// How long the check took there, in milliseconds.
    pub total_ms: Option<f64>,
}

impl RoundView {
    /// `round` for templates (the alerts' and the status page's).
    pub fn new(round: &Round) -> RoundView {
        let v = round.verdict;
        RoundView {
            line: round.line(),
            verdict: v.to_string(),
            outcome: v.outcome,
            failing: v.failing,
            passing: v.passing,
            unknown: v.unknown,
            quorum: v.quorum,
            locations: round
                .locations
                .iter()
                .map(|seen| {
                    let r = seen.result.as_ref();
                    LocationView {
                        location: seen.location.clone(),
                        result: r.map_or_else(|| "no result".to_string(), |r| r.describe()),
                        ok: r.map(|r| r.ok),
                        class: r.map(|r| r.class.as_str()),
                        phase: r.and_then(|r| r.phase).map(Phase::as_str),
                        message: r.and_then(|r| r.message.clone()),
                        instance: r.map(|r| r.instance.clone()),
                        total_ms: r.map(|r| r.total_ms),
                    }
                })
                .collect(),
        }
    }
}

/// One attempt's evidence.
#[derive(Debug, Clone, Serialize, Default)]
pub struct AttemptView {
    /// 1-based attempt number.
    pub number: u64,
    /// Start, RFC 3339.
    pub started_at: Option<String>,
    /// `ok` or the failure class.
    pub class: String,
    /// Phase that failed.
    pub phase: Option<String>,
    /// One-line description of the failure.
    pub message: Option<String>,
    /// Address connected to, and the local one it left from when the check
    /// has a source address ("192.0.2.7:443 from 10.0.0.5:40312").
    pub address: Option<String>,
    /// "HTTP/1.1 503 Service Unavailable".
    pub status_line: Option<String>,
    /// Response headers (name, value), at most 12.
    pub headers: Vec<(String, String)>,
    /// Response headers not shown.
    pub more_headers: usize,
    /// Start of a non-101 response body, on one line.
    pub body_snippet: Option<String>,
    /// "dns 0.31 ms · connect 0.12 ms · … · total 3.02 s".
    pub timings: String,
    /// Who closed and when, in words.
    pub close: Option<String>,
    /// Timeline lines, "   12.3 ms  upgrade  GET /ws sent".
    pub events: Vec<String>,
}

impl AlertView {
    /// Digest `n` for templates.
    pub fn new(n: &Notification) -> AlertView {
        let report = n.report.clone().map(scrub);
        let attempts: Vec<AttemptView> = report
            .iter()
            .flat_map(|r| &r.attempt_details)
            .map(attempt_view)
            .collect();
        AlertView {
            kind: n.kind.name(),
            kind_word: n.kind.word(),
            summary: summary(n),
            monitor: n.monitor.clone(),
            url: redact_url(&n.url),
            class: n.class.as_str(),
            phase: n.phase.map(Phase::as_str),
            message: n.message.clone(),
            hint: n.hint.clone(),
            first_seen: rfc3339(n.first_seen),
            first_seen_text: human_time(n.first_seen),
            at: rfc3339(n.at),
            at_text: human_time(n.at),
            outage_secs: n.outage_secs,
            outage: n.outage_text(),
            previous_class: n.previous_class.map(Class::as_str),
            failed_runs: n.failed_runs,
            incident_id: n.incident_id(),
            classes_seen: n.classes_seen.iter().map(|c| c.as_str()).collect(),
            link: n.link.clone(),
            labels: n.labels.clone(),
            incident_class: n.classes_seen.first().unwrap_or(&n.class).as_str(),
            incident_phase: n.first_phase.or(n.phase).map(Phase::as_str),
            in_maintenance: n.in_maintenance,
            round: n.round.as_ref().map(RoundView::new),
            group: n
                .group
                .iter()
                .map(|m| GroupMember {
                    url: redact_url(&m.url),
                    ..m.clone()
                })
                .collect(),
            evidence: evidence_text(&attempts),
            attempts,
            report,
            report_text: n.report_text.clone(),
            delivery_id: None,
        }
    }
}

/// The one-line summary used by subjects and chat headlines.
fn summary(n: &Notification) -> String {
    let failure = match n.phase {
        Some(p) => format!("{} in {p}", n.class),
        None => n.class.to_string(),
    };
    let monitor = one_line(&n.monitor);
    match n.kind {
        NotificationKind::Down => format!("DOWN {monitor}: {failure}"),
        NotificationKind::Recovered => match n.outage_text() {
            Some(o) => format!("RECOVERED {monitor} after {o} (was {failure})"),
            None => format!("RECOVERED {monitor} (was {failure})"),
        },
        NotificationKind::Reminder => {
            let mut s = format!("REMINDER {monitor} still down");
            if let Some(o) = n.outage_text() {
                let _ = write!(s, " for {o}");
            }
            let _ = write!(s, ": {failure}");
            if let Some(prev) = n.previous_class.filter(|p| *p != n.class) {
                let _ = write!(s, " (was {prev})");
            }
            s
        }
    }
}

/// Collapse control characters so a value cannot break a one-line field.
pub fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_control())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn human_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Redact every header value and the URL again, wherever the document holds them.
fn scrub(mut doc: ReportDocument) -> ReportDocument {
    doc.url = redact_url(&doc.url);
    redact_response(doc.response.as_mut());
    redact_response(evidence_response(doc.evidence.as_mut()));
    for a in &mut doc.attempt_details {
        if let Some(request) = &mut a.request {
            redact_headers(&mut request.headers);
        }
        redact_response(a.response.as_mut());
        redact_response(evidence_response(a.error.as_mut()));
    }
    doc
}

fn evidence_response(error: Option<&mut CheckError>) -> Option<&mut ResponseHead> {
    match error {
        Some(CheckError::Missing101 { response }) => Some(response),
        _ => None,
    }
}

fn redact_response(head: Option<&mut ResponseHead>) {
    if let Some(head) = head {
        redact_headers(&mut head.headers);
    }
}

fn redact_headers(headers: &mut [(String, String)]) {
    for (name, value) in headers {
        *value = header_value_for_evidence(name, value);
    }
}

fn attempt_view(a: &AttemptReport) -> AttemptView {
    let mut view = AttemptView {
        number: a.number.into(),
        started_at: Some(a.started_at.clone()),
        class: a.class.as_str().to_string(),
        phase: a.phase.map(|p| p.as_str().to_string()),
        message: a.message.as_deref().map(one_line),
        address: a.address.as_ref().map(|addr| match &a.local_address {
            Some(local) => format!("{addr} from {local}"),
            None => addr.clone(),
        }),
        timings: timings_line(&a.timings),
        close: a.close.as_ref().map(|c| one_line(&close_text(c))),
        events: events_text(&a.events),
        ..AttemptView::default()
    };
    if let Some(head) = &a.response {
        view.status_line = Some(one_line(&head.status_line()));
        view.more_headers = head.headers.len().saturating_sub(MAX_HEADERS);
        view.headers = head
            .headers
            .iter()
            .take(MAX_HEADERS)
            .map(|(k, v)| (one_line(k), one_line(&header_value_for_evidence(k, v))))
            .collect();
        view.body_snippet = head
            .body_snippet
            .as_deref()
            .map(one_line)
            .filter(|b| !b.is_empty())
            .map(|b| truncate_chars(&b, MAX_BODY_CHARS));
    }
    view
}

fn events_text(events: &[Event]) -> Vec<String> {
    let line = |e: &Event| {
        format!(
            "{:>10}  {:<8} {}",
            ms_text(e.at_ms),
            e.phase.as_str(),
            one_line(&e.what)
        )
    };
    if events.len() <= EVENTS_HEAD + EVENTS_TAIL {
        return events.iter().map(line).collect();
    }
    let skipped = events.len() - EVENTS_HEAD - EVENTS_TAIL;
    let mut out: Vec<String> = events[..EVENTS_HEAD].iter().map(line).collect();
    out.push(format!("{:>10}  … {skipped} more events …", ""));
    out.extend(events[events.len() - EVENTS_TAIL..].iter().map(line));
    out
}

/// Every attempt as an indented block of text.
fn evidence_text(attempts: &[AttemptView]) -> String {
    let mut out = String::new();
    for (i, a) in attempts.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = write!(out, "Attempt #{}: {}", a.number, a.class);
        if let Some(p) = &a.phase {
            let _ = write!(out, " in {p}");
        }
        if let Some(addr) = &a.address {
            let _ = write!(out, " ({addr})");
        }
        out.push('\n');
        if let Some(m) = &a.message {
            let _ = writeln!(out, "  what:     {}", one_line(m));
        }
        if let Some(s) = &a.status_line {
            let _ = writeln!(out, "  response: {s}");
            for (k, v) in &a.headers {
                let _ = writeln!(out, "            {k}: {v}");
            }
            if a.more_headers > 0 {
                let _ = writeln!(out, "            (+{} more headers)", a.more_headers);
            }
        }
        if let Some(b) = &a.body_snippet {
            let _ = writeln!(out, "  body:     {b}");
        }
        if let Some(c) = &a.close {
            let _ = writeln!(out, "  close:    {c}");
        }
        let _ = writeln!(out, "  timings:  {}", a.timings);
        if !a.events.is_empty() {
            let _ = writeln!(out, "  timeline:");
            for e in &a.events {
                let _ = writeln!(out, "  {e}");
            }
        }
    }
    out.truncate(out.trim_end().len());
    out
}

/// At most `max` characters, with "…" when cut.
pub fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::sample;
    use crate::check::model::{CloseFrameInfo, CloseInfo, Closer, PeerEnd};

    fn report(n: &mut Notification) -> &mut ReportDocument {
        n.report.as_mut().expect("the sample has a report")
    }

    #[test]
    fn the_summary_says_what_happened_in_one_line() {
        let cases = [
            (
                NotificationKind::Down,
                "DOWN chat-gateway: early_fin in open",
            ),
            (
                NotificationKind::Recovered,
                "RECOVERED chat-gateway after 5m 3s (was early_fin in open)",
            ),
            (
                NotificationKind::Reminder,
                "REMINDER chat-gateway still down for 1h: early_fin in open (was timeout)",
            ),
        ];
        for (kind, want) in cases {
            assert_eq!(summary(&sample::notification(kind)), want);
        }
        let mut n = sample::notification(NotificationKind::Down);
        n.monitor = "a\r\nBcc: x@example.com".into();
        n.phase = None;
        assert_eq!(summary(&n), "DOWN a Bcc: x@example.com: early_fin");
    }

    #[test]
    fn who_closed_and_when_is_in_the_evidence() {
        let close = |initiated_by, frame: Option<(u16, &str)>, peer_end, at_ms, clean| CloseInfo {
            initiated_by,
            server_frame: frame
                .map(|(code, reason)| CloseFrameInfo::new(Some(code), reason.into())),
            peer_end: Some(peer_end),
            peer_end_at_ms: Some(at_ms),
            clean,
        };
        let cases = [
            (
                close(
                    Closer::Server,
                    Some((1001, "bye\nnow")),
                    PeerEnd::Fin,
                    3210.0,
                    false,
                ),
                "server closed first: Close 1001 \"bye\\nnow\", server FIN at 3.21 s",
            ),
            (
                close(Closer::Server, None, PeerEnd::Rst, 12.5, false),
                "server closed first: no Close frame, server RST at 12.5 ms",
            ),
            (
                close(Closer::Client, Some((1000, "")), PeerEnd::Fin, 40.0, true),
                "clean close (Close 1000 from the server, then its FIN)",
            ),
        ];
        for (close, want) in cases {
            let mut n = sample::notification(NotificationKind::Down);
            report(&mut n).attempt_details[0].close = Some(close);
            let view = AlertView::new(&n);
            assert_eq!(view.attempts[0].close.as_deref(), Some(want));
            assert!(view.evidence.contains(&format!("  close:    {want}\n")));
        }
    }

    #[test]
    fn a_long_timeline_keeps_its_start_and_its_end() {
        let events: Vec<Event> = (0..35)
            .map(|i| Event {
                at_ms: i as f64,
                phase: Phase::Open,
                what: format!("event {i}"),
            })
            .collect();
        let lines = events_text(&events);
        assert_eq!(lines.len(), EVENTS_HEAD + 1 + EVENTS_TAIL);
        assert!(lines[0].ends_with("event 0"));
        assert!(lines[EVENTS_HEAD].contains("… 5 more events …"));
        assert!(lines.last().unwrap().ends_with("event 34"));
    }

    #[test]
    fn many_headers_are_capped_and_counted() {
        let mut n = sample::notification(NotificationKind::Down);
        let headers = (0..15)
            .map(|i| (format!("X-H{i}"), "v".to_string()))
            .collect();
        report(&mut n).attempt_details[0]
            .response
            .as_mut()
            .unwrap()
            .headers = headers;
        let view = AlertView::new(&n);
        assert_eq!(view.attempts[0].headers.len(), MAX_HEADERS);
        assert_eq!(view.attempts[0].more_headers, 3);
        assert!(view.evidence.contains("(+3 more headers)"));
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn headers_are_redacted_again_wherever_they_sit_in_the_report() {
        let mut n = sample::notification(NotificationKind::Down);
        report(&mut n).response.as_mut().unwrap().headers =
            pairs(&[("Set-Cookie", "sid=1"), ("Server", "x")]);
        report(&mut n).attempt_details[1]
            .request
            .as_mut()
            .unwrap()
            .headers = pairs(&[("X-Api-Key", "k"), ("Origin", "https://a")]);
        let mut refused = report(&mut n).response.clone().unwrap();
        refused.headers = pairs(&[("Set-Cookie", "sid=2")]);
        report(&mut n).attempt_details[0].error =
            Some(CheckError::Missing101 { response: refused });
        let view = AlertView::new(&n);
        assert_eq!(
            view.report
                .as_ref()
                .unwrap()
                .response
                .clone()
                .unwrap()
                .headers,
            pairs(&[("Set-Cookie", "[redacted]"), ("Server", "x")])
        );
        assert_eq!(
            view.report.as_ref().unwrap().attempt_details[1]
                .request
                .as_ref()
                .unwrap()
                .headers,
            pairs(&[("X-Api-Key", "[redacted]"), ("Origin", "https://a")])
        );
        let Some(CheckError::Missing101 { response }) =
            &view.report.as_ref().unwrap().attempt_details[0].error
        else {
            panic!("the evidence keeps its variant");
        };
        assert_eq!(response.headers, pairs(&[("Set-Cookie", "[redacted]")]));
    }

    #[test]
    fn a_notification_whose_report_does_not_decode_still_renders_its_summary() {
        let n = sample::notification(NotificationKind::Down);
        let mut stored = serde_json::to_value(&n).unwrap();
        stored["report"] = serde_json::json!({"written_by": "another version"});
        let back: Notification = serde_json::from_value(stored).expect("the alert still decodes");
        assert_eq!(back.report, None);
        let view = AlertView::new(&back);
        assert!(view.attempts.is_empty());
        assert_eq!(view.summary, "DOWN chat-gateway: early_fin in open");
    }

    #[test]
    fn a_report_without_attempt_details_still_renders_its_summary() {
        let mut n = sample::notification(NotificationKind::Down);
        report(&mut n).attempt_details.clear();
        let view = AlertView::new(&n);
        assert!(view.attempts.is_empty());
        assert_eq!(view.evidence, "");
        assert_eq!(view.class, "early_fin");
    }
}
