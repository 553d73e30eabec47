//! Protocol presets end to end through the real binary. SignalR: against a
//! hub written from the spec (tests/support/signalr_hub.rs), since no real
//! SignalR server installs here. Socket.IO: against python-socketio
//! (Debian's python3-socketio, `#[ignore]`d, run by .ci/run).

mod check_run;
mod support;
mod support_interop;

use check_run::{Run, check, text};
use support::signalr_hub::{self, Hub};
use support_interop::python_socketio_server;
use tempfile::TempDir;

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
        run.stderr.contains("--protocol") && run.stderr.contains("one of: signalr, socketio"),
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

#[tokio::test]
#[ignore = "needs Debian packages: python3-socketio, python3-aiohttp (installed by .ci/run)"]
async fn a_socketio_server_admitting_the_namespace_passes_and_the_client_leaves_it() {
    let (_dir, server, run) = check_socketio_server("accept").await;
    let v = run.verdict(0, "ok", None);
    let steps = v["timings"]["steps"].as_array().unwrap();
    let described: Vec<&str> = steps.iter().map(|s| text(s, "/description")).collect();
    assert_eq!(
        described,
        [
            r#"socket.io OPEN: expect /^0\{.*"sid"/"#,
            "socket.io namespace CONNECT: send text (2 bytes)",
            r#"socket.io namespace CONNECT ack: expect /^40\{"sid"/"#,
            "socket.io DISCONNECT: send text (2 bytes)",
        ],
        "{v:#}"
    );
    assert_eq!(v["close"]["clean"], true, "{v:#}");
    // The server saw the client join the namespace and leave it.
    let log = wait_for(&server, "disconnect ").await;
    assert!(log.lines().any(|l| l.starts_with("connect ")), "{log}");
}

#[tokio::test]
#[ignore = "needs Debian packages: python3-socketio, python3-aiohttp (installed by .ci/run)"]
async fn a_socketio_server_refusing_the_namespace_fails_naming_the_step_and_its_message() {
    let (_dir, _server, run) = check_socketio_server("refuse").await;
    let v = run.verdict(2, "unexpected_message", Some("open"));
    assert!(
        text(&v, "/message").starts_with("step 3 (socket.io namespace CONNECT ack: "),
        "{v:#}"
    );
    assert_eq!(
        text(&v, "/evidence/received"),
        r#"44{"message":"auth refused"}"#,
        "{v:#}"
    );
}

/// `wsprobe check --format json --protocol socketio` against
/// tests/interop/socketio_server.py in `mode` (`accept` or `refuse`); the
/// directory and the server live as long as the caller keeps them.
async fn check_socketio_server(mode: &str) -> (TempDir, support_interop::Server, Run) {
    let dir = TempDir::new().expect("tempdir");
    let (server, port) = python_socketio_server(dir.path(), mode);
    let url = format!("ws://127.0.0.1:{port}/socket.io/");
    let run = check(["--format", "json", "--protocol", "socketio", &url]).await;
    (dir, server, run)
}

/// The server's stdout once it holds `needle`, within five seconds (it
/// prints after the client's close, which may trail the check's exit).
async fn wait_for(server: &support_interop::Server, needle: &str) -> String {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let out = server.stdout();
        if out.contains(needle) || std::time::Instant::now() > until {
            return out;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
