//! What a monitor's history of runs adds up to — uptime, latency percentiles,
//! time buckets for uptime bars and sparklines, incidents — computed from
//! [`ResultPoint`]s, without I/O, for both the JSON API and the status page.
//!
//! Runs inside a maintenance window are left out of uptime (planned work is
//! not an outage) but still shown in bars and incidents. Latency is that of
//! passing runs: a refused connection is fast and a timeout is the timeout,
//! neither says how quickly the service answers.

use crate::check::Class;
use crate::state::store::ResultPoint;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Latency percentiles of passing runs, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// How many runs they are taken from.
    pub samples: usize,
}

/// The runs that ended within one slice of time.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Bucket {
    /// Start of the slice.
    pub start: DateTime<Utc>,
    /// End of the slice (exclusive).
    pub end: DateTime<Utc>,
    /// Runs in the slice.
    pub runs: usize,
    /// Failed runs in the slice.
    pub failed: usize,
    /// Runs inside a maintenance window.
    pub maintenance: usize,
    /// Mean duration of the passing runs, in milliseconds.
    pub mean_ms: Option<f64>,
}

impl Bucket {
    /// How the slice looks on an uptime bar.
    pub fn verdict(&self) -> Verdict {
        if self.runs == 0 {
            Verdict::NoData
        } else if self.failed == 0 {
            Verdict::Up
        } else if self.failed == self.runs {
            if self.maintenance == self.runs {
                Verdict::Maintenance
            } else {
                Verdict::Down
            }
        } else {
            Verdict::Degraded
        }
    }
}

/// The colour of one slice of an uptime bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No run ended in the slice.
    NoData,
    /// Every run passed.
    Up,
    /// Some runs failed.
    Degraded,
    /// Every run failed.
    Down,
    /// Every run failed, all inside maintenance.
    Maintenance,
}

impl Verdict {
    /// The CSS class and word of the verdict.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::NoData => "none",
            Verdict::Up => "up",
            Verdict::Degraded => "degraded",
            Verdict::Down => "down",
            Verdict::Maintenance => "maintenance",
        }
    }
}

/// A stretch of consecutive failed runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentSpan {
    /// The first failed run.
    pub start: DateTime<Utc>,
    /// The first passing run after it; `None` while still failing.
    pub end: Option<DateTime<Utc>>,
    /// The last failed run.
    pub last_failure: DateTime<Utc>,
    /// Failed runs in the stretch.
    pub failed_runs: usize,
    /// The class of the first failed run.
    pub class: Class,
    /// Every class seen, in order of first appearance.
    pub classes: Vec<Class>,
}

/// Share of passing runs at or after `since`, maintenance excluded; `None`
/// without any run.
pub fn uptime(points: &[ResultPoint], since: DateTime<Utc>) -> Option<f64> {
    let counted = points.iter().filter(|p| p.at >= since && !p.in_maintenance);
    let (mut runs, mut ok) = (0usize, 0usize);
    for p in counted {
        runs += 1;
        ok += usize::from(p.ok);
    }
    (runs > 0).then(|| ok as f64 / runs as f64)
}

/// Nearest-rank percentiles of the passing runs' durations.
pub fn percentiles(points: &[ResultPoint]) -> Option<Percentiles> {
    let mut ms: Vec<f64> = points.iter().filter(|p| p.ok).map(|p| p.total_ms).collect();
    if ms.is_empty() {
        return None;
    }
    ms.sort_by(f64::total_cmp);
    let rank = |q: f64| {
        let n = ms.len();
        let i = ((q * n as f64).ceil() as usize).clamp(1, n) - 1;
        ms[i]
    };
    Some(Percentiles {
        p50: rank(0.50),
        p95: rank(0.95),
        p99: rank(0.99),
        samples: ms.len(),
    })
}

/// `n` equal slices from `start` to `end`, each with the runs that ended in it.
pub fn buckets(
    points: &[ResultPoint],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    n: usize,
) -> Vec<Bucket> {
    let n = n.max(1);
    let span = (end - start).num_microseconds().unwrap_or(0).max(1);
    let width = span / n as i64;
    let mut out: Vec<Bucket> = (0..n as i64)
        .map(|i| Bucket {
            start: start + chrono::Duration::microseconds(width * i),
            end: start + chrono::Duration::microseconds(width * (i + 1)),
            ..Bucket::default()
        })
        .collect();
    let mut sums = vec![(0.0f64, 0usize); n];
    for p in points.iter().filter(|p| p.at >= start && p.at < end) {
        let offset = (p.at - start).num_microseconds().unwrap_or(0);
        let i = ((offset / width.max(1)) as usize).min(n - 1);
        let b = &mut out[i];
        b.runs += 1;
        b.failed += usize::from(!p.ok);
        b.maintenance += usize::from(p.in_maintenance);
        if p.ok {
            sums[i].0 += p.total_ms;
            sums[i].1 += 1;
        }
    }
    for (b, (sum, count)) in out.iter_mut().zip(sums) {
        b.mean_ms = (count > 0).then(|| sum / count as f64);
    }
    out
}

