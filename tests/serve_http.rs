//! The daemon's HTTP surface end to end: a real daemon (in-process, its
//! `settings.listen` on a free port) watches fault servers on 127.0.0.1 — one
//! healthy, one closing right after the 101, one healthy over TLS — and the
//! tests read `/metrics`, `/probe`, `/api`, the health endpoints and the
//! status pages over real HTTP. Expositions are parsed with `prometheus-parse`.

mod serve_support;
mod support;

use serve_support::{Daemon, parse_exposition, value, write_file};
use std::time::Duration;
use support::{Behavior, FaultServer, TestCa, Validity};

/// Days until the TLS server's certificate expires.
const CERT_DAYS: i64 = 30;

/// Three monitors checked once at start (`@every 1h`), a file alert channel
/// for the failing one, a probe allow-list and a module.
struct Fleet {
    healthy: FaultServer,
    broken: FaultServer,
    _secure: FaultServer,
    daemon: Daemon,
}

impl Fleet {
    async fn start() -> Fleet {
        let healthy = FaultServer::start(Behavior::Healthy).await;
        let broken = FaultServer::start(Behavior::FinAfter101).await;
        let ca = TestCa::new("wsprobe serve test CA");
        let secure = FaultServer::start_tls(
            Behavior::Healthy,
            ca.server(&["127.0.0.1"], Validity::ExpiresInDays(CERT_DAYS)),
        )
        .await;
        let ca_dir = tempfile::tempdir().expect("tempdir");
        let ca_file = write_file(ca_dir.path(), "ca.pem", &ca.cert_pem);
        let yaml = format!(
            r#"allow_probe_targets: ["ws://127.0.0.1:*/allowed/*"]
modules:
  quick: {{ timeout: 2s, ping: false }}
defaults:
  schedule: "@every 1h"
  timeout: 3s
monitors:
  - name: healthy
    url: {healthy}
  - name: broken
    url: {broken}
    labels: {{ team: chat, tier: "1" }}
    alert: [log]
  - name: secure
    url: wss://127.0.0.1:{secure_port}/
    ca_file: {ca_file}
channels:
  log:
    type: file
    path: alerts.log
"#,
            healthy = healthy.ws_url("/"),
            broken = broken.ws_url("/"),
            secure_port = secure.addr.port(),
            ca_file = ca_file.display(),
        );
        let daemon = Daemon::start(&yaml).await;
        // The CA file is read at load; the folder may go now.
        drop(ca_dir);
        daemon
            .wait_for_checks(&["healthy", "broken", "secure"])
            .await;
        Fleet {
            healthy,
            broken,
            _secure: secure,
            daemon,
        }
    }
}

