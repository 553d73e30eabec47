//! Benchmark of the status page (issue 9, "bounded rendering"): the daemon's
//! HTTP surface in this process, over a state store seeded like a large
//! installation, loaded with real HTTP requests on 127.0.0.1.
//!
//! * MONITORS (5,000) monitors; FAILING (100) of them down, each with a
//!   week of history (a run every 10 minutes, the failing ones with a
//!   2 KB report); the others up, with their state in memory.
//! * `GET /` sequentially ROUNDS (20) times: latency p50 and max, and the
//!   peak RSS above the RSS before the first request (VmHWM, reset through
//!   /proc/self/clear_refs).
//! * CONCURRENT (20) requests for `/` at once, three times: answers by status
//!   (at most 4 render, the rest get 503 at once) and the peak extra RSS.
//!
//! Prints one `target` line per figure: measured, limit, verdict.
//!     cargo run --release --example bench_page

use chrono::{Duration, Utc};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use wsprobe::check::model::{Event, PeerEnd};
use wsprobe::check::{CheckError, Class, Phase};
use wsprobe::daemon::shared::Shared;
use wsprobe::report::document::{ReportDocument, sample_document};
use wsprobe::state::machine::{Health, MonitorState};
use wsprobe::state::store::{ResultRow, SavedState, Store, StoredReport};

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A `key: value` line of /proc/self/status, in KiB.
fn status_kib(key: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix(key)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("{key} not in /proc/self/status"))
}

/// Reset VmHWM to the current RSS, so the next peak is the render's own.
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset VmHWM via /proc/self/clear_refs");
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn failure_report() -> ReportDocument {
    ReportDocument {
        phase: Some(Phase::Open),
        message: Some("open: the server closed TCP (FIN) without a Close frame 0.1 ms after the 101".into()),
        hint: Some("The server closed the connection right after the 101: a proxy speaking HTTP/1.0 to the backend.".into()),
        evidence: Some(CheckError::EarlyFin {
            phase: Phase::Open,
            peer_end: Some(PeerEnd::Fin),
            close_frame: None,
            ms_after_101: Some(0.05),
            idle_ms: None,
            while_held: false,
        }),
        events: (0..12)
            .map(|i| Event {
                at_ms: f64::from(i * 3) + 0.5,
                phase: Phase::Open,
                what: format!("event number {i} of the failed check, as recorded"),
            })
            .collect(),
        ..sample_document(Class::EarlyFin, 1)
    }
}

async fn seed(store: &Store, failing: &[String]) {
    let now = Utc::now();
    let report = failure_report();
    let runs = 7 * 24 * 6;
    for name in failing {
        for i in (1..=runs).rev() {
            let failed = i <= 3;
            let row = ResultRow {
                at: now - Duration::minutes(10 * i),
                ok: !failed,
                class: if failed { Class::EarlyFin } else { Class::Ok },
                phase: failed.then_some(Phase::Open),
                total_ms: 20.0 + (i % 17) as f64,
                in_maintenance: false,
                report: StoredReport::Document(Box::new(if failed {
                    report.clone()
                } else {
                    sample_document(Class::Ok, 1)
                })),
            };
            store
                .commit_run(name, runs - i, &down_state(now), &row, None)
                .await
                .expect("seed a run");
        }
    }
}

fn down_state(now: chrono::DateTime<Utc>) -> MonitorState {
    MonitorState {
        health: Health::Down,
        since: Some(now - Duration::minutes(30)),
        consecutive_failures: 3,
        ..MonitorState::default()
    }
}

