//! `GET /healthz` and `GET /readyz`, for orchestrators and load balancers.
//!
//! * `/healthz`: the daemon is alive and scheduling — 503 when a monitor's
//!   check is more than `settings.overdue_after` (2 minutes by default)
//!   overdue (a stuck loop, or every slot taken for that long).
//! * `/readyz`: the configuration is loaded and nothing in [`not_ready`]'s
//!   list holds: the state store answers and is durable (a store working
//!   from memory after failed writes is alive, but not ready), and this host
//!   has the descriptors, ports and buffers checks need, and (in a cluster)
//!   its heartbeat reaches the shared store.

use super::Surface;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// `GET /healthz`.
pub async fn healthz(State(s): State<Surface>) -> Response {
    let allowance = s.shared.config().settings.overdue_after;
    let late = s.shared.heartbeat.late(chrono::Utc::now(), allowance);
    let loops = s.shared.heartbeat.loops();
    if late.is_empty() {
        return Json(json!({ "status": "ok", "monitor_loops": loops })).into_response();
    }
    let late: Vec<_> = late
        .iter()
        .map(|l| json!({ "monitor": l.monitor, "overdue_seconds": l.by.as_secs() }))
        .collect();
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({
            "status": "not scheduling",
            "reason": format!(
                "{} monitor(s) overdue by more than {}",
                late.len(),
                humantime::format_duration(allowance)
            ),
            "overdue": late,
            "monitor_loops": loops,
        })),
    )
        .into_response()
}

/// `GET /readyz`: 200 when ready, else 503 with every reason.
pub async fn readyz(State(s): State<Surface>) -> Response {
    let monitors = s.shared.config().monitors.len();
    let reasons = not_ready(&s).await;
    if reasons.is_empty() {
        return Json(json!({ "status": "ready", "monitors": monitors })).into_response();
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({
            "status": "not ready",
            "reason": reasons.join("; "),
            "reasons": reasons,
            "monitors": monitors,
        })),
    )
        .into_response()
}

/// Why the daemon is not ready, one entry per condition (empty: ready).
async fn not_ready(s: &Surface) -> Vec<String> {
    let mut reasons = Vec::new();
    let store = &s.shared.store;
    if let Err(e) = super::outbox_depth(&s.shared).await {
        reasons.push(format!("state store: {e}"));
    }
    if let Some(why) = store.health().degraded() {
        reasons.push(format!("state store not durable: {why}"));
    }
    if let Some(why) = s.shared.cluster.fenced() {
        reasons.push(format!("cluster: {why}"));
    }
    reasons.extend(s.shared.local_faults.reasons());
    reasons
}