#[tokio::test]
async fn metrics_carry_the_last_checks_of_an_up_and_a_down_monitor() {
    let fleet = Fleet::start().await;
    let d = &fleet.daemon;
    // The DOWN alert of `broken` goes through the outbox; wait for its delivery.
    d.wait_until("the DOWN alert delivery", async |d| {
        d.get("/metrics")
            .await
            .body
            .contains(r#"wsprobe_alert_deliveries_total{channel="log",outcome="delivered"} 1"#)
    })
    .await;
    let reply = d.get("/metrics").await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .content_type
            .starts_with("application/openmetrics-text"),
        "{}",
        reply.content_type
    );
    let m = parse_exposition(&reply.body);
    let get = |name: &str, labels: &[(&str, &str)]| {
        value(&m, name, labels).unwrap_or_else(|| panic!("no {name}{labels:?} in\n{}", reply.body))
    };
    let healthy = [("monitor", "healthy")];
    let broken = [("monitor", "broken")];
    let secure = [("monitor", "secure")];

    assert_eq!(get("wsprobe_up", &healthy), 1.0);
    assert_eq!(get("wsprobe_up", &broken), 0.0);
    assert_eq!(get("wsprobe_up", &secure), 1.0);
    assert_eq!(
        get(
            "wsprobe_failures_total",
            &[("monitor", "broken"), ("class", "early_fin")]
        ),
        1.0
    );
    // Every class is there from the first check on, at zero, for increase().
    assert_eq!(
        get(
            "wsprobe_failures_total",
            &[("monitor", "healthy"), ("class", "early_fin")]
        ),
        0.0
    );
    assert_eq!(
        get(
            "wsprobe_failures_total",
            &[("monitor", "healthy"), ("class", "timeout")]
        ),
        0.0
    );
    for labels in [&healthy, &broken, &secure] {
        assert_eq!(get("wsprobe_checks_total", labels), 1.0);
        assert_eq!(get("wsprobe_attempts_total", labels), 1.0);
        assert_eq!(
            get("wsprobe_check_total_duration_seconds_count", labels),
            1.0
        );
        assert!(get("wsprobe_last_check_timestamp_seconds", labels) > 1.7e9);
    }
    // Phase durations of the last run: an IP literal skips dns; the healthy
    // run reached close; the broken one ended in open; only wss has tls.
    let phase = |monitor: &str, phase: &str| {
        value(
            &m,
            "wsprobe_check_duration_seconds",
            &[("monitor", monitor), ("phase", phase)],
        )
    };
    for p in ["connect", "upgrade", "open", "close"] {
        let secs = phase("healthy", p).unwrap_or_else(|| panic!("healthy {p}"));
        assert!((0.0..3.0).contains(&secs), "healthy {p}: {secs}");
    }
    assert_eq!(phase("healthy", "dns"), None);
    assert_eq!(phase("healthy", "tls"), None);
    assert!(phase("secure", "tls").is_some());
    assert!(phase("broken", "open").is_some());
    assert_eq!(phase("broken", "close"), None);
    // The certificate's expiry, as a Unix timestamp.
    let expiry = get("wsprobe_cert_expiry_timestamp_seconds", &secure);
    let expected = (chrono::Utc::now() + chrono::Duration::days(CERT_DAYS)).timestamp() as f64;
    assert!(
        (expiry - expected).abs() < 2.0 * 86_400.0,
        "{expiry} vs {expected}"
    );
    assert_eq!(
        value(&m, "wsprobe_cert_expiry_timestamp_seconds", &healthy),
        None
    );
    // The daemon itself.
    assert!(get("wsprobe_schedule_lag_seconds_count", &[]) >= 3.0);
    assert_eq!(get("wsprobe_checks_in_flight", &[]), 0.0);
    assert_eq!(get("wsprobe_outbox_depth", &[]), 0.0);
    assert_eq!(
        get(
            "wsprobe_alert_deliveries_total",
            &[("channel", "log"), ("outcome", "delivered")]
        ),
        1.0
    );
    fleet.daemon.stop().await.expect("clean stop");
}

