//! Latency thresholds end to end: a server slow to send its 101 is a
//! `warning` (exit 1) over `--warning`, a `slow` failure (exit 2) over
//! `--critical`, and the Nagios perfdata carries both limits.

mod check_run;
mod support;

use std::time::Duration;

use check_run::{check, text};
use support::{Behavior, FaultServer};

async fn slow_server() -> FaultServer {
    FaultServer::start(Behavior::Slow101(Duration::from_millis(300))).await
}

#[tokio::test]
async fn a_phase_over_its_warning_threshold_passes_with_status_warning() {
    let server = slow_server().await;
    let run = check([
        "--format",
        "json",
        "--warning",
        "upgrade=100ms",
        "--warning",
        "close=10s",
        &server.ws_url("/"),
    ])
    .await;
    let v = run.verdict(1, "ok", None);
    assert_eq!(text(&v, "/status"), "warning");
    let warnings = v["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{v:#}");
    assert_eq!(text(&warnings[0], "/kind"), "slow");
    assert_eq!(text(&warnings[0], "/over/phase"), "upgrade");
    assert_eq!(warnings[0]["threshold_ms"], 100.0);
    assert!(warnings[0]["took_ms"].as_f64().unwrap() >= 300.0, "{v:#}");
}

#[tokio::test]
async fn the_total_over_its_critical_threshold_fails_as_slow_in_the_phase_that_took_the_time() {
    let server = slow_server().await;
    let run = check([
        "--format",
        "json",
        "--critical",
        "total=150ms",
        &server.ws_url("/"),
    ])
    .await;
    let v = run.verdict(2, "slow", Some("upgrade"));
    assert_eq!(text(&v, "/evidence/over"), "total");
    assert!(
        text(&v, "/message").contains("over the critical threshold of 150 ms"),
        "{v:#}"
    );
    assert!(text(&v, "/hint").contains("critical_over"), "{v:#}");
    // The connection itself was fine and closed cleanly.
    assert_eq!(v["close"]["clean"], true, "{v:#}");
}

#[tokio::test]
async fn nagios_perfdata_carries_the_warning_and_critical_limits() {
    let server = slow_server().await;
    let run = check([
        "--format",
        "nagios",
        "--warning",
        "upgrade=100ms",
        "--critical",
        "upgrade=2s",
        "--critical",
        "total=3s",
        &server.ws_url("/"),
    ])
    .await;
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stdout.starts_with("WSPROBE WARNING - "), "{run}");
    let perf = run.stdout.split_once('|').unwrap().1;
    assert!(perf.contains("ms;100.000;2000.000;0"), "{perf}");
    assert!(perf.contains("ms;;3000.000;0"), "{perf}");
    // A phase without thresholds keeps empty warn and crit fields.
    assert!(
        perf.contains("connect=") && perf.contains("ms;;;0"),
        "{perf}"
    );
}

#[tokio::test]
async fn a_bad_threshold_is_a_usage_error_naming_the_flag() {
    for (flag, value, words) in [
        (
            "--warning",
            "upgrad=1s",
            "one of dns, connect, tls, upgrade, open, close, total",
        ),
        ("--critical", "total", "PHASE=DUR"),
        ("--critical", "total=soon", "duration"),
    ] {
        let run = check([flag, value, "ws://127.0.0.1:9/"]).await;
        assert_eq!(run.code, 3, "{run}");
        assert!(
            run.stderr.contains(flag) && run.stderr.contains(words),
            "{run}"
        );
    }
}
