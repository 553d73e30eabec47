//! `wsprobe run` as a process: SIGHUP reloads (and keeps the old monitors
//! when the new file is invalid), SIGTERM lets the in-flight check finish
//! and close its WebSocket cleanly before exiting 0, and the one-shot
//! commands around the daemon (`run` on a bad file, `validate`, `alert
//! test`) exit with their documented codes and messages.

mod daemon_support;
mod support;
mod support_http;

use daemon_support::{Daemon, QUICK, SOON, Scratch, results, wsprobe};
use serde_json::Value;
use std::ffi::OsStr;
use std::time::{Duration, Instant};
use support::{Behavior, FaultServer, refused_port};
use support_http::Receiver;

/// A config with two errors, at 2:45 and 4:54.
const INVALID: &str = r#"settings: { jitter: 0s }
defaults: { schedule: "@every 1s", timeout: soon }
monitors:
  - { name: api, url: "ws://127.0.0.1:9/ws", alert: [pager] }
channels:
  log: { type: file, path: ./alerts.log }
"#;

/// The errors `INVALID` must produce, after "PATH:".
const INVALID_ERRORS: [&str; 2] = [
    "2:45: `timeout`: expected a duration like 30s, 5m, found \"soon\"",
    "4:54: `alert`: unknown channel \"pager\" (known channels: log)",
];

/// `INVALID_ERRORS` as printed for the file at `path`.
fn expected_errors(path: &std::path::Path) -> Vec<String> {
    INVALID_ERRORS
        .iter()
        .map(|e| format!("{}:{e}", path.display()))
        .collect()
}

/// Monitors named `names`, all on `target`, alerting a file channel.
fn monitors(target: &FaultServer, names: &[&str]) -> String {
    let mut yaml = format!("{QUICK}monitors:\n");
    for name in names {
        yaml.push_str(&format!(
            "  - {{ name: {name}, url: \"{}\", alert: [log] }}\n",
            target.ws_url("/ws")
        ));
    }
    yaml.push_str("channels:\n  log: { type: file, path: ./alerts.log }\n");
    yaml
}

#[tokio::test]
async fn sighup_keeps_the_old_monitors_on_an_invalid_file_and_starts_new_ones_from_a_valid_one() {
    let server = FaultServer::start(Behavior::Healthy).await;
    let scratch = Scratch::new();
    let config = scratch.write_config(&monitors(&server, &["first"]));
    let daemon = Daemon::run(&scratch, &[]);
    let state = scratch.state();
    daemon
        .until("a run of `first`", SOON, || {
            (!results(&state, "first").is_empty()).then_some(())
        })
        .await;

    scratch.write_config(INVALID);
    daemon.signal("HUP");
    let errors: Vec<String> = daemon
        .until("both configuration errors logged", SOON, || {
            let lines = daemon.logs_matching(
                "configuration error; keeping the running configuration",
                &[],
            );
            (lines.len() >= 2).then(|| {
                lines
                    .iter()
                    .map(|l| daemon_support::field(l, "error"))
                    .collect()
            })
        })
        .await;
    assert_eq!(errors, expected_errors(&config));
    let runs = results(&state, "first").len();
    daemon
        .until(
            "`first` still running after the failed reload",
            SOON,
            || (results(&state, "first").len() >= runs + 2).then_some(()),
        )
        .await;
    assert!(
        daemon
            .logs_matching("configuration reloaded", &[])
            .is_empty()
    );

    scratch.write_config(&monitors(&server, &["first", "second"]));
    daemon.signal("HUP");
    daemon
        .wait_log("configuration reloaded", &[("monitors", "2")], SOON)
        .await;
    daemon
        .until("a passing run of the new monitor `second`", SOON, || {
            results(&state, "second").iter().any(|r| r.ok).then_some(())
        })
        .await;
    let runs = results(&state, "first").len();
    daemon
        .until("`first` still running after the reload", SOON, || {
            (results(&state, "first").len() > runs).then_some(())
        })
        .await;
}