#[tokio::test]
async fn probe_answers_like_blackbox_for_allowed_targets_and_refuses_others() {
    let fleet = Fleet::start().await;
    let d = &fleet.daemon;
    let probe = async |target: &str, extra: &str| {
        let q = format!("/probe?target={}{extra}", urlencode(target));
        d.get_with(&q, &[("X-Prometheus-Scrape-Timeout-Seconds", "5")])
            .await
    };

    // A configured monitor's URL, with its own options.
    let ok = probe(&fleet.healthy.ws_url("/"), "").await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(ok.content_type.starts_with("application/openmetrics-text"));
    let m = parse_exposition(&ok.body);
    assert_eq!(value(&m, "probe_success", &[]), Some(1.0));
    assert_eq!(value(&m, "probe_http_status_code", &[]), Some(101.0));
    assert!(value(&m, "probe_duration_seconds", &[]).is_some_and(|s| s > 0.0 && s < 5.0));
    assert!(
        value(
            &m,
            "probe_wsprobe_phase_duration_seconds",
            &[("phase", "upgrade")]
        )
        .is_some()
    );
    assert_eq!(value(&m, "probe_wsprobe_attempts", &[]), Some(1.0));
    assert_eq!(
        value(&m, "probe_wsprobe_failure", &[("class", "early_fin")]),
        Some(0.0)
    );

    // A target allowed by pattern, failing: the class is a label.
    let failing = fleet.broken.ws_url("/allowed/chat");
    let bad = probe(&failing, "").await;
    assert_eq!(bad.status, 200, "{}", bad.body);
    let m = parse_exposition(&bad.body);
    assert_eq!(value(&m, "probe_success", &[]), Some(0.0));
    assert_eq!(
        value(&m, "probe_wsprobe_failure", &[("class", "early_fin")]),
        Some(1.0)
    );
    assert_eq!(
        value(&m, "probe_wsprobe_failure", &[("class", "timeout")]),
        Some(0.0)
    );

    // A module's options apply.
    let quick = probe(&fleet.healthy.ws_url("/allowed/x"), "&module=quick").await;
    assert_eq!(quick.status, 200, "{}", quick.body);
    assert_eq!(
        value(&parse_exposition(&quick.body), "probe_success", &[]),
        Some(1.0)
    );

    // debug=true: the transcript, then the metrics.
    let debug = probe(&failing, "&debug=true").await;
    assert_eq!(debug.status, 200);
    assert!(debug.content_type.starts_with("text/plain"));
    for needle in ["early_fin", "HTTP/1.0", "probe_success 0"] {
        assert!(debug.body.contains(needle), "{needle} in\n{}", debug.body);
    }

    // Not an open proxy.
    for target in [
        fleet.healthy.ws_url("/not-allowed"),
        "ws://10.0.0.1/allowed/x".to_string(),
        "wss://127.0.0.1:1/allowed/x".to_string(),
    ] {
        let refused = probe(&target, "").await;
        assert_eq!(refused.status, 403, "{target}: {}", refused.body);
        assert!(
            refused.body.contains("target refused") && refused.body.contains("allow_probe_targets"),
            "{}",
            refused.body
        );
    }
    let cases = [
        ("/probe".to_string(), "missing the target"),
        (
            format!(
                "/probe?target={}",
                "ws://x/".to_string() + &"a".repeat(3000)
            ),
            "longer than",
        ),
        (
            "/probe?target=http://example.com/".to_string(),
            "not a WebSocket URL",
        ),
        (
            format!(
                "/probe?target={}&module=nope",
                urlencode(&fleet.healthy.ws_url("/"))
            ),
            "unknown module \"nope\" (configured: quick)",
        ),
    ];
    for (path, reason) in cases {
        let r = d.get(&path).await;
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert!(r.body.contains(reason), "{path}: {}", r.body);
    }
    fleet.daemon.stop().await.expect("clean stop");
}

