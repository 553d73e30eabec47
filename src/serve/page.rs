//! The status page, rendered on the server: `GET /` (every monitor) and
//! `GET /monitors/{name}` (one monitor with its incidents and recent runs).
//!
//! Handlers turn [`Snapshot`]s into plain view structs and hand them to
//! minijinja templates (compiled into the binary) whose HTML auto-escaping
//! covers everything that comes from config or evidence: monitor names,
//! URLs, hints, server answers. A strict Content-Security-Policy backs that
//! up: the page loads nothing and runs no script.

use super::assets::{self, Spark};
use super::history::{self, Bucket, IncidentSpan};
use super::snapshot::Snapshot;
use super::{Surface, text_error};
use crate::state::machine::Health;
use crate::state::store::ResultRow;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use minijinja::value::{Serde, Value as Jinja};
use minijinja::{Environment, context};
use serde::Serialize;
use serde_json::Value;

/// Slices of the 24-hour uptime bar (30 minutes each).
const BAR_24H: usize = 48;
/// Slices of the 7-day uptime bar (3 hours each).
const BAR_7D: usize = 56;
/// Runs drawn by the sparkline (the newest of the last 24 hours).
const SPARK_RUNS: usize = 96;
/// Longest evidence value shown; the API has the rest.
const EVIDENCE_CHARS: usize = 600;
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

/// One monitor on the page.
#[derive(Debug, Serialize)]
pub struct Card {
    name: String,
    href: String,
    url: String,
    schedule: String,
    /// up, down, degraded (last run failed, not yet down) or pending.
    status: &'static str,
    status_label: &'static str,
    since: Option<String>,
    last_check: Option<String>,
    uptime_24h: String,
    uptime_7d: String,
    bar_24h: Vec<Segment>,
    bar_7d: Vec<Segment>,
    spark: Option<Spark>,
    spark_runs: usize,
    p50: String,
    p95: String,
    p99: String,
    last_ms: String,
    checks_24h: usize,
    failure: Option<Failure>,
}

/// One slice of an uptime bar.
#[derive(Debug, Serialize)]
struct Segment {
    state: &'static str,
    title: String,
}

/// What the newest failure showed.
#[derive(Debug, Serialize)]
struct Failure {
    at: String,
    class: String,
    phase: Option<String>,
    message: Option<String>,
    hint: Option<String>,
    evidence: Vec<(String, String)>,
    timeline: Vec<Event>,
}

#[derive(Debug, Serialize)]
struct Event {
    at: String,
    phase: String,
    what: String,
}

#[derive(Debug, Serialize)]
struct Banner {
    status: &'static str,
    title: String,
    detail: String,
}

#[derive(Debug, Serialize)]
struct IncidentRow {
    start: String,
    duration: String,
    failed_runs: usize,
    classes: String,
    ongoing: bool,
}

