//! `settings.heartbeat_url`: a real daemon pings a real HTTP receiver on
//! schedule while it works, keeps the URL's token out of its logs, and says
//! once (not once per ping) when the receiver refuses.

mod daemon_support;
mod support;
mod support_http;

use daemon_support::{Daemon, SOON, Scratch};
use std::time::Duration;
use support_http::Receiver;

const TOKEN: &str = "5f1c0d2e-hc-token";

fn config(scratch: &Scratch, url: &str) {
    scratch.write_config(&format!(
        r#"settings:
  jitter: 0s
  shutdown_grace: 5s
  heartbeat_url: "{url}"
  heartbeat_every: 1s
defaults: {{ schedule: "@every 1s", timeout: 2s, retries: 0, proxy: none }}
monitors:
  - {{ name: api, url: "ws://127.0.0.1:9/ws" }}
"#
    ));
}

#[tokio::test]
async fn a_working_daemon_pings_its_heartbeat_url_on_schedule_without_logging_the_token() {
    let receiver = Receiver::start(&[]).await;
    let scratch = Scratch::new();
    config(&scratch, &receiver.url("/ping/${HC_TOKEN}"));
    let daemon = Daemon::run(&scratch, &[("HC_TOKEN", TOKEN)]);
    daemon
        .until("three pings", SOON, || {
            (receiver.requests().len() >= 3).then_some(())
        })
        .await;
    for request in receiver.requests() {
        assert_eq!(request.method, "GET");
        assert_eq!(request.path, format!("/ping/{TOKEN}"));
    }
    daemon
        .wait_log("heartbeat_url pinged; pinging every 1s", &[], SOON)
        .await;
    assert!(
        !daemon.stderr().contains(TOKEN),
        "the token leaked into the log"
    );
}

#[tokio::test]
async fn a_refusing_receiver_is_logged_once_and_pinged_again_at_each_interval() {
    let receiver = Receiver::start(&[(503, "down"), (503, "down"), (503, "down")]).await;
    let scratch = Scratch::new();
    config(&scratch, &receiver.url(&format!("/ping/{TOKEN}")));
    let daemon = Daemon::run(&scratch, &[]);
    daemon
        .until("four pings", SOON, || {
            (receiver.requests().len() >= 4).then_some(())
        })
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = daemon.logs_matching(
        "heartbeat_url",
        &[("reason", "ping answered HTTP 503 Service Unavailable")],
    );
    assert_eq!(
        refused.len(),
        1,
        "one line for the condition, not one per ping"
    );
    daemon
        .wait_log("heartbeat_url pinged; pinging every 1s", &[], SOON)
        .await;
    assert!(
        !daemon.stderr().contains(TOKEN),
        "the token leaked into the log"
    );
}

#[tokio::test]
async fn a_daemon_that_falls_behind_its_schedule_stops_pinging() {
    let receiver = Receiver::start(&[]).await;
    // One slot, taken for 20 s by a held connection: the other monitor's
    // check falls overdue, and a daemon that is not checking must not say it is fine.
    let endpoint = support::FaultServer::start(support::Behavior::Healthy).await;
    let scratch = Scratch::new();
    scratch.write_config(&format!(
        r#"settings:
  jitter: 0s
  shutdown_grace: 1s
  concurrency: 1
  overdue_after: 1s
  heartbeat_url: "{url}"
  heartbeat_every: 1s
defaults: {{ schedule: "@every 1s", timeout: 2s, retries: 0, proxy: none }}
monitors:
  - {{ name: held, url: "{held}", hold: 20s }}
  - {{ name: starved, url: "{starved}" }}
"#,
        url = receiver.url("/ping"),
        held = endpoint.ws_url("/held"),
        starved = endpoint.ws_url("/starved"),
    ));
    let daemon = Daemon::run(&scratch, &[]);
    daemon
        .wait_log(
            "heartbeat_url",
            &[("reason", "not pinged: 1 monitor(s) overdue")],
            SOON,
        )
        .await;
    let pings = receiver.requests().len();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        receiver.requests().len(),
        pings,
        "no ping while a monitor is overdue"
    );
}
