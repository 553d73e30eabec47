//! Scripted conversations end to end, through the real binary against the
//! fault server: sends and expectations in command-line order, a JSON value
//! captured and sent back, binary prefixes, `expect_close`, and the evidence
//! a failed step leaves (its number, description and the last messages).

mod check_run;
mod support;

use std::time::Duration;

use check_run::{check, text};
use std::path::Path;
use support::{Behavior, FaultServer};
use wsprobe::check::{CheckError, CheckReport, Class, run_check};
use wsprobe::config;

#[tokio::test]
async fn a_value_captured_by_a_named_group_flows_into_the_next_send() {
    // The healthy server echoes: the last reply shows what was sent.
    let server = FaultServer::start(Behavior::Healthy).await;
    let run = check([
        "--format",
        "json",
        "--send",
        "session=s-4711",
        "--expect",
        "session=(?P<sid>[a-z0-9-]+)",
        "--send",
        "resume ${sid}",
        "--expect",
        "^resume s-4711$",
        &server.ws_url("/"),
    ])
    .await;
    let v = run.verdict(0, "ok", None);
    let steps = v["timings"]["steps"].as_array().unwrap();
    assert_eq!(
        text(&steps[2], "/description"),
        "send text (7 bytes and 1 captured values)"
    );
    assert!(steps.iter().all(|s| s["ms"].as_f64().is_some()), "{v:#}");
    assert_eq!(v["close"]["clean"], true, "{v:#}");
}

#[tokio::test]
async fn an_expectation_given_before_its_send_fails_because_the_order_is_kept() {
    let server = FaultServer::start(Behavior::Healthy).await;
    let run = check([
        "--format",
        "json",
        "--timeout",
        "1s",
        "--expect",
        "^pong$",
        "--send",
        "pong",
        &server.ws_url("/"),
    ])
    .await;
    let v = run.verdict(2, "timeout", Some("open"));
    assert_eq!(text(&v, "/evidence/awaited/kind"), "step_reply");
    assert_eq!(v["evidence"]["awaited"]["number"], 1);
    assert!(
        text(&v, "/message").contains("step 1 (expect /^pong$/)"),
        "{v:#}"
    );
}

