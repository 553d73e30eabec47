//! When rounds happen: every location must check a monitor in the same
//! round, so a round is named by a time all instances agree on without
//! talking to each other — for `@every D` the multiple of D since the Unix
//! epoch, for a cron schedule the fire time itself. Each location starts its
//! check a little after the round (its own stable stagger) so the endpoint
//! is not hit by every location in the same millisecond, yet close enough
//! for the results to describe the same moment.
//!
//! Pure: times in, times out.

use crate::check::CheckSpec;
use crate::schedule::Schedule;
use chrono::{DateTime, Utc};
use std::hash::{Hash, Hasher};
use std::time::Duration;

/// The longest stagger between locations (shorter for short intervals).
pub const MAX_STAGGER: Duration = Duration::from_millis(250);

/// Beyond the check's own time budget, how long a round waits for a
/// location's result: the store's round trip and a busy scheduler.
pub const RESULT_SLACK: Duration = Duration::from_secs(2);

/// The first round strictly after `previous` (if any) that starts after
/// `now`: rounds an overrunning check missed are skipped, never run late.
pub fn next_round(
    schedule: &Schedule,
    previous: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let after = previous.map_or(now, |p| p.max(now));
    match schedule {
        Schedule::Every(every) => {
            let every_us = i64::try_from(every.as_micros()).ok().filter(|u| *u > 0)?;
            let at = after.timestamp_micros();
            let next = (at.div_euclid(every_us) + 1).checked_mul(every_us)?;
            DateTime::from_timestamp_micros(next)
        }
        Schedule::Cron { .. } => schedule.next_after(after),
    }
}

/// A round's id: its start in milliseconds since the Unix epoch.
pub fn round_id(round: DateTime<Utc>) -> i64 {
    round.timestamp_millis()
}

/// How long after the round `location` starts `monitor`'s check: stable for
/// the pair, below [`MAX_STAGGER`] and below a tenth of the interval.
pub fn stagger(schedule: &Schedule, monitor: &str, location: &str) -> Duration {
    let bound = match schedule {
        Schedule::Every(every) => (*every / 10).min(MAX_STAGGER),
        Schedule::Cron { .. } => MAX_STAGGER,
    };
    let micros = u64::try_from(bound.as_micros()).unwrap_or(u64::MAX);
    if micros == 0 {
        return Duration::ZERO;
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (monitor, location).hash(&mut h);
    Duration::from_micros(h.finish() % micros)
}

/// The longest a check of `spec` can take: every attempt to its timeout
/// (a hold on top), and the pauses between attempts.
pub fn check_budget(spec: &CheckSpec) -> Duration {
    let attempts = spec.retries.saturating_add(1);
    let attempt = spec.timeout + spec.hold.unwrap_or_default();
    attempt * attempts + spec.retry_delay * spec.retries
}

/// When a round stops waiting for results: the latest stagger, the check's
/// whole budget and [`RESULT_SLACK`] after the round. A location that has
/// not reported by then is unknown for the round.
pub fn deadline(round: DateTime<Utc>, spec: &CheckSpec) -> DateTime<Utc> {
    let wait = MAX_STAGGER + check_budget(spec) + RESULT_SLACK;
    round + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn interval_rounds_fall_on_multiples_of_the_interval_whoever_computes_them() {
        let every = Schedule::Every(Duration::from_secs(30));
        // Two instances started at different moments agree on the round.
        let a = next_round(&every, None, t("2026-01-01T00:00:03Z"));
        let b = next_round(&every, None, t("2026-01-01T00:00:29.999Z"));
        assert_eq!(a, Some(t("2026-01-01T00:00:30Z")));
        assert_eq!(a, b);
        // Exactly on a boundary: that round has begun; the next one is due.
        assert_eq!(
            next_round(&every, None, t("2026-01-01T00:00:30Z")),
            Some(t("2026-01-01T00:01:00Z"))
        );
        // After a round, the next one; after an overrun, the next one still ahead.
        let previous = Some(t("2026-01-01T00:00:30Z"));
        assert_eq!(
            next_round(&every, previous, t("2026-01-01T00:00:31Z")),
            Some(t("2026-01-01T00:01:00Z"))
        );
        assert_eq!(
            next_round(&every, previous, t("2026-01-01T00:01:45Z")),
            Some(t("2026-01-01T00:02:00Z"))
        );
    }

    #[test]
    fn cron_rounds_are_the_fire_times() {
        let cron = Schedule::parse("*/5 * * * *").unwrap();
        assert_eq!(
            next_round(&cron, None, t("2026-01-01T00:03:00Z")),
            Some(t("2026-01-01T00:05:00Z"))
        );
        assert_eq!(round_id(t("2026-01-01T00:05:00Z")), 1_767_225_900_000);
    }

    #[test]
    fn staggers_are_stable_small_and_differ_between_locations() {
        let every = Schedule::Every(Duration::from_secs(2));
        let a = stagger(&every, "api", "eu-west");
        assert_eq!(a, stagger(&every, "api", "eu-west"));
        assert!(a < Duration::from_millis(200), "a tenth of 2 s at most");
        let distinct: std::collections::HashSet<_> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|l| stagger(&every, "api", l))
            .collect();
        assert!(distinct.len() >= 4, "{distinct:?}");
        let long = Schedule::Every(Duration::from_secs(3600));
        assert!(stagger(&long, "api", "eu-west") < MAX_STAGGER);
    }

    #[test]
    fn a_round_waits_for_the_slowest_possible_check_of_every_location() {
        let opts = crate::check::spec::CheckOptions {
            timeout: Duration::from_secs(10),
            retries: 2,
            retry_delay: Duration::from_secs(1),
            hold: Some(Duration::from_secs(5)),
            ..Default::default()
        };
        let spec = CheckSpec::build("ws://127.0.0.1:1/", &opts).unwrap();
        assert_eq!(check_budget(&spec), Duration::from_secs(3 * 15 + 2));
        let round = t("2026-01-01T00:00:00Z");
        assert_eq!(
            deadline(round, &spec),
            t("2026-01-01T00:00:49.250Z"),
            "budget, slack and the largest stagger"
        );
    }
}
