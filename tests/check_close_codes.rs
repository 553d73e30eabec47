//! `wsprobe check` against servers that close the session themselves: each
//! close code gets the hint of its category with the code, its category and
//! its registered name in the evidence, and a Close frame that breaks the
//! rules (a reason that is not UTF-8, a code that must not be sent) is
//! reported as what it is (issue 10).

mod check_run;
mod support;

use std::time::Duration;

use check_run::{assert_mentions, check, flag, num, text};
use support::{Behavior, FaultServer};

/// Long enough for the server to finish a closing handshake it already began.
const RECORD_WAIT: Duration = Duration::from_secs(5);

/// A check holding the connection open while the server closes it with `code`.
async fn closed_with(code: u16) -> serde_json::Value {
    let server = FaultServer::start(Behavior::CloseFrameAfter {
        after: Duration::from_millis(100),
        code,
    })
    .await;
    let run = check([
        "--format",
        "json",
        "--timeout",
        "2s",
        "--hold",
        "2s",
        &server.ws_url("/"),
    ])
    .await;
    let v = run.verdict(2, "early_fin", Some("open"));
    assert_eq!(num(&v, "/close/code"), f64::from(code));
    assert_eq!(text(&v, "/close/initiated_by"), "server");
    assert!(flag(&v, "/evidence/while_held"), "{v:#}");
    // wsprobe answered the server's Close, so the server saw a proper close.
    let rec = &server.wait_records(1, RECORD_WAIT).await[0];
    assert!(rec.clean_close && rec.client_error.is_none(), "{rec:?}");
    v
}

#[tokio::test]
async fn every_registered_code_the_issue_names_gets_its_own_hint_and_name() {
    let table = [
        (1001, "going_away", "Going Away", "deploy, restart"),
        (
            1008,
            "policy_violation",
            "Policy Violation",
            "authentication, origin",
        ),
        (
            1011,
            "internal_error",
            "Internal Error",
            "internal error (1011)",
        ),
        (
            1012,
            "service_restart",
            "Service Restart",
            "restarting (1012)",
        ),
        (
            1013,
            "try_again_later",
            "Try Again Later",
            "try again later (1013)",
        ),
    ];
    for (code, category, name, hint) in table {
        let v = closed_with(code).await;
        assert_eq!(num(&v, "/evidence/close_frame/code"), f64::from(code));
        assert_eq!(text(&v, "/evidence/close_frame/category"), category);
        assert_eq!(text(&v, "/evidence/close_frame/name"), name);
        assert_mentions(&v, "/hint", &[hint]);
    }
}

#[tokio::test]
async fn an_application_code_is_shown_as_application_defined_without_a_name() {
    let v = closed_with(4001).await;
    assert_eq!(num(&v, "/evidence/close_frame/code"), 4001.0);
    assert_eq!(text(&v, "/evidence/close_frame/category"), "application");
    assert!(v["evidence"]["close_frame"]["name"].is_null(), "{v:#}");
    assert_mentions(&v, "/hint", &["application-defined code 4001"]);
}

/// A check against a server that sends a hand-made Close at once; the
/// verdict must be `class` in the open phase.
async fn raw_close(code: u16, reason: &[u8], class: &str) -> serde_json::Value {
    let server = FaultServer::start(Behavior::RawClose {
        code,
        reason: reason.to_vec(),
    })
    .await;
    let run = check(["--format", "json", "--timeout", "2s", &server.ws_url("/")]).await;
    run.verdict(2, class, Some("open"))
}

#[tokio::test]
async fn a_close_reason_that_is_not_utf8_is_its_own_rule_not_a_text_frame() {
    let v = raw_close(1000, b"bye \xff\xfe", "protocol_error").await;
    assert_eq!(text(&v, "/evidence/rule"), "invalid_close_reason");
    assert_eq!(num(&v, "/evidence/code"), 1000.0);
    assert_eq!(text(&v, "/evidence/reason_bytes"), "bye \\xff\\xfe");
    assert_mentions(&v, "/message", &["Close reason is not valid UTF-8"]);
    assert!(!text(&v, "/message").contains("text frame"), "{v:#}");
    assert_mentions(&v, "/hint", &["reason that is not UTF-8"]);
}

#[tokio::test]
async fn a_code_that_must_not_be_sent_is_reported_as_sent_not_as_tungstenites_1002() {
    let v = raw_close(1006, b"", "early_fin").await;
    assert_eq!(num(&v, "/evidence/close_frame/code"), 1006.0);
    assert_eq!(
        text(&v, "/evidence/close_frame/category"),
        "must_not_be_sent"
    );
    assert_eq!(text(&v, "/evidence/close_frame/name"), "Abnormal Closure");
    assert_mentions(&v, "/hint", &["code 1006", "forbids in a Close frame"]);
}
