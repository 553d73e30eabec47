//! `wsprobe run` scheduling as seen from outside: `settings.concurrency`
//! caps the checks in flight (counted as open connections at a real server),
//! and `/healthz` answers 503 naming the monitors whose checks are overdue
//! (starved of a slot for real); an instance checks only the monitors whose
//! `locations:` list its own location (or list none).

mod daemon_support;
mod support;
mod support_http;

use daemon_support::{Daemon, SOON, Scratch, free_addr, http_get};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use support::{Behavior, FaultServer};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

/// A server that keeps every connection open for `hold`, then closes it,
/// counting how many are open at once.
struct CountingServer {
    addr: SocketAddr,
    most: Arc<AtomicUsize>,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl CountingServer {
    async fn start(hold: Duration) -> CountingServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let open = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (o, m, a) = (open.clone(), most.clone(), accepted.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let now_open = o.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(now_open, Ordering::SeqCst);
                a.fetch_add(1, Ordering::SeqCst);
                let o = o.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    // Read the request, never answer, close after `hold`
                    // (or earlier, when the client gives up).
                    let _ = tokio::time::timeout(hold, async {
                        while conn.read(&mut buf).await.is_ok_and(|n| n > 0) {}
                    })
                    .await;
                    o.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        CountingServer {
            addr,
            most,
            accepted,
            task,
        }
    }
}

impl Drop for CountingServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test]
async fn never_more_checks_are_in_flight_than_settings_concurrency() {
    const CAP: usize = 2;
    let server = CountingServer::start(Duration::from_millis(400)).await;
    let scratch = Scratch::new();
    let mut yaml = format!(
        "settings: {{ jitter: 0s, concurrency: {CAP}, shutdown_grace: 2s }}\n\
         defaults: {{ schedule: \"@every 1s\", timeout: 2s, retries: 0, proxy: none }}\n\
         monitors:\n"
    );
    for i in 0..6 {
        yaml += &format!(
            "  - {{ name: m{i}, url: \"ws://{}/{i}\", alert: [log] }}\n",
            server.addr
        );
    }
    yaml += "channels:\n  log: { type: file, path: ./alerts.log }\n";
    scratch.write_config(&yaml);
    let daemon = Daemon::run(&scratch, &[]);
    daemon
        .until("18 checks at the server", Duration::from_secs(30), || {
            (server.accepted.load(Ordering::SeqCst) >= 18).then_some(())
        })
        .await;
    let most = server.most.load(Ordering::SeqCst);
    assert_eq!(
        most, CAP,
        "six monitors due at once, at most {CAP} connections open (and the cap is reached)"
    );
}

#[tokio::test]
async fn healthz_answers_503_naming_a_monitor_starved_of_a_slot_past_overdue_after() {
    let hog = FaultServer::start(Behavior::SilentAfterRequest).await;
    let fine = FaultServer::start(Behavior::Healthy).await;
    let scratch = Scratch::new();
    scratch.write_config(&format!(
        "settings: {{ jitter: 0s, concurrency: 1, overdue_after: 1s, shutdown_grace: 1s }}\n\
         defaults: {{ retries: 0, proxy: none }}\n\
         monitors:\n\
         \x20 - {{ name: hog, url: \"{}\", schedule: \"@every 1s\", timeout: 60s, alert: [log] }}\n\
         \x20 - {{ name: starved, url: \"{}\", schedule: \"@every 1s\", timeout: 2s, alert: [log] }}\n\
         channels:\n  log: {{ type: file, path: ./alerts.log }}\n",
        hog.ws_url("/"),
        fine.ws_url("/")
    ));
    let listen = free_addr();
    let daemon = Daemon::run_at(&scratch, &scratch.state(), listen);
    daemon
        .wait_log(
            "HTTP surface listening (status page, /metrics, /probe, /api)",
            &[],
            SOON,
        )
        .await;
    let deadline = std::time::Instant::now() + SOON;
    let body: serde_json::Value = loop {
        let (status, body) = http_get(listen, "/healthz").await;
        if status == 503 {
            break serde_json::from_str(&body).expect("JSON body");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "/healthz never answered 503; daemon stderr:\n{}",
            daemon.stderr()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(body["status"], "not scheduling", "{body}");
    let overdue: Vec<&str> = body["overdue"]
        .as_array()
        .expect("overdue list")
        .iter()
        .filter_map(|m| m["monitor"].as_str())
        .collect();
    assert_eq!(overdue, ["starved"], "the hog is running, not late: {body}");
    assert!(
        body["reason"]
            .as_str()
            .is_some_and(|r| r.contains("overdue by more than 1s")),
        "{body}"
    );
}

#[tokio::test]
async fn an_instance_never_checks_a_monitor_whose_locations_do_not_list_its_own() {
    let listed = FaultServer::start(Behavior::Healthy).await;
    let elsewhere = FaultServer::start(Behavior::Healthy).await;
    let unlisted = FaultServer::start(Behavior::Healthy).await;
    let scratch = Scratch::new();
    scratch.write_config(&format!(
        "settings: {{ jitter: 0s, location: us-east, shutdown_grace: 1s }}\n\
         defaults: {{ schedule: \"@every 1s\", timeout: 2s, retries: 0, proxy: none }}\n\
         monitors:\n\
         \x20 - {{ name: listed, url: \"{}\", locations: [eu-west, us-east], alert: [log] }}\n\
         \x20 - {{ name: elsewhere, url: \"{}\", locations: [eu-west], alert: [log] }}\n\
         \x20 - {{ name: anywhere, url: \"{}\", alert: [log] }}\n\
         channels:\n  log: {{ type: file, path: ./alerts.log }}\n",
        listed.ws_url("/"),
        elsewhere.ws_url("/"),
        unlisted.ws_url("/")
    ));
    let daemon = Daemon::run(&scratch, &[]);
    for (name, server) in [("listed", &listed), ("anywhere", &unlisted)] {
        let seen = server.wait_records(3, Duration::from_secs(20)).await;
        assert!(
            seen.len() >= 3,
            "{name} checked {} times from us-east; daemon stderr:\n{}",
            seen.len(),
            daemon.stderr()
        );
    }
    assert!(
        elsewhere.records().is_empty(),
        "a monitor listed only for eu-west was checked from us-east; daemon stderr:\n{}",
        daemon.stderr()
    );
}