async fn get(client: &reqwest::Client, url: &str) -> (u16, usize) {
    let resp = client.get(url).send().await.expect("GET /");
    let status = resp.status().as_u16();
    let body = resp.bytes().await.expect("read the body");
    (status, body.len())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let monitors = knob("MONITORS", 5000);
    let failing_n = knob("FAILING", 100).min(monitors);
    let rounds = knob("ROUNDS", 20);
    let concurrent = knob("CONCURRENT", 20);

    let mut yaml = String::from("monitors:\n");
    let names: Vec<String> = (0..monitors).map(|i| format!("service-{i:05}")).collect();
    for n in &names {
        yaml.push_str(&format!(
            "  - {{ name: {n}, url: \"wss://{n}.example.com/ws\" }}\n"
        ));
    }
    let config = wsprobe::config::load_str(&yaml, Path::new("bench.yaml"), &|_| None)
        .expect("generated config loads");
    // Failing ones spread through the file, as in real life.
    let step = (monitors / failing_n.max(1)).max(1);
    let failing: Vec<String> = names
        .iter()
        .step_by(step)
        .take(failing_n)
        .cloned()
        .collect();

    let dir = tempfile::tempdir_in("/dev/shm").unwrap_or_else(|_| tempfile::tempdir().unwrap());
    let store = Store::open(&dir.path().join("state.db")).expect("open the store");
    let t = Instant::now();
    seed(&store, &failing).await;
    eprintln!(
        "seeded {} runs of {failing_n} failing monitors in {:.1} s",
        failing_n * 7 * 24 * 6,
        t.elapsed().as_secs_f64()
    );
    let now = Utc::now();
    let states: HashMap<String, SavedState> = names
        .iter()
        .map(|n| {
            let state = if failing.contains(n) {
                down_state(now)
            } else {
                MonitorState {
                    health: Health::Up,
                    since: Some(now - Duration::days(3)),
                    consecutive_successes: 12,
                    ..MonitorState::default()
                }
            };
            let saved = SavedState {
                state,
                revision: 0,
                saved_at: now,
            };
            (n.clone(), saved)
        })
        .collect();
    let shared = Arc::new(Shared::new(store, HashMap::new(), states, Arc::new(config)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let stop = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(wsprobe::serve::serve(listener, shared, stop.clone()));
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap();

    let before = status_kib("VmRSS:");
    reset_peak();
    let mut times = Vec::with_capacity(rounds);
    let mut size = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        let (status, len) = get(&client, &url).await;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(status, 200, "GET / answered {status}");
        size = len;
    }
    let seq_peak = status_kib("VmHWM:").saturating_sub(before);
    times.sort_by(f64::total_cmp);
    let p50 = times[times.len() / 2];
    let max = times[times.len() - 1];

    let mut by_status: HashMap<u16, usize> = HashMap::new();
    let mut conc_peak = 0;
    let mut burst_ms: f64 = 0.0;
    for _ in 0..3 {
        let before = status_kib("VmRSS:");
        reset_peak();
        let t = Instant::now();
        let answers =
            futures_util::future::join_all((0..concurrent).map(|_| get(&client, &url))).await;
        burst_ms = burst_ms.max(t.elapsed().as_secs_f64() * 1000.0);
        conc_peak = conc_peak.max(status_kib("VmHWM:").saturating_sub(before));
        for (status, _) in answers {
            *by_status.entry(status).or_default() += 1;
        }
    }
    stop.cancel();
    let _ = server.await;

    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "status page at {monitors} monitors ({failing_n} down, a week of history each), {profile} build"
    );
    println!("  page size: {:.1} KiB", size as f64 / 1024.0);
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "  target: render of / p50 {p50:.1} ms (max {max:.1} ms over {rounds}) | limit < 200 ms | {}",
        verdict(p50 < 200.0)
    );
    println!(
        "  target: extra RSS while rendering / {:.1} MiB | limit < 50 MiB | {}",
        mib(seq_peak),
        verdict(mib(seq_peak) < 50.0)
    );
    let mut statuses: Vec<_> = by_status.into_iter().collect();
    statuses.sort();
    println!(
        "  target: {concurrent} concurrent requests, peak extra RSS {:.1} MiB (answers over 3 bursts: {statuses:?}, slowest burst {burst_ms:.0} ms) | limit < 50 MiB | {}",
        mib(conc_peak),
        verdict(mib(conc_peak) < 50.0)
    );
}
