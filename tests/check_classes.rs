//! `wsprobe check` against the fault server: every failure class and phase of
//! plain ws://, each with the evidence an engineer needs (issue 3).
//!
//! Every test drives the real binary with `--format json` and asserts the exit
//! code, the class, the phase and the key evidence, and where the server can
//! tell, what the server saw of the client.

mod check_run;
mod support;

use std::time::Duration;

use check_run::{assert_mentions, check, flag, num, text};
use support::{Behavior, FaultServer, backlog, refused_port};

/// Long enough for the server to finish a closing handshake it already began.
const RECORD_WAIT: Duration = Duration::from_secs(5);

/// The limit that ran out: the step's own budget, or slightly less when the
/// attempt's overall budget had already been dented by earlier phases.
fn assert_limit(v: &serde_json::Value, budget_ms: f64) {
    let limit = num(v, "/evidence/limit_ms");
    assert!(
        (budget_ms - 50.0..=budget_ms).contains(&limit),
        "limit_ms {limit}, expected about {budget_ms}"
    );
}

#[tokio::test]
async fn a_healthy_server_passes_with_a_clean_close_and_every_phase_timed() {
    let server = FaultServer::start(Behavior::Healthy).await;
    let run = check(["--format", "json", "--timeout", "5s", &server.ws_url("/ok")]).await;

    let v = run.verdict(0, "ok", None);
    assert_eq!(text(&v, "/status"), "ok");
    assert!(flag(&v, "/ok"));
    assert!(flag(&v, "/close/clean"), "{v:#}");
    assert_eq!(num(&v, "/close/code"), 1000.0);
    assert_eq!(text(&v, "/close/initiated_by"), "client");
    assert_eq!(text(&v, "/close/peer_end"), "fin");
    for phase in ["connect_ms", "upgrade_ms", "open_ms", "close_ms"] {
        assert!(num(&v, &format!("/timings/{phase}")) >= 0.0);
    }
    // An IP literal needs no lookup.
    assert!(v["timings"]["dns_ms"].is_null(), "{v:#}");
    assert!(v["evidence"].is_null() && v["hint"].is_null(), "{v:#}");

    let records = server.wait_records(1, RECORD_WAIT).await;
    assert_eq!(records.len(), 1, "{records:?}");
    let rec = &records[0];
    assert!(
        rec.request_head.starts_with("GET /ok HTTP/1.1\r\n"),
        "{rec:?}"
    );
    assert_eq!(rec.pings_received, 1, "{rec:?}");
    assert_eq!(rec.close_code_received, Some(1000), "{rec:?}");
    assert!(rec.clean_close && rec.client_error.is_none(), "{rec:?}");
}

#[tokio::test]
async fn a_refused_port_is_a_connect_error_naming_the_address_and_errno() {
    let addr = refused_port().await;
    let run = check([
        "--format",
        "json",
        "--timeout",
        "2s",
        &format!("ws://{addr}/"),
    ])
    .await;

    let v = run.verdict(2, "connect_error", Some("connect"));
    assert_eq!(text(&v, "/status"), "critical");
    assert_eq!(text(&v, "/evidence/failures/0/errno"), "ECONNREFUSED");
    assert_eq!(text(&v, "/evidence/failures/0/addr"), addr.to_string());
    assert_eq!(text(&v, "/address"), addr.to_string());
    assert_mentions(&v, "/hint", &["Nothing accepts connections"]);
}

#[tokio::test]
async fn a_full_listen_backlog_is_a_connect_timeout_not_a_refusal() {
    let (addr, _guard) = backlog::full_listener().await;
    let run = check([
        "--format",
        "json",
        "--timeout",
        "5s",
        "--connect-timeout",
        "500ms",
        &format!("ws://{addr}/"),
    ])
    .await;

    let v = run.verdict(2, "timeout", Some("connect"));
    assert_limit(&v, 500.0);
    assert_eq!(text(&v, "/evidence/awaited/kind"), "tcp_connect");
    assert_mentions(&v, "/evidence/detail", &[&addr.to_string(), "timeout"]);
    assert_mentions(&v, "/hint", &["SYN went unanswered", "backlog"]);
    assert!(
        run.elapsed < Duration::from_secs(4),
        "the connect timeout, not --timeout, should bound this:\n{run}"
    );
}

