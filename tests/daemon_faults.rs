//! `wsprobe run` end to end through faults: an endpoint that comes back, an
//! SMTP server that is down when the alert is due, and `kill -9` in the
//! middle of an incident. Nothing lost, nothing doubled: each test counts
//! what the real receivers got.

mod daemon_support;
mod support;
mod support_http;
mod support_smtp;

use daemon_support::{Daemon, QUICK, SOON, Scratch, bodies, kinds, outbox, results};
use std::net::SocketAddr;
use std::time::Duration;
use support::{Behavior, FaultServer, refused_port};
use support_http::Receiver;
use support_smtp::{Options, SmtpServer};

/// Outbox backoff after a first failed delivery is 5 s; allow for load.
const AFTER_BACKOFF: Duration = Duration::from_secs(15);

/// One monitor `api` on `target`, alerting a webhook at `hook_url`.
fn one_monitor(target: SocketAddr, hook_url: &str) -> String {
    format!(
        r#"{QUICK}
monitors:
  - {{ name: api, url: "ws://{target}/ws", alert: [hook] }}
channels:
  hook: {{ type: webhook, url: "{hook_url}" }}
"#
    )
}

#[tokio::test]
async fn an_endpoint_that_comes_back_gets_one_down_then_one_recovered_with_the_outage() {
    let port = refused_port().await;
    let hook = Receiver::start(&[]).await;
    let scratch = Scratch::new();
    scratch.write_config(&one_monitor(port, &hook.url("/")));
    let daemon = Daemon::run(&scratch, &[]);

    daemon
        .until("the DOWN webhook", SOON, || {
            (!hook.requests().is_empty()).then_some(())
        })
        .await;
    let down = bodies(&hook)[0].clone();
    assert_eq!(
        (down["kind"].as_str(), down["class"].as_str()),
        (Some("down"), Some("connect_error"))
    );
    // Stay down a little so the outage has a length.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let _healthy = FaultServer::start_on(port, Behavior::Healthy).await;

    let recovered = daemon
        .until("the RECOVERED webhook", SOON, || {
            bodies(&hook).into_iter().find(|b| b["kind"] == "recovered")
        })
        .await;
    assert_eq!(
        recovered["class"], "connect_error",
        "the outage's class: {recovered}"
    );
    let outage = recovered["outage_secs"]
        .as_u64()
        .expect("outage_secs present");
    assert!((1..=15).contains(&outage), "{recovered}");
    daemon
        .until("2 passing runs", SOON, || {
            (results(&scratch.state(), "api")
                .iter()
                .filter(|r| r.ok)
                .count()
                >= 2)
                .then_some(())
        })
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(kinds(&hook), ["down", "recovered"]);
    // Two alerts, two deliveries: a receiver deduplicating on the key keeps both.
    let keys: Vec<String> = hook
        .requests()
        .iter()
        .zip(bodies(&hook))
        .map(|(request, body)| {
            let key = request.header("idempotency-key").expect("keyed");
            assert_eq!(request.header("x-wsprobe-delivery"), Some(key));
            assert_eq!(body["delivery_id"], key, "the body names the same key");
            key.to_string()
        })
        .collect();
    assert_ne!(keys[0], keys[1], "{keys:?}");
}

