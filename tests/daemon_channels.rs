//! `wsprobe run` with channels that misbehave, end to end on real sockets:
//! an SMTP server that takes the envelope, answers 354 and then hangs, a
//! webhook that accepts the connection and never answers, an SMTP server
//! that refuses the first try. Each channel delivers on its own: the healthy
//! one's alert arrives while the broken one is still waiting, the broken one
//! gives up after its own `timeout` and is retried, and every retry of one
//! delivery carries the same key. Within one channel, a delivery that hangs
//! holds up only itself, not other monitors' alerts.

mod daemon_support;
mod support;
mod support_http;
mod support_smtp;

use daemon_support::{Daemon, QUICK, SOON, Scratch, field, outbox};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use support::refused_port;
use support_http::Receiver;
use support_smtp::{Options, SmtpServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Outbox backoff after a first failed delivery is 5 s; allow for load.
const AFTER_BACKOFF: Duration = Duration::from_secs(20);

/// One monitor `api` that is down (nothing listens on `target`), alerting
/// `channels` (YAML of the `channels:` map, each line indented by two).
fn config(target: SocketAddr, alert: &str, channels: &str) -> String {
    format!(
        r#"{QUICK}
monitors:
  - {{ name: api, url: "ws://{target}/ws", alert: [{alert}] }}
channels:
{channels}"#
    )
}

/// Where `message` logs with `channel` sit in the daemon's log, in order.
fn positions(daemon: &Daemon, message: &str, channel: &str) -> Vec<usize> {
    daemon
        .logs()
        .iter()
        .enumerate()
        .filter(|(_, l)| l["message"] == message && field(l, "channel") == channel)
        .map(|(i, _)| i)
        .collect()
}

/// Wait for the healthy `hook` channel's delivery, then for `broken`'s
/// failed attempt; check the webhook went out first and return the error
/// the broken channel logged.
async fn hook_first_then_failure_of(daemon: &Daemon, broken: &str) -> String {
    daemon
        .wait_log("alert delivered", &[("channel", "hook")], SOON)
        .await;
    let error = first_failure_of(daemon, broken).await;
    let (hook_done, broken_failed) = (
        positions(daemon, "alert delivered", "hook"),
        positions(daemon, "alert delivery failed; will retry", broken),
    );
    assert!(
        hook_done[0] < broken_failed[0],
        "the webhook alert went out while {broken} hung"
    );
    error
}

/// The error of `channel`'s first failed delivery, once it is logged.
async fn first_failure_of(daemon: &Daemon, channel: &str) -> String {
    let failed = daemon
        .wait_log(
            "alert delivery failed; will retry",
            &[("channel", channel)],
            SOON,
        )
        .await;
    field(&failed, "error")
}

/// YAML of an email channel `mail` to 127.0.0.1:`port` without TLS.
fn mail_channel(port: u16, timeout: &str) -> String {
    format!(
        r#"  mail:
    type: email
    smtp: {{ host: 127.0.0.1, port: {port}, security: none, timeout: {timeout} }}
    from: alerts@example.com
    to: [oncall@example.com]
"#
    )
}

/// A webhook that accepts connections and reads requests but never
/// answers; counts the connections.
async fn silent_webhook() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut sink = [0u8; 4096];
                while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
            });
        }
    });
    (addr, connections)
}

#[tokio::test]
async fn a_hung_smtp_server_never_delays_the_webhook_and_fails_after_its_own_timeout() {
    let port = refused_port().await;
    let smtp = SmtpServer::start(Options {
        silent_after_data: true,
        ..Options::default()
    })
    .await;
    let hook = Receiver::start(&[]).await;
    let scratch = Scratch::new();
    // mail first: the outbox holds its row before the webhook's.
    scratch.write_config(&config(
        port,
        "mail, hook",
        &format!(
            "{}  hook: {{ type: webhook, url: \"{}\" }}\n",
            mail_channel(smtp.addr.port(), "1s"),
            hook.url("/")
        ),
    ));
    let mut daemon = Daemon::run(&scratch, &[]);

    let error = hook_first_then_failure_of(&daemon, "mail").await;
    assert!(
        error.contains("no answer within 1s to the end of the message"),
        "the channel's own timeout, naming the silent step: {error}"
    );
    assert_eq!(smtp.attempts().len(), 1, "the server got the message");

    // The retry policy applies to the timed-out attempt: a second try comes.
    daemon
        .until("the email retry", AFTER_BACKOFF, || {
            (smtp.attempts().len() >= 2).then_some(())
        })
        .await;
    let rows = outbox(&scratch.state());
    let mail: Vec<_> = rows.iter().filter(|r| r.channel == "mail").collect();
    assert_eq!(mail.len(), 1, "{rows:?}");
    assert_eq!(mail[0].status, "pending", "never accepted, still owed");
    assert!(mail[0].attempts >= 1, "{rows:?}");
    assert_eq!(hook.requests().len(), 1, "the webhook got its alert once");

    // A delivery hung at shutdown is abandoned within the final flush's
    // bound; the row stays owed for the next start.
    daemon.signal("TERM");
    let status = daemon.wait_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "{status:?}");
    let rows = outbox(&scratch.state());
    assert!(
        rows.iter()
            .any(|r| r.channel == "mail" && r.status == "pending"),
        "{rows:?}"
    );
}

