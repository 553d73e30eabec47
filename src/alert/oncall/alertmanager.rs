//! Alertmanager v2 API: `POST /api/v2/alerts` with one alert whose labels
//! (`alertname`, `monitor`, `class`, `phase`, `severity`, `incident`; a
//! `location` label waits for instances to know theirs) name
//! the incident as it opened, so its DOWN, REMINDERs and RECOVERED are one
//! Alertmanager alert (same labels, same fingerprint) and teams route it with
//! their existing routes. A firing alert carries `endsAt` a day ahead:
//! without it, Alertmanager resolves an alert not re-sent within its
//! `resolve_timeout` (5 minutes by default) while the monitor is still down.
//! RECOVERED sends `endsAt` = now, which resolves it. The monitor's own
//! `labels:` are added beside those, never over them.

use super::{ApiRequest, join};
use crate::alert::view::AlertView;
use serde_json::json;

/// How long a firing alert stays firing without a REMINDER or RECOVERED.
const FIRING_HOLD: chrono::Duration = chrono::Duration::hours(24);

pub(super) fn request(base: &reqwest::Url, view: &AlertView) -> ApiRequest {
    let at = chrono::DateTime::parse_from_rfc3339(&view.at)
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_else(|_| chrono::Utc::now());
    let ends = if view.kind == "recovered" {
        at
    } else {
        at + FIRING_HOLD
    };
    let mut annotations = json!({
        "summary": view.summary,
        "failed_runs": view.failed_runs.to_string(),
    });
    for (key, value) in [
        ("description", &view.message),
        ("hint", &view.hint),
        ("outage", &view.outage),
    ] {
        if let Some(value) = value {
            annotations[key] = json!(value);
        }
    }
    if !view.classes_seen.is_empty() {
        annotations["classes_seen"] = json!(view.classes_seen.join(", "));
    }
    let mut alert = json!({
        "labels": {
            "alertname": "WebSocketMonitorDown",
            "monitor": view.monitor,
            "class": view.incident_class,
            "phase": view.incident_phase.unwrap_or("none"),
            "severity": "critical",
            "incident": view.incident_id,
        },
        "annotations": annotations,
        "startsAt": view.first_seen,
        "endsAt": ends.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    // The monitor's labels, for Alertmanager's routes; wsprobe's own names
    // above win, so a label cannot change which alert this is.
    for (name, value) in &view.labels {
        if alert["labels"].get(name).is_none() {
            alert["labels"][name] = json!(value);
        }
    }
    if let Some(link) = &view.link {
        alert["generatorURL"] = json!(link);
    }
    ApiRequest {
        url: join(base, &["api", "v2", "alerts"]),
        auth: None,
        body: json!([alert]),
    }
}

#[cfg(test)]
mod tests {
    use super::request;
    use crate::alert::sample;
    use crate::alert::view::AlertView;
    use crate::notification::NotificationKind;

    #[test]
    fn the_monitors_labels_join_the_alerts_labels_without_replacing_wsprobes_own() {
        let mut n = sample::notification(NotificationKind::Down);
        n.labels = [("tier", "1"), ("team", "payments"), ("monitor", "spoof")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into();
        let base = reqwest::Url::parse("http://am.example/").unwrap();
        let body = request(&base, &AlertView::new(&n)).body;
        let labels = &body[0]["labels"];
        assert_eq!(labels["tier"], "1");
        assert_eq!(labels["team"], "payments");
        assert_eq!(labels["monitor"], "chat-gateway", "{labels}");
        assert_eq!(labels["alertname"], "WebSocketMonitorDown");
    }
}
