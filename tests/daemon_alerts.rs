//! `wsprobe run` end to end, on what reaches the on-call: the real binary
//! watches fault servers and alerts through a real SMTP server and a real
//! HTTP receiver, all on 127.0.0.1. Each test asserts on the messages those
//! servers received: one DOWN per incident, the diagnostics in it, no secret
//! anywhere, thresholds, reminders, a webhook that fails once, maintenance.

mod daemon_support;
mod support;
mod support_http;
mod support_smtp;

use base64::Engine;
use daemon_support::{Daemon, QUICK, SOON, Scratch, bodies, kinds, outbox, results};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::time::Duration;
use support::{Behavior, FaultServer, refused_port};
use support_http::Receiver;
use support_smtp::{Options, SmtpServer};

const SMTP_PASSWORD: &str = "smtp-pw-SECRET-71";
const HOOK_TOKEN: &str = "hook-token-SECRET-72";
const HOOK_SECRET: &str = "hook-hmac-SECRET-73";
const CHECK_TOKEN: &str = "check-token-SECRET-74";

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Undo the HTML escapes the email templates apply, to search the HTML part.
fn unescape_html(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn a_failing_monitor_sends_one_down_by_email_and_webhook_with_its_evidence_and_no_secrets() {
    let server = FaultServer::start(Behavior::FinAfter101).await;
    let smtp = SmtpServer::start(Options {
        mechanisms: vec!["PLAIN", "LOGIN"],
        credentials: Some(("alice".into(), SMTP_PASSWORD.into())),
        ..Options::default()
    })
    .await;
    let hook = Receiver::start(&[]).await;
    let scratch = Scratch::new();
    scratch.write_config(&format!(
        r#"{QUICK}
monitors:
  - name: chat-gateway
    url: {url}
    headers: {{ Authorization: "Bearer ${{CHECK_TOKEN}}" }}
    alert: [oncall, ops-hook]
channels:
  oncall:
    type: email
    smtp: {{ host: 127.0.0.1, port: {smtp_port}, security: none, username: alice, password: "${{SMTP_PASSWORD}}", timeout: 5s }}
    from: wsprobe <alerts@example.com>
    to: [oncall@example.com]
  ops-hook:
    type: webhook
    url: {hook_url}
    headers: {{ Authorization: "Bearer ${{HOOK_TOKEN}}" }}
    secret: "${{HOOK_SECRET}}"
    timeout: 5s
"#,
        url = server.ws_url("/ws"),
        smtp_port = smtp.addr.port(),
        hook_url = hook.url("/hook"),
    ));
    let daemon = Daemon::run(
        &scratch,
        &[
            ("SMTP_PASSWORD", SMTP_PASSWORD),
            ("HOOK_TOKEN", HOOK_TOKEN),
            ("HOOK_SECRET", HOOK_SECRET),
            ("CHECK_TOKEN", CHECK_TOKEN),
        ],
    );

    // Several failed runs, then both channels have had their chance.
    daemon
        .until("5 failed runs", SOON, || {
            (results(&scratch.state(), "chat-gateway").len() >= 5).then_some(())
        })
        .await;
    for channel in ["oncall", "ops-hook"] {
        daemon
            .wait_log("alert delivered", &[("channel", channel)], SOON)
            .await;
    }
    let runs = results(&scratch.state(), "chat-gateway");
    assert!(
        runs.iter().all(|r| !r.ok && r.class == "early_fin"),
        "{runs:?}"
    );
    assert_eq!(
        kinds(&hook),
        ["down"],
        "one DOWN webhook after {} runs",
        runs.len()
    );
    let mails = smtp.received();
    assert_eq!(mails.len(), 1, "one DOWN email after {} runs", runs.len());

    // The webhook: the documented JSON, signed, with the configured header.
    let request = &hook.requests()[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/hook");
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {HOOK_TOKEN}").as_str())
    );
    let signature = request.header("x-wsprobe-signature").expect("signed");
    assert_eq!(
        signature,
        format!("sha256={}", hmac_hex(HOOK_SECRET, &request.body))
    );
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["monitor"], "chat-gateway");
    assert_eq!(body["class"], "early_fin");
    assert_eq!(body["phase"], "open");
    let hint = body["hint"].as_str().expect("a hint").to_string();
    assert!(!hint.is_empty());
    assert!(body["report"].is_object(), "{body}");
    assert!(
        body["report"]
            .to_string()
            .contains("101 Switching Protocols"),
        "the report carries the evidence: {body}"
    );

    // The email: subject, text and HTML parts name the class, phase, hint
    // and evidence.
    let mail = &mails[0];
    let (_, user, _) = mail.auth.clone().expect("authenticated");
    assert_eq!(user, "alice");
    assert_eq!(mail.mail_from, "<alerts@example.com>");
    assert_eq!(mail.rcpt_to, ["<oncall@example.com>"]);
    let msg = mail_parser::MessageParser::default()
        .parse(&mail.data)
        .expect("a MIME message");
    let subject = msg.subject().expect("a subject");
    assert!(
        subject.contains("DOWN")
            && subject.contains("chat-gateway")
            && subject.contains("early_fin")
            && subject.contains("open"),
        "{subject}"
    );
    let text = msg.body_text(0).expect("a text part").into_owned();
    let html = unescape_html(&msg.body_html(0).expect("an HTML part"));
    for (part, content) in [("text", &text), ("html", &html)] {
        for fact in [
            "early_fin",
            "open",
            hint.as_str(),
            "HTTP/1.1 101 Switching Protocols",
            "total",
            " ms",
        ] {
            assert!(
                content.contains(fact),
                "{part} part lacks {fact:?}:\n{content}"
            );
        }
    }

    // The check did send its Authorization header; no secret went anywhere else.
    let head = &server.records()[0].request_head;
    assert!(
        head.contains(CHECK_TOKEN),
        "the check sent its header: {head}"
    );
    let b64 = base64::engine::general_purpose::STANDARD;
    let secrets = [
        SMTP_PASSWORD.to_string(),
        HOOK_TOKEN.to_string(),
        HOOK_SECRET.to_string(),
        CHECK_TOKEN.to_string(),
        b64.encode(SMTP_PASSWORD),
        b64.encode(format!("\0alice\0{SMTP_PASSWORD}")),
    ];
    let mail_text = String::from_utf8_lossy(&mail.data).into_owned();
    let received = [
        ("email", mail_text.as_str()),
        ("email text", text.as_str()),
        ("email html", html.as_str()),
        ("webhook body", std::str::from_utf8(&request.body).unwrap()),
    ];
    let (stdout, stderr) = (daemon.stdout(), daemon.stderr());
    for secret in &secrets {
        for (what, content) in received
            .iter()
            .chain(&[("stdout", stdout.as_str()), ("stderr", stderr.as_str())])
        {
            assert!(
                !content.contains(secret.as_str()),
                "{secret:?} in the {what}:\n{content}"
            );
        }
    }
}

