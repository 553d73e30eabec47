//! The on-call channels against local receivers that check each API's
//! documented request contract (method, path, auth header, content type,
//! required fields): every type through `wsprobe alert test`, then one
//! incident end to end through the daemon — DOWN, REMINDER and RECOVERED
//! under one PagerDuty `dedup_key` and one Opsgenie `alias`, a 429's
//! `Retry-After` honoured — and a receiver that echoes the key back.

mod daemon_support;
mod support;
mod support_http;

use daemon_support::{Daemon, QUICK, SOON, Scratch, field, outbox, wsprobe};
use serde_json::Value;
use std::ffi::OsStr;
use support::fault_server::{Behavior, FaultServer};
use support::refused_port;
use support_http::{Answer, Receiver, Request};

const ROUTING_KEY: &str = "R0UTINGKEY0123456789abcdef012345";
const GENIE_KEY: &str = "5ecret-genie-key-1234";
const BOT_TOKEN: &str = "123456:AAbot-token-sekr1t";

fn env() -> [(&'static str, &'static str); 3] {
    [
        ("PD_ROUTING_KEY", ROUTING_KEY),
        ("OPSGENIE_API_KEY", GENIE_KEY),
        ("TELEGRAM_BOT_TOKEN", BOT_TOKEN),
    ]
}

/// Every channel type, each at its own path of `r`.
fn channels(r: &Receiver) -> String {
    format!(
        r#"channels:
  pd: {{ type: pagerduty, routing_key: "${{PD_ROUTING_KEY}}", url: "{pd}" }}
  og: {{ type: opsgenie, api_key: "${{OPSGENIE_API_KEY}}", priority: P2, url: "{og}" }}
  sl: {{ type: slack, url: "{sl}" }}
  tm: {{ type: teams, url: "{tm}" }}
  dc: {{ type: discord, url: "{dc}" }}
  tg: {{ type: telegram, bot_token: "${{TELEGRAM_BOT_TOKEN}}", chat_id: "-1001234567890", url: "{tg}" }}
  am: {{ type: alertmanager, url: "{am}" }}
"#,
        pd = r.url("/pd"),
        og = r.url("/og"),
        sl = r.url("/services/T000/B000/slacktoken"),
        tm = r.url("/workflows/teams-sig"),
        dc = r.url("/api/webhooks/1/discordtoken"),
        tg = r.url("/tg"),
        am = r.url("/am"),
    )
}

fn json(r: &Request) -> Value {
    serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{} sent no JSON: {e}", r.path))
}