/// Stretches of consecutive failed runs, newest first. `points` are oldest first.
pub fn incidents(points: &[ResultPoint]) -> Vec<IncidentSpan> {
    let mut out: Vec<IncidentSpan> = Vec::new();
    let mut open: Option<IncidentSpan> = None;
    for p in points {
        match (&mut open, p.ok) {
            (None, false) => {
                open = Some(IncidentSpan {
                    start: p.at,
                    end: None,
                    last_failure: p.at,
                    failed_runs: 1,
                    class: p.class,
                    classes: vec![p.class],
                });
            }
            (Some(span), false) => {
                span.failed_runs += 1;
                span.last_failure = p.at;
                if !span.classes.contains(&p.class) {
                    span.classes.push(p.class);
                }
            }
            (Some(_), true) => {
                if let Some(mut span) = open.take() {
                    span.end = Some(p.at);
                    out.push(span);
                }
            }
            (None, true) => {}
        }
    }
    out.extend(open);
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Phase;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).expect("valid")
    }

    fn run(at: i64, ok: bool, ms: f64) -> ResultPoint {
        ResultPoint {
            at: t(at),
            ok,
            class: if ok { Class::Ok } else { Class::EarlyFin },
            phase: (!ok).then_some(Phase::Open),
            total_ms: ms,
            in_maintenance: false,
        }
    }

    #[test]
    fn uptime_is_the_share_of_passing_runs_since_the_start_without_maintenance() {
        let mut planned = run(40, false, 1.0);
        planned.in_maintenance = true;
        let points = [
            run(0, false, 1.0),
            run(10, true, 1.0),
            run(20, true, 1.0),
            run(30, false, 1.0),
            planned,
        ];
        let cases = [(t(0), Some(0.5)), (t(10), Some(2.0 / 3.0)), (t(50), None)];
        for (since, expected) in cases {
            assert_eq!(uptime(&points, since), expected, "since {since}");
        }
    }

    #[test]
    fn percentiles_use_nearest_rank_over_passing_runs_only() {
        let mut points: Vec<ResultPoint> = (1..=100)
            .map(|i| run(i, true, f64::from(i as u32)))
            .collect();
        points.push(run(200, false, 10_000.0));
        let p = percentiles(&points).expect("some");
        assert_eq!((p.p50, p.p95, p.p99, p.samples), (50.0, 95.0, 99.0, 100));
        assert_eq!(percentiles(&[run(0, false, 3.0)]), None);
        let one = percentiles(&[run(0, true, 7.0)]).expect("one");
        assert_eq!((one.p50, one.p99), (7.0, 7.0));
    }

    #[test]
    fn buckets_count_runs_per_slice_and_say_how_each_looks() {
        let points = [
            run(0, true, 10.0),
            run(5, true, 20.0),
            run(12, true, 1.0),
            run(15, false, 5.0),
            run(25, false, 5.0),
            run(99, true, 1.0), // outside the range
        ];
        let b = buckets(&points, t(0), t(40), 4);
        let got: Vec<_> = b
            .iter()
            .map(|b| (b.runs, b.failed, b.verdict(), b.mean_ms))
            .collect();
        assert_eq!(
            got,
            vec![
                (2, 0, Verdict::Up, Some(15.0)),
                (2, 1, Verdict::Degraded, Some(1.0)),
                (1, 1, Verdict::Down, None),
                (0, 0, Verdict::NoData, None),
            ]
        );
        assert_eq!(b[1].start, t(10));
        assert_eq!(b[3].end, t(40));
    }

    #[test]
    fn incidents_are_runs_of_failures_newest_first_and_the_last_may_be_open() {
        let mut timeout = run(40, false, 1.0);
        timeout.class = Class::Timeout;
        let points = [
            run(0, true, 1.0),
            run(10, false, 1.0),
            run(20, false, 1.0),
            run(30, true, 1.0),
            timeout,
            run(50, false, 1.0),
        ];
        let got = incidents(&points);
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].start, got[0].end, got[0].failed_runs),
            (t(40), None, 2)
        );
        assert_eq!(got[0].classes, vec![Class::Timeout, Class::EarlyFin]);
        assert_eq!(got[0].class, Class::Timeout);
        assert_eq!(
            (got[1].start, got[1].end, got[1].last_failure),
            (t(10), Some(t(30)), t(20))
        );
        assert!(incidents(&[run(0, true, 1.0)]).is_empty());
    }
}