#[tokio::test]
async fn an_unresolvable_name_is_a_dns_error() {
    let run = check([
        "--format",
        "json",
        "--timeout",
        "5s",
        "ws://wsprobe-check.invalid:9/",
    ])
    .await;

    let v = run.verdict(2, "dns_error", Some("dns"));
    assert_eq!(text(&v, "/evidence/host"), "wsprobe-check.invalid");
    assert!(!text(&v, "/evidence/reason").is_empty());
    assert!(num(&v, "/timings/dns_ms") >= 0.0);
    assert!(v["timings"]["connect_ms"].is_null(), "{v:#}");
    assert_mentions(&v, "/hint", &["does not resolve"]);
}

#[tokio::test]
async fn a_server_silent_after_the_request_times_out_in_upgrade_and_is_no_backlog_problem() {
    let server = FaultServer::start(Behavior::SilentAfterRequest).await;
    let run = check(["--format", "json", "--timeout", "1s", &server.ws_url("/")]).await;

    let v = run.verdict(2, "timeout", Some("upgrade"));
    assert!(num(&v, "/bytes_sent") > 0.0, "{v:#}");
    assert_eq!(num(&v, "/bytes_received"), 0.0);
    assert_eq!(num(&v, "/evidence/bytes_sent"), num(&v, "/bytes_sent"));
    assert_eq!(num(&v, "/evidence/bytes_received"), 0.0);
    assert_limit(&v, 1000.0);
    assert_eq!(text(&v, "/evidence/awaited/kind"), "response_head");
    assert_mentions(&v, "/message", &["took longer than 1 s"]);
    assert_mentions(&v, "/hint", &["not a kernel backlog"]);
    // The request really reached the server.
    assert!(
        server.records()[0]
            .request_head
            .starts_with("GET / HTTP/1.1")
    );
}

#[tokio::test]
async fn a_slow_101_within_the_timeout_passes_and_the_upgrade_time_shows_the_delay() {
    let server = FaultServer::start(Behavior::Slow101(Duration::from_millis(400))).await;
    let run = check(["--format", "json", "--timeout", "5s", &server.ws_url("/")]).await;

    let v = run.verdict(0, "ok", None);
    let upgrade_ms = num(&v, "/timings/upgrade_ms");
    assert!(upgrade_ms >= 400.0, "upgrade took {upgrade_ms} ms:\n{run}");
    assert!(flag(&v, "/close/clean"));
}

#[tokio::test]
async fn a_slow_101_beyond_the_timeout_is_an_upgrade_timeout() {
    let server = FaultServer::start(Behavior::Slow101(Duration::from_secs(3))).await;
    let run = check(["--format", "json", "--timeout", "1s", &server.ws_url("/")]).await;

    let v = run.verdict(2, "timeout", Some("upgrade"));
    assert_limit(&v, 1000.0);
    assert_eq!(num(&v, "/bytes_received"), 0.0);
    assert!(run.elapsed < Duration::from_millis(2800), "{run}");
}

#[tokio::test]
async fn a_fin_right_after_the_101_is_an_early_fin_pointing_at_proxy_http_version() {
    let server = FaultServer::start(Behavior::FinAfter101).await;
    let run = check(["--format", "json", "--timeout", "2s", &server.ws_url("/")]).await;

    let v = run.verdict(2, "early_fin", Some("open"));
    assert_eq!(text(&v, "/evidence/peer_end"), "fin");
    assert!(v["evidence"]["close_frame"].is_null(), "{v:#}");
    assert!(!flag(&v, "/evidence/while_held"));
    let after = num(&v, "/evidence/ms_after_101");
    assert!(after < 500.0, "closed {after} ms after the 101");
    assert_eq!(text(&v, "/close/peer_end"), "fin");
    assert!(!flag(&v, "/close/clean"));
    assert_mentions(&v, "/hint", &["proxy_http_version"]);
}

