//! The status page's view of a monitor: [`Card`] and the rows of its page,
//! built from a [`Snapshot`] as plain values for the templates.

use super::evidence::evidence_rows;
use super::format::{ago, duration_text, ms_text, path_segment, percent};
use super::listing::{Counts, Entry, Status};
use crate::check::redact::redact_url;
use crate::serve::assets::{self, Spark};
use crate::serve::history::{self, Bucket, IncidentSpan};
use crate::serve::snapshot::Snapshot;
use crate::state::store::{ResultPoint, ResultRow};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// Slices of the 24-hour uptime bar (30 minutes each).
pub(super) const BAR_24H: usize = 48;
/// Slices of the 7-day uptime bar (3 hours each).
pub(super) const BAR_7D: usize = 56;
/// Runs drawn by the sparkline (the newest of the last 24 hours).
pub(super) const SPARK_RUNS: usize = 96;
/// One monitor on the page.
#[derive(Debug, Serialize)]
pub(super) struct Card {
    pub(super) name: String,
    pub(super) href: String,
    pub(super) url: String,
    pub(super) schedule: String,
    /// up, down, degraded (last run failed, not yet down) or pending.
    pub(super) status: &'static str,
    pub(super) status_label: &'static str,
    pub(super) since: Option<String>,
    pub(super) last_check: Option<String>,
    pub(super) uptime_24h: String,
    pub(super) uptime_7d: String,
    pub(super) bar_24h: Vec<Segment>,
    pub(super) bar_7d: Vec<Segment>,
    pub(super) spark: Option<Spark>,
    pub(super) spark_runs: usize,
    pub(super) p50: String,
    pub(super) p95: String,
    pub(super) p99: String,
    pub(super) last_ms: String,
    pub(super) checks_24h: usize,
    pub(super) failure: Option<Failure>,
}

/// One slice of an uptime bar.
#[derive(Debug, Serialize)]
pub(super) struct Segment {
    pub(super) state: &'static str,
    pub(super) title: String,
}

/// What the newest failure showed.
#[derive(Debug, Serialize)]
pub(super) struct Failure {
    pub(super) at: String,
    pub(super) class: String,
    pub(super) phase: Option<String>,
    pub(super) message: Option<String>,
    pub(super) hint: Option<String>,
    pub(super) evidence: Vec<(String, String)>,
    pub(super) timeline: Vec<Event>,
}

/// One line of the failed check's timeline.
#[derive(Debug, Serialize)]
pub(super) struct Event {
    pub(super) at: String,
    pub(super) phase: String,
    pub(super) what: String,
}

/// The page's headline: the worst news first.
#[derive(Debug, Serialize)]
pub(super) struct Banner {
    pub(super) status: &'static str,
    pub(super) title: String,
    pub(super) detail: String,
}

/// One monitor of the compact list.
#[derive(Debug, Serialize)]
pub(super) struct Row {
    pub(super) name: String,
    pub(super) href: String,
    pub(super) url: String,
    pub(super) status: &'static str,
    pub(super) status_label: &'static str,
    pub(super) since: Option<String>,
}

/// One incident on a monitor's page.
#[derive(Debug, Serialize)]
pub(super) struct IncidentRow {
    pub(super) start: String,
    pub(super) duration: String,
    pub(super) failed_runs: usize,
    pub(super) classes: String,
    pub(super) ongoing: bool,
}

/// One recent run on a monitor's page.
#[derive(Debug, Serialize)]
pub(super) struct RunRow {
    pub(super) at: String,
    pub(super) ok: bool,
    pub(super) class: String,
    pub(super) phase: String,
    pub(super) duration: String,
}

/// The view of one monitor.
pub(super) fn card(snap: &Snapshot) -> Card {
    let now = snap.now;
    let day = snap.since(Duration::hours(24));
    let status = Status::of(&snap.state);
    let last_failed = status.is_failing();
    let latency = history::percentiles(day);
    // One point per run, failed runs as gaps: a chart that shows its data
    // from the first check on, rather than a dot at the end of an empty day.
    let spark_values: Vec<Option<f64>> = day[day.len().saturating_sub(SPARK_RUNS)..]
        .iter()
        .map(|p| p.ok.then_some(p.total_ms))
        .collect();
    Card {
        name: snap.name.clone(),
        href: monitor_href(&snap.name),
        url: snap.url.clone(),
        schedule: snap.schedule.clone(),
        status: status.as_str(),
        status_label: status.label(),
        since: snap
            .state
            .since
            .filter(|_| status != Status::Pending)
            .map(|t| format!("for {}", duration_text(now - t))),
        last_check: snap
            .last
            .as_ref()
            .map(|r| format!("checked {}", ago(now, r.at))),
        uptime_24h: percent(history::uptime(day, now - Duration::hours(24))),
        uptime_7d: percent(history::uptime(&snap.points, now - Duration::days(7))),
        bar_24h: segments(
            &history::buckets(day, now - Duration::hours(24), now, BAR_24H),
            "%H:%M",
        ),
        bar_7d: segments(
            &history::buckets(&snap.points, now - Duration::days(7), now, BAR_7D),
            "%a %H:%M",
        ),
        spark: assets::sparkline(&spark_values),
        spark_runs: spark_values.len(),
        p50: latency.map_or("—".into(), |p| ms_text(p.p50)),
        p95: latency.map_or("—".into(), |p| ms_text(p.p95)),
        p99: latency.map_or("—".into(), |p| ms_text(p.p99)),
        last_ms: snap
            .last
            .as_ref()
            .filter(|r| r.ok)
            .map_or("—".into(), |r| ms_text(r.total_ms)),
        checks_24h: day.len(),
        failure: if last_failed {
            snap.last_failure.as_ref().map(|r| failure(r, now))
        } else {
            None
        },
    }
}