#[tokio::test]
async fn a_webhook_that_never_answers_fails_after_its_timeout_while_another_delivers() {
    let port = refused_port().await;
    let (silent, connections) = silent_webhook().await;
    let hook = Receiver::start(&[]).await;
    let scratch = Scratch::new();
    scratch.write_config(&config(
        port,
        "silent, hook",
        &format!(
            r#"  silent: {{ type: webhook, url: "http://{silent}/", timeout: 1s }}
  hook: {{ type: webhook, url: "{hook_url}" }}
"#,
            hook_url = hook.url("/"),
        ),
    ));
    let daemon = Daemon::run(&scratch, &[]);

    let error = hook_first_then_failure_of(&daemon, "silent").await;
    assert!(
        error.contains("webhook: no answer within 1s"),
        "the channel's own timeout: {error}"
    );
    assert!(
        !error.contains(&silent.to_string()),
        "no URL in errors: {error}"
    );
    daemon
        .until("the webhook retry", AFTER_BACKOFF, || {
            (connections.load(Ordering::SeqCst) >= 2).then_some(())
        })
        .await;
    assert_eq!(hook.requests().len(), 1);
}

/// The `Message-ID` header of a raw message.
fn message_id(data: &[u8]) -> String {
    String::from_utf8_lossy(data)
        .lines()
        .find_map(|l| l.strip_prefix("Message-ID: "))
        .map(str::to_string)
        .unwrap_or_default()
}

#[tokio::test]
async fn an_email_retried_after_a_refusal_keeps_its_message_id() {
    let port = refused_port().await;
    let smtp = SmtpServer::start(Options {
        refuse_first: 1,
        ..Options::default()
    })
    .await;
    let scratch = Scratch::new();
    scratch.write_config(&config(port, "mail", &mail_channel(smtp.addr.port(), "2s")));
    let daemon = Daemon::run(&scratch, &[]);

    let error = first_failure_of(&daemon, "mail").await;
    assert!(error.contains("451"), "{error}");
    let delivered = daemon
        .wait_log("alert delivered", &[("channel", "mail")], AFTER_BACKOFF)
        .await;
    let attempts = smtp.attempts();
    assert_eq!(attempts.len(), 2, "refused once, accepted once");
    let ids: Vec<String> = attempts.iter().map(|m| message_id(&m.data)).collect();
    let key = field(&delivered, "delivery");
    assert_eq!(
        ids[0],
        format!("<wsprobe.{key}@example.com>"),
        "the Message-ID is the delivery's key"
    );
    assert_eq!(ids[0], ids[1], "the retry kept its Message-ID");
    assert_eq!(smtp.received().len(), 1);
    let logged: Vec<Value> = daemon.logs_matching("alert delivery failed; will retry", &[]);
    assert_eq!(
        field(&logged[0], "delivery"),
        key,
        "one key in every log line"
    );
}

/// A webhook that never answers requests about monitor `laggard` and
/// answers 200 to the others; records the monitors it answered.
async fn webhook_stuck_on_laggard() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let answered = Arc::new(Mutex::new(Vec::new()));
    let log = answered.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                // The body names the monitor before its URL.
                while !String::from_utf8_lossy(&seen).contains("\"url\":") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&seen).to_string();
                if text.contains("\"monitor\": \"laggard\"") {
                    while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
                    return;
                }
                let monitor = if text.contains("\"monitor\": \"api\"") {
                    "api"
                } else {
                    "?"
                };
                log.lock().unwrap().push(monitor.to_string());
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    (addr, answered)
}

#[tokio::test]
async fn a_delivery_hung_on_one_monitor_does_not_hold_up_another_monitors_alert_on_that_channel() {
    let port = refused_port().await;
    let (hook, answered) = webhook_stuck_on_laggard().await;
    let scratch = Scratch::new();
    // laggard's DOWN comes first and hangs; api's comes two runs later,
    // while laggard's attempt is still waiting out its 5 s.
    scratch.write_config(&format!(
        r#"{QUICK}
monitors:
  - {{ name: laggard, url: "ws://{port}/ws", alert: [hook] }}
  - {{ name: api, url: "ws://{port}/ws", alert: [hook], failure_threshold: 3 }}
channels:
  hook: {{ type: webhook, url: "http://{hook}/", timeout: 5s }}
"#
    ));
    let daemon = Daemon::run(&scratch, &[]);

    daemon
        .wait_log(
            "alert delivered",
            &[("channel", "hook"), ("monitor", "api")],
            SOON,
        )
        .await;
    let failed = first_failure_of(&daemon, "hook").await;
    assert!(failed.contains("no answer within 5s"), "{failed}");
    let logs = daemon.logs();
    let at = |message: &str, monitor: &str| {
        logs.iter()
            .position(|l| l["message"] == message && field(l, "monitor") == monitor)
            .unwrap_or_else(|| panic!("no {message:?} for {monitor}"))
    };
    assert!(
        at("alert delivered", "api") < at("alert delivery failed; will retry", "laggard"),
        "api's alert went out while laggard's hung"
    );
    assert_eq!(*answered.lock().unwrap(), ["api"]);
}
