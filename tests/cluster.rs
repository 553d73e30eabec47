//! Cluster mode with real processes and sockets: several `wsprobe run`
//! instances on one throwaway PostgreSQL server (Debian's `postgresql`),
//! checking real WebSocket endpoints and alerting a real webhook receiver.
//! Ignored by default: `.ci/run` installs PostgreSQL and runs them.
//!
//! Endpoint-side evidence: the fault server records when each connection
//! was accepted and its request path (one path per monitor), so "checked
//! twice" and "left unchecked" are measured where a real service would see
//! them, not from wsprobe's own account.

mod daemon_support;
#[allow(dead_code)]
mod pg_support;
mod support;
mod support_http;
mod support_relay;

use daemon_support::{Daemon, Scratch, bodies, free_addr, http_get, kinds};
use pg_support::{PASSWORD, PgServer};
use serde_json::Value;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::net::SocketAddr;
use std::time::Duration;
use support::{Behavior, FaultServer};
use support_http::Receiver;
use support_relay::Relay;
use tokio::time::Instant;

const NEEDS: &str = "needs PostgreSQL (Debian's postgresql): run by .ci/run";
/// Every monitor's period.
const PERIOD: Duration = Duration::from_secs(2);
/// `settings.cluster.lease`.
const LEASE: Duration = Duration::from_secs(2);
/// What the issue promises: a lost monitor is checked again within this.
const TAKEOVER: Duration = Duration::from_secs(2 * 2 + 2);
const SOON: Duration = Duration::from_secs(20);

/// The config every instance shares: `n` healthy monitors (`m00`…), one
/// `outage` monitor on `outage` alerting `hook`.
fn config(endpoint: &FaultServer, n: usize, outage: SocketAddr, hook: &Receiver) -> String {
    let mut yaml = format!(
        r#"settings:
  jitter: 0s
  shutdown_grace: 2s
  cluster: {{ heartbeat: 500ms, lease: 2s, delivery_lease: 5s }}
defaults: {{ schedule: "@every 2s", timeout: 1500ms, retries: 0, proxy: none }}
channels:
  hook: {{ type: webhook, url: "{hook}", timeout: 2s }}
monitors:
  - {{ name: outage, url: "ws://{outage}/outage", alert: [hook] }}
"#,
        hook = hook.url("/alerts"),
    );
    for i in 0..n {
        yaml.push_str(&format!(
            "  - {{ name: m{i:02}, url: \"{}\" }}\n",
            endpoint.ws_url(&format!("/m{i:02}"))
        ));
    }
    yaml
}

/// The database URL without its password (that comes from `PGPASSWORD`).
fn state_url(pg_port: u16, db: &str) -> String {
    format!("postgres://postgres@127.0.0.1:{pg_port}/{db}?sslmode=disable&connect_timeout=3")
}

struct Instance {
    name: &'static str,
    listen: SocketAddr,
    daemon: Daemon,
}

impl Instance {
    fn start(scratch: &Scratch, name: &'static str, state: &str) -> Instance {
        Instance::start_with(scratch, name, state, &[])
    }

    /// An instance of `location` (`--location`).
    fn start_in(scratch: &Scratch, name: &'static str, state: &str, location: &str) -> Instance {
        Instance::start_with(scratch, name, state, &["--location", location])
    }

    fn start_with(scratch: &Scratch, name: &'static str, state: &str, extra: &[&str]) -> Instance {
        let listen = free_addr();
        let listen_text = listen.to_string();
        let config = scratch.config();
        let mut args = vec![
            "run",
            "--config",
            config.to_str().expect("utf-8 path"),
            "--state",
            state,
            "--instance",
            name,
            "--listen",
            &listen_text,
            "--log-format",
            "json",
        ];
        args.extend_from_slice(extra);
        let daemon = Daemon::spawn(
            args.into_iter().map(OsStr::new),
            scratch,
            &[("PGPASSWORD", PASSWORD)],
        );
        Instance {
            name,
            listen,
            daemon,
        }
    }

    async fn cluster(&self) -> Value {
        let (status, body) = http_get(self.listen, "/api/cluster").await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("JSON")
    }

