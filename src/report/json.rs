//! `--format json`: one object per endpoint. The top level summarises the
//! decisive attempt; `attempt_details` keeps every attempt's full evidence.

use crate::check::{AttemptReport, CheckReport};
use serde_json::{Value, json};

/// One JSON document per report, separated by newlines (a JSON stream that
/// `jq` reads as is; a single URL gives exactly one object).
pub fn render(reports: &[CheckReport]) -> String {
    let mut out = String::new();
    for r in reports {
        out.push_str(&serde_json::to_string_pretty(&to_value(r)).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// The JSON object for one report.
pub fn to_value(r: &CheckReport) -> Value {
    let last: &AttemptReport = r.decisive();
    let close = last.close.as_ref().map(|c| {
        json!({
            "code": c.server_frame.as_ref().and_then(|f| f.code),
            "reason": c.server_frame.as_ref().map(|f| f.reason.clone()),
            "initiated_by": c.initiated_by,
            "close_frame_received": c.server_frame.is_some(),
            "peer_end": c.peer_end,
            "peer_end_at_ms": c.peer_end_at_ms,
            "clean": c.clean,
        })
    });
    let tls = last.tls.as_ref().map(|t| {
        let cert = t.certificate.as_ref();
        json!({
            "version": t.version,
            "cipher": t.cipher,
            "subject": cert.map(|c| c.subject.clone()),
            "issuer": cert.map(|c| c.issuer.clone()),
            "names": cert.map(|c| c.names.clone()),
            "not_after": cert.map(|c| c.not_after.clone()),
            "days_left": cert.map(|c| c.days_left),
            "verification_disabled": t.verification_disabled,
            "client_certificate": t.client_certificate,
        })
    });
    let response = last.response.as_ref().map(|h| {
        json!({
            "version": h.version,
            "status": h.status,
            "reason": h.reason,
            "headers": h.headers.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
            "body_snippet": h.body_snippet,
        })
    });
    json!({
        "url": r.url,
        "address": r.pinned_address.clone().or_else(|| last.address.clone()),
        "ok": r.ok(),
        "status": r.status(),
        "class": last.class,
        "phase": last.phase,
        "message": last.message,
        "hint": last.hint,
        "attempts": r.attempts.len(),
        "timings": last.timings,
        "response": response,
        "close": close,
        "tls": tls,
        "subprotocol": last.subprotocol,
        "bytes_sent": last.bytes_sent,
        "bytes_received": last.bytes_received,
        "warnings": last.warnings,
        "evidence": last.error,
        "events": last.events,
        "attempt_details": r.attempts,
    })
}
