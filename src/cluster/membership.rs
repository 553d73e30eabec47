//! The heartbeat task of an instance on a shared store. Every
//! `settings.cluster.heartbeat` it writes its row and reads everyone else's;
//! from the live instances it computes the monitors it owns
//! ([`super::rendezvous`]). Before it starts checking a monitor it gained, it
//! reads that monitor's saved state, so the incident, thresholds and
//! reminders carry over from the previous owner.
//!
//! Fencing: when no heartbeat has landed for [`super::ClusterSettings::fence_after`]
//! (a heartbeat short of the lease), the instance stops checking anything —
//! the others will count it lost and take its monitors, and two owners must
//! not check them at once. It says so in the log and in `/readyz`, and
//! resumes with its first heartbeat that lands.

use super::{REMEMBER_LOST, identity, names_in, rendezvous, split_live};
use crate::daemon::shared::Shared;
use crate::state::store::StoreError;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Every this many heartbeats, the states of monitors other instances own
/// are read again, so this instance's page and API show what their owners
/// saw (30 s behind at most with the default heartbeat).
const REFRESH_EVERY_BEATS: u64 = 15;

/// Beat until `stop`; then leave the cluster, so the others take this
/// instance's monitors at once instead of after the lease.
pub async fn run(shared: Arc<Shared>, stop: CancellationToken) {
    let cluster = &shared.cluster;
    let every = cluster.settings.heartbeat;
    let mut last_landed = Instant::now();
    let mut failing: Option<String> = None;
    let mut beats: u64 = 0;
    loop {
        // A beat never runs past the fence deadline: fencing is decided by
        // the clock, not by when a stuck query finally gives up.
        // Once fenced, a beat gets its full bound again, or it never could land.
        let fence_at = last_landed + cluster.settings.fence_after();
        let deadline = cluster.fenced().is_none().then_some(fence_at);
        match beat(&shared, deadline).await {
            Ok(()) => {
                last_landed = Instant::now();
                beats += 1;
                if beats.is_multiple_of(REFRESH_EVERY_BEATS) {
                    refresh_others(&shared).await;
                }
                if let Some(was) = failing.take() {
                    tracing::info!(instance = %cluster.me.name, was = %was,
                        "heartbeat reaches the shared store again; checking resumes");
                }
            }
            Err(reason) => {
                if failing.as_deref() != Some(reason.as_str()) {
                    tracing::error!(instance = %cluster.me.name, error = %reason,
                        "heartbeat failed");
                }
                let silent = last_landed.elapsed();
                if Instant::now() >= fence_at && cluster.fenced().is_none() {
                    let why = format!(
                        "no heartbeat reached the shared store for {}s ({reason}); \
                         this instance checks nothing until one does, and the others take its monitors",
                        silent.as_secs()
                    );
                    tracing::error!(instance = %cluster.me.name, "{why}");
                    cluster.fence(why);
                }
                failing = Some(reason);
            }
        }
        // While failing, the next beat comes no later than the fence deadline.
        let mut pause = every;
        if failing.is_some() && cluster.fenced().is_none() {
            pause = pause.min(fence_at.saturating_duration_since(Instant::now()));
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(pause) => {}
        }
    }
    let bound = cluster.settings.heartbeat;
    match tokio::time::timeout(bound, shared.store.leave(&cluster.me)).await {
        Ok(Ok(())) => tracing::info!(instance = %cluster.me.name, "left the cluster"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "could not leave the cluster; the others wait for the lease")
        }
        Err(_) => tracing::warn!("leaving the cluster timed out; the others wait for the lease"),
    }
}

/// One heartbeat: write ours, read the others, adopt the new ownership.
/// The error says why, for the log and the fence.
async fn beat(shared: &Shared, fence_at: Option<Instant>) -> Result<(), String> {
    let cluster = &shared.cluster;
    // A heartbeat that takes longer than the interval is as good as lost.
    let bound = cluster.settings.heartbeat.max(Duration::from_secs(1));
    let bound = fence_at.map_or(bound, |at| {
        bound.min(at.saturating_duration_since(Instant::now()))
    });
    let members = tokio::time::timeout(
        bound,
        shared
            .store
            .beat(&cluster.me, REMEMBER_LOST, cluster.settings.lease),
    )
    .await
    .map_err(|_| {
        format!(
            "the shared store did not answer within {}s",
            bound.as_secs()
        )
    })?
    .map_err(|e| {
        let why = e.to_string();
        if matches!(e, StoreError::NameTaken { .. }) {
            // Not a passing outage: this process must not check at all,
            // and /readyz says why at once rather than after the fence delay.
            cluster.fence(why.clone());
        }
        why
    })?;
    let (live, _) = split_live(members.clone(), &cluster.me.name, cluster.settings.lease);
    let here = identity::location_of(&cluster.me);
    let names = names_in(&live, here);
    let config = shared.config();
    // Only the monitors checked from this location are shared among its instances.
    let owned = rendezvous::owned_by(
        &cluster.me.name,
        config
            .monitors
            .iter()
            .filter(|m| m.checked_from(here))
            .map(|m| m.name.as_str()),
        &names,
    );
    let before = cluster.owned().unwrap_or_default();
    let gained: Vec<String> = owned.difference(&before).cloned().collect();
    let took_over = taken_from_the_lost(&names_in(&cluster.view().live, here), &names, &gained);
    if !gained.is_empty() {
        adopt_states(shared, gained).await?;
    }
    log_change(&cluster.me.name, &before, &owned);
    cluster.observed(members, owned, took_over);
    Ok(())
}

/// Read the states of the monitors other instances own (this one's own are
/// current in memory). A failure only leaves the page behind: logged, retried
/// at the next refresh.
async fn refresh_others(shared: &Shared) {
    let Some(owned) = shared.cluster.owned() else {
        return;
    };
    let config = shared.config();
    let others: Vec<String> = config
        .monitors
        .iter()
        .map(|m| m.name.clone())
        .filter(|m| !owned.contains(m))
        .collect();
    if others.is_empty() {
        return;
    }
    match shared.store.load_states_of(others).await {
        Ok(saved) => {
            for (monitor, state) in saved {
                // Ownership may have moved to us meanwhile: ours is newer then.
                if !shared.cluster.owns(&monitor) {
                    shared.set_state(&monitor, state);
                }
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot refresh the states of monitors other instances own")
        }
    }
}

/// Read the saved states of the monitors this instance gained, so it goes
/// on from where their previous owner left off.
async fn adopt_states(shared: &Shared, gained: Vec<String>) -> Result<(), String> {
    let saved = shared
        .store
        .load_states_of(gained)
        .await
        .map_err(|e| format!("cannot read the states of the monitors taken over: {e}"))?;
    for (monitor, state) in saved {
        shared.set_state(&monitor, state);
    }
    Ok(())
}

/// How many of `gained` were owned, in the previous view, by an instance
/// that is no longer live: takeovers, as opposed to monitors a join or this
/// instance's start moved.
fn taken_from_the_lost(previous: &[String], live: &[String], gained: &[String]) -> usize {
    gained
        .iter()
        .filter(|m| {
            rendezvous::owner(m, previous).is_some_and(|was| !live.iter().any(|l| l == was))
        })
        .count()
}

fn log_change(me: &str, before: &HashSet<String>, after: &HashSet<String>) {
    let gained = after.difference(before).count();
    let lost = before.difference(after).count();
    if gained + lost > 0 {
        tracing::info!(instance = %me, owned = after.len(), gained, lost, "monitor ownership changed");
    }
}