#[tokio::test]
async fn an_alert_due_while_smtp_is_down_is_delivered_once_when_it_comes_back() {
    let smtp_addr = refused_port().await;
    let port = refused_port().await;
    let scratch = Scratch::new();
    scratch.write_config(&format!(
        r#"{QUICK}
monitors:
  - {{ name: api, url: "ws://{port}/ws", alert: [mail] }}
channels:
  mail:
    type: email
    smtp: {{ host: 127.0.0.1, port: {smtp_port}, security: none, timeout: 3s }}
    from: wsprobe <alerts@example.com>
    to: [oncall@example.com]
"#,
        smtp_port = smtp_addr.port(),
    ));
    let daemon = Daemon::run(&scratch, &[]);

    let failed = daemon
        .wait_log(
            "alert delivery failed; will retry",
            &[("channel", "mail")],
            SOON,
        )
        .await;
    let answer = daemon_support::field(&failed, "error");
    assert!(
        answer.to_lowercase().contains("refused"),
        "the log carries the channel's answer: {failed}"
    );
    let rows = daemon
        .until("the failure recorded in the outbox", SOON, || {
            let rows = outbox(&scratch.state());
            rows.iter().any(|r| r.attempts >= 1).then_some(rows)
        })
        .await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0].status.as_str(), rows[0].kind.as_str()),
        ("pending", "down")
    );
    assert!(
        rows[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.to_lowercase().contains("refused"))
    );

    let smtp = SmtpServer::start_on(smtp_addr, Options::default()).await;
    daemon
        .wait_log("alert delivered", &[("channel", "mail")], AFTER_BACKOFF)
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mails = smtp.received();
    assert_eq!(mails.len(), 1, "delivered exactly once");
    assert_eq!(mails[0].mail_from, "<alerts@example.com>");
    assert_eq!(mails[0].rcpt_to, ["<oncall@example.com>"]);
    let data = String::from_utf8_lossy(&mails[0].data);
    assert!(data.contains("DOWN api"), "{data}");
    assert_eq!(outbox(&scratch.state())[0].status, "delivered");
}

#[tokio::test]
async fn kill_9_during_an_incident_neither_repeats_the_down_nor_loses_the_recovery() {
    let failing = FaultServer::start(Behavior::FinAfter101).await;
    let addr = failing.addr;
    let hook = Receiver::start(&[]).await;
    let scratch = Scratch::new();
    scratch.write_config(&one_monitor(addr, &hook.url("/")));

    let mut first = Daemon::run(&scratch, &[]);
    first
        .wait_log("alert delivered", &[("kind", "DOWN")], SOON)
        .await;
    first.kill9();
    assert_eq!(kinds(&hook), ["down"]);

    // Restarted while still failing: the incident was already alerted.
    let runs_before = results(&scratch.state(), "api").len();
    let mut second = Daemon::run(&scratch, &[]);
    second
        .until("3 more failed runs", SOON, || {
            (results(&scratch.state(), "api").len() >= runs_before + 3).then_some(())
        })
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(kinds(&hook), ["down"], "no second DOWN after the restart");
    assert!(second.logs_matching("alert queued", &[]).is_empty());
    second.kill9();

    // The endpoint recovers while wsprobe is not running.
    drop(failing);
    let _healthy = FaultServer::start_on(addr, Behavior::Healthy).await;
    let third = Daemon::run(&scratch, &[]);
    third
        .wait_log("alert delivered", &[("kind", "RECOVERED")], SOON)
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(kinds(&hook), ["down", "recovered"]);
    let recovered = &bodies(&hook)[1];
    assert_eq!(recovered["class"], "early_fin");
    assert!(recovered["outage_secs"].is_u64(), "{recovered}");
}

#[tokio::test]
async fn a_down_still_in_the_outbox_at_kill_9_is_delivered_once_after_restart() {
    let port = refused_port().await;
    let hook = Receiver::start(&[(503, "not yet")]).await;
    let scratch = Scratch::new();
    scratch.write_config(&one_monitor(port, &hook.url("/")));

    let mut first = Daemon::run(&scratch, &[]);
    first
        .wait_log(
            "alert delivery failed; will retry",
            &[("kind", "DOWN")],
            SOON,
        )
        .await;
    first.kill9();
    let rows = outbox(&scratch.state());
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].status, "pending", "still queued at the kill");

    // The receiver now accepts (its script is spent).
    let second = Daemon::run(&scratch, &[]);
    second
        .wait_log("alert delivered", &[("kind", "DOWN")], AFTER_BACKOFF)
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(kinds(&hook), ["down", "down"], "one refused, one accepted");
    assert_eq!(second.logs_matching("alert delivered", &[]).len(), 1);
    assert!(
        second.logs_matching("alert queued", &[]).is_empty(),
        "no new DOWN"
    );
    let rows = outbox(&scratch.state());
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].status, "delivered");
}