#[tokio::test]
async fn down_waits_for_the_failure_threshold_and_a_reminder_notes_the_class_change() {
    let port = refused_port().await;
    let gateway_timeout = FaultServer::start_on(
        port,
        Behavior::http(504, "Gateway Time-out", "<h1>504</h1>"),
    )
    .await;
    let hook = Receiver::start(&[]).await;
    let scratch = Scratch::new();
    scratch.write_config(&format!(
        r#"{QUICK}
monitors:
  - name: feed
    url: ws://{port}/ws
    schedule: "@every 500ms"
    failure_threshold: 3
    repeat: 2s
    alert: [hook]
channels:
  hook: {{ type: webhook, url: "{hook_url}" }}
"#,
        hook_url = hook.url("/"),
    ));
    let daemon = Daemon::run(&scratch, &[]);

    // No DOWN may leave before the third failed run is recorded. Requests are
    // read before results: a DOWN seen implies its run was already committed.
    let runs_at_down = daemon
        .until("the DOWN webhook", SOON, || {
            let delivered = hook.requests().len();
            let runs = results(&scratch.state(), "feed").len();
            assert!(
                delivered == 0 || runs >= 3,
                "a webhook arrived after only {runs} failed runs"
            );
            (delivered > 0).then_some(runs)
        })
        .await;
    let down = bodies(&hook)[0].clone();
    assert_eq!(down["kind"], "down");
    assert_eq!(down["class"], "missing_101");
    assert_eq!(down["failed_runs"], 3);
    assert!(runs_at_down >= 3);

    // The endpoint starts failing differently while the monitor is down.
    drop(gateway_timeout);
    let _early_fin = FaultServer::start_on(port, Behavior::FinAfter101).await;

    let reminder = daemon
        .until("a REMINDER webhook", SOON, || {
            bodies(&hook).into_iter().find(|b| b["kind"] == "reminder")
        })
        .await;
    assert_eq!(reminder["class"], "early_fin", "{reminder}");
    assert_eq!(reminder["previous_class"], "missing_101", "{reminder}");
    assert!(
        reminder["outage_secs"].as_u64().is_some_and(|s| s >= 2),
        "{reminder}"
    );
    let kinds = kinds(&hook);
    assert_eq!(
        kinds.iter().filter(|k| *k == "down").count(),
        1,
        "a class change alone sends nothing: {kinds:?}"
    );
}