/// The headline from the counts per status: the worst news first.
pub(super) fn banner(counts: &Counts) -> Banner {
    let Counts {
        down,
        degraded,
        pending,
        ..
    } = *counts;
    let total = counts.total();
    let plural = |n: usize| if n == 1 { "monitor" } else { "monitors" };
    if down > 0 {
        Banner {
            status: "down",
            title: format!("{down} of {total} {} down", plural(total)),
            detail: "Failing checks are shown first, with their cause and evidence.".into(),
        }
    } else if degraded > 0 {
        Banner {
            status: "degraded",
            title: format!("{degraded} of {total} {} degraded", plural(total)),
            detail: "The last check failed; not down yet.".into(),
        }
    } else if pending == total {
        Banner {
            status: "pending",
            title: "Waiting for the first checks".into(),
            detail: format!("{total} {} configured.", plural(total)),
        }
    } else {
        Banner {
            status: "up",
            title: "All systems operational".into(),
            detail: format!("{total} {} passing.", plural(total)),
        }
    }
}

/// Where a page of the index sits among the others.
#[derive(Debug, Serialize)]
pub(super) struct Pager {
    pub(super) page: usize,
    pub(super) pages: usize,
    pub(super) prev: Option<String>,
    pub(super) next: Option<String>,
}

/// The pager of page `page` of `pages` (1-based).
pub(super) fn pager(page: usize, pages: usize) -> Pager {
    let href = |n: usize| format!("/?page={n}");
    Pager {
        page,
        pages,
        prev: (page > 1).then(|| href(page - 1)),
        next: (page < pages).then(|| href(page + 1)),
    }
}

/// One monitor as a line of the compact list: no history read.
pub(super) fn row(e: &Entry, now: DateTime<Utc>) -> Row {
    Row {
        name: e.monitor.name.clone(),
        href: monitor_href(&e.monitor.name),
        url: redact_url(&e.monitor.url),
        status: e.status.as_str(),
        status_label: e.status.label(),
        since: e
            .state
            .since
            .filter(|_| e.status != Status::Pending)
            .map(|t| format!("for {}", duration_text(now - t))),
    }
}

/// The link to a monitor's own page.
pub(super) fn monitor_href(name: &str) -> String {
    format!("/monitors/{}", path_segment(name))
}

pub(super) fn segments(buckets: &[Bucket], label: &str) -> Vec<Segment> {
    buckets
        .iter()
        .map(|b| {
            let when = format!("{}–{} UTC", b.start.format(label), b.end.format("%H:%M"));
            let title = if b.runs == 0 {
                format!("{when}: no checks")
            } else {
                format!("{when}: {} of {} checks passed", b.runs - b.failed, b.runs)
            };
            Segment {
                state: b.verdict().as_str(),
                title,
            }
        })
        .collect()
}

/// The newest failure, from its stored report document.
pub(super) fn failure(row: &ResultRow, now: DateTime<Utc>) -> Failure {
    let doc = row.report.document();
    let timeline = doc
        .map(|d| {
            d.events
                .iter()
                .map(|e| Event {
                    at: ms_text(e.at_ms),
                    phase: e.phase.as_str().to_string(),
                    what: e.what.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    Failure {
        at: ago(now, row.at),
        class: row.class.as_str().to_string(),
        phase: row.phase.map(|p| p.as_str().to_string()),
        message: doc.and_then(|d| d.message.clone()),
        hint: doc.and_then(|d| d.hint.clone()),
        evidence: doc
            .and_then(|d| d.evidence.as_ref())
            .map(evidence_rows)
            .unwrap_or_default(),
        timeline,
    }
}

pub(super) fn incident_row(i: &IncidentSpan, now: DateTime<Utc>) -> IncidentRow {
    IncidentRow {
        start: i.start.format("%Y-%m-%d %H:%M UTC").to_string(),
        duration: duration_text(i.end.unwrap_or(now) - i.start),
        failed_runs: i.failed_runs,
        classes: i
            .classes
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        ongoing: i.end.is_none(),
    }
}

pub(super) fn run_row(p: &ResultPoint) -> RunRow {
    RunRow {
        at: p.at.format("%Y-%m-%d %H:%M:%S").to_string(),
        ok: p.ok,
        class: p.class.as_str().to_string(),
        phase: p.phase.map(|p| p.as_str().to_string()).unwrap_or_default(),
        duration: ms_text(p.total_ms),
    }
}
