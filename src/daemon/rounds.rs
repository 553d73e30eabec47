//! A monitor checked from several locations: each location's owner checks
//! it in the same round and records what it saw; the round is evaluated
//! once every location with a live instance has reported (or at the round's
//! deadline, the rest unknown), and the verdict — not any one location's
//! run — moves the monitor's state and pages.
//!
//! Every location that reported may evaluate. The first listed one does at
//! once; the others wait [`EVALUATOR_GAP`] and then find the round already
//! in the state (so they write nothing), unless its evaluator died
//! meanwhile. Two that race anyway are kept apart by the store: a commit
//! names the revision it was applied to, and the loser rereads the state,
//! sees the round in it and stops — a round moves the state once.
//!
//! The evaluation runs beside the monitor's loop, not in it, so waiting for
//! a slow location never delays this location's next check.

use super::record::{
    self, Planned, commit, decide, failing_since, log_failure, parents, recipients,
};
use super::shared::Shared;
use crate::check::CheckReport;
use crate::cluster::locations_of;
use crate::config::{Config, Monitor};
use crate::quorum::evidence::{LocationResult, Round};
use crate::quorum::round;
use crate::state::machine::{Health, RunOutcome, RunSummary};
use crate::state::store::ResultRow;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often a location waiting for the others' results reads them.
const POLL: Duration = Duration::from_millis(250);

/// How long a location that is not the round's first waits before it
/// evaluates the round itself (when the first has not: it died).
const EVALUATOR_GAP: Duration = Duration::from_millis(500);

/// The locations `monitor` is checked from in rounds, in order, or `None`
/// when one location's runs are the monitor's runs: a store for one
/// instance, or one location listed (or, with none listed, one location
/// with a live instance).
pub(super) fn round_locations(shared: &Shared, monitor: &Monitor) -> Option<Vec<String>> {
    if !shared.store.shared() {
        return None;
    }
    let listed = if monitor.locations.is_empty() {
        live_locations(shared)
    } else {
        monitor.locations.clone()
    };
    (listed.len() > 1).then_some(listed)
}

/// The locations with at least one live instance, sorted.
fn live_locations(shared: &Shared) -> Vec<String> {
    locations_of(&shared.cluster.view().live)
}

/// One location's part in one round, from its finished check to the
/// round's evaluation.
pub(super) struct Part {
    /// The whole configuration (the monitor is `config.monitors[index]`).
    pub config: Arc<Config>,
    /// The monitor's index in it.
    pub index: usize,
    /// The round's start.
    pub round: DateTime<Utc>,
    /// When this location planned to start its check: the round plus the
    /// monitor's spread offset (the same in every location) and this
    /// location's stagger.
    pub planned: DateTime<Utc>,
    /// When the check actually started (after waiting for a slot).
    pub started: DateTime<Utc>,
    /// The locations the monitor is checked from.
    pub listed: Vec<String>,
}

impl Part {
    /// When the round stops waiting: the latest any location should report
    /// if it started as planned, or as late as this one did (a busy
    /// daemon's other locations are likely as busy).
    fn deadline(&self, monitor: &Monitor) -> DateTime<Utc> {
        let late = self.started - self.planned;
        let planned = round::deadline(self.planned, &monitor.spec);
        planned + late.max(chrono::Duration::zero())
    }
}

/// Record this location's result of the round, wait for the other
/// locations', and evaluate the round unless another location has.
/// Cancelled (shutdown, reload) while waiting, it leaves the round to the
/// other locations.
pub(super) async fn take_part(
    shared: Arc<Shared>,
    part: Part,
    report: CheckReport,
    token: CancellationToken,
) {
    let monitor = &part.config.monitors[part.index];
    let at = Utc::now();
    let summary = RunSummary::from_report(&report);
    log_failure(monitor, &summary);
    let location = shared.cluster.location().to_string();
    let own = LocationResult::of_run(&location, &shared.cluster.me.name, at, &summary);
    let id = round::round_id(part.round);
    if let Err(e) = shared.store.record_round(&monitor.name, id, own).await {
        tracing::error!(monitor = %monitor.name, error = %e,
            "could not record this location's result of the round; the round goes on without it");
        return;
    }
    let deadline = part.deadline(monitor);
    let Some(reported) = gather(&shared, &monitor.name, id, &part.listed, deadline, &token).await
    else {
        return;
    };
    let first = part
        .listed
        .iter()
        .find(|l| reported.iter().any(|r| &r.location == *l));
    if first != Some(&location) {
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tokio::time::sleep(EVALUATOR_GAP) => {}
        }
    }
    // The reports now, once: waiting only asked who had reported.
    let results = match shared.store.round_results(&monitor.name, id, true).await {
        Ok(results) => results,
        Err(e) => {
            tracing::error!(monitor = %monitor.name, error = %e, "could not read the round's results");
            return;
        }
    };
    if token.is_cancelled() {
        // Stopping (or reloading, which may remove the monitor): the other
        // locations evaluate the round.
        return;
    }
    let round = Round::evaluate(id, &part.listed, monitor.quorum, results);
    evaluate(&shared, &part.config, monitor, round, &report.url, &summary).await;
}