#[tokio::test]
async fn a_reset_right_after_the_101_is_an_early_fin_by_rst() {
    let server = FaultServer::start(Behavior::RstAfter101).await;
    let run = check(["--format", "json", "--timeout", "2s", &server.ws_url("/")]).await;

    let v = run.verdict(2, "early_fin", Some("open"));
    assert_eq!(text(&v, "/evidence/peer_end"), "rst");
    assert!(num(&v, "/evidence/ms_after_101") < 500.0, "{v:#}");
    assert_mentions(&v, "/hint", &["reset the connection right after the 101"]);
}

/// One "something other than 101 answered" case.
struct Non101 {
    behavior: Behavior,
    version: &'static str,
    status: u16,
    reason: &'static str,
    body: &'static str,
    hint_words: &'static [&'static str],
}

#[tokio::test]
async fn every_non_101_answer_is_missing_101_with_the_whole_response_as_evidence() {
    let http10_body = "<html>hello from an old proxy</html>";
    let cases = [
        Non101 {
            behavior: Behavior::http(504, "Gateway Time-out", "<h1>504 Gateway Time-out</h1>"),
            version: "HTTP/1.1",
            status: 504,
            reason: "Gateway Time-out",
            body: "<h1>504 Gateway Time-out</h1>",
            hint_words: &["no answer from the upstream", "HTTP/1.0"],
        },
        Non101 {
            behavior: Behavior::http(502, "Bad Gateway", "<h1>502 Bad Gateway</h1>"),
            version: "HTTP/1.1",
            status: 502,
            reason: "Bad Gateway",
            body: "<h1>502 Bad Gateway</h1>",
            hint_words: &["could not reach the upstream"],
        },
        Non101 {
            behavior: Behavior::http(426, "Upgrade Required", "upgrade required"),
            version: "HTTP/1.1",
            status: 426,
            reason: "Upgrade Required",
            body: "upgrade required",
            hint_words: &["Upgrade and Connection headers", "proxy_http_version 1.1"],
        },
        Non101 {
            behavior: Behavior::http(200, "OK", "<html>a web page</html>"),
            version: "HTTP/1.1",
            status: 200,
            reason: "OK",
            body: "<html>a web page</html>",
            hint_words: &["plain HTTP handler"],
        },
        Non101 {
            behavior: Behavior::HttpResponse {
                version: "HTTP/1.0",
                status: 200,
                reason: "OK",
                headers: vec![
                    ("Content-Type".into(), "text/html".into()),
                    ("Content-Length".into(), http10_body.len().to_string()),
                ],
                body: http10_body.into(),
            },
            version: "HTTP/1.0",
            status: 200,
            reason: "OK",
            body: "<html>hello from an old proxy</html>",
            hint_words: &["came as HTTP/1.0", "cannot carry a WebSocket upgrade"],
        },
    ];
    // Concurrently: each case is independent and mostly waits.
    let runs = cases.iter().map(|case| async move {
        let server = FaultServer::start(case.behavior.clone()).await;
        let run = check(["--format", "json", "--timeout", "2s", &server.ws_url("/ws")]).await;
        (case, run)
    });
    for (case, run) in futures_util::future::join_all(runs).await {
        let label = format!("{} {}", case.version, case.status);
        let v = run.verdict(2, "missing_101", Some("upgrade"));
        assert_eq!(
            num(&v, "/response/status"),
            f64::from(case.status),
            "{label}"
        );
        assert_eq!(text(&v, "/response/version"), case.version, "{label}");
        assert_eq!(text(&v, "/response/reason"), case.reason, "{label}");
        assert_eq!(text(&v, "/response/body_snippet"), case.body, "{label}");
        let headers = v["response"]["headers"].as_array().expect("headers array");
        assert!(
            headers
                .iter()
                .any(|h| h[0] == "Content-Type" && h[1] == "text/html"),
            "{label}: {headers:?}"
        );
        assert_eq!(v["evidence"]["response"], v["response"], "{label}");
        assert_mentions(
            &v,
            "/message",
            &[&format!("{} {}", case.version, case.status)],
        );
        assert_mentions(&v, "/hint", case.hint_words);
    }
}

