//! One monitor's life in the daemon: wait for the next fire time, take a slot,
//! run the check, move the state machine, commit result + alert atomically, and
//! wake the dispatcher. A run never overlaps the previous one: fires that pass
//! while a check is still running are skipped, not queued.

use super::record::record;
use super::rounds;
use super::shared::Shared;
use crate::check::run_check_until;
use crate::config::{Config, Monitor};
use crate::quorum::round;
use crate::schedule::Schedule;
use chrono::{DateTime, Utc};
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

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

/// Run monitor `index` of `config` until `token` is cancelled; the
/// evaluations of its rounds (checked from several locations) run on
/// `beside`, so the fleet waits for them too when it stops.
pub async fn run(
    shared: Arc<Shared>,
    config: Arc<Config>,
    index: usize,
    token: CancellationToken,
    beside: TaskTracker,
) {
    let monitor: &Monitor = &config.monitors[index];
    let offset = spread_offset(&monitor.name, config.settings.jitter);
    let grace = config.settings.shutdown_grace;
    let mut previous: Option<DateTime<Utc>> = None;
    // The store revision this task's own last run committed: a saved state
    // at that revision is this task's, however late in its interval it ran.
    let mut own_revision: Option<i64> = None;
    loop {
        // Decided afresh each time: locations come and go.
        let listed = rounds::round_locations(&shared, monitor);
        let now = Utc::now();
        let (planned, stagger) = match listed {
            Some(_) => (
                round::next_round(&monitor.schedule, previous, now),
                round::stagger(&monitor.schedule, &monitor.name, shared.cluster.location()),
            ),
            None => (next_fire(&monitor.schedule, previous, now), Duration::ZERO),
        };
        let Some(planned) = planned else {
            tracing::warn!(monitor = %monitor.name, "schedule has no future fire time; monitor stops");
            shared.heartbeat.stopped(&monitor.name);
            return;
        };
        previous = Some(planned);
        let start_at = planned + chrono::Duration::from_std(offset + stagger).unwrap_or_default();
        let wait = (start_at - Utc::now()).to_std().unwrap_or_default();
        shared.heartbeat.waiting(&monitor.name, start_at);
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        // A round's results are one per location whoever checks: no
        // "checked by another" there.
        if !shared.cluster.checks(monitor)
            || (listed.is_none() && checked_by_another(&shared, monitor, start_at, own_revision))
        {
            continue;
        }
        let slots = shared.slots();
        let permit = tokio::select! {
            _ = token.cancelled() => return,
            p = slots.acquire_owned() => match p { Ok(p) => p, Err(_) => return },
        };
        let started = Utc::now();
        let lag = started - start_at;
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
            match listed {
                Some(listed) => {
                    let part = rounds::Part {
                        config: config.clone(),
                        index,
                        round: planned,
                        planned: start_at,
                        started,
                        listed,
                    };
                    let take_part = rounds::take_part(shared.clone(), part, report, token.clone());
                    beside.spawn(take_part.in_current_span());
                }
                None => {
                    // Boxed for the same reason as the check: recording holds the
                    // report, its document, the history row and the commit's future
                    // (~3 KB), which pinned in place every idle task would carry.
                    Box::pin(record(&shared, &config, monitor, report)).await;
                    own_revision = shared.saved(&monitor.name).map(|s| s.revision);
                }
            }
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