#[tokio::test]
async fn a_monitor_removed_by_a_reload_and_added_back_starts_fresh() {
    let healthy = FaultServer::start(Behavior::Healthy).await;
    let refused = refused_port().await;
    let hook = Receiver::start(&[]).await;
    let scratch = Scratch::new();
    let config = |with_api: bool| {
        let api = format!("  - {{ name: api, url: \"ws://{refused}/ws\", alert: [hook] }}\n");
        format!(
            "{QUICK}monitors:\n  - {{ name: other, url: \"{other}\", alert: [hook] }}\n{api}\
             channels:\n  hook: {{ type: webhook, url: \"{hook_url}\" }}\n",
            other = healthy.ws_url("/ws"),
            api = if with_api { api.as_str() } else { "" },
            hook_url = hook.url("/"),
        )
    };
    scratch.write_config(&config(true));
    let daemon = Daemon::run(&scratch, &[]);
    daemon
        .wait_log(
            "alert delivered",
            &[("monitor", "api"), ("kind", "DOWN")],
            SOON,
        )
        .await;

    scratch.write_config(&config(false));
    daemon.signal("HUP");
    daemon
        .wait_log("configuration reloaded", &[("monitors", "1")], SOON)
        .await;
    daemon
        .until("the removed monitor's results forgotten", SOON, || {
            results(&scratch.state(), "api").is_empty().then_some(())
        })
        .await;
    scratch.write_config(&config(true));
    daemon.signal("HUP");
    daemon
        .wait_log("configuration reloaded", &[("monitors", "2")], SOON)
        .await;

    // Back from Unknown: its first failed run is a new incident.
    daemon
        .until("a second DOWN for the re-added monitor", SOON, || {
            (hook.requests().len() >= 2).then_some(())
        })
        .await;
    let monitors: Vec<Value> = hook
        .requests()
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
        .map(|b| serde_json::json!([b["kind"], b["monitor"]]))
        .collect();
    assert_eq!(
        monitors,
        [
            serde_json::json!(["down", "api"]),
            serde_json::json!(["down", "api"])
        ]
    );
}

/// Start a daemon whose one monitor holds a connection to `server` for 3 s,
/// send `signal` (TERM or INT) 0.5 s into the hold, and wait for the exit.
/// Returns the stopped daemon, its scratch directory, and how long the exit took.
async fn stop_during_a_hold(
    server: &FaultServer,
    grace: &str,
    signal: &str,
) -> (Daemon, Scratch, Duration) {
    let scratch = Scratch::new();
    scratch.write_config(&format!(
        r#"settings: {{ jitter: 0s, shutdown_grace: {grace} }}
defaults: {{ schedule: "@every 1s", timeout: 2s, retries: 0, proxy: none }}
monitors:
  - {{ name: held, url: "{url}", hold: 3s, ping_every: 1s, alert: [log] }}
channels:
  log: {{ type: file, path: ./alerts.log }}
"#,
        url = server.ws_url("/ws")
    ));
    let mut daemon = Daemon::run(&scratch, &[]);
    // The first run starts at once and holds its connection for 3 s.
    daemon
        .until("the check's connection", SOON, || {
            (!server.records().is_empty()).then_some(())
        })
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        server.wait_records(1, Duration::ZERO).await.is_empty(),
        "the check is still holding its connection"
    );

    let sent = Instant::now();
    daemon.signal(signal);
    let status = daemon.wait_exit(Duration::from_secs(10)).await;
    let took = sent.elapsed();
    assert_eq!(status.code(), Some(0), "stderr:\n{}", daemon.stderr());
    (daemon, scratch, took)
}

/// The server saw one connection that ended with a full closing handshake.
async fn assert_one_clean_close(server: &FaultServer) {
    let records = server.wait_records(1, Duration::from_secs(2)).await;
    assert_eq!(records.len(), 1, "{records:?}");
    let conn = &records[0];
    assert!(conn.clean_close, "no clean close: {conn:?}");
    assert_eq!(conn.client_error, None);
    assert_eq!(conn.close_code_received, Some(1000));
}

