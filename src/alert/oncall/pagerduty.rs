//! PagerDuty Events API v2: `POST /v2/enqueue` with the integration's
//! `routing_key`. DOWN and every REMINDER `trigger` with the incident id as
//! `dedup_key`, so a reminder updates the open PagerDuty incident instead of
//! opening another; RECOVERED `resolve`s it. PagerDuty answers 202; 429 and
//! 5xx are retried by the outbox.

use super::{ApiRequest, cap, join};
use crate::alert::view::AlertView;
use serde_json::{Value, json};

/// The Events API's host.
pub const DEFAULT_URL: &str = "https://events.pagerduty.com";
/// PagerDuty's limit of `payload.summary`.
const SUMMARY_CHARS: usize = 1024;

pub(super) fn request(base: &reqwest::Url, routing_key: &str, view: &AlertView) -> ApiRequest {
    let mut body = json!({
        "routing_key": routing_key,
        "dedup_key": view.incident_id,
        "event_action": if view.kind == "recovered" { "resolve" } else { "trigger" },
    });
    if view.kind != "recovered" {
        body["payload"] = payload(view);
        body["client"] = json!("wsprobe");
    }
    if let Some(link) = &view.link {
        body["links"] =
            json!([{ "href": link, "text": format!("{} on the status page", view.monitor) }]);
        body["client_url"] = json!(link);
    }
    ApiRequest {
        url: join(base, &["v2", "enqueue"]),
        auth: None,
        body,
    }
}

fn payload(view: &AlertView) -> Value {
    json!({
        "summary": cap(&view.summary, SUMMARY_CHARS),
        "source": view.url,
        "severity": "critical",
        "timestamp": view.at,
        "component": view.monitor,
        "group": view.phase,
        "class": view.class,
        "custom_details": {
            "phase": view.phase,
            "message": view.message,
            "hint": view.hint,
            "first_seen": view.first_seen,
            "failed_runs": view.failed_runs,
            "previous_class": view.previous_class,
            "incident_id": view.incident_id,
            "labels": view.labels,
            "evidence": view.evidence,
        },
    })
}
