//! The status page, rendered on the server: `GET /` (a summary of every
//! monitor: counts per status, failing monitors first as full cards, the
//! others as a compact list on large installations, `?page=N` beyond one
//! page) and `GET /monitors/{name}` (one monitor with its incidents and
//! recent runs). At most [`RENDER_SLOTS`] renders run at once; a request
//! beyond that is answered 503 with `Retry-After` at once instead of queueing,
//! so a burst of requests cannot take the daemon's memory.
//!
//! Handlers turn [`Snapshot`]s into plain view structs and hand them to
//! minijinja templates (compiled into the binary) whose HTML auto-escaping
//! covers everything that comes from config or evidence: monitor names,
//! URLs, hints, server answers. A strict Content-Security-Policy backs that
//! up: the page loads nothing and runs no script.
//!
//! * `listing`: which monitors a page of the index shows, from in-memory state
//! * `view`: snapshot → `Card` and the rows of a monitor's page
//! * `format`: numbers and times in words ("99.95 %", "3 min ago")
//! * `evidence`: a stored failure's typed evidence as labelled rows

mod evidence;
mod format;
mod listing;
mod view;

use super::base_path::LinkBase;
use super::snapshot::Snapshot;
use super::{Surface, assets, history, text_error};
use crate::alert::view::RoundView;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use listing::{ALL_CARDS_UP_TO, CARDS_PER_PAGE, ROWS_PER_PAGE, listing};
use minijinja::value::{Serde, Value as Jinja};
use minijinja::{Environment, context};
use serde::Deserialize;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use view::{IncidentRow, RunRow, banner, card, incident_row, pager, row, run_row};

/// Runs listed on a monitor's page.
const RECENT_RUNS: usize = 20;
/// Incidents listed on a monitor's page.
const INCIDENTS: usize = 20;
/// Status page renders at once (`/` and `/monitors/{name}` together).
pub const RENDER_SLOTS: usize = 4;
/// What a busy answer asks the client to wait (seconds).
const RETRY_AFTER_SECS: u32 = 2;
/// The page reloads itself this often (seconds); no script needed.
const REFRESH_SECS: u32 = 30;
/// Nothing external, no script; inline styles and data-URI images only.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/// The compiled templates, and the slots that cap renders in flight.
pub struct Pages {
    env: Environment<'static>,
    slots: Arc<Semaphore>,
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
        Pages {
            env,
            slots: Arc::new(Semaphore::new(RENDER_SLOTS)),
        }
    }

    /// A render slot, held until the render ends; `None` when all are taken.
    fn slot(&self) -> Option<OwnedSemaphorePermit> {
        self.slots.clone().try_acquire_owned().ok()
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

/// The query of `GET /`.
#[derive(Debug, Deserialize)]
pub struct IndexQuery {
    /// 1-based page; the first when absent.
    page: Option<usize>,
}

/// `GET /`.
pub async fn index(
    State(s): State<Surface>,
    Extension(base): Extension<LinkBase>,
    Query(q): Query<IndexQuery>,
) -> Response {
    let Some(_slot) = s.pages.slot() else {
        return busy();
    };
    let config = s.shared.config();
    let Some(listing) = listing(&config.monitors, |n| s.shared.state(n), q.page.unwrap_or(1))
    else {
        return text_error(StatusCode::NOT_FOUND, "no such page of the status page");
    };
    let mut cards = Vec::with_capacity(listing.cards.len());
    for e in &listing.cards {
        match Snapshot::load(&s.shared, e.monitor).await {
            Ok(snap) => cards.push(card(&snap)),
            Err(e) => return store_error(e),
        }
    }
    let now = Utc::now();
    let rows: Vec<_> = listing.rows.iter().map(|e| row(e, now)).collect();
    let shown = Shown {
        cards: &cards,
        rows: &rows,
        counts: listing.counts,
        page: listing.page,
        pages: listing.pages,
        store_degraded: s.shared.store.health().degraded(),
        cluster: ClusterFooter::of(&s.shared),
        base,
    };
    s.pages.render("index.html", shown.context(now))
}

/// What one page of the index shows.
struct Shown<'a> {
    cards: &'a [view::Card],
    rows: &'a [view::Row],
    counts: listing::Counts,
    page: usize,
    pages: usize,
    /// Why the state store is not durable, shown as a banner.
    store_degraded: Option<String>,
    /// Who serves the page, and with whom, for the footer.
    cluster: ClusterFooter,
    /// What links start with.
    base: LinkBase,
}

/// The footer's line about the cluster: this instance, and the others
/// sharing its store.
#[derive(Debug, serde::Serialize)]
struct ClusterFooter {
    instance: String,
    /// This instance's location; `None` for the default one, so a daemon
    /// without locations shows what it always did.
    location: Option<String>,
    /// Names of the live instances (this one included) on a shared store;
    /// empty on a store of its own.
    live: Vec<String>,
    /// Why this instance checks nothing now.
    fenced: Option<String>,
}

impl ClusterFooter {
    fn of(shared: &crate::daemon::shared::Shared) -> ClusterFooter {
        let view = shared.cluster.view();
        let live = if shared.store.shared() {
            view.live.into_iter().map(|m| m.name).collect()
        } else {
            Vec::new()
        };
        let location = crate::cluster::identity::location_of(&shared.cluster.me);
        ClusterFooter {
            instance: shared.cluster.me.name.clone(),
            location: (location != crate::cluster::identity::DEFAULT_LOCATION)
                .then(|| location.to_string()),
            live,
            fenced: view.fenced,
        }
    }
}

impl Shown<'_> {
    /// The template context of `index.html`.
    fn context(&self, now: chrono::DateTime<Utc>) -> Jinja {
        let counts = self.counts;
        context! {
            title => "Status",
            css => assets::CSS,
            logo => assets::LOGO_SVG,
            favicon => assets::FAVICON,
            refresh => REFRESH_SECS,
            updated => now.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            banner => Jinja::from(Serde(banner(&counts))),
            counts => Jinja::from(Serde(counts)),
            summarized => counts.total() > ALL_CARDS_UP_TO,
            cards => Jinja::from(Serde(self.cards)),
            rows => Jinja::from(Serde(self.rows)),
            rows_from => (self.page - 1) * ROWS_PER_PAGE + 1,
            cards_from => (self.page - 1) * CARDS_PER_PAGE + 1,
            others => counts.up + counts.pending,
            failing => counts.down + counts.degraded,
            pager => Jinja::from(Serde(pager(self.page, self.pages))),
            store_degraded => self.store_degraded.as_deref(),
            cluster => Jinja::from(Serde(&self.cluster)),
            base => &self.base.0,
            version => env!("CARGO_PKG_VERSION"),
        }
    }
}

/// `GET /monitors/{name}`.
pub async fn monitor(
    State(s): State<Surface>,
    Extension(base): Extension<LinkBase>,
    Path(name): Path<String>,
) -> Response {
    let Some(_slot) = s.pages.slot() else {
        return busy();
    };
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
    let round = snap.state.round.as_ref().map(RoundView::new);
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
            round => Jinja::from(Serde(&round)),
            cluster => Jinja::from(Serde(ClusterFooter::of(&s.shared))),
            base => base.0,
            version => env!("CARGO_PKG_VERSION"),
        },
    )
}

/// The answer when every render slot is taken: at once, never queued.
fn busy() -> Response {
    let mut busy = text_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "the status page is busy: try again in a moment",
    );
    busy.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    busy
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
