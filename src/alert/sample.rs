//! A realistic sample notification: a chat gateway whose load balancer closes
//! idle WebSockets, seen twice. Used to try templates at startup (an override
//! that fails is reported before the first real alert needs it), by
//! `wsprobe alert-test`, and by tests.

use super::delivery_id::DeliveryId;
use crate::check::{CheckReport, Class, Phase};
use crate::notification::{Notification, NotificationKind};
use crate::report::document::ReportDocument;
use chrono::{TimeZone, Utc};
use serde_json::{Value, json};

/// The delivery key templates are tried with: a fixed outbox row's.
pub fn delivery_id() -> DeliveryId {
    DeliveryId::for_outbox_row(
        1,
        "sample",
        Utc.with_ymd_and_hms(2026, 5, 1, 10, 0, 0).unwrap(),
    )
}

/// A sample notification of `kind` with two failed attempts of evidence.
pub fn notification(kind: NotificationKind) -> Notification {
    let first_seen = Utc.with_ymd_and_hms(2026, 5, 1, 10, 0, 0).unwrap();
    let (at, outage_secs, previous_class) = match kind {
        NotificationKind::Down => (first_seen, None, None),
        NotificationKind::Reminder => (
            Utc.with_ymd_and_hms(2026, 5, 1, 11, 0, 0).unwrap(),
            Some(3600),
            Some(Class::Timeout),
        ),
        NotificationKind::Recovered => (
            Utc.with_ymd_and_hms(2026, 5, 1, 10, 5, 3).unwrap(),
            Some(303),
            None,
        ),
    };
    Notification {
        kind,
        monitor: "chat-gateway".into(),
        url: "wss://chat.example.com/ws".into(),
        class: Class::EarlyFin,
        phase: Some(Phase::Open),
        message: Some(MESSAGE.into()),
        hint: Some(HINT.into()),
        first_seen,
        at,
        outage_secs,
        previous_class,
        failed_runs: 3,
        classes_seen: vec![Class::Timeout, Class::EarlyFin],
        link: None,
        labels: Default::default(),
        first_phase: Some(Phase::Open),
        in_maintenance: false,
        suppressed_by: None,
        round: None,
        group: Vec::new(),
        report: Some(match kind {
            NotificationKind::Recovered => passing_report(),
            _ => failing_report(),
        }),
        report_text: match kind {
            NotificationKind::Recovered => {
                "OK wss://chat.example.com/ws — 101 in 12.0 ms, clean close, total 41.2 ms\n".into()
            }
            _ => format!(
                "CRITICAL wss://chat.example.com/ws — early_fin in open (2 attempts)\n  what:     {MESSAGE}\n  hint:     {HINT}\n"
            ),
        },
    }
}

const MESSAGE: &str =
    "open: the server sent Close 1001 \"idle timeout\" 60012.4 ms after the 101, after 60.0 s idle";
const HINT: &str = "A proxy or load balancer closes idle connections: raise its idle timeout or send pings more often than it.";

