//! `wsprobe check` against hostile peers (issue 9): a server that floods
//! control frames and one that stops reading. Each fails as a typed class with
//! what the peer did as evidence, instead of growing the check's memory or
//! spending its whole timeout.

mod check_run;
mod support;

use std::time::Duration;

use check_run::{assert_mentions, check, num, text};
use support::{Behavior, FaultServer};
use wsprobe::check::failure::Awaited;
use wsprobe::check::{CheckError, CheckOptions, CheckSpec, Class, Phase, run_check};

#[tokio::test]
async fn a_ping_flood_while_waiting_for_our_pong_is_a_protocol_error_counting_the_pings() {
    let server = FaultServer::start(Behavior::PingFlood).await;
    let run = check(["--format", "json", "--timeout", "5s", &server.ws_url("/")]).await;

    let v = run.verdict(2, "protocol_error", Some("open"));
    assert_eq!(num(&v, "/evidence/limit_per_second"), 100.0, "{v:#}");
    assert_eq!(num(&v, "/evidence/frames"), 101.0, "{v:#}");
    assert!(num(&v, "/evidence/pings") >= 101.0, "{v:#}");
    assert!(num(&v, "/evidence/within_ms") < 1000.0, "{v:#}");
    assert_mentions(
        &v,
        "/message",
        &["control-frame flood", "101 control frames"],
    );
    assert_mentions(&v, "/hint", &["pings or pongs in a loop"]);
}

#[tokio::test]
async fn a_ping_flood_during_the_closing_handshake_is_caught_in_the_close_phase() {
    let server = FaultServer::start(Behavior::PingFlood).await;
    // No ping of ours: the first read is the wait for the server's Close.
    let run = check([
        "--format",
        "json",
        "--timeout",
        "5s",
        "--no-ping",
        &server.ws_url("/"),
    ])
    .await;

    let v = run.verdict(2, "protocol_error", Some("close"));
    assert_eq!(text(&v, "/evidence/phase"), "close", "{v:#}");
    assert_eq!(num(&v, "/evidence/frames"), 101.0, "{v:#}");
}

#[tokio::test]
async fn a_server_that_stops_reading_is_a_timeout_saying_how_much_could_not_be_written() {
    let server = FaultServer::start(Behavior::NeverReads).await;
    // Larger than the loopback socket buffers of both ends together, so the
    // write cannot complete while the server reads nothing.
    let message = "x".repeat(32 << 20);
    let opts = CheckOptions {
        timeout: Duration::from_secs(2),
        ping: false,
        steps: vec![wsprobe::check::steps::Step::send_text(message)],
        ..CheckOptions::default()
    };
    let spec = CheckSpec::build(&server.ws_url("/"), &opts).unwrap();
    let report = run_check(&spec).await;

    let attempt = report.decisive();
    assert_eq!(attempt.class, Class::Timeout, "{attempt:#?}");
    let Some(CheckError::Timeout {
        phase,
        awaited,
        bytes_sent,
        detail,
        ..
    }) = &attempt.error
    else {
        panic!("expected a timeout: {attempt:#?}");
    };
    assert_eq!(*phase, Phase::Open);
    assert_eq!(*awaited, Awaited::FrameWritten);
    let detail = detail.as_deref().unwrap_or_default();
    assert!(detail.contains("the server stopped reading"), "{detail}");
    assert!(
        detail.contains(&format!("of about {} bytes", (32 << 20) + 14)),
        "{detail}"
    );
    assert!(*bytes_sent < 32 << 20, "{attempt:#?}");
    let hint = attempt.hint.as_deref().unwrap_or_default();
    assert!(hint.contains("stopped reading"), "{hint}");
}
