//! The daemon's HTTP surface (`settings.listen` or `wsprobe run --listen`):
//!
//! | route | what | file |
//! |---|---|---|
//! | `GET /metrics` | Prometheus metrics of every monitor and of the daemon | [`metrics`] |
//! | `GET /probe?target=…&module=…` | one check on demand, blackbox_exporter style | [`probe`], [`allow`] |
//! | `GET /api/monitors`, `/api/monitors/{name}` | state, last result, uptime, latency (JSON) | [`api`] |
//! | `GET /api/cluster` | the instances sharing the state store and what each owns (JSON) | [`cluster`] |
//! | `GET /healthz`, `/readyz` | liveness (still scheduling) and readiness | [`health`] |
//! | `GET /`, `/monitors/{name}` | the status page, rendered on the server | [`page`], [`assets`] |
//!
//! Every route is also served under `settings.base_path` ([`base_path`]),
//! and behind the credentials and `Host` names of `settings.http` ([`guard`]).
//!
//! [`snapshot`] reads what is known about a monitor once per request;
//! [`history`] turns stored runs into uptime, percentiles, bars and incidents
//! for both the API and the page. The server stops with the daemon's
//! cancellation token; requests still running then get a short grace.

pub mod allow;
pub mod api;
pub mod assets;
pub mod base_path;
pub mod cluster;
pub mod guard;
pub mod health;
pub mod history;
pub mod metrics;
pub mod page;
pub mod probe;
pub mod snapshot;

use crate::daemon::shared::Shared;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Router, middleware};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// How long requests still running at shutdown (a slow `/probe`) may finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// What every handler receives.
#[derive(Clone)]
pub struct Surface {
    /// The daemon's context.
    pub shared: Arc<Shared>,
    /// Caps `/probe` checks in flight, apart from the scheduled ones so ad-hoc
    /// probes never delay the schedule.
    pub probe_slots: Arc<Semaphore>,
    /// The status page templates.
    pub pages: Arc<page::Pages>,
}

/// Every route, over the daemon's context.
pub fn router(shared: Arc<Shared>) -> Router {
    let surface = Surface {
        shared,
        probe_slots: Arc::new(Semaphore::new(probe::MAX_CONCURRENT)),
        pages: Arc::new(page::Pages::new()),
    };
    let routes = Router::new()
        .route("/", get(page::index))
        .route("/monitors/{name}", get(page::monitor))
        .route("/metrics", get(metrics_handler))
        .route("/probe", get(probe::handle))
        .route("/api/monitors", get(api::list))
        .route("/api/monitors/{name}", get(api::one))
        .route("/api/cluster", get(cluster::show))
        .route("/api/{*rest}", axum::routing::any(api::no_such_endpoint))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            surface.clone(),
            guard::check,
        ))
        .with_state(surface.clone());
    // The base path comes off before routing, which a layer of the routes
    // themselves would be too late for.
    Router::new()
        .fallback_service(routes)
        .layer(middleware::from_fn_with_state(surface, base_path::route))
}

/// Serve `listener` until `stop` is cancelled, then give running requests
/// a short grace (`SHUTDOWN_GRACE`) to finish.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>, stop: CancellationToken) {
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    tracing::info!(%addr, "HTTP surface listening (status page, /metrics, /probe, /api)");
    let server = axum::serve(listener, router(shared))
        .with_graceful_shutdown(stop.clone().cancelled_owned())
        .into_future();
    let deadline = async {
        stop.cancelled().await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        result = server => {
            if let Err(e) = result {
                tracing::error!(error = %e, "HTTP surface failed");
            }
        }
        _ = deadline => tracing::warn!("HTTP requests still running at shutdown were cut"),
    }
    tracing::info!("HTTP surface stopped");
}

async fn metrics_handler(State(s): State<Surface>) -> Response {
    let monitors = s.shared.config().monitors.len();
    s.shared.cluster.refresh_gauges(monitors);
    let depth = match outbox_depth(&s.shared).await {
        Ok(d) => Some(d),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the outbox depth for /metrics");
            None
        }
    };
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        s.shared.metrics.encode(depth),
    )
        .into_response()
}

/// How long `/metrics` and `/readyz` wait for the state store: a store
/// behind a dead network path answers only after its own query bound, and a
/// scraper or an orchestrator's probe gives up sooner.
const STORE_PROBE: Duration = Duration::from_secs(2);

/// The outbox depth, or why it cannot be read within [`STORE_PROBE`].
pub(crate) async fn outbox_depth(shared: &Shared) -> Result<u64, String> {
    match tokio::time::timeout(STORE_PROBE, shared.store.outbox_depth()).await {
        Ok(Ok(depth)) => Ok(depth),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} s", STORE_PROBE.as_secs())),
    }
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

/// A plain-text error answer.
pub fn text_error(status: StatusCode, message: impl Into<String>) -> Response {
    let mut body = message.into();
    body.push('\n');
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}