/// The round's results once every listed location with a live instance has
/// reported, or those in at the deadline; `None` when cancelled or the
/// store cannot be read.
async fn gather(
    shared: &Shared,
    monitor: &str,
    id: i64,
    listed: &[String],
    deadline: DateTime<Utc>,
    token: &CancellationToken,
) -> Option<Vec<LocationResult>> {
    loop {
        let results = match shared.store.round_results(monitor, id, false).await {
            Ok(results) => results,
            Err(e) => {
                tracing::error!(monitor = %monitor, error = %e, "could not read the round's results");
                return None;
            }
        };
        let live = live_locations(shared);
        let awaited = listed
            .iter()
            .filter(|l| live.contains(l))
            .all(|l| results.iter().any(|r| &r.location == l));
        let left = (deadline - Utc::now()).to_std().unwrap_or_default();
        if awaited || left.is_zero() {
            return Some(results);
        }
        tokio::select! {
            _ = token.cancelled() => return None,
            _ = tokio::time::sleep(POLL.min(left)) => {}
        }
    }
}

/// Fold the round into the monitor's state (read again from the store: the
/// round may be in it already) and commit it with its alerts. A round that
/// decides nothing moves no counter; it leaves the health `unknown` unless
/// the monitor is down (an open incident ends only by passing rounds), and
/// its history row is this location's own run.
async fn evaluate(
    shared: &Shared,
    config: &Config,
    monitor: &Monitor,
    round: Round,
    url: &str,
    own: &RunSummary,
) {
    let before = match shared
        .store
        .load_states_of(vec![monitor.name.clone()])
        .await
    {
        Ok(mut saved) => saved.remove(&monitor.name),
        Err(e) => {
            tracing::error!(monitor = %monitor.name, error = %e, "could not read the state to evaluate the round");
            return;
        }
    };
    let at = Utc::now();
    let in_maintenance = record::in_maintenance(config, monitor, at);
    let run = round.as_run(own);
    let brief = round.brief();
    let parents = run
        .as_ref()
        .map(|run| parents(shared, monitor, failing_since(shared, monitor, at, run)));
    let recipients = recipients(config, &monitor.alert);
    let mut logged = false;
    commit(shared, &monitor.name, before, |state| {
        if state.round.as_ref().is_some_and(|r| r.id >= brief.id) {
            // Another location evaluated it (or a later round) first.
            return None;
        }
        if !logged && brief.verdict.failing > 0 {
            tracing::warn!(monitor = %monitor.name, round = %brief.line(), "round evaluated");
            logged = true;
        }
        let Some(run) = &run else {
            let mut after = state.clone();
            if after.health == Health::Up {
                after.health = Health::Unknown;
                after.since = Some(at);
            }
            after.round = Some(brief.clone());
            let row = ResultRow::from_summary(at, own, in_maintenance);
            return Some(Planned {
                after,
                routed: Vec::new(),
                row,
            });
        };
        let outcome = RunOutcome {
            at,
            monitor: &monitor.name,
            url,
            summary: run,
            in_maintenance,
            suppressed_by: parents.as_ref().and_then(|p| p.down.as_deref()),
            parent_unchecked: parents.as_ref().is_some_and(|p| p.unchecked),
        };
        let (mut after, mut routed) = decide(config, monitor, &recipients, state, &outcome);
        after.round = Some(brief.clone());
        for r in &mut routed {
            r.note.round = Some(brief.clone());
        }
        let row = ResultRow::from_summary(at, run, in_maintenance);
        Some(Planned { after, routed, row })
    })
    .await;
}