#[tokio::test]
async fn a_failed_step_names_its_number_and_shows_the_last_messages() {
    let server = FaultServer::start(Behavior::Healthy).await;
    let run = check([
        "--format",
        "json",
        "--send",
        "first",
        "--expect",
        "first",
        "--send",
        r#"{"type":"error","code":42}"#,
        "--expect",
        r#"json:$.type == "pong""#,
        &server.ws_url("/"),
    ])
    .await;
    let v = run.verdict(2, "unexpected_message", Some("open"));
    assert_eq!(v["evidence"]["step"]["number"], 4, "{v:#}");
    assert_eq!(text(&v, "/evidence/expected"), r#"$.type == "pong""#);
    let recent: Vec<&str> = v["evidence"]["recent"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m.as_str())
        .collect();
    assert_eq!(recent, ["first", r#"{"type":"error","code":42}"#]);
    assert!(
        text(&v, "/message").starts_with(r#"step 4 (expect $.type == "pong"): received "{"#),
        "{v:#}"
    );
}

#[tokio::test]
async fn binary_sends_are_matched_by_their_prefix() {
    let server = FaultServer::start(Behavior::Healthy).await;
    let url = server.ws_url("/");
    let ok = check([
        "--format",
        "json",
        "--send",
        "hex:cafe0001",
        "--expect",
        "prefix:base64:yv4=",
        &url,
    ])
    .await;
    ok.verdict(0, "ok", None);
    let bad = check([
        "--format",
        "json",
        "--send",
        "base64:AAE=",
        "--expect",
        "prefix:hex:cafe",
        &url,
    ])
    .await;
    let v = bad.verdict(2, "unexpected_message", Some("open"));
    assert_eq!(text(&v, "/evidence/expected"), "binary starting with cafe");
}

#[tokio::test]
async fn a_bad_script_word_is_a_usage_error_naming_the_flag() {
    for (flag, value, words) in [
        ("--expect", "(unclosed", "unclosed group"),
        ("--send", "hex:zz", "invalid hex"),
        ("--send", "${nope}", "names no capture"),
        ("--expect", "json:$.a = 1", "at character 5"),
    ] {
        let run = check([flag, value, "ws://127.0.0.1:9/"]).await;
        assert_eq!(run.code, 3, "{run}");
        assert!(
            run.stderr.contains(flag) && run.stderr.contains(words),
            "{run}"
        );
    }
}

/// The script of a monitor loaded from YAML, run against the fixture: the
/// config path from `steps:` to a spec, then the engine.
async fn run_config(yaml: &str, env: &dyn Fn(&str) -> Option<String>) -> CheckReport {
    let config = config::load_str(yaml, Path::new("monitors.yaml"), env)
        .unwrap_or_else(|e| panic!("did not load:\n{e}\n{yaml}"));
    run_check(&config.monitors[0].spec).await
}

fn no_env(_: &str) -> Option<String> {
    None
}

#[tokio::test]
async fn expect_close_passes_on_the_code_it_names_and_fails_on_another() {
    let server = FaultServer::start(Behavior::CloseFrameAfter {
        after: Duration::from_millis(50),
        code: 4000,
    })
    .await;
    let url = server.ws_url("/");
    let yaml = |code: u16| {
        format!(
            "monitors:\n  - name: closer\n    url: {url}\n    ping: false\n    steps:\n      - expect_close: {code}\n        within: 2s\n"
        )
    };
    let passed = run_config(&yaml(4000), &no_env).await;
    let attempt = passed.decisive();
    assert_eq!(attempt.class, Class::Ok, "{attempt:#?}");
    let close = attempt.close.as_ref().unwrap();
    assert_eq!(close.server_frame.as_ref().and_then(|f| f.code), Some(4000));
    assert!(close.clean, "{close:?}");

    let failed = run_config(&yaml(1000), &no_env).await;
    let attempt = failed.decisive();
    assert_eq!(attempt.class, Class::UnexpectedMessage, "{attempt:#?}");
    let Some(CheckError::UnexpectedMessage {
        expected, received, ..
    }) = &attempt.error
    else {
        panic!("{attempt:#?}");
    };
    assert_eq!(expected, "a Close frame with code 1000");
    assert!(received.starts_with("Close 4000"), "{received}");
}

#[tokio::test]
async fn config_captures_by_json_path_and_group_number_and_keeps_env_values_apart() {
    let server = FaultServer::start(Behavior::Healthy).await;
    let yaml = format!(
        r#"monitors:
  - name: script
    url: {url}
    steps:
      - send: 'json:{{"type":"login","token":"${{LOGIN_TOKEN}}","sub":"sub-9"}}'
      - expect: 'json:$.type == "login" && $.token exists'
        capture: {{ sub: $.sub }}
      - send: 'id=${{sub}} n=17'
      - expect: 'n=(\d+)'
        capture: {{ n: 1 }}
        within: 2s
      - wait: 50ms
      - send: 'count ${{n}} for ${{sub}}'
      - expect: '^count 17 for sub-9$'
"#,
        url = server.ws_url("/")
    );
    let env = |name: &str| (name == "LOGIN_TOKEN").then(|| "tok-secret".to_string());
    let report = run_config(&yaml, &env).await;
    let attempt = report.decisive();
    assert_eq!(attempt.class, Class::Ok, "{attempt:#?}");
    assert_eq!(attempt.timings.steps.len(), 7);
    assert!(
        attempt
            .events
            .iter()
            .any(|e| e.what.starts_with("step 5 (wait 50ms) passed"))
    );
}

#[tokio::test]
async fn a_secret_echoed_back_in_a_failed_steps_evidence_is_scrubbed() {
    let server = FaultServer::start(Behavior::Healthy).await;
    let yaml = format!(
        "monitors:\n  - name: leak\n    url: {}\n    steps:\n      - send: 'token ${{LOGIN_TOKEN}}'\n      - expect: '^welcome$'\n",
        server.ws_url("/")
    );
    let env = |name: &str| (name == "LOGIN_TOKEN").then(|| "tok-secret".to_string());
    let report = run_config(&yaml, &env).await;
    let json = serde_json::to_string(&report).unwrap();
    assert_eq!(report.decisive().class, Class::UnexpectedMessage);
    assert!(!json.contains("tok-secret"), "{json}");
}

#[tokio::test]
async fn a_greeting_sent_before_the_pong_is_still_there_for_the_first_expect() {
    // The server writes its greeting before it reads the check's ping, so
    // the greeting arrives while the check awaits its pong.
    let server = FaultServer::start(Behavior::Greeting("hello from the server".into())).await;
    let run = check([
        "--format",
        "json",
        "--expect",
        "^hello from the server$",
        &server.ws_url("/"),
    ])
    .await;
    let v = run.verdict(0, "ok", None);
    assert_eq!(v["timings"]["steps"].as_array().unwrap().len(), 1, "{v:#}");
    assert_eq!(v["close"]["clean"], true, "{v:#}");
}
