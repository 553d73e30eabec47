//! `GET /api/monitors` and `GET /api/monitors/{name}`: each monitor's state,
//! since when, its newest run and newest failure with their evidence (the
//! documented JSON of `wsprobe check --format json`), the last 24 h uptime and
//! latency percentiles, and the open incident.

use super::Surface;
use super::history::{self, Percentiles};
use super::snapshot::Snapshot;
use crate::state::store::ResultRow;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use serde_json::{Value, json};

/// `GET /api/monitors`: every monitor, in config order.
pub async fn list(State(s): State<Surface>) -> Response {
    let config = s.shared.config();
    let mut monitors = Vec::with_capacity(config.monitors.len());
    for m in &config.monitors {
        match Snapshot::load(&s.shared, m).await {
            Ok(snap) => monitors.push(to_json(&snap)),
            Err(e) => return store_error(e),
        }
    }
    Json(json!({ "monitors": monitors, "store": store_json(&s) })).into_response()
}

/// Whether what the API shows is on disk: while the state store cannot be
/// written, states and alerts live in memory and would not survive a restart.
fn store_json(s: &Surface) -> Value {
    let degraded = s.shared.store.health().degraded();
    json!({ "durable": degraded.is_none(), "degraded": degraded })
}

/// `GET /api/monitors/{name}`: one monitor; 404 for an unknown name.
pub async fn one(State(s): State<Surface>, Path(name): Path<String>) -> Response {
    let config = s.shared.config();
    let Some(m) = config.monitors.iter().find(|m| m.name == name) else {
        return json_error(StatusCode::NOT_FOUND, "no monitor with this name");
    };
    match Snapshot::load(&s.shared, m).await {
        Ok(snap) => Json(to_json(&snap)).into_response(),
        Err(e) => store_error(e),
    }
}

fn store_error(e: crate::state::store::StoreError) -> Response {
    tracing::error!(error = %e, "cannot read the state store for the API");
    json_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "the state store cannot be read",
    )
}

/// An API error as JSON, `{"error": "…"}`, so an API client reads every
/// answer the same way.
pub fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// Any other path under `/api/`: a JSON 404, not the plain-text one.
pub async fn no_such_endpoint() -> Response {
    json_error(StatusCode::NOT_FOUND, "no such API endpoint")
}

/// The JSON of one monitor.
pub fn to_json(snap: &Snapshot) -> Value {
    let day = snap.since(Duration::hours(24));
    let failures_24h = day.iter().filter(|p| !p.ok).count();
    let latency: Option<Percentiles> = history::percentiles(day);
    let incident = snap.state.incident.as_ref().map(|i| {
        json!({
            "first_seen": i.first_seen,
            "class": i.current_class,
            "alerted": i.alerted,
            "announced": i.announced,
            "last_notified_at": i.last_notified_at,
            "suppressed_by": i.suppressed_by,
            // The channels its DOWN went to (at once or by escalation):
            // only they hear its REMINDERs and RECOVERED.
            "channels_told": i.channels_told,
            "failed_runs": snap.state.consecutive_failures,
        })
    });
    json!({
        "name": snap.name,
        "url": snap.url,
        "schedule": snap.schedule,
        "labels": snap.labels,
        "state": snap.state.health.word(),
        "since": snap.state.since,
        "consecutive_failures": snap.state.consecutive_failures,
        "consecutive_successes": snap.state.consecutive_successes,
        "last_result": snap.last.as_ref().map(result_json),
        "last_failure": snap.last_failure.as_ref().map(result_json),
        "uptime_24h": history::uptime(&snap.points, snap.now - Duration::hours(24)),
        "uptime_7d": history::uptime(&snap.points, snap.now - Duration::days(7)),
        "checks_24h": day.len(),
        "failures_24h": failures_24h,
        "latency_ms_24h": latency,
        "incident": incident,
        // Checked from several locations: the last round, each location's
        // result and the quorum's count (absent otherwise).
        "round": snap.state.round,
    })
}

fn result_json(row: &ResultRow) -> Value {
    json!({
        "at": row.at,
        "ok": row.ok,
        "class": row.class,
        "phase": row.phase,
        "total_ms": row.total_ms,
        "in_maintenance": row.in_maintenance,
        // The typed document; a row that no longer decodes shows as its text.
        "report": row.report,
    })
}