#[tokio::test]
async fn a_webhook_that_answers_500_then_200_gets_the_alert_exactly_once() {
    let port = refused_port().await;
    let hook = Receiver::start(&[(500, "receiver exploded")]).await;
    let scratch = Scratch::new();
    scratch.write_config(&format!(
        r#"{QUICK}
monitors:
  - {{ name: api, url: "ws://{port}/ws", alert: [hook] }}
channels:
  hook: {{ type: webhook, url: "{hook_url}" }}
"#,
        hook_url = hook.url("/"),
    ));
    let daemon = Daemon::run(&scratch, &[]);

    let failed = daemon
        .wait_log(
            "alert delivery failed; will retry",
            &[("channel", "hook")],
            SOON,
        )
        .await;
    let answer = daemon_support::field(&failed, "error");
    assert!(
        answer.contains("500") && answer.contains("receiver exploded"),
        "the log carries the channel's answer: {failed}"
    );
    // Backoff after the first failure is 5 s.
    daemon
        .wait_log(
            "alert delivered",
            &[("channel", "hook")],
            Duration::from_secs(15),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let requests = hook.requests();
    assert_eq!(
        requests.len(),
        2,
        "one refused request, one accepted, no third"
    );
    assert_eq!(
        requests[0].body, requests[1].body,
        "the same alert was retried"
    );
    let key = requests[0].header("idempotency-key").expect("keyed");
    assert!(key.starts_with("wsp-"), "{key}");
    for request in &requests {
        assert_eq!(
            request.header("idempotency-key"),
            Some(key),
            "same key on the retry"
        );
        assert_eq!(request.header("x-wsprobe-delivery"), Some(key));
    }
    assert_eq!(bodies(&hook)[0]["delivery_id"], key);
    assert_eq!(kinds(&hook), ["down", "down"]);
    let rows = outbox(&scratch.state());
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].status, "delivered");
    assert_eq!(rows[0].attempts, 1);
}

#[tokio::test]
async fn a_maintenance_window_records_results_but_holds_the_down() {
    let port = refused_port().await;
    let hook = Receiver::start(&[]).await;
    let scratch = Scratch::new();
    scratch.write_config(&format!(
        r#"{QUICK}
maintenance:
  - {{ start: "* * * * *", duration: 1h, label: test window }}
monitors:
  - {{ name: api, url: "ws://{port}/ws", alert: [hook] }}
channels:
  hook: {{ type: webhook, url: "{hook_url}" }}
"#,
        hook_url = hook.url("/"),
    ));
    let daemon = Daemon::run(&scratch, &[]);

    daemon
        .wait_log(
            "alert held: maintenance window",
            &[("monitor", "api"), ("kind", "DOWN")],
            SOON,
        )
        .await;
    daemon
        .until("3 runs", SOON, || {
            (results(&scratch.state(), "api").len() >= 3).then_some(())
        })
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let runs = results(&scratch.state(), "api");
    assert!(
        runs.iter()
            .all(|r| !r.ok && r.in_maintenance && r.class == "connect_error"),
        "{runs:?}"
    );
    assert!(
        hook.requests().is_empty(),
        "nothing delivered during maintenance"
    );
    assert!(daemon.logs_matching("alert delivered", &[]).is_empty());
    let rows = outbox(&scratch.state());
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0].status.as_str(), rows[0].kind.as_str()),
        ("held", "down")
    );
}