#[tokio::test]
async fn the_api_reports_state_uptime_latency_evidence_and_the_open_incident() {
    let fleet = Fleet::start().await;
    let d = &fleet.daemon;
    let list = d.get("/api/monitors").await;
    assert_eq!(list.status, 200);
    assert!(list.content_type.starts_with("application/json"));
    let list = list.json();
    let names: Vec<&str> = list["monitors"]
        .as_array()
        .expect("monitors")
        .iter()
        .map(|m| m["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["healthy", "broken", "secure"]);

    let up = d.get("/api/monitors/healthy").await.json();
    assert_eq!(up["state"], "up");
    assert!(up["since"].is_string());
    assert_eq!(up["uptime_24h"], 1.0);
    assert_eq!(up["uptime_7d"], 1.0);
    assert_eq!(up["checks_24h"], 1);
    assert_eq!(up["failures_24h"], 0);
    assert_eq!(up["latency_ms_24h"]["samples"], 1);
    let p50 = up["latency_ms_24h"]["p50"].as_f64().expect("p50");
    assert_eq!(up["latency_ms_24h"]["p99"].as_f64(), Some(p50));
    assert_eq!(up["last_result"]["ok"], true);
    assert_eq!(up["last_result"]["report"]["status"], "ok");
    assert!(up["last_failure"].is_null());
    assert!(up["incident"].is_null());

    let down = d.get("/api/monitors/broken").await.json();
    assert_eq!(down["state"], "down");
    assert_eq!(down["uptime_24h"], 0.0);
    assert_eq!(down["failures_24h"], 1);
    assert!(down["latency_ms_24h"].is_null());
    assert_eq!(down["last_result"]["class"], "early_fin");
    assert_eq!(down["last_result"]["phase"], "open");
    let report = &down["last_failure"]["report"];
    assert_eq!(report["evidence"]["peer_end"], "fin");
    assert!(
        report["hint"]
            .as_str()
            .is_some_and(|h| h.contains("HTTP/1.0")),
        "{report}"
    );
    assert_eq!(down["incident"]["class"], "early_fin");
    assert_eq!(down["incident"]["alerted"], true);
    assert_eq!(
        down["incident"]["channels_told"],
        serde_json::json!(["log"])
    );
    assert_eq!(
        down["labels"],
        serde_json::json!({"team": "chat", "tier": "1"})
    );
    assert_eq!(up["labels"], serde_json::json!({}));

    // API errors are JSON, like its answers, also for a path it does not have.
    let missing = d.get("/api/monitors/nope").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["error"], "no monitor with this name");
    let nowhere = d.get("/api/nowhere").await;
    assert_eq!(nowhere.status, 404);
    assert_eq!(nowhere.json()["error"], "no such API endpoint");
    fleet.daemon.stop().await.expect("clean stop");
}

#[tokio::test]
async fn health_endpoints_and_status_pages_answer_while_the_daemon_runs() {
    let fleet = Fleet::start().await;
    let d = &fleet.daemon;
    let health = d.get("/healthz").await;
    assert_eq!(health.status, 200, "{}", health.body);
    assert_eq!(health.json()["status"], "ok");
    assert_eq!(health.json()["monitor_loops"], 3);
    let ready = d.get("/readyz").await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["monitors"], 3);

    let page = d.get("/").await;
    assert_eq!(page.status, 200);
    assert!(page.content_type.starts_with("text/html"));
    for needle in [
        "healthy",
        "broken",
        "secure",
        "1 of 3 monitors down",
        "early_fin",
    ] {
        assert!(page.body.contains(needle), "{needle} on the status page");
    }
    let one = d.get("/monitors/broken").await;
    assert_eq!(one.status, 200);
    for needle in [
        "Incidents, last 7 days",
        "Ongoing",
        "Recent checks",
        "early_fin",
    ] {
        assert!(one.body.contains(needle), "{needle} on the monitor page");
    }
    assert_eq!(d.get("/monitors/nope").await.status, 404);
    assert_eq!(d.get("/nowhere").await.status, 404);
    assert!(
        page.body.contains("instance <b>serve-test</b>"),
        "the footer names the instance"
    );

    // On a SQLite store of its own the cluster is this instance, owning every monitor.
    let cluster = d.get("/api/cluster").await;
    assert_eq!(cluster.status, 200, "{}", cluster.body);
    let cluster = cluster.json();
    assert_eq!(cluster["instance"], "serve-test");
    assert_eq!(cluster["shared_store"], false);
    assert_eq!(cluster["fenced"], serde_json::Value::Null);
    let instances = cluster["instances"].as_array().expect("instances");
    assert_eq!(instances.len(), 1);
    assert_eq!(instances[0]["name"], "serve-test");
    assert_eq!(instances[0]["live"], true);
    assert_eq!(instances[0]["version"], env!("CARGO_PKG_VERSION"));
    let mut owned: Vec<&str> = instances[0]["owned_monitors"]
        .as_array()
        .expect("owned")
        .iter()
        .map(|m| m.as_str().expect("name"))
        .collect();
    owned.sort_unstable();
    assert_eq!(owned, ["broken", "healthy", "secure"]);
    let metrics = d.get("/metrics").await.body;
    assert!(metrics.contains("wsprobe_cluster_instances 1"), "{metrics}");
    assert!(metrics.contains("wsprobe_owned_monitors 3"), "{metrics}");

    let base = fleet.daemon.base.clone();
    fleet.daemon.stop().await.expect("clean stop");
    // Stopped with the daemon: the port no longer answers.
    let gone = reqwest::Client::new()
        .get(format!("{base}/healthz"))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(gone.is_err(), "the HTTP surface stops with the daemon");
}

