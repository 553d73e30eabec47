//! Protocol presets end to end through the real binary. SignalR: against a
//! hub written from the spec (tests/support/signalr_hub.rs), since no real
//! SignalR server installs here.

mod check_run;
mod support;

use check_run::{check, text};
use support::signalr_hub::{self, Hub};

#[tokio::test]
async fn a_signalr_hub_that_accepts_the_json_protocol_passes_with_a_clean_close() {
    let addr = signalr_hub::start(Hub::Json).await;
    let run = check([
        "--format",
        "json",
        "--protocol",
        "signalr",
        &format!("ws://{addr}/chat"),
    ])
    .await;
    let v = run.verdict(0, "ok", None);
    let steps = v["timings"]["steps"].as_array().unwrap();
    assert_eq!(
        text(&steps[1], "/description"),
        r"signalr handshake response: expect /^\{\}\x1e/"
    );
    assert_eq!(steps.len(), 3, "{v:#}");
    assert_eq!(v["close"]["clean"], true, "{v:#}");
}

#[tokio::test]
async fn a_signalr_hub_refusing_the_handshake_fails_naming_the_step_and_its_error() {
    let addr = signalr_hub::start(Hub::MessagePackOnly).await;
    let run = check([
        "--format",
        "json",
        "--protocol",
        "signalr",
        &format!("ws://{addr}/chat"),
    ])
    .await;
    let v = run.verdict(2, "unexpected_message", Some("open"));
    assert!(
        text(&v, "/message").starts_with("step 2 (signalr handshake response: "),
        "{v:#}"
    );
    assert!(
        text(&v, "/evidence/received").contains("Requested protocol 'json' is not available."),
        "{v:#}"
    );
}

#[tokio::test]
async fn an_unknown_protocol_is_a_usage_error_listing_the_presets() {
    let run = check(["--protocol", "socket.io", "ws://127.0.0.1:9/"]).await;
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr.contains("--protocol") && run.stderr.contains("one of: signalr"),
        "{run}"
    );
}

#[tokio::test]
async fn the_text_report_of_a_refused_signalr_handshake_shows_the_hubs_error() {
    let addr = signalr_hub::start(Hub::MessagePackOnly).await;
    let url = format!("ws://{addr}/chat");
    let ok = check([
        "--protocol",
        "signalr",
        &format!("ws://{}/chat", signalr_hub::start(Hub::Json).await),
    ])
    .await;
    println!("{}", ok.stdout);
    assert!(ok.stdout.starts_with("OK ws://"), "{ok}");
    let run = check(["--protocol", "signalr", &url]).await;
    println!("{}", run.stdout);
    assert!(
        run.stdout.contains(r#"what:     step 2 (signalr handshake response: expect /^\{\}\x1e/): received "{\"error\":"#),
        "{run}"
    );
}