#[tokio::test]
async fn a_monitor_behind_a_down_parent_holds_its_down_and_the_parent_pages_once() {
    let lb = refused_port().await;
    let chat = refused_port().await;
    let hook = Receiver::start(&[]).await;
    let scratch = Scratch::new();
    // The child's threshold is one above the parent's, as the README advises:
    // its DOWN is decided a run after the parent's first failure is known.
    scratch.write_config(&format!(
        r#"{QUICK}
monitors:
  - {{ name: edge-lb, url: "ws://{lb}/ws", alert: [hook] }}
  - name: chat
    url: "ws://{chat}/ws"
    depends_on: [edge-lb]
    failure_threshold: 2
    alert: [hook]
channels:
  hook: {{ type: webhook, url: "{hook_url}" }}
"#,
        hook_url = hook.url("/"),
    ));
    let daemon = Daemon::run(&scratch, &[]);

    daemon
        .wait_log(
            "alert held: suppressed, parent edge-lb down",
            &[("monitor", "chat"), ("kind", "DOWN"), ("parent", "edge-lb")],
            SOON,
        )
        .await;
    daemon
        .until("the parent's DOWN delivered", SOON, || {
            (!hook.requests().is_empty()).then_some(())
        })
        .await;
    daemon
        .until("3 more runs of chat", SOON, || {
            (results(&scratch.state(), "chat").len() >= 5).then_some(())
        })
        .await;
    let sent: Vec<(String, String)> = bodies(&hook)
        .iter()
        .map(|b| {
            (
                b["monitor"].as_str().unwrap().into(),
                b["kind"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(sent, [("edge-lb".to_string(), "down".to_string())]);
    let held: Vec<_> = outbox(&scratch.state())
        .into_iter()
        .filter(|r| r.monitor == "chat")
        .map(|r| (r.status, r.kind))
        .collect();
    assert_eq!(held, [("held".to_string(), "down".to_string())]);
}

/// The race the threshold advice works around, closed: parent and child
/// fail together, the child's check fails at once (refused) and the
/// parent's only after its timeout (a server that reads the upgrade and
/// never answers). The child, at threshold 1, reaches its threshold before
/// the parent has been checked since it began failing; its DOWN waits one
/// run for the parent's verdict, and is then held by it — one page, the
/// parent's.
#[tokio::test]
async fn a_child_failing_before_its_slower_parent_is_checked_waits_for_it_and_is_held() {
    let lb = FaultServer::start(Behavior::SilentAfterRequest).await;
    let chat = refused_port().await;
    let hook = Receiver::start(&[]).await;
    let scratch = Scratch::new();
    scratch.write_config(&format!(
        r#"settings: {{ jitter: 0s, shutdown_grace: 5s }}
defaults: {{ schedule: "@every 1s", retries: 0, proxy: none }}
monitors:
  - {{ name: edge-lb, url: "{lb_url}", timeout: 400ms, alert: [hook] }}
  - {{ name: chat, url: "ws://{chat}/ws", timeout: 2s, depends_on: [edge-lb], alert: [hook] }}
channels:
  hook: {{ type: webhook, url: "{hook_url}" }}
"#,
        lb_url = lb.ws_url("/ws"),
        hook_url = hook.url("/"),
    ));
    let daemon = Daemon::run(&scratch, &[]);
    daemon
        .wait_log(
            "alert held: suppressed, parent edge-lb down",
            &[("monitor", "chat"), ("kind", "DOWN"), ("parent", "edge-lb")],
            SOON,
        )
        .await;
    daemon
        .until(
            "the parent's DOWN delivered and 3 runs of chat",
            SOON,
            || {
                (!hook.requests().is_empty() && results(&scratch.state(), "chat").len() >= 3)
                    .then_some(())
            },
        )
        .await;
    assert_eq!(kinds(&hook), ["down"], "{:?}", bodies(&hook));
    assert_eq!(bodies(&hook)[0]["monitor"], "edge-lb");
}