#[tokio::test]
async fn run_listen_flag_serves_the_surface_and_a_busy_port_stops_the_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    // No settings.listen: only the flag turns the surface on.
    let config = write_file(
        dir.path(),
        "monitors.yaml",
        "settings:\n  state: state.db\nmonitors:\n  - { name: a, url: \"ws://127.0.0.1:9/\", schedule: \"@every 1h\" }\n",
    );
    let run = |addr: std::net::SocketAddr| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_wsprobe"));
        cmd.args(["run", "--listen", &addr.to_string(), "--config"])
            .arg(&config)
            .kill_on_drop(true);
        cmd
    };

    let addr = serve_support::free_addr();
    let mut child = run(addr)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start wsprobe run");
    let client = reqwest::Client::new();
    let deadline = std::time::Instant::now() + serve_support::PATIENCE;
    loop {
        let reply = client
            .get(format!("http://{addr}/healthz"))
            .timeout(Duration::from_secs(2))
            .send()
            .await;
        if reply.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "wsprobe run --listen {addr} never answered /healthz"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().await.expect("stop wsprobe run");

    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = busy.local_addr().expect("addr");
    let out = run(addr).output().await.expect("run wsprobe");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
}

/// Percent-encode a query value.
fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
#[ignore = "needs Debian python3-prometheus-client (installed by .ci/run)"]
async fn metrics_and_probe_pass_the_strict_openmetrics_parser_of_prometheus_client() {
    let fleet = Fleet::start().await;
    let d = &fleet.daemon;
    let mut expositions = vec![("/metrics".to_string(), d.get("/metrics").await.body)];
    for target in [fleet.healthy.ws_url("/"), fleet.broken.ws_url("/allowed/x")] {
        let path = format!("/probe?target={}", urlencode(&target));
        let body = d.get(&path).await.body;
        expositions.push((path, body));
    }
    for (path, text) in expositions {
        let families = strict_parse(&text);
        assert!(families > 0, "{path}: no metric family in\n{text}");
    }
    fleet.daemon.stop().await.expect("clean stop");
}

/// Parse with Python's `prometheus_client` OpenMetrics parser (strict: types,
/// units, suffixes, escaping, `# EOF`); returns the number of families.
fn strict_parse(text: &str) -> usize {
    use std::io::Write;
    const SCRIPT: &str = "import sys\n\
        from prometheus_client.openmetrics.parser import text_string_to_metric_families\n\
        print(len(list(text_string_to_metric_families(sys.stdin.read()))))\n";
    let mut child = std::process::Command::new("/usr/bin/python3")
        .args(["-c", SCRIPT])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run /usr/bin/python3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write the exposition");
    let out = child.wait_with_output().expect("python3 finishes");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named 'prometheus_client'"),
        "Python's prometheus_client is missing: install Debian's python3-prometheus-client \
         (apt-get install python3-prometheus-client), as .ci/run does"
    );
    assert!(
        out.status.success(),
        "the OpenMetrics parser rejected:\n{text}\n{stderr}"
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a count")
}
