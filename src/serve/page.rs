//! The status page, rendered on the server: `GET /` (every monitor) and
//! `GET /monitors/{name}` (one monitor with its incidents and recent runs).
//!
//! Handlers turn [`Snapshot`]s into plain view structs and hand them to
//! minijinja templates (compiled into the binary) whose HTML auto-escaping
//! covers everything that comes from config or evidence: monitor names,
//! URLs, hints, server answers. A strict Content-Security-Policy backs that
//! up: the page loads nothing and runs no script.
//!
//! * `view`: snapshot → `Card` and the rows of a monitor's page
//! * `format`: numbers and times in words ("99.95 %", "3 min ago")

mod format;
mod view;

use super::snapshot::Snapshot;
use super::{Surface, assets, history, text_error};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use minijinja::value::{Serde, Value as Jinja};
use minijinja::{Environment, context};
use view::{IncidentRow, RunRow, banner, card, incident_row, run_row};

/// Runs listed on a monitor's page.
const RECENT_RUNS: usize = 20;
/// Incidents listed on a monitor's page.
const INCIDENTS: usize = 20;
/// The page reloads itself this often (seconds); no script needed.
const REFRESH_SECS: u32 = 30;
/// Nothing external, no script; inline styles and data-URI images only.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/// The compiled templates.
pub struct Pages {
    env: Environment<'static>,
}

impl Default for Pages {
    fn default() -> Self {
        Pages::new()
    }
}

impl Pages {
    /// Compile the built-in templates. They are part of the binary, so a
    /// syntax error is a bug caught by the tests, never a runtime condition.
    pub fn new() -> Pages {
        let mut env = Environment::new();
        for (name, source) in [
            ("layout.html", include_str!("templates/layout.html")),
            ("index.html", include_str!("templates/index.html")),
            ("monitor.html", include_str!("templates/monitor.html")),
            ("card.html", include_str!("templates/card.html")),
        ] {
            env.add_template(name, source)
                .expect("built-in status page templates compile");
        }
        Pages { env }
    }

    fn render(&self, name: &str, ctx: minijinja::Value) -> Response {
        match self.env.get_template(name).and_then(|t| t.render(ctx)) {
            Ok(html) => (
                [
                    (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                    (header::CONTENT_SECURITY_POLICY, CSP),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                html,
            )
                .into_response(),
            Err(e) => {
                tracing::error!(error = %e, template = name, "cannot render the status page");
                text_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the status page could not be rendered",
                )
            }
        }
    }
}

/// `GET /`.
pub async fn index(State(s): State<Surface>) -> Response {
    let config = s.shared.config();
    let mut cards = Vec::with_capacity(config.monitors.len());
    for m in &config.monitors {
        match Snapshot::load(&s.shared, m).await {
            Ok(snap) => cards.push(card(&snap)),
            Err(e) => return store_error(e),
        }
    }
    let now = Utc::now();
    s.pages.render(
        "index.html",
        context! {
            title => "Status",
            css => assets::CSS,
            logo => assets::LOGO_SVG,
            favicon => assets::FAVICON,
            refresh => REFRESH_SECS,
            updated => now.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            banner => Jinja::from(Serde(banner(&cards))),
            store_degraded => s.shared.store.health().degraded(),
            cards => Jinja::from(Serde(&cards)),
            version => env!("CARGO_PKG_VERSION"),
        },
    )
}

/// `GET /monitors/{name}`.
pub async fn monitor(State(s): State<Surface>, Path(name): Path<String>) -> Response {
    let config = s.shared.config();
    let Some(m) = config.monitors.iter().find(|m| m.name == name) else {
        return text_error(StatusCode::NOT_FOUND, "no monitor with this name");
    };
    let snap = match Snapshot::load(&s.shared, m).await {
        Ok(snap) => snap,
        Err(e) => return store_error(e),
    };
    let incidents: Vec<IncidentRow> = history::incidents(&snap.points)
        .iter()
        .take(INCIDENTS)
        .map(|i| incident_row(i, snap.now))
        .collect();
    let runs: Vec<RunRow> = snap
        .points
        .iter()
        .rev()
        .take(RECENT_RUNS)
        .map(run_row)
        .collect();
    let now = snap.now;
    let card = card(&snap);
    s.pages.render(
        "monitor.html",
        context! {
            title => snap.name.clone(),
            css => assets::CSS,
            logo => assets::LOGO_SVG,
            favicon => assets::FAVICON,
            refresh => REFRESH_SECS,
            updated => now.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            card => Jinja::from(Serde(&card)),
            incidents => Jinja::from(Serde(&incidents)),
            runs => Jinja::from(Serde(&runs)),
            version => env!("CARGO_PKG_VERSION"),
        },
    )
}

fn store_error(e: crate::state::store::StoreError) -> Response {
    tracing::error!(error = %e, "cannot read the state store for the status page");
    text_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "the state store cannot be read",
    )
}

#[cfg(test)]
mod tests;