#[derive(Debug, Serialize)]
struct RunRow {
    at: String,
    ok: bool,
    class: String,
    phase: String,
    duration: String,
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
        .map(|p| RunRow {
            at: p.at.format("%Y-%m-%d %H:%M:%S").to_string(),
            ok: p.ok,
            class: p.class.as_str().to_string(),
            phase: p.phase.map(|p| p.as_str().to_string()).unwrap_or_default(),
            duration: ms_text(p.total_ms),
        })
        .collect();
    let now = snap.now;
    let card = card(&snap);
    s.pages.render(
        "monitor.html",
        context! {
            title => card.name.clone(),
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

/// The view of one monitor.
pub fn card(snap: &Snapshot) -> Card {
    let now = snap.now;
    let day = snap.since(Duration::hours(24));
    let last_failed = snap.last.as_ref().is_some_and(|r| !r.ok);
    let (status, status_label) = match (snap.state.health, last_failed, &snap.last) {
        (Health::Down, _, _) => ("down", "Down"),
        (_, _, None) => ("pending", "No data yet"),
        (_, true, _) => ("degraded", "Degraded"),
        (Health::Up, false, _) => ("up", "Up"),
        (Health::Unknown, false, _) => ("up", "Up"),
    };
    let latency = history::percentiles(day);
    // One point per run, failed runs as gaps: a chart that shows its data
    // from the first check on, rather than a dot at the end of an empty day.
    let spark_values: Vec<Option<f64>> = day[day.len().saturating_sub(SPARK_RUNS)..]
        .iter()
        .map(|p| p.ok.then_some(p.total_ms))
        .collect();
    Card {
        name: snap.name.clone(),
        href: format!("/monitors/{}", path_segment(&snap.name)),
        url: snap.url.clone(),
        schedule: snap.schedule.clone(),
        status,
        status_label,
        since: snap
            .state
            .since
            .filter(|_| snap.state.health != Health::Unknown)
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

fn banner(cards: &[Card]) -> Banner {
    let count = |s: &str| cards.iter().filter(|c| c.status == s).count();
    let (down, degraded, pending) = (count("down"), count("degraded"), count("pending"));
    let total = cards.len();
    let plural = |n: usize| if n == 1 { "monitor" } else { "monitors" };
    if down > 0 {
        Banner {
            status: "down",
            title: format!("{down} of {total} {} down", plural(total)),
            detail: "Failing checks are shown below with their cause and evidence.".into(),
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

fn segments(buckets: &[Bucket], label: &str) -> Vec<Segment> {
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

/// The newest failure, from its stored report (the `--format json` document).
fn failure(row: &ResultRow, now: DateTime<Utc>) -> Failure {
    let report: Value = serde_json::from_str(&row.report_json).unwrap_or(Value::Null);
    let text = |key: &str| report.get(key).and_then(Value::as_str).map(str::to_string);
    let mut evidence = Vec::new();
    if let Some(Value::Object(map)) = report.get("evidence") {
        for (k, v) in map {
            if matches!(k.as_str(), "class" | "phase") || v.is_null() {
                continue;
            }
            match v {
                // One level of nesting (a response head, a close frame) reads
                // better as its own rows than as JSON.
                Value::Object(inner) => {
                    let mut skip: &[&str] = &[];
                    if let Some(status) = inner.get("status") {
                        // A response head: its status line first, as curl shows it.
                        let part = |key: &str| inner.get(key).map(value_text).unwrap_or_default();
                        let line = format!(
                            "{} {} {}",
                            part("version"),
                            value_text(status),
                            part("reason")
                        );
                        evidence.push((words(k), line.trim().to_string()));
                        skip = &["version", "status", "reason"];
                    }
                    for (k2, v2) in inner {
                        if !v2.is_null() && !skip.contains(&k2.as_str()) {
                            evidence.push((format!("{} {}", words(k), words(k2)), value_text(v2)));
                        }
                    }
                }
                _ => evidence.push((words(k), value_text(v))),
            }
        }
    }
    let timeline = report
        .get("events")
        .and_then(Value::as_array)
        .map(|events| {
            events
                .iter()
                .map(|e| Event {
                    at: e
                        .get("at_ms")
                        .and_then(Value::as_f64)
                        .map_or(String::new(), ms_text),
                    phase: e
                        .get("phase")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    what: e
                        .get("what")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    Failure {
        at: ago(now, row.at),
        class: row.class.as_str().to_string(),
        phase: row.phase.map(|p| p.as_str().to_string()),
        message: text("message"),
        hint: text("hint"),
        evidence,
        timeline,
    }
}

fn incident_row(i: &IncidentSpan, now: DateTime<Utc>) -> IncidentRow {
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

fn words(key: &str) -> String {
    key.replace('_', " ")
}

/// An evidence value as text: headers as `Name: value` lines, long values cut.
fn value_text(v: &Value) -> String {
    let text = match v {
        Value::String(s) => s.replace("\r\n", "\n"),
        Value::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
        Value::Array(items)
            if items
                .iter()
                .all(|i| i.as_array().is_some_and(|p| p.len() == 2)) =>
        {
            items
                .iter()
                .filter_map(|pair| {
                    let pair = pair.as_array()?;
                    Some(format!("{}: {}", pair[0].as_str()?, pair[1].as_str()?))
                })
                .collect::<Vec<_>>()
                .join("\n")
        }
        other => other.to_string(),
    };
    match text.char_indices().nth(EVIDENCE_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// A path segment with everything but unreserved characters percent-encoded.
fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// "99.95 %", never rounded up to 100; "—" without data.
fn percent(ratio: Option<f64>) -> String {
    match ratio {
        None => "—".into(),
        Some(r) if r >= 1.0 => "100 %".into(),
        Some(r) => format!("{:.2} %", (r * 10_000.0).floor() / 100.0),
    }
}

/// "0.42 ms", "12 ms", "1.24 s".
fn ms_text(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

/// "12 s ago", "5 min ago", "3 h ago", "2 d ago".
fn ago(now: DateTime<Utc>, at: DateTime<Utc>) -> String {
    let secs = (now - at).num_seconds().max(0);
    match secs {
        0..=59 => format!("{secs} s ago"),
        60..=3599 => format!("{} min ago", secs / 60),
        3600..=86_399 => format!("{} h ago", secs / 3600),
        _ => format!("{} d ago", secs / 86_400),
    }
}

/// "45 s", "12 min", "3 h 5 min", "2 d 4 h".
fn duration_text(d: Duration) -> String {
    let secs = d.num_seconds().max(0);
    let (days, hours, mins) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3599 => format!("{mins} min"),
        3600..=86_399 => format!("{hours} h {mins} min"),
        _ => format!("{days} d {hours} h"),
    }
}

#[cfg(test)]
mod tests;