/// What each API requires of a DOWN, checked on what was received.
fn check_contract(name: &str, r: &Request) {
    assert_eq!(r.method, "POST", "{name}");
    assert_eq!(r.header("content-type"), Some("application/json"), "{name}");
    let b = json(r);
    let incident = |v: &Value| v.as_str().is_some_and(|s| s.starts_with("wsp-inc-"));
    match name {
        "pd" => {
            assert_eq!(r.path, "/pd/v2/enqueue");
            assert_eq!(b["routing_key"], ROUTING_KEY);
            assert_eq!(b["event_action"], "trigger");
            assert!(incident(&b["dedup_key"]), "{b}");
            let p = &b["payload"];
            assert!(
                p["summary"]
                    .as_str()
                    .is_some_and(|s| !s.is_empty() && s.len() <= 1024)
            );
            assert!(p["source"].as_str().is_some_and(|s| !s.is_empty()));
            assert!(
                ["critical", "error", "warning", "info"].contains(&p["severity"].as_str().unwrap())
            );
            assert_eq!(p["component"], "chat-gateway (wsprobe alert test)");
            assert!(
                p["custom_details"]["evidence"]
                    .as_str()
                    .is_some_and(|e| e.contains("Attempt #1"))
            );
        }
        "og" => {
            assert_eq!(r.path, "/og/v2/alerts");
            assert_eq!(
                r.header("authorization"),
                Some(format!("GenieKey {GENIE_KEY}").as_str())
            );
            assert!(
                b["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty() && m.chars().count() <= 130)
            );
            assert!(incident(&b["alias"]), "{b}");
            assert_eq!(b["priority"], "P2");
        }
        "sl" => {
            assert_eq!(r.path, "/services/T000/B000/slacktoken");
            assert!(b["text"].as_str().is_some_and(|t| t.starts_with("DOWN")));
            assert_eq!(b["blocks"][0]["type"], "header");
        }
        "tm" => {
            assert_eq!(b["type"], "message");
            let a = &b["attachments"][0];
            assert_eq!(a["contentType"], "application/vnd.microsoft.card.adaptive");
            assert_eq!(a["content"]["type"], "AdaptiveCard");
            assert!(
                a["content"]["body"]
                    .as_array()
                    .is_some_and(|x| !x.is_empty())
            );
        }
        "dc" => {
            let e = &b["embeds"][0];
            assert!(e["title"].as_str().is_some_and(|t| t.starts_with("DOWN")));
            assert!(e["color"].is_u64());
            assert_eq!(b["allowed_mentions"]["parse"], serde_json::json!([]));
        }
        "tg" => {
            assert_eq!(r.path, format!("/tg/bot{BOT_TOKEN}/sendMessage"));
            assert_eq!(b["chat_id"], "-1001234567890");
            assert_eq!(b["parse_mode"], "HTML");
            let text = b["text"].as_str().unwrap();
            assert!(
                text.starts_with("<b>DOWN") && text.chars().count() <= 4096,
                "{text}"
            );
        }
        "am" => {
            assert_eq!(r.path, "/am/api/v2/alerts");
            let a = &b[0];
            for label in ["alertname", "monitor", "class", "phase", "severity"] {
                assert!(a["labels"][label].is_string(), "{label}: {a}");
            }
            assert!(a["startsAt"].is_string() && a["endsAt"].is_string(), "{a}");
        }
        other => panic!("no contract for {other}"),
    }
}

// `wsprobe` runs to completion on this thread: the receiver needs another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wsprobe_alert_test_delivers_through_every_channel_type_by_its_apis_contract() {
    let receiver = Receiver::start(&[]).await;
    let scratch = Scratch::new();
    let config = scratch.write_config(&format!(
        "monitors:\n  - {{ name: api, url: \"ws://127.0.0.1:1/ws\" }}\n{}",
        channels(&receiver)
    ));
    for name in ["pd", "og", "sl", "tm", "dc", "tg", "am"] {
        let args = [
            OsStr::new("alert"),
            OsStr::new("test"),
            OsStr::new(name),
            OsStr::new("--config"),
            config.as_os_str(),
        ];
        let out = wsprobe(&args, &scratch, &env());
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(out.status.success(), "{name}: {stdout}{stderr}");
        for secret in [ROUTING_KEY, GENIE_KEY, BOT_TOKEN] {
            assert!(
                !stdout.contains(secret) && !stderr.contains(secret),
                "{name}: {stdout}{stderr}"
            );
        }
        let got = receiver.requests();
        check_contract(name, got.last().expect("a request"));
    }
    assert_eq!(receiver.requests().len(), 7);
}