fn attempt(number: u32, started_at: &str, close_at_ms: f64) -> Value {
    json!({
        "number": number,
        "started_at": started_at,
        "class": "early_fin",
        "phase": "open",
        "message": MESSAGE,
        "hint": HINT,
        "error": {
            "class": "early_fin",
            "phase": "open",
            "peer_end": "fin",
            "close_frame": {"code": 1001, "reason": "idle timeout"},
            "ms_after_101": close_at_ms - 40.0,
            "idle_ms": 60000.0,
            "while_held": true
        },
        "address": "203.0.113.10:443",
        "proxy": null,
        "timings": {
            "dns_ms": 1.2, "connect_ms": 10.5, "tls_ms": 14.9, "upgrade_ms": 12.0,
            "open_ms": close_at_ms - 40.0, "close_ms": null, "total_ms": close_at_ms
        },
        "request": {
            "line": "GET /ws HTTP/1.1",
            "headers": [["Host", "chat.example.com"], ["Authorization", "[redacted]"]]
        },
        "response": {
            "version": "HTTP/1.1", "status": 101, "reason": "Switching Protocols",
            "headers": [
                ["Server", "nginx/1.25.3"], ["Upgrade", "websocket"], ["Connection", "Upgrade"],
                ["Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="]
            ],
            "body_snippet": null
        },
        "subprotocol": null,
        "tls": {"version": "TLSv1.3", "cipher": "TLS13_AES_128_GCM_SHA256", "certificate": null, "verification_disabled": false},
        "close": {
            "initiated_by": "server",
            "server_frame": {"code": 1001, "reason": "idle timeout"},
            "peer_end": "fin",
            "peer_end_at_ms": close_at_ms,
            "clean": false
        },
        "bytes_sent": 310, "bytes_received": 180,
        "warnings": [],
        "events": [
            {"at_ms": 1.2, "phase": "dns", "what": "resolved to 203.0.113.10"},
            {"at_ms": 11.7, "phase": "connect", "what": "connected to 203.0.113.10:443"},
            {"at_ms": 26.6, "phase": "tls", "what": "TLSv1.3 TLS13_AES_128_GCM_SHA256 established"},
            {"at_ms": 26.7, "phase": "upgrade", "what": "GET /ws sent"},
            {"at_ms": 38.6, "phase": "upgrade", "what": "HTTP/1.1 101 Switching Protocols received"},
            {"at_ms": close_at_ms, "phase": "open", "what": "Close 1001 \"idle timeout\" received, then FIN"}
        ]
    })
}

/// The document of a run made of `attempts`, as the engine would build it.
fn report_of(attempts: Vec<Value>) -> ReportDocument {
    let attempts = attempts
        .into_iter()
        .map(|a| serde_json::from_value(a).expect("the sample attempt is an AttemptReport"))
        .collect();
    ReportDocument::new(&CheckReport {
        url: "wss://chat.example.com/ws".into(),
        pinned_address: None,
        attempts,
        limits: Vec::new(),
    })
}

fn failing_report() -> ReportDocument {
    report_of(vec![
        attempt(1, "2026-05-01T09:58:59.000Z", 60052.4),
        attempt(2, "2026-05-01T09:59:59.500Z", 60049.1),
    ])
}

fn passing_report() -> ReportDocument {
    let attempt = json!({
        "number": 1,
        "started_at": "2026-05-01T10:05:02.900Z",
        "class": "ok",
        "phase": null,
        "message": null,
        "hint": null,
        "error": null,
        "address": "203.0.113.10:443",
        "proxy": null,
        "timings": {
            "dns_ms": 1.1, "connect_ms": 10.2, "tls_ms": 14.1, "upgrade_ms": 12.0,
            "open_ms": 2.3, "close_ms": 1.5, "total_ms": 41.2
        },
        "request": {
            "line": "GET /ws HTTP/1.1",
            "headers": [["Host", "chat.example.com"], ["Authorization", "[redacted]"]]
        },
        "response": {
            "version": "HTTP/1.1", "status": 101, "reason": "Switching Protocols",
            "headers": [["Server", "nginx/1.25.3"], ["Upgrade", "websocket"], ["Connection", "Upgrade"]],
            "body_snippet": null
        },
        "subprotocol": null,
        "tls": {"version": "TLSv1.3", "cipher": "TLS13_AES_128_GCM_SHA256", "certificate": null, "verification_disabled": false},
        "close": {
            "initiated_by": "client",
            "server_frame": {"code": 1000, "reason": ""},
            "peer_end": "fin",
            "peer_end_at_ms": 41.1,
            "clean": true
        },
        "bytes_sent": 320, "bytes_received": 190,
        "warnings": [],
        "events": [
            {"at_ms": 1.1, "phase": "dns", "what": "resolved to 203.0.113.10"},
            {"at_ms": 11.3, "phase": "connect", "what": "connected to 203.0.113.10:443"},
            {"at_ms": 25.4, "phase": "tls", "what": "TLSv1.3 TLS13_AES_128_GCM_SHA256 established"},
            {"at_ms": 37.4, "phase": "upgrade", "what": "HTTP/1.1 101 Switching Protocols received"},
            {"at_ms": 39.7, "phase": "open", "what": "pong received after 2.3 ms"},
            {"at_ms": 41.1, "phase": "close", "what": "Close 1000 received, then FIN"}
        ]
    });
    report_of(vec![attempt])
}
