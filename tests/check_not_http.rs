//! `wsprobe check` against servers that answer the upgrade in another
//! protocol (issue 10): each is a `protocol_error` in `upgrade` as soon as
//! the first bytes arrive, never a timeout, with those bytes escaped in the
//! evidence, the protocol named and a hint for it.

mod check_run;
mod support;

use std::time::Duration;

use check_run::{Run, assert_mentions, check, text};
use support::foreign::{self, Foreign};
use support::pki::{TestCa, Validity};
use support::{Behavior, FaultServer};

/// The check's timeout: far longer than recognising a banner may take, so a
/// check that waited for the blank line would be caught.
const TIMEOUT: Duration = Duration::from_secs(10);

async fn check_ws(server: &FaultServer) -> Run {
    let timeout = format!("{}s", TIMEOUT.as_secs());
    check([
        "--format",
        "json",
        "--timeout",
        &timeout,
        &server.ws_url("/ws"),
    ])
    .await
}

/// The verdict on a server speaking `protocol`: class, phase, rule, the
/// escaped first bytes and the protocol's name in evidence and message.
fn assert_not_http(run: &Run, first_bytes: &str, protocol: Option<&str>) -> serde_json::Value {
    let v = run.verdict(2, "protocol_error", Some("upgrade"));
    assert_eq!(text(&v, "/evidence/rule"), "not_http");
    assert_mentions(&v, "/evidence/first_bytes", &[first_bytes]);
    assert_eq!(
        v.pointer("/evidence/protocol").and_then(|p| p.as_str()),
        protocol,
        "{v:#}"
    );
    assert_mentions(&v, "/message", &["not an HTTP/1.x response"]);
    // Known from the first bytes: nowhere near the timeout.
    assert!(run.elapsed < TIMEOUT / 2, "{run}");
    v
}

async fn check_foreign(foreign: Foreign) -> Run {
    let server = FaultServer::start(Behavior::Foreign(foreign)).await;
    check_ws(&server).await
}

#[tokio::test]
async fn an_ssh_banner_followed_by_silence_fails_at_once_naming_ssh() {
    let run = check_foreign(foreign::SSH).await;
    let v = assert_not_http(
        &run,
        r"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n",
        Some("ssh"),
    );
    assert_mentions(&v, "/message", &["the server speaks SSH"]);
    assert_mentions(&v, "/hint", &["This port speaks SSH: wrong port?"]);
}

#[tokio::test]
async fn an_smtp_greeting_names_smtp() {
    let run = check_foreign(foreign::SMTP).await;
    let v = assert_not_http(&run, r"220 mx.example.com ESMTP Postfix", Some("smtp"));
    assert_mentions(&v, "/hint", &["This port speaks SMTP: wrong port?"]);
}

#[tokio::test]
async fn a_tls_alert_to_the_plaintext_request_says_to_use_wss() {
    let run = check_foreign(foreign::TLS_ALERT).await;
    let v = assert_not_http(&run, r"\x15\x03\x03\x00\x02\x02F", Some("tls"));
    assert_eq!(
        v.pointer("/evidence/over_tls"),
        Some(&false.into()),
        "{v:#}"
    );
    assert_mentions(&v, "/hint", &["expects TLS: use wss://"]);
}

#[tokio::test]
async fn an_http2_settings_frame_says_the_port_speaks_only_http2() {
    let run = check_foreign(foreign::H2_SETTINGS).await;
    let v = assert_not_http(
        &run,
        r"\x00\x00\x0c\x04\x00\x00\x00\x00\x00\x00\x03",
        Some("http2"),
    );
    assert_mentions(&v, "/hint", &["only HTTP/2", "HTTP/1.1"]);
}

#[tokio::test]
async fn binary_garbage_shows_its_bytes_escaped_and_names_no_protocol() {
    let server = FaultServer::start(Behavior::Garbage).await;
    let run = check_ws(&server).await;
    let v = assert_not_http(&run, r"\x00\xff SSH-2.0-nope\r\n", None);
    assert_mentions(
        &v,
        "/hint",
        &["Something other than an HTTP server answered"],
    );
}

#[tokio::test]
async fn a_real_tls_server_reached_with_ws_is_recognised_as_tls() {
    // rustls' own answer to a plaintext request, not a canned one.
    let ca = TestCa::new("wsprobe not-http test CA");
    let server = FaultServer::start_tls(
        Behavior::Healthy,
        ca.server(&["127.0.0.1"], Validity::Current),
    )
    .await;
    let run = check_ws(&server).await;
    let v = assert_not_http(&run, r"\x15\x03", Some("tls"));
    assert_mentions(&v, "/hint", &["use wss://"]);
}

#[tokio::test]
async fn a_tls_record_inside_wss_blames_a_proxy_forwarding_plaintext_to_a_tls_port() {
    let host = "not-http.test";
    let ca = TestCa::new("wsprobe not-http test CA");
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_file = ca.write_ca_pem(dir.path());
    let server = FaultServer::start_tls(
        Behavior::Foreign(foreign::TLS_ALERT),
        ca.server(&[host], Validity::Current),
    )
    .await;
    let resolve = format!("{host}:{}:127.0.0.1", server.addr.port());
    let timeout = format!("{}s", TIMEOUT.as_secs());
    let ca_path = ca_file.display().to_string();
    let url = server.wss_url(host, "/ws");
    let run = check([
        "--format",
        "json",
        "--timeout",
        &timeout,
        "--resolve",
        &resolve,
        "--ca-file",
        &ca_path,
        &url,
    ])
    .await;
    let v = assert_not_http(&run, r"\x15\x03\x03\x00\x02\x02F", Some("tls"));
    assert_eq!(v.pointer("/evidence/over_tls"), Some(&true.into()), "{v:#}");
    assert_mentions(&v, "/hint", &["backend port that expects TLS"]);
}
