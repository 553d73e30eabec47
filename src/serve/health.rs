//! `GET /healthz` and `GET /readyz`, for orchestrators and load balancers.
//!
//! * `/healthz`: the daemon is alive and scheduling — 503 when a monitor's
//!   check is more than [`LATE_ALLOWANCE`] overdue (a stuck loop, or every
//!   slot taken for that long).
//! * `/readyz`: the configuration is loaded, the state store answers and this
//!   host has the descriptors, ports and buffers checks need. Every reason it
//!   is not ready is listed.

use super::Surface;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::time::Duration;

/// How overdue a check may be before the daemon counts as not scheduling.
pub const LATE_ALLOWANCE: Duration = Duration::from_secs(120);

/// `GET /healthz`.
pub async fn healthz(State(s): State<Surface>) -> Response {
    let late = s.shared.heartbeat.late(chrono::Utc::now(), LATE_ALLOWANCE);
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
                humantime::format_duration(LATE_ALLOWANCE)
            ),
            "overdue": late,
            "monitor_loops": loops,
        })),
    )
        .into_response()
}

/// `GET /readyz`.
pub async fn readyz(State(s): State<Surface>) -> Response {
    let monitors = s.shared.config().monitors.len();
    let mut reasons = Vec::new();
    if let Err(e) = s.shared.store.outbox_depth().await {
        reasons.push(format!("state store: {e}"));
    }
    reasons.extend(s.shared.local_faults.reasons());
    if reasons.is_empty() {
        return Json(json!({ "status": "ready", "monitors": monitors })).into_response();
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "status": "not ready", "reason": reasons.join("; "), "reasons": reasons })),
    )
        .into_response()
}