    /// Monitor names this instance says it owns.
    async fn owned(&self) -> Vec<String> {
        let cluster = self.cluster().await;
        let me = cluster["instances"]
            .as_array()
            .expect("instances")
            .iter()
            .find(|i| i["name"] == self.name)
            .cloned()
            .unwrap_or(Value::Null);
        me["owned_monitors"]
            .as_array()
            .map(|a| a.iter().map(|m| m.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    }

    /// Sum of `wsprobe_checks_total` over every monitor.
    async fn checks_run(&self) -> f64 {
        let (_, text) = http_get(self.listen, "/metrics").await;
        text.lines()
            .filter(|l| l.starts_with("wsprobe_checks_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// Wait until this instance sees exactly `live` live instances.
    async fn sees(&self, live: usize) {
        let deadline = Instant::now() + SOON;
        loop {
            let (status, body) = try_get(self.listen, "/api/cluster").await;
            if status == 200 {
                let cluster: Value = serde_json::from_str(&body).expect("JSON");
                let n = cluster["instances"]
                    .as_array()
                    .map_or(0, |a| a.iter().filter(|i| i["live"] == true).count());
                if n == live && cluster["fenced"].is_null() {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{} never saw {live} live instances: {body}\n{}",
                self.name,
                self.daemon.stderr()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// `http_get` that answers 0 while nothing listens yet (the daemon starting).
async fn try_get(addr: SocketAddr, path: &str) -> (u16, String) {
    if tokio::net::TcpStream::connect(addr).await.is_err() {
        return (0, String::from("not listening yet"));
    }
    http_get(addr, path).await
}

/// When each monitor's path was checked, from the endpoint's records.
fn checks_by_monitor(endpoint: &FaultServer) -> HashMap<String, Vec<Instant>> {
    let mut by: HashMap<String, Vec<Instant>> = HashMap::new();
    for record in endpoint.records() {
        let Some(path) = record
            .request_head
            .split_whitespace()
            .nth(1)
            .map(|p| p.trim_start_matches('/').to_string())
        else {
            continue;
        };
        if let Some(at) = record.accepted_at {
            by.entry(path).or_default().push(at);
        }
    }
    for times in by.values_mut() {
        times.sort();
    }
    by
}

/// Wait until the receiver has alerts of `want` kinds, then a little more
/// to catch any extra one.
async fn alerts_settle(hook: &Receiver, want: &[&str]) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(40);
    while kinds(hook).len() < want.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    kinds(hook)
}

#[tokio::test]
#[ignore = "needs PostgreSQL (Debian's postgresql): run by .ci/run"]
async fn three_instances_share_thirty_monitors_and_two_killed_mid_incident_lose_nothing() {
    let _ = NEEDS;
    let pg = PgServer::start();
    pg.create_database("cluster_three").await;
    let endpoint = FaultServer::start(Behavior::Healthy).await;
    let outage_port = free_addr();
    let outage = FaultServer::start_on(outage_port, Behavior::Healthy).await;
    let hook = Receiver::start(&[]).await;
    let scratch = Scratch::new();
    scratch.write_config(&config(&endpoint, 29, outage_port, &hook));
    let state = state_url(pg.port(), "cluster_three");
    let mut instances = vec![
        Instance::start(&scratch, "probe-a", &state),
        Instance::start(&scratch, "probe-b", &state),
        Instance::start(&scratch, "probe-c", &state),
    ];
    for i in &instances {
        i.sees(3).await;
    }

    // Stable membership: the 30 monitors are split, each owned once.
    let mut owners: HashMap<String, &str> = HashMap::new();
    for i in &instances {
        for m in i.owned().await {
            assert!(
                owners.insert(m.clone(), i.name).is_none(),
                "{m} owned twice"
            );
        }
    }
    assert_eq!(owners.len(), 30, "{owners:?}");
    for i in &instances {
        let share = owners.values().filter(|o| **o == i.name).count();
        assert!((3..=20).contains(&share), "{} owns {share}", i.name);
    }
    // …and checked once per period: no two checks of a monitor closer than
    // half a period, over a window of several periods.
    let from = Instant::now();
    tokio::time::sleep(PERIOD * 4).await;
    for (monitor, times) in checks_by_monitor(&endpoint) {
        let window: Vec<&Instant> = times.iter().filter(|t| **t >= from).collect();
        assert!(
            window.len() >= 3,
            "{monitor} checked {} times in 4 periods",
            window.len()
        );
        for pair in window.windows(2) {
            let gap = pair[1].duration_since(*pair[0]);
            assert!(gap >= PERIOD / 2, "{monitor} checked twice within {gap:?}");
        }
    }

    // An outage: DOWN once; then the outage monitor's owner and one more die by kill -9.
    drop(outage);
    let _down = FaultServer::start_on(outage_port, Behavior::FinAfter101).await;
    let deadline = Instant::now() + SOON;
    while !kinds(&hook).contains(&"down".to_string()) {
        assert!(Instant::now() < deadline, "no DOWN arrived");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let outage_owner = owners["outage"];
    let other = instances
        .iter()
        .map(|i| i.name)
        .find(|n| *n != outage_owner)
        .unwrap();
    let killed_at = Instant::now();
    for i in instances
        .iter_mut()
        .filter(|i| i.name == outage_owner || i.name == other)
    {
        i.daemon.kill9();
    }
    let survivor = instances
        .iter()
        .find(|i| i.name != outage_owner && i.name != other)
        .unwrap();
    survivor.sees(1).await;
    tokio::time::sleep(TAKEOVER).await;
    let checks = checks_by_monitor(&endpoint);
    for m in (0..29).map(|i| format!("m{i:02}")) {
        let first_after = checks[&m].iter().find(|t| **t > killed_at);
        let waited = first_after.map(|t| t.duration_since(killed_at));
        assert!(
            waited.is_some_and(|w| w <= TAKEOVER),
            "{m} (owned by {}) was not checked within {TAKEOVER:?} of the kill: {waited:?}",
            owners[&m]
        );
    }
    assert_eq!(survivor.owned().await.len(), 30);

    // The survivor carries on the incident: the recovery is reported, and
    // no second DOWN.
    drop(_down);
    let _up = FaultServer::start_on(outage_port, Behavior::Healthy).await;
    let alerts = alerts_settle(&hook, &["down", "recovered"]).await;
    assert_eq!(
        alerts,
        ["down", "recovered"],
        "exactly one DOWN and one RECOVERED"
    );
    let sent = bodies(&hook);
    assert_eq!(sent[0]["monitor"], "outage");
    assert_eq!(sent[0]["first_seen"], sent[1]["first_seen"], "one incident");
    for i in &instances {
        assert!(
            !i.daemon.stderr().contains(PASSWORD),
            "{}: password in the log",
            i.name
        );
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL (Debian's postgresql): run by .ci/run"]
async fn postgresql_restarted_mid_incident_loses_no_alert_and_sends_none_twice() {
    let pg = PgServer::start();
    pg.create_database("cluster_restart").await;
    let endpoint = FaultServer::start(Behavior::Healthy).await;
    let outage_port = free_addr();
    let hook = Receiver::start(&[]).await;
    let scratch = Scratch::new();
    scratch.write_config(&config(&endpoint, 4, outage_port, &hook));
    let state = state_url(pg.port(), "cluster_restart");
    let a = Instance::start(&scratch, "probe-a", &state);
    let b = Instance::start(&scratch, "probe-b", &state);
    a.sees(2).await;
    b.sees(2).await;

    // The outage begins as PostgreSQL goes away for a few seconds.
    let down = FaultServer::start_on(outage_port, Behavior::FinAfter101).await;
    tokio::time::sleep(PERIOD).await;
    pg.stop_fast();
    let deadline = Instant::now() + SOON;
    loop {
        let (status, body) = http_get(a.listen, "/readyz").await;
        if status == 503 {
            assert!(
                body.contains("cluster") || body.contains("state store"),
                "{body}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "readyz stayed {status} with PostgreSQL down"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    pg.start_again();
    a.sees(2).await;
    b.sees(2).await;
    let deadline = Instant::now() + SOON;
    while !kinds(&hook).contains(&"down".to_string()) {
        assert!(
            Instant::now() < deadline,
            "the DOWN was lost across the restart"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(down);
    let _up = FaultServer::start_on(outage_port, Behavior::Healthy).await;
    let alerts = alerts_settle(&hook, &["down", "recovered"]).await;
    assert_eq!(alerts, ["down", "recovered"]);
    let (status, _) = http_get(a.listen, "/readyz").await;
    assert_eq!(status, 200, "ready again once PostgreSQL is back");
}

#[tokio::test]
#[ignore = "needs PostgreSQL (Debian's postgresql): run by .ci/run"]
async fn an_instance_cut_off_from_postgresql_stops_checking_and_the_others_take_over() {
    let pg = PgServer::start();
    pg.create_database("cluster_cut").await;
    let endpoint = FaultServer::start(Behavior::Healthy).await;
    let outage_port = free_addr();
    let _outage = FaultServer::start_on(outage_port, Behavior::Healthy).await;
    let hook = Receiver::start(&[]).await;
    let scratch = Scratch::new();
    scratch.write_config(&config(&endpoint, 29, outage_port, &hook));
    let relay = Relay::start(SocketAddr::from(([127, 0, 0, 1], pg.port()))).await;
    let direct = state_url(pg.port(), "cluster_cut");
    let relayed = state_url(relay.addr.port(), "cluster_cut");
    let a = Instance::start(&scratch, "probe-a", &direct);
    let b = Instance::start(&scratch, "probe-b", &direct);
    let c = Instance::start(&scratch, "probe-c", &relayed);
    for i in [&a, &b, &c] {
        i.sees(3).await;
    }
    let cut_off: Vec<String> = c.owned().await;
    assert!(!cut_off.is_empty());

    relay.cut();
    let cut_at = Instant::now();
    // Within the lease c says it is fenced (its /api/cluster reads no
    // store), and /readyz gives the reason.
    let deadline = cut_at + LEASE + Duration::from_secs(2);
    while c.cluster().await["fenced"].is_null() {
        assert!(Instant::now() < deadline, "c never said it was cut off");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let fenced_after = cut_at.elapsed();
    assert!(fenced_after <= LEASE, "fenced only after {fenced_after:?}");
    let (status, body) = http_get(c.listen, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("cluster"), "{body}");
    let before = c.checks_run().await;
    a.sees(2).await;
    tokio::time::sleep(TAKEOVER).await;
    // In-flight checks may finish; none starts after the fence.
    let after = c.checks_run().await;
    assert!(
        after - before <= 1.0,
        "c ran {} checks while cut off",
        after - before
    );
    let checks = checks_by_monitor(&endpoint);
    for m in cut_off.iter().filter(|m| *m != "outage") {
        let waited = checks[m]
            .iter()
            .find(|t| **t > cut_at)
            .map(|t| t.duration_since(cut_at));
        assert!(
            waited.is_some_and(|w| w <= TAKEOVER),
            "{m} left unchecked: {waited:?}"
        );
    }
    let mut owned = a.owned().await;
    owned.extend(b.owned().await);
    assert_eq!(owned.len(), 30, "a and b own every monitor between them");

    // Back on the network, c rejoins and takes its share again.
    relay.restore();
    a.sees(3).await;
    c.sees(3).await;
    assert!(!c.owned().await.is_empty());
}

/// Locations (issue 12): the instances of one location share its monitors
/// as a cluster does, and each location has its own owner of every monitor,
/// chosen among that location's live instances only; a monitor that lists
/// its `locations:` is owned in those alone.
#[tokio::test]
#[ignore = "needs PostgreSQL (Debian's postgresql): run by .ci/run"]
async fn each_location_shares_every_monitor_among_its_own_instances() {
    let pg = PgServer::start();
    pg.create_database("cluster_locations").await;
    let endpoint = FaultServer::start(Behavior::Healthy).await;
    let hook = Receiver::start(&[]).await;
    let scratch = Scratch::new();
    let eu_only = format!(
        "  - {{ name: eu-only, url: \"{}\", locations: [eu-west] }}\n",
        endpoint.ws_url("/eu-only")
    );
    scratch.write_config(&(config(&endpoint, 11, free_addr(), &hook) + &eu_only));
    let state = state_url(pg.port(), "cluster_locations");
    let a1 = Instance::start_in(&scratch, "probe-a1", &state, "eu-west");
    let a2 = Instance::start_in(&scratch, "probe-a2", &state, "eu-west");
    let b1 = Instance::start_in(&scratch, "probe-b1", &state, "us-east");
    for i in [&a1, &a2, &b1] {
        i.sees(3).await;
    }

    let cluster = b1.cluster().await;
    assert_eq!(cluster["location"], "us-east", "{cluster}");
    let location_of = |name: &str| {
        cluster["instances"]
            .as_array()
            .expect("instances")
            .iter()
            .find(|i| i["name"] == name)
            .map(|i| i["location"].clone())
    };
    assert_eq!(location_of("probe-a1"), Some("eu-west".into()), "{cluster}");
    assert_eq!(location_of("probe-a2"), Some("eu-west".into()), "{cluster}");

    // eu-west splits its 13 monitors between its two instances, each once;
    // us-east's only instance owns the 12 checked from every location.
    let (in_a1, in_a2) = (a1.owned().await, a2.owned().await);
    let mut eu_west: Vec<&String> = in_a1.iter().chain(&in_a2).collect();
    eu_west.sort();
    eu_west.dedup();
    assert_eq!(in_a1.len() + in_a2.len(), 13, "{in_a1:?} {in_a2:?}");
    assert_eq!(eu_west.len(), 13, "a monitor owned twice in eu-west");
    assert!(
        !in_a1.is_empty() && !in_a2.is_empty(),
        "{in_a1:?} {in_a2:?}"
    );
    let in_b1 = b1.owned().await;
    assert_eq!(in_b1.len(), 12, "{in_b1:?}");
    assert!(!in_b1.contains(&"eu-only".to_string()), "{in_b1:?}");

    // The page footer names the location.
    let (_, page) = http_get(b1.listen, "/").await;
    assert!(page.contains("in location <b>us-east</b>"), "{page}");
    // Every log line of the daemon carries it.
    let started = b1.daemon.logs_matching("wsprobe daemon starting", &[]);
    let line = started.first().expect("a start line");
    // The daemon's span (tracing's JSON puts it under `span` and `spans`).
    assert_eq!(line["span"]["location"], "us-east", "{line}");
}

#[tokio::test]
#[ignore = "needs PostgreSQL (Debian's postgresql): run by .ci/run"]
async fn monitors_spread_late_in_their_interval_are_checked_every_period() {
    // An owner once mistook its own run for a previous owner's whenever the
    // monitor's spread offset was past half the interval, and skipped every
    // second fire: with `jitter` as long as the period, about half of the
    // monitors would be checked every other period.
    let pg = PgServer::start();
    pg.create_database("cluster_spread").await;
    let endpoint = FaultServer::start(Behavior::Healthy).await;
    let outage_port = free_addr();
    let _outage = FaultServer::start_on(outage_port, Behavior::Healthy).await;
    let hook = Receiver::start(&[]).await;
    let scratch = Scratch::new();
    let yaml = config(&endpoint, 20, outage_port, &hook).replace("jitter: 0s", "jitter: 2s");
    scratch.write_config(&yaml);
    let state = state_url(pg.port(), "cluster_spread");
    let instances = [
        Instance::start(&scratch, "probe-a", &state),
        Instance::start(&scratch, "probe-b", &state),
    ];
    for i in &instances {
        i.sees(2).await;
    }
    tokio::time::sleep(PERIOD * 2).await;
    let from = Instant::now();
    tokio::time::sleep(PERIOD * 5).await;
    let checks = checks_by_monitor(&endpoint);
    assert_eq!(checks.len(), 20, "every monitor was checked");
    for (monitor, times) in checks {
        let window: Vec<&Instant> = times.iter().filter(|t| **t >= from).collect();
        assert!(
            window.len() >= 4,
            "{monitor} checked {} times in 5 periods",
            window.len()
        );
        for pair in window.windows(2) {
            let gap = pair[1].duration_since(*pair[0]);
            assert!(gap >= PERIOD / 2, "{monitor} checked twice within {gap:?}");
        }
    }
}

/// Two processes started with the same `--instance` would share one
/// heartbeat row, both own the same monitors and check each twice: the
/// second is refused — fenced at once, /readyz and the log say why — and
/// checks nothing, until the first is gone for the lease and it takes over.
#[tokio::test]
#[ignore = "needs PostgreSQL (Debian's postgresql): run by .ci/run"]
async fn a_second_instance_started_with_a_name_in_use_checks_nothing() {
    let pg = PgServer::start();
    pg.create_database("cluster_twins").await;
    let endpoint = FaultServer::start(Behavior::Healthy).await;
    let outage_port = free_addr();
    let _outage = FaultServer::start_on(outage_port, Behavior::Healthy).await;
    let hook = Receiver::start(&[]).await;
    let scratch = Scratch::new();
    scratch.write_config(&config(&endpoint, 9, outage_port, &hook));
    let state = state_url(pg.port(), "cluster_twins");
    let mut first = Instance::start(&scratch, "probe-a", &state);
    first.sees(1).await;
    let twin = Instance::start(&scratch, "probe-a", &state);
    let refused = twin
        .daemon
        .until("the twin refused", SOON, || {
            let lines = twin.daemon.stderr();
            lines
                .contains("another live instance already uses the name")
                .then_some(lines)
        })
        .await;
    assert!(refused.contains("--instance"), "{refused}");
    let (status, body) = try_get(twin.listen, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("already uses the name"), "{body}");
    tokio::time::sleep(PERIOD * 2).await;
    assert_eq!(twin.checks_run().await, 0.0, "the twin checked monitors");
    assert!(
        first.cluster().await["fenced"].is_null(),
        "the first was fenced"
    );
    assert_eq!(first.owned().await.len(), 10);

    // The first dies: after its lease the name is free and the twin works.
    first.daemon.kill9();
    twin.sees(1).await;
    assert_eq!(twin.owned().await.len(), 10);
}