#[tokio::test]
async fn one_incident_triggers_reminds_and_resolves_under_one_key_and_a_429_waits_as_asked() {
    let port = refused_port().await;
    let pd = Receiver::start_answers(vec![
        Answer::new(429, "{\"status\":\"throttled\"}").with_header("Retry-After", "1"),
    ])
    .await;
    let og = Receiver::start(&[]).await;
    let scratch = Scratch::new();
    scratch.write_config(&format!(
        r#"{QUICK}
monitors:
  - {{ name: feed, url: "ws://{port}/ws", repeat: 2s, alert: [pd, og] }}
channels:
  pd: {{ type: pagerduty, routing_key: "${{PD_ROUTING_KEY}}", url: "{pd_url}" }}
  og: {{ type: opsgenie, api_key: "${{OPSGENIE_API_KEY}}", url: "{og_url}" }}
"#,
        pd_url = pd.url("/"),
        og_url = og.url("/eu"),
    ));
    let daemon = Daemon::run(&scratch, &env());

    let throttled = daemon
        .wait_log(
            "alert delivery failed; will retry",
            &[("channel", "pd")],
            SOON,
        )
        .await;
    assert_eq!(field(&throttled, "retry_in"), "1s", "{throttled}");
    let actions = |r: &Receiver| -> Vec<String> {
        r.requests()
            .iter()
            .map(|q| {
                json(q)["event_action"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    };
    daemon
        .until("the trigger retried and a reminder", SOON * 2, || {
            (actions(&pd).iter().filter(|a| *a == "trigger").count() >= 3).then_some(())
        })
        .await;
    let _healthy = FaultServer::start_on(port, Behavior::Healthy).await;
    daemon
        .until("the resolve", SOON * 2, || {
            actions(&pd).contains(&"resolve".to_string()).then_some(())
        })
        .await;
    let keys: Vec<Value> = pd
        .requests()
        .iter()
        .map(|q| json(q)["dedup_key"].clone())
        .collect();
    assert!(
        keys.iter().all(|k| *k == keys[0] && k.is_string()),
        "{keys:?}"
    );

    daemon
        .until("the Opsgenie close", SOON, || {
            og.requests()
                .iter()
                .any(|q| q.path.contains("/close"))
                .then_some(())
        })
        .await;
    let requests = og.requests();
    let alias = json(&requests[0])["alias"].as_str().unwrap().to_string();
    assert_eq!(alias, keys[0].as_str().unwrap());
    let creates: Vec<&Request> = requests
        .iter()
        .filter(|q| q.path == "/eu/v2/alerts")
        .collect();
    assert!(creates.len() >= 2, "a DOWN and a REMINDER: {requests:?}");
    assert!(creates.iter().all(|q| json(q)["alias"] == alias.as_str()));
    let close = requests.iter().find(|q| q.path.contains("/close")).unwrap();
    assert_eq!(
        close.path,
        format!("/eu/v2/alerts/{alias}/close?identifierType=alias")
    );
    assert_eq!(
        close.header("authorization"),
        Some(format!("GenieKey {GENIE_KEY}").as_str())
    );
}

#[tokio::test]
async fn a_receiver_echoing_the_key_back_does_not_get_it_into_the_logs_or_the_outbox() {
    let port = refused_port().await;
    let echo = format!(
        "{{\"status\":\"invalid event\",\"errors\":[\"routing_key {ROUTING_KEY} unknown\"]}}"
    );
    let pd = Receiver::start(&[(400, echo.as_str())]).await;
    let scratch = Scratch::new();
    scratch.write_config(&format!(
        r#"{QUICK}
monitors:
  - {{ name: feed, url: "ws://{port}/ws", alert: [pd] }}
channels:
  pd: {{ type: pagerduty, routing_key: "${{PD_ROUTING_KEY}}", url: "{url}" }}
"#,
        url = pd.url("/")
    ));
    let mut daemon = Daemon::run(&scratch, &env());
    let failed = daemon
        .wait_log(
            "alert delivery failed; will retry",
            &[("channel", "pd")],
            SOON,
        )
        .await;
    let error = field(&failed, "error");
    assert!(
        error.contains("PagerDuty answered HTTP 400") && error.contains("[redacted]"),
        "{error}"
    );
    daemon.signal("TERM");
    daemon.wait_exit(SOON).await;
    let rows = outbox(&scratch.state());
    assert!(
        rows.iter().any(|r| r
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("[redacted]"))),
        "{rows:?}"
    );
    let logs = format!("{}{}", daemon.stdout(), daemon.stderr());
    for (what, text) in [("logs", logs), ("outbox", format!("{rows:?}"))] {
        assert!(!text.contains(ROUTING_KEY), "the key in the {what}");
    }
}

#[test]
fn a_key_written_in_the_file_is_refused_at_its_position_without_being_echoed() {
    let scratch = Scratch::new();
    let config = scratch.write_config(
        "monitors:\n  - { name: api, url: \"ws://127.0.0.1:1/ws\" }\nchannels:\n  pd:\n    type: pagerduty\n    routing_key: literal-key-1234\n  tg: { type: telegram, bot_token: \"${TELEGRAM_BOT_TOKEN}\", chat_id: \"not a chat\" }\n",
    );
    let out = wsprobe(
        &[
            OsStr::new("validate"),
            OsStr::new("--config"),
            config.as_os_str(),
        ],
        &scratch,
        &env(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(":6:")
            && stderr.contains("routing_key")
            && stderr.contains("must come from the environment"),
        "{stderr}"
    );
    assert!(!stderr.contains("literal-key-1234"), "{stderr}");
    assert!(
        stderr.contains(":7:") && stderr.contains("chat_id"),
        "{stderr}"
    );
}