#[tokio::test]
async fn sigterm_lets_the_in_flight_check_finish_with_a_clean_close_and_exits_0() {
    let server = FaultServer::start(Behavior::Healthy).await;
    let (daemon, scratch, took) = stop_during_a_hold(&server, "5s", "TERM").await;
    assert!(
        daemon
            .logs_matching("in-flight check cancelled at shutdown", &[])
            .is_empty(),
        "the in-flight check was cancelled instead of finished"
    );
    // It finished its hold (about 2.5 s left) rather than being cut short.
    assert!(took >= Duration::from_secs(2), "exited after {took:?}");
    assert_one_clean_close(&server).await;
    assert!(server.records()[0].pings_received >= 2);
    let runs = results(&scratch.state(), "held");
    assert_eq!(runs.len(), 1, "the finished run was recorded: {runs:?}");
    assert!(runs[0].ok);
}

#[tokio::test]
async fn sigint_stops_like_sigterm_the_in_flight_run_recorded_and_exit_0() {
    let server = FaultServer::start(Behavior::Healthy).await;
    let (daemon, scratch, took) = stop_during_a_hold(&server, "5s", "INT").await;
    assert_eq!(daemon.logs_matching("SIGINT received", &[]).len(), 1);
    assert!(daemon.logs_matching("wsprobe daemon stopped", &[]).len() == 1);
    assert!(
        took >= Duration::from_secs(2),
        "the hold finished: {took:?}"
    );
    assert!(took < Duration::from_secs(5), "within the grace: {took:?}");
    assert_one_clean_close(&server).await;
    let runs = results(&scratch.state(), "held");
    assert_eq!(runs.len(), 1, "the finished run was flushed: {runs:?}");
    assert!(runs[0].ok);
}

#[tokio::test]
async fn sigterm_past_the_grace_period_still_closes_the_websocket_cleanly() {
    let server = FaultServer::start(Behavior::Healthy).await;
    let (_daemon, _scratch, took) = stop_during_a_hold(&server, "1s", "TERM").await;
    assert!(
        took < Duration::from_secs(2),
        "the grace bounds the exit: {took:?}"
    );
    assert_one_clean_close(&server).await;
}