#[tokio::test]
async fn a_101_with_the_wrong_accept_key_is_a_protocol_error_naming_the_header() {
    let server = FaultServer::start(Behavior::BadAcceptKey).await;
    let run = check(["--format", "json", "--timeout", "2s", &server.ws_url("/")]).await;

    let v = run.verdict(2, "protocol_error", Some("upgrade"));
    assert_eq!(text(&v, "/evidence/rule"), "wrong_accept");
    assert!(!text(&v, "/evidence/received").is_empty(), "{v:#}");
    assert_mentions(&v, "/message", &["wrong Sec-WebSocket-Accept"]);
    assert_eq!(num(&v, "/response/status"), 101.0);
    assert_mentions(&v, "/hint", &["does not belong to this request"]);
}

#[tokio::test]
async fn a_101_without_the_upgrade_header_is_a_protocol_error_naming_the_header() {
    let server = FaultServer::start(Behavior::MissingUpgradeHeader).await;
    let run = check(["--format", "json", "--timeout", "2s", &server.ws_url("/")]).await;

    let v = run.verdict(2, "protocol_error", Some("upgrade"));
    assert_eq!(text(&v, "/evidence/rule"), "missing_upgrade");
    assert_mentions(&v, "/message", &["without an Upgrade header"]);
    assert_mentions(&v, "/hint", &["dropped Upgrade/Connection headers"]);
}

#[tokio::test]
async fn a_101_without_the_accept_key_is_an_unfinished_handshake_not_a_replayed_answer() {
    let server = FaultServer::start(Behavior::MissingAcceptKey).await;
    let run = check(["--format", "json", "--timeout", "2s", &server.ws_url("/")]).await;

    let v = run.verdict(2, "protocol_error", Some("upgrade"));
    assert_eq!(text(&v, "/evidence/rule"), "missing_accept");
    assert_mentions(&v, "/message", &["without Sec-WebSocket-Accept"]);
    assert_mentions(&v, "/hint", &["did not complete the WebSocket handshake"]);
    assert!(!text(&v, "/hint").contains("caching proxy"), "{v:#}");
}

#[tokio::test]
async fn an_expect_pattern_naming_pong_that_times_out_gets_the_expect_hint_not_the_ping_one() {
    let server = FaultServer::start(Behavior::Healthy).await;
    let run = check([
        "--format",
        "json",
        "--timeout",
        "1s",
        "--expect",
        "pong",
        &server.ws_url("/"),
    ])
    .await;

    let v = run.verdict(2, "timeout", Some("open"));
    // `--expect` is step 1 of the command line's script.
    assert_eq!(text(&v, "/evidence/awaited/kind"), "step_reply");
    assert_eq!(text(&v, "/evidence/awaited/description"), "expect /pong/");
    assert_mentions(&v, "/hint", &["--expect"]);
    assert!(!text(&v, "/hint").contains("ping"), "{v:#}");
}

#[tokio::test]
async fn an_unrequested_subprotocol_is_a_protocol_error_naming_it() {
    let server = FaultServer::start(Behavior::UnrequestedSubprotocol).await;
    let run = check(["--format", "json", "--timeout", "2s", &server.ws_url("/")]).await;

    let v = run.verdict(2, "protocol_error", Some("upgrade"));
    assert_eq!(text(&v, "/evidence/rule"), "unrequested_subprotocol");
    assert_eq!(text(&v, "/evidence/chosen"), "surprise");
    assert_mentions(&v, "/message", &["\"surprise\"", "none was requested"]);
    assert_mentions(&v, "/hint", &["did not offer"]);
}

