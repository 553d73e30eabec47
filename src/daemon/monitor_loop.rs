//! One monitor's life in the daemon: wait for the next fire time, take a slot,
//! run the check, move the state machine, commit result + alert atomically, and
//! wake the dispatcher. A run never overlaps the previous one: fires that pass
//! while a check is still running are skipped, not queued.

use super::shared::Shared;
use crate::check::run_check_until;
use crate::config::{Config, Monitor};
use crate::notification::monitor_page;
use crate::schedule::Schedule;
use crate::state::MonitorState;
use crate::state::machine::{self, RunOutcome, RunSummary};
use crate::state::route::{self, Recipient, Routed};
use crate::state::store::{Durability, ResultRow, SavedState, StoreError};
use chrono::{DateTime, Utc};
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How many times one run is applied again to a state another instance
/// changed meanwhile before it is given up (each retry rereads the state).
const MAX_CONFLICTS: u32 = 3;

/// A stable offset in `[0, jitter)` from the monitor's name, so 1,000 monitors
/// on the same schedule spread out the same way after every restart.
pub fn spread_offset(name: &str, jitter: Duration) -> Duration {
    if jitter.is_zero() {
        return Duration::ZERO;
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    name.hash(&mut h);
    let nanos = jitter.as_nanos().max(1) as u64;
    Duration::from_nanos(h.finish() % nanos)
}

/// The next planned start strictly after `after` (offset not included).
pub fn next_fire(
    schedule: &Schedule,
    previous: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    match schedule {
        Schedule::Every(every) => {
            let every = chrono::Duration::from_std(*every).ok()?;
            let Some(mut next) = previous else {
                // The first run of an interval monitor happens at once.
                return Some(now);
            };
            next += every;
            if next <= now {
                // Overran: skip the missed fires instead of running them back to back.
                let behind = (now - next).num_milliseconds() / every.num_milliseconds().max(1);
                next += every * (behind as i32 + 1);
            }
            Some(next)
        }
        Schedule::Cron { .. } => {
            let base = previous.map_or(now, |p| p.max(now));
            schedule.next_after(base)
        }
    }
}

/// Run monitor `index` of `config` until `token` is cancelled.
pub async fn run(shared: Arc<Shared>, config: Arc<Config>, index: usize, token: CancellationToken) {
    let monitor: &Monitor = &config.monitors[index];
    let offset = spread_offset(&monitor.name, config.settings.jitter);
    let grace = config.settings.shutdown_grace;
    let mut previous: Option<DateTime<Utc>> = None;
    // The store revision this task's own last run committed: a saved state
    // at that revision is this task's, however late in its interval it ran.
    let mut own_revision: Option<i64> = None;
    loop {
        let Some(planned) = next_fire(&monitor.schedule, previous, Utc::now()) else {
            tracing::warn!(monitor = %monitor.name, "schedule has no future fire time; monitor stops");
            shared.heartbeat.stopped(&monitor.name);
            return;
        };
        previous = Some(planned);
        let start_at = planned + chrono::Duration::from_std(offset).unwrap_or_default();
        let wait = (start_at - Utc::now()).to_std().unwrap_or_default();
        shared.heartbeat.waiting(&monitor.name, start_at);
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        if !shared.cluster.checks(monitor)
            || checked_by_another(&shared, monitor, start_at, own_revision)
        {
            continue;
        }
        let slots = shared.slots();
        let permit = tokio::select! {
            _ = token.cancelled() => return,
            p = slots.acquire_owned() => match p { Ok(p) => p, Err(_) => return },
        };
        let lag = Utc::now() - start_at;
        // In ms with µs precision: most lags are well under a millisecond.
        let lag_ms = lag.num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0;
        tracing::debug!(monitor = %monitor.name, lag_ms, "check starting");
        shared.heartbeat.running(&monitor.name);
        shared.metrics.observe_lag(lag.to_std().unwrap_or_default());
        let in_flight = shared.metrics.check_started();
        let wind_down = CancellationToken::new();
        // Boxed: a check's future is ~5 KB, and pinned in place it would make
        // every idle monitor task that big (50 MB at 10,000 monitors); boxed,
        // only the checks in flight pay for it.
        let mut check = Box::pin(run_check_until(&monitor.spec, &wind_down));
        let report = tokio::select! {
            r = &mut check => r,
            _ = token.cancelled() => {
                match finish_within(&mut check, &wind_down, grace).await {
                    Some(r) => r,
                    None => {
                        tracing::warn!(monitor = %monitor.name, "in-flight check cancelled at shutdown");
                        return;
                    }
                }
            }
        };
        drop(permit);
        drop(in_flight);
        if let Some(resource) = shared
            .local_faults
            .observe(&monitor.name, &report, Utc::now())
        {
            // Nothing was learnt about the endpoint: no result, no state change.
            shared.metrics.observe_local_error(resource);
        } else {
            shared.metrics.observe_run(&monitor.name, &report);
            // Boxed for the same reason as the check: recording holds the
            // report, its document, the history row and the commit's future
            // (~3 KB), which pinned in place every idle task would carry.
            Box::pin(record(&shared, &config, monitor, report)).await;
            own_revision = shared.saved(&monitor.name).map(|s| s.revision);
        }
        if token.is_cancelled() {
            return;
        }
    }
}

/// Was this fire's check already done by the monitor's previous owner? The
/// saved run is not this task's own (`own_revision`) and is newer than half
/// an interval before this fire starts: ownership moved to this instance,
/// whose fire times are not the previous owner's, and checking now would
/// check twice in one period. (Comparing times alone mistook an owner's own
/// run for another's whenever its spread offset or the check itself took
/// more than half the interval, and skipped every second fire.)
fn checked_by_another(
    shared: &Shared,
    monitor: &Monitor,
    start_at: DateTime<Utc>,
    own_revision: Option<i64>,
) -> bool {
    if !shared.store.shared() {
        // One daemon per store: nobody else checks its monitors.
        return false;
    }
    let Schedule::Every(every) = monitor.schedule else {
        // Cron fires are the same wall-clock times on every instance.
        return false;
    };
    let Some(saved) = shared.saved(&monitor.name) else {
        return false;
    };
    if Some(saved.revision) == own_revision {
        return false;
    }
    let half = chrono::Duration::from_std(every / 2).unwrap_or_default();
    saved.saved_at > start_at - half
}

/// Let an in-flight check finish within `grace`; shortly before the grace
/// ends, ask it to wind down (a hold ends early, the WebSocket still gets its
/// closing handshake) so the server does not see an abnormal close.
async fn finish_within<F: std::future::Future<Output = crate::check::CheckReport> + Unpin>(
    check: &mut F,
    wind_down: &CancellationToken,
    grace: Duration,
) -> Option<crate::check::CheckReport> {
    let deadline = tokio::time::Instant::now() + grace;
    let margin = (grace / 2).min(Duration::from_secs(1));
    tokio::select! {
        r = &mut *check => return Some(r),
        _ = tokio::time::sleep_until(deadline - margin) => {}
    }
    wind_down.cancel();
    tokio::time::timeout_at(deadline, check).await.ok()
}

/// Every failed run at WARN, also those below `failure_threshold` that move
/// no state: a flapping endpoint shows in the logs before it pages.
fn log_failure(monitor: &Monitor, summary: &RunSummary) {
    if summary.ok {
        return;
    }
    tracing::warn!(
        monitor = %monitor.name,
        class = %summary.class,
        phase = %summary.phase.map(|p| p.as_str()).unwrap_or("-"),
        error = summary.message.as_deref().unwrap_or(""),
        "check failed"
    );
}

/// The first monitor `monitor` depends on that is down or failing now, as
/// this instance knows it (in a cluster, a parent another instance owns is
/// as recent as the last refresh of others' states). Failing counts: a
/// parent with a higher `failure_threshold` is not DOWN yet on the run its
/// children fail with it, and their DOWN must not beat its own. A parent
/// whose own DOWN is held is down too, so a chain holds from its top.
fn parent_down(shared: &Shared, monitor: &Monitor) -> Option<String> {
    monitor
        .depends_on
        .iter()
        .find(|parent| {
            shared.saved(parent).is_some_and(|s| {
                s.state.health == crate::state::machine::Health::Down
                    || s.state.consecutive_failures > 0
            })
        })
        .cloned()
}

/// The channels `monitor` alerts, with their routing (`when:`, `escalate_after:`).
fn recipients<'c>(config: &'c Config, monitor: &'c Monitor) -> Vec<Recipient<'c>> {
    monitor
        .alert
        .iter()
        .filter_map(|name| config.channels.iter().find(|c| &c.name == name))
        .map(|c| Recipient {
            channel: &c.name,
            route: &c.route,
        })
        .collect()
}

/// The run applied to `state`: the next state, and the alerts it calls for
/// routed to the channels that want them, each with the monitor's page and
/// labels.
fn decide(
    config: &Config,
    monitor: &Monitor,
    recipients: &[Recipient],
    state: &MonitorState,
    outcome: &RunOutcome,
) -> (MonitorState, Vec<Routed>) {
    let (mut after, notification) = machine::apply(state, outcome, &monitor.policy);
    let mut routed = route::route(
        state,
        &mut after,
        notification,
        outcome,
        &monitor.labels,
        recipients,
    );
    for r in &mut routed {
        r.note.link = config
            .settings
            .public_url
            .as_ref()
            .map(|public| monitor_page(public, &monitor.name));
        r.note.labels = monitor.labels.clone();
    }
    (after, routed)
}

/// Apply the run to the state machine, route its alerts to the channels
/// that want them, and commit everything in one transaction.
async fn record(
    shared: &Shared,
    config: &Config,
    monitor: &Monitor,
    report: crate::check::CheckReport,
) {
    let at = Utc::now();
    let in_maintenance = config
        .maintenance
        .iter()
        .chain(monitor.maintenance.iter())
        .any(|w| w.active_at(at));
    let summary = RunSummary::from_report(&report);
    log_failure(monitor, &summary);
    let row = ResultRow::from_summary(at, &summary, in_maintenance);
    let suppressed_by = parent_down(shared, monitor);
    let outcome = RunOutcome {
        at,
        monitor: &monitor.name,
        url: &report.url,
        summary: &summary,
        in_maintenance,
        suppressed_by: suppressed_by.as_deref(),
    };
    let mut before = shared.saved(&monitor.name);
    // A conflict means another instance checked this monitor since our copy
    // of its state was read (ownership moved): apply this run to the state it
    // saved, so thresholds and the open incident carry over.
    let mut tries = 0;
    let recipients = recipients(config, monitor);
    let (after, routed, durability, revision) = loop {
        let (state, revision) = match &before {
            Some(saved) => (saved.state.clone(), saved.revision),
            None => (Default::default(), 0),
        };
        let (after, routed) = decide(config, monitor, &recipients, &state, &outcome);
        let enqueue = routed.iter().map(|r| (&r.note, r.channels.as_slice()));
        // A disk that refuses the write does not make this an error: the store
        // keeps the run in memory (`Durability::MemoryOnly`) and alerting goes on.
        match shared
            .store
            .commit_run(&monitor.name, revision, &after, &row, enqueue)
            .await
        {
            Ok(durability) => break (after, routed, durability, revision + 1),
            Err(StoreError::Conflict { .. }) if tries < MAX_CONFLICTS => {
                tries += 1;
                match shared
                    .store
                    .load_states_of(vec![monitor.name.clone()])
                    .await
                {
                    Ok(mut saved) => before = saved.remove(&monitor.name),
                    Err(e) => {
                        tracing::error!(monitor = %monitor.name, error = %e,
                            "could not reread a state another instance changed; result not recorded");
                        return;
                    }
                }
            }
            Err(e) => {
                // Without the commit the state must not move either, or a restart
                // would disagree with what was alerted.
                tracing::error!(monitor = %monitor.name, error = %e, "could not record the result; state unchanged");
                return;
            }
        }
    };
    let was = before.map(|saved| saved.state.health).unwrap_or_default();
    let durable = durability == Durability::Durable;
    if was != after.health {
        tracing::info!(monitor = %monitor.name, from = %was, to = %after.health, class = %row.class, "health changed");
    }
    shared.set_state(
        &monitor.name,
        SavedState {
            state: after,
            revision,
            saved_at: at,
        },
    );
    for routed in routed {
        let n = &routed.note;
        if let Some(parent) = &n.suppressed_by {
            tracing::info!(monitor = %monitor.name, kind = n.kind.word(), parent = %parent,
                "alert held: suppressed, parent {parent} down");
        } else if n.in_maintenance {
            tracing::info!(monitor = %monitor.name, kind = n.kind.word(), "alert held: maintenance window");
        } else {
            tracing::info!(monitor = %monitor.name, kind = n.kind.word(), class = %n.class,
                channels = %routed.channels.join(","), durable, "alert queued");
            shared.outbox_ready.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn an_interval_monitor_runs_at_once_then_every_interval() {
        let every = Schedule::Every(Duration::from_secs(10));
        let now = t("2026-01-01T00:00:00Z");
        assert_eq!(next_fire(&every, None, now), Some(now));
        assert_eq!(
            next_fire(&every, Some(now), t("2026-01-01T00:00:03Z")),
            Some(t("2026-01-01T00:00:10Z"))
        );
    }

    #[test]
    fn an_overrunning_check_skips_missed_fires_instead_of_queueing_them() {
        let every = Schedule::Every(Duration::from_secs(10));
        let planned = t("2026-01-01T00:00:00Z");
        // The check took 35 s: fires at 10, 20 and 30 s are skipped.
        assert_eq!(
            next_fire(&every, Some(planned), t("2026-01-01T00:00:35Z")),
            Some(t("2026-01-01T00:00:40Z"))
        );
    }

    #[test]
    fn spread_offsets_are_stable_and_within_the_jitter() {
        let j = Duration::from_secs(5);
        let a = spread_offset("chat-gateway", j);
        assert_eq!(a, spread_offset("chat-gateway", j));
        assert!(a < j);
        assert_eq!(spread_offset("x", Duration::ZERO), Duration::ZERO);
        let distinct: std::collections::HashSet<_> = (0..100)
            .map(|i| spread_offset(&format!("m{i}"), j))
            .collect();
        assert!(
            distinct.len() > 90,
            "offsets should differ between monitors"
        );
    }
}