#[test]
fn run_on_an_invalid_file_exits_3_with_every_error_and_creates_no_state() {
    let scratch = Scratch::new();
    let config = scratch.write_config(INVALID);
    let state = scratch.state();
    let out = wsprobe(
        &[
            OsStr::new("run"),
            OsStr::new("--config"),
            config.as_os_str(),
            OsStr::new("--state"),
            state.as_os_str(),
        ],
        &scratch,
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    for line in expected_errors(&config) {
        assert!(stderr.contains(&line), "missing {line:?} in:\n{stderr}");
    }
    assert!(!state.exists(), "a state file was created");
    assert!(!scratch.path("wsprobe.db").exists());
}

#[test]
fn validate_exits_0_on_a_valid_file_and_3_with_every_error_on_an_invalid_one() {
    let scratch = Scratch::new();
    let valid = scratch.path("valid.yaml");
    std::fs::write(
        &valid,
        format!(
            "{QUICK}monitors:\n  - {{ name: api, url: \"ws://127.0.0.1:9/ws\", alert: [log] }}\n\
             channels:\n  log: {{ type: file, path: ./alerts.log }}\n"
        ),
    )
    .unwrap();
    let out = wsprobe(
        &[
            OsStr::new("validate"),
            OsStr::new("--config"),
            valid.as_os_str(),
        ],
        &scratch,
        &[],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.trim(),
        format!("{}: OK — 1 monitor, 1 channel", valid.display())
    );

    let invalid = scratch.write_config(INVALID);
    let out = wsprobe(
        &[
            OsStr::new("validate"),
            OsStr::new("--config"),
            invalid.as_os_str(),
        ],
        &scratch,
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let mut expected = expected_errors(&invalid);
    expected.push(format!("{}: 2 problems", invalid.display()));
    assert_eq!(stderr.lines().collect::<Vec<_>>(), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_test_delivers_a_sample_to_a_live_webhook_and_exits_2_with_the_reason_when_refused() {
    let hook = Receiver::start(&[]).await;
    let refused = refused_port().await;
    let scratch = Scratch::new();
    let config = scratch.write_config(&format!(
        r#"{QUICK}monitors:
  - {{ name: api, url: "ws://127.0.0.1:9/ws", alert: [live] }}
channels:
  live: {{ type: webhook, url: "{live}" }}
  dead: {{ type: webhook, url: "http://{refused}/hook", timeout: 3s }}
"#,
        live = hook.url("/hook"),
    ));
    let alert_test = |channel: &str| {
        wsprobe(
            &[
                OsStr::new("alert"),
                OsStr::new("test"),
                OsStr::new(channel),
                OsStr::new("--config"),
                config.as_os_str(),
            ],
            &scratch,
            &[],
        )
    };

    // Blocking here is fine: the receiver runs on the runtime's workers.
    let out = alert_test("live");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("sample alert delivered through \"live\"")
    );
    let requests = hook.requests();
    assert_eq!(requests.len(), 1);
    let body: Value = serde_json::from_slice(&requests[0].body).expect("JSON body");
    assert_eq!(body["kind"], "down");
    assert!(
        body["monitor"]
            .as_str()
            .is_some_and(|m| m.ends_with("(wsprobe alert test)")),
        "{body}"
    );
    assert!(
        body["class"].is_string() && body["report"].is_object(),
        "{body}"
    );

    let out = alert_test("dead");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("delivery through \"dead\" failed"),
        "{stderr}"
    );
    assert!(
        stderr.to_lowercase().contains("refused"),
        "the reason: {stderr}"
    );
    assert_eq!(hook.requests().len(), 1);

    // An unknown channel lists the known ones as a person writes a list.
    let out = alert_test("nope");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("(known: dead, live)"), "{stderr}");
}

#[tokio::test]
async fn results_older_than_the_retention_are_pruned_at_start_and_recent_ones_kept() {
    use wsprobe::check::Class;
    use wsprobe::state::{MonitorState, ResultRow as Row, Store};
    let server = FaultServer::start(Behavior::Healthy).await;
    let scratch = Scratch::new();
    let store = Store::open(&scratch.state()).expect("open the state file");
    for (revision, days_ago) in [30, 10, 1].into_iter().enumerate() {
        let row = Row {
            at: chrono::Utc::now() - chrono::Duration::days(days_ago),
            ok: true,
            class: Class::Ok,
            phase: None,
            total_ms: 1.0,
            in_maintenance: false,
            report: wsprobe::state::store::StoredReport::Document(Box::new(
                wsprobe::report::document::sample_document(Class::Ok, 1),
            )),
        };
        store
            .commit_run(
                "kept",
                revision as i64,
                &MonitorState::default(),
                &row,
                None,
            )
            .await
            .expect("seed a result");
    }
    drop(store);
    scratch.write_config(&format!(
        "settings: {{ jitter: 0s, retention: 7d }}\n\
         defaults: {{ schedule: \"@every 1s\", timeout: 2s, proxy: none }}\n\
         monitors:\n  - {{ name: kept, url: \"{}\", alert: [log] }}\n\
         channels:\n  log: {{ type: file, path: ./alerts.log }}\n",
        server.ws_url("/")
    ));
    let daemon = Daemon::run(&scratch, &[]);
    daemon
        .wait_log(
            "old results pruned",
            &[("rows", "2")],
            Duration::from_secs(10),
        )
        .await;
    let runs = results(&scratch.state(), "kept");
    assert!(
        !runs.is_empty() && runs.len() <= 3,
        "the 1-day-old result and new runs stay: {runs:?}"
    );
}