#[tokio::test]
async fn non_http_bytes_are_a_protocol_error_showing_the_first_bytes() {
    let server = FaultServer::start(Behavior::Garbage).await;
    let run = check(["--format", "json", "--timeout", "2s", &server.ws_url("/")]).await;

    let v = run.verdict(2, "protocol_error", Some("upgrade"));
    assert_eq!(text(&v, "/evidence/rule"), "not_http");
    assert_mentions(&v, "/evidence/first_bytes", &["SSH-2.0"]);
    assert_mentions(&v, "/message", &["not an HTTP/1.x response"]);
    assert_mentions(&v, "/hint", &["other than an HTTP server"]);
}

#[tokio::test]
async fn a_huge_response_head_is_cut_off_at_the_size_limit_without_waiting() {
    let server = FaultServer::start(Behavior::HugeHeaders(100 * 1024)).await;
    let run = check(["--format", "json", "--timeout", "5s", &server.ws_url("/")]).await;

    let v = run.verdict(2, "protocol_error", Some("upgrade"));
    assert_eq!(text(&v, "/evidence/rule"), "head_too_large");
    assert_mentions(&v, "/message", &["exceeds 16 KiB"]);
    // Bounded reading: the client stopped near the limit, not at 100 KiB.
    let received = num(&v, "/bytes_received");
    assert!(received <= 20.0 * 1024.0, "read {received} bytes");
    assert!(run.elapsed < Duration::from_secs(3), "{run}");
}

#[tokio::test]
async fn a_server_that_never_answers_the_ping_times_out_in_open() {
    let server = FaultServer::start(Behavior::NoPong).await;
    let run = check(["--format", "json", "--timeout", "1s", &server.ws_url("/")]).await;

    let v = run.verdict(2, "timeout", Some("open"));
    assert_eq!(text(&v, "/evidence/awaited/kind"), "pong");
    assert_limit(&v, 1000.0);
    assert_mentions(&v, "/hint", &["did not answer our ping"]);
    assert_eq!(server.records()[0].pings_received, 1);
}

#[tokio::test]
async fn a_server_that_never_answers_our_close_times_out_in_close() {
    let server = FaultServer::start(Behavior::NoCloseReply).await;
    let run = check(["--format", "json", "--timeout", "1s", &server.ws_url("/")]).await;

    let v = run.verdict(2, "timeout", Some("close"));
    assert_eq!(text(&v, "/evidence/awaited/kind"), "close_reply");
    assert!(num(&v, "/timings/open_ms") >= 0.0);
    assert_mentions(
        &v,
        "/hint",
        &["did not answer our Close frame", "CLOSE_WAIT"],
    );
    let rec = &server.records()[0];
    assert_eq!(rec.close_code_received, Some(1000), "{rec:?}");
}

#[tokio::test]
async fn an_idle_cut_while_holding_is_an_early_fin_with_the_idle_time() {
    let server = FaultServer::start(Behavior::IdleCut(Duration::from_millis(500))).await;
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
    assert!(flag(&v, "/evidence/while_held"), "{v:#}");
    assert_eq!(text(&v, "/evidence/peer_end"), "fin");
    let idle = num(&v, "/evidence/idle_ms");
    assert!((400.0..1200.0).contains(&idle), "idle for {idle} ms");
    assert_mentions(&v, "/hint", &["without traffic", "--ping-every"]);
    // Cut after half a second, not at the end of the hold.
    assert!(run.elapsed < Duration::from_millis(1900), "{run}");
}

