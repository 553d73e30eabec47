//! Watches for a degraded location (see [`crate::quorum::degraded`]) and
//! tells `settings.location_alert` once: a DOWN when every monitor checked
//! from a location fails there while the others see them up, a RECOVERED
//! when a monitor passes there again.
//!
//! One instance of the cluster watches at a time: the rendezvous owner of
//! [`WATCH_KEY`] among every live instance, so the watch moves when its
//! instance dies. A location's incident is kept like a monitor's, in the
//! store under [`incident_key`] (a name no monitor may take: names starting
//! with `@` are refused), so it is told once whoever watches, and survives
//! a restart. The alerts name the location as their monitor
//! ("location eu-west").

use super::record::{Planned, commit, recipients};
use super::shared::Shared;
use crate::cluster::{locations_of, rendezvous};
use crate::config::Config;
use crate::quorum::degraded::{LocationHealth, Seen, assess_known};
use crate::report::document::ReportDocument;
use crate::schedule::Schedule;
use crate::state::Policy;
use crate::state::machine::{self, Health, RunOutcome, RunSummary};
use crate::state::route;
use crate::state::store::ResultRow;
use chrono::Utc;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The key whose rendezvous owner watches.
const WATCH_KEY: &str = "@location-watch";

/// The longest look back for results: a day, whatever the schedules.
const MAX_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// A location's incident is told at once and ends at the first pass.
const POLICY: Policy = Policy {
    failure_threshold: 1,
    success_threshold: 1,
    repeat: None,
};

/// The store's name of `location`'s incident.
pub fn incident_key(location: &str) -> String {
    format!("@location {location}")
}

/// Watch every heartbeat until `stop`.
pub async fn run(shared: Arc<Shared>, stop: CancellationToken) {
    let every = shared.cluster.settings.heartbeat;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let config = shared.config();
        if config.settings.location_alert.is_empty() || !watches(&shared) {
            continue;
        }
        let since = Utc::now() - chrono::Duration::from_std(window(&config)).unwrap_or_default();
        let latest = match shared.store.latest_rounds(since).await {
            Ok(latest) => latest,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the rounds' results to watch the locations");
                continue;
            }
        };
        for (location, health) in assess_known(&latest, &known_locations(&shared, &config)) {
            tell(&shared, &config, &location, health).await;
        }
    }
}

/// Every location this instance knows of: listed by a monitor, or of a
/// live or recently lost instance. One of them without recent results is
/// silent, and its degraded incident (if open) ends.
fn known_locations(shared: &Shared, config: &Config) -> Vec<String> {
    let view = shared.cluster.view();
    let mut known = locations_of(view.live.iter().chain(&view.lost));
    known.extend(
        config
            .monitors
            .iter()
            .flat_map(|m| m.locations.iter().cloned()),
    );
    known.sort();
    known.dedup();
    known
}

/// Is this instance the one that watches now?
fn watches(shared: &Shared) -> bool {
    let view = shared.cluster.view();
    let names: Vec<String> = view.live.iter().map(|m| m.name.clone()).collect();
    view.fenced.is_none()
        && rendezvous::owner(WATCH_KEY, &names) == Some(shared.cluster.me.name.as_str())
}

/// How far back a result still says how a location is: three of the
/// longest interval (an hour for a cron schedule), at most [`MAX_WINDOW`].
fn window(config: &Config) -> Duration {
    let longest = config
        .monitors
        .iter()
        .map(|m| match m.schedule {
            Schedule::Every(every) => every,
            Schedule::Cron { .. } => Duration::from_secs(3600),
        })
        .max()
        .unwrap_or_default();
    (longest * 3).min(MAX_WINDOW)
}

/// Fold `health` into `location`'s incident: a DOWN when it turns
/// degraded, a RECOVERED when it clears, nothing otherwise.
async fn tell(shared: &Shared, config: &Config, location: &str, health: LocationHealth) {
    let key = incident_key(location);
    let before = match shared.store.load_states_of(vec![key.clone()]).await {
        Ok(mut saved) => saved.remove(&key),
        Err(e) => {
            tracing::warn!(location, error = %e, "cannot read the location's incident");
            return;
        }
    };
    let down = before
        .as_ref()
        .is_some_and(|s| s.state.health == Health::Down);
    if matches!(health, LocationHealth::Silent) {
        if down {
            end_silent(shared, config, location, before).await;
        }
        return;
    }
    let sample = match (&health, down) {
        (LocationHealth::Degraded(failing), false) => &failing[0],
        (LocationHealth::Clear(up), true) => up,
        _ => return,
    };
    // The alert carries the evidence of one of the runs behind it.
    let report = match shared
        .store
        .round_results(&sample.monitor, sample.round, true)
        .await
    {
        Ok(results) => results
            .into_iter()
            .find(|r| r.location == location)
            .and_then(|r| r.report.map(|doc| (doc, r.report_text))),
        Err(e) => {
            tracing::warn!(location, error = %e, "cannot read the run behind the location's alert");
            return;
        }
    };
    let Some((report, report_text)) = report else {
        return;
    };
    let run = match &health {
        LocationHealth::Degraded(failing) => degraded_run(location, failing, report, report_text),
        _ => cleared_run(location, sample, report, report_text),
    };
    fold(shared, config, location, before, down, run).await;
}