#[tokio::test]
async fn pinging_while_holding_keeps_an_idle_cutting_server_open() {
    let server = FaultServer::start(Behavior::IdleCut(Duration::from_millis(500))).await;
    let run = check([
        "--format",
        "json",
        "--timeout",
        "2s",
        "--hold",
        "2s",
        "--ping-every",
        "200ms",
        &server.ws_url("/"),
    ])
    .await;

    let v = run.verdict(0, "ok", None);
    assert!(flag(&v, "/close/clean"), "{v:#}");
    assert!(num(&v, "/timings/open_ms") >= 2000.0, "{v:#}");
    let rec = &server.wait_records(1, RECORD_WAIT).await[0];
    assert!(rec.pings_received >= 5, "{rec:?}");
    assert!(rec.clean_close, "{rec:?}");
}

#[tokio::test]
async fn a_reply_matching_expect_passes() {
    let server = FaultServer::start(Behavior::Healthy).await;
    let run = check([
        "--format",
        "json",
        "--timeout",
        "2s",
        "--send",
        "hello wsprobe",
        "--expect",
        "^hello",
        &server.ws_url("/"),
    ])
    .await;

    let v = run.verdict(0, "ok", None);
    let events = v["events"].as_array().expect("events");
    assert!(
        events.iter().any(|e| e["what"]
            .as_str()
            .is_some_and(|w| w.starts_with("step 2 (expect /^hello/) passed in "))),
        "{events:#?}"
    );
}

#[tokio::test]
async fn a_reply_not_matching_expect_is_an_unexpected_message_showing_it() {
    let server = FaultServer::start(Behavior::Reply("error: database down".into())).await;
    let run = check([
        "--format",
        "json",
        "--timeout",
        "2s",
        "--send",
        "status",
        "--expect",
        "^ok",
        &server.ws_url("/"),
    ])
    .await;

    let v = run.verdict(2, "unexpected_message", Some("open"));
    assert_eq!(text(&v, "/evidence/received"), "error: database down");
    assert_eq!(text(&v, "/evidence/expected"), "/^ok/");
    assert_eq!(v["evidence"]["step"]["number"], 2);
    assert_mentions(&v, "/message", &["error: database down"]);
}

/// A check whose `--send` the server answers with an oversized message, so it
/// arrives while wsprobe waits for the reply.
async fn check_oversized(server: &FaultServer, extra: &[&str]) -> check_run::Run {
    let mut args = vec!["--format", "json", "--timeout", "2s", "--no-ping"];
    args.extend_from_slice(extra);
    let url = server.ws_url("/");
    args.extend(["--send", "bulk please", "--expect", ".", &url]);
    check(args).await
}

#[tokio::test]
async fn a_message_over_the_size_limit_is_a_protocol_error_naming_the_limit() {
    let server = FaultServer::start(Behavior::OversizedMessage(2 << 20)).await;
    let run = check_oversized(&server, &[]).await;

    let v = run.verdict(2, "protocol_error", Some("open"));
    assert_mentions(&v, "/evidence/what", &["1048576 byte limit"]);
    assert_mentions(&v, "/hint", &["larger than wsprobe accepts (1 MiB"]);
    // Refused on the frame header, not after buffering 2 MiB.
    assert!(num(&v, "/bytes_received") < f64::from(2u32 << 20), "{v:#}");
}

#[tokio::test]
async fn the_size_limit_in_the_hint_is_the_one_given_with_max_message_bytes() {
    let server = FaultServer::start(Behavior::OversizedMessage(64 * 1024)).await;
    let run = check_oversized(&server, &["--max-message-bytes", "3000"]).await;

    let v = run.verdict(2, "protocol_error", Some("open"));
    assert_eq!(num(&v, "/evidence/limit_bytes"), 3000.0, "{v:#}");
    assert_mentions(&v, "/evidence/what", &["3000 byte limit"]);
    assert_mentions(&v, "/hint", &["larger than wsprobe accepts (3000 bytes"]);
    assert!(!text(&v, "/hint").contains("MiB"), "{v:#}");
}