/// Commit `run` as the next run of `location`'s incident (`before`, down
/// or not), with its alert routed to `settings.location_alert`.
async fn fold(
    shared: &Shared,
    config: &Config,
    location: &str,
    before: Option<crate::state::store::SavedState>,
    down: bool,
    run: RunSummary,
) {
    let key = incident_key(location);
    let at = Utc::now();
    let display = format!("location {location}");
    let outcome = RunOutcome {
        at,
        monitor: &display,
        url: "",
        summary: &run,
        in_maintenance: false,
        suppressed_by: None,
        parent_unchecked: false,
    };
    let recipients = recipients(config, &config.settings.location_alert);
    let labels = BTreeMap::from([("location".to_string(), location.to_string())]);
    let row = ResultRow::from_summary(at, &run, false);
    commit(shared, &key, before, |state| {
        // Another watcher may have told it meanwhile: decide from the state as saved.
        if (state.health == Health::Down) != down {
            return None;
        }
        let (mut after, note) = machine::apply(state, &outcome, &POLICY);
        let mut routed = route::route(state, &mut after, note, &outcome, &labels, &recipients);
        for r in &mut routed {
            r.note.labels = labels.clone();
            // A monitor's RECOVERED has no message (the passing run has
            // nothing to say); a location's says why its incident ended.
            if r.note.kind == crate::notification::NotificationKind::Recovered {
                r.note.message = run.message.clone();
            }
        }
        Some(Planned {
            after,
            routed,
            row: row.clone(),
        })
    })
    .await;
}

/// End the open incident of a location that no longer reports: its
/// RECOVERED says so, with the evidence its DOWN carried (the incident's
/// newest history row), since nothing newer exists.
async fn end_silent(
    shared: &Shared,
    config: &Config,
    location: &str,
    before: Option<crate::state::store::SavedState>,
) {
    let key = incident_key(location);
    let row = match shared.store.latest_result(&key, false).await {
        Ok(row) => row,
        Err(e) => {
            tracing::warn!(location, error = %e, "cannot read the location's incident history");
            return;
        }
    };
    let Some(report) = row.and_then(|r| r.report.document().cloned()) else {
        return;
    };
    let window = humantime::format_duration(window(config));
    let run = RunSummary {
        ok: true,
        class: crate::check::Class::Ok,
        phase: None,
        message: Some(format!(
            "no result from {location} for {window}: its instances are gone or it checks \
             nothing now, so its incident ends without knowing whether its network recovered"
        )),
        hint: None,
        total_ms: 0.0,
        report,
        report_text: String::new(),
    };
    fold(shared, config, location, before, true, run).await;
}

/// The failing run a degraded location's DOWN reports: the class most of its
/// monitors failed with, and every monitor's failure in one line.
fn degraded_run(
    location: &str,
    failing: &[Seen],
    report: ReportDocument,
    report_text: String,
) -> RunSummary {
    let count = |class| failing.iter().filter(|s| s.result.class == class).count();
    let most = failing
        .iter()
        .max_by_key(|s| count(s.result.class))
        .unwrap_or(&failing[0]);
    let each: Vec<String> = failing
        .iter()
        .map(|s| format!("{}: {}", s.monitor, s.result.describe()))
        .collect();
    RunSummary {
        ok: false,
        class: most.result.class,
        phase: most.result.phase,
        message: Some(format!(
            "all {} monitors checked from {location} fail there while the other locations see them up ({})",
            failing.len(),
            each.join("; ")
        )),
        hint: Some(format!(
            "the path from {location} is broken, not the services: its uplink, DNS resolver, \
             firewall or proxy; the monitors stay up on the other locations' quorum"
        )),
        total_ms: most.result.total_ms,
        report,
        report_text,
    }
}

/// The passing run that ends a degraded location's incident.
fn cleared_run(
    location: &str,
    up: &Seen,
    report: ReportDocument,
    report_text: String,
) -> RunSummary {
    RunSummary {
        ok: true,
        class: crate::check::Class::Ok,
        phase: None,
        message: Some(format!("{} passes from {location} again", up.monitor)),
        hint: None,
        total_ms: up.result.total_ms,
        report,
        report_text,
    }
}
