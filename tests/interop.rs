//! Interop tests: wsprobe's one-shot CLI against third-party implementations.
//!
//! The servers are Debian's `python3-websockets` (an echo server,
//! `tests/interop/echo_server.py`) and nginx as a reverse proxy configured
//! well and badly (`tests/interop/nginx.conf.in`). They check that what
//! wsprobe reports about real software matches what that software does: a
//! clean close the server agrees with, a proxy's idle cut, a proxy that drops
//! the upgrade, the proxy's own 502 and 504; and Debian's `python3-aiosmtpd`
//! as a port that speaks another protocol, named at once.
//!
//! The tests are ignored by default because they need Debian packages;
//! `.ci/run` installs them and runs `cargo test -- --ignored`. A missing
//! package fails the test with a message saying what to install.

mod support;
mod support_interop;

use std::fs;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use support_interop::{
    Server, aiosmtpd, assert_mentions, close_codes_seen_by, free_port, python_echo_server,
    require_binary, write_config, wsprobe_check,
};
use tempfile::TempDir;

const NGINX: &str = "/usr/sbin/nginx";

/// nginx `location /` body of a correct WebSocket reverse proxy, with a
/// `proxy_read_timeout` to fill in.
const WEBSOCKET_PROXY: &str = "
            proxy_pass http://127.0.0.1:@UPSTREAM@;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection \"upgrade\";
            proxy_read_timeout @READ_TIMEOUT@;";

/// Starts nginx on a fresh port with `location` as the body of `location /`,
/// its prefix, config, pid and temp files in `dir`.
fn nginx(dir: &Path, location: &str) -> (Server, u16) {
    nginx_with(dir, location, "", "")
}

/// [`nginx`] with `listen_options` after the listen address (e.g. ` ssl`) and
/// `server` directives added to the server block.
fn nginx_with(dir: &Path, location: &str, listen_options: &str, server: &str) -> (Server, u16) {
    require_binary(NGINX, "nginx");
    let prefix = dir.join("nginx");
    for sub in ["logs", "tmp"] {
        fs::create_dir_all(prefix.join(sub)).expect("create nginx prefix");
    }
    let port = free_port();
    let config_path = write_config(
        &prefix,
        "nginx.conf.in",
        "nginx.conf",
        &[
            ("LOCATION", location),
            ("PREFIX", prefix.to_str().expect("UTF-8 temp path")),
            ("PORT", &port.to_string()),
            ("LISTEN_OPTIONS", listen_options),
            ("SERVER", server),
        ],
    );
    let mut command = Command::new(NGINX);
    command
        .arg("-p")
        .arg(&prefix)
        .arg("-c")
        .arg(&config_path)
        .args(["-g", "daemon off; error_log stderr;"]);
    let mut server = Server::spawn("nginx", command, dir);
    server.wait_ready(port);
    (server, port)
}

/// The WebSocket proxy location pointing at `upstream`.
fn websocket_proxy(upstream: u16, read_timeout: &str) -> String {
    WEBSOCKET_PROXY
        .replace("@UPSTREAM@", &upstream.to_string())
        .replace("@READ_TIMEOUT@", read_timeout)
}

#[test]
#[ignore = "needs Debian packages: python3-websockets, nginx (installed by .ci/run)"]
fn healthy_python_websockets_server_passes_with_a_clean_close() {
    let dir = TempDir::new().expect("tempdir");
    let (server, port) = python_echo_server(dir.path());

    let outcome = wsprobe_check(&format!("ws://127.0.0.1:{port}/"), &[]);

    outcome.assert_fields(
        0,
        &[
            ("/class", "ok".into()),
            ("/ok", true.into()),
            ("/response/status", 101.into()),
            ("/close/clean", true.into()),
            ("/close/code", 1000.into()),
            ("/close/initiated_by", "client".into()),
            ("/close/close_frame_received", true.into()),
        ],
    );
    let codes = close_codes_seen_by(&server, 1);
    assert_eq!(
        codes,
        ["1000"],
        "close codes the python server saw\n{}\n{outcome}",
        server.output()
    );
}

#[test]
#[ignore = "needs Debian packages: python3-websockets, nginx (installed by .ci/run)"]
fn send_expect_round_trip_through_python_server() {
    let dir = TempDir::new().expect("tempdir");
    let (_server, port) = python_echo_server(dir.path());

    let outcome = wsprobe_check(
        &format!("ws://127.0.0.1:{port}/"),
        &["--send", "hello", "--expect", "^hello$"],
    );

    outcome.assert_fields(0, &[("/class", "ok".into()), ("/close/clean", true.into())]);
    let events = outcome.at("/events").to_string();
    assert!(
        events.contains("(expect /^hello$/) passed"),
        "no match event\n{outcome}"
    );
}

#[test]
#[ignore = "needs Debian packages: python3-websockets, nginx (installed by .ci/run)"]
fn idle_cut_through_nginx_is_reported_as_early_fin_while_held() {
    let dir = TempDir::new().expect("tempdir");
    let (_backend, backend_port) = python_echo_server(dir.path());
    let (_nginx, port) = nginx(dir.path(), &websocket_proxy(backend_port, "2s"));
    let url = format!("ws://127.0.0.1:{port}/");

    let idle = wsprobe_check(&url, &["--hold", "6s", "--timeout", "5s"]);

    idle.assert_fields(
        2,
        &[
            ("/class", "early_fin".into()),
            ("/phase", "open".into()),
            ("/response/status", 101.into()),
            ("/evidence/while_held", true.into()),
        ],
    );
    let idle_ms = idle.f64_at("/evidence/idle_ms");
    assert!(
        (1500.0..=4500.0).contains(&idle_ms),
        "idle_ms {idle_ms} is not nginx's 2 s proxy_read_timeout\n{idle}"
    );
    assert_mentions("hint", idle.str_at("/hint"), &["idle timeout"], &idle);

    let pinged = wsprobe_check(
        &url,
        &["--hold", "6s", "--timeout", "5s", "--ping-every", "1s"],
    );

    pinged.assert_fields(0, &[("/class", "ok".into()), ("/close/clean", true.into())]);
}

#[test]
#[ignore = "needs Debian packages: python3-websockets, nginx (installed by .ci/run)"]
fn nginx_speaking_http10_to_the_backend_breaks_the_upgrade() {
    let dir = TempDir::new().expect("tempdir");
    let (_backend, backend_port) = python_echo_server(dir.path());
    // The classic mistake: no proxy_http_version 1.1 and no Upgrade /
    // Connection headers, so nginx drops the hop-by-hop upgrade headers.
    let location = format!("            proxy_pass http://127.0.0.1:{backend_port};");
    let (_nginx, port) = nginx(dir.path(), &location);

    let outcome = wsprobe_check(&format!("ws://127.0.0.1:{port}/"), &[]);

    // websockets answers an HTTP/1.0 request with 400 "did not receive a
    // valid HTTP request" before looking at the headers.
    outcome.assert_missing_101(400);
    assert_mentions(
        "hint",
        outcome.str_at("/hint"),
        &["Upgrade", "proxy_http_version"],
        &outcome,
    );
}

#[test]
#[ignore = "needs Debian packages: python3-websockets, nginx (installed by .ci/run)"]
fn nginx_gateway_timeout_is_reported_as_missing_101_504() {
    let dir = TempDir::new().expect("tempdir");
    // An upstream that completes the TCP handshake (the kernel does, from the
    // backlog) but never answers, because nothing accepts.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind silent upstream");
    let upstream = silent.local_addr().expect("local addr").port();
    let (_nginx, port) = nginx(dir.path(), &websocket_proxy(upstream, "1s"));

    let outcome = wsprobe_check(&format!("ws://127.0.0.1:{port}/"), &["--timeout", "5s"]);

    outcome.assert_missing_101(504);
    assert_mentions("hint", outcome.str_at("/hint"), &["upstream"], &outcome);
    drop(silent);
}

#[test]
#[ignore = "needs Debian packages: python3-websockets, nginx (installed by .ci/run)"]
fn nginx_bad_gateway_is_502() {
    let dir = TempDir::new().expect("tempdir");
    let closed = free_port();
    let (_nginx, port) = nginx(dir.path(), &websocket_proxy(closed, "1s"));

    let outcome = wsprobe_check(&format!("ws://127.0.0.1:{port}/"), &["--timeout", "5s"]);

    outcome.assert_missing_101(502);
    assert_mentions("hint", outcome.str_at("/hint"), &["upstream"], &outcome);
}

#[test]
#[ignore = "needs Debian packages: python3-websockets, nginx (installed by .ci/run)"]
fn plain_ws_to_an_nginx_tls_port_is_a_400_whose_hint_says_wss() {
    let dir = TempDir::new().expect("tempdir");
    let identity = support::TestCa::new("wsprobe interop CA")
        .server(&["127.0.0.1"], support::Validity::Current);
    let cert = dir.path().join("server.pem");
    let key = dir.path().join("server.key");
    fs::write(&cert, &identity.cert_chain_pem).expect("write certificate");
    fs::write(&key, &identity.key_pem).expect("write key");
    let server_tls = format!(
        "        ssl_certificate {};\n        ssl_certificate_key {};",
        cert.display(),
        key.display()
    );
    let (_nginx, port) = nginx_with(dir.path(), "            return 404;", " ssl", &server_tls);

    let outcome = wsprobe_check(&format!("ws://127.0.0.1:{port}/"), &[]);

    outcome.assert_missing_101(400);
    assert_mentions(
        "body",
        outcome.str_at("/response/body_snippet"),
        &["The plain HTTP request was sent to HTTPS port"],
        &outcome,
    );
    assert_mentions("hint", outcome.str_at("/hint"), &["use wss://"], &outcome);
}

#[test]
#[ignore = "needs Debian packages: nginx (installed by .ci/run)"]
fn nginx_requiring_a_client_certificate_is_named_whatever_it_answers() {
    let dir = TempDir::new().expect("tempdir");
    let host = "wsprobe.test";
    let ca = support::TestCa::new("wsprobe interop CA");
    let identity = ca.server(&[host], support::Validity::Current);
    let ca_file = ca.write_ca_pem(dir.path());
    let write = |name: &str, pem: &str| {
        let path = dir.path().join(name);
        fs::write(&path, pem).expect("write PEM");
        path.display().to_string()
    };
    let server_cert = write("server.pem", &identity.cert_chain_pem);
    let server_key = write("server.key", &identity.key_pem);
    let server = format!(
        "        ssl_certificate {server_cert};\n        ssl_certificate_key {server_key};\n        ssl_client_certificate {};\n        ssl_verify_client on;",
        ca_file.display()
    );
    let (_nginx, port) = nginx_with(
        dir.path(),
        "            return 200 \"ok\\n\";",
        " ssl",
        &server,
    );
    let url = format!("wss://{host}:{port}/");
    let resolve = format!("{host}:{port}:127.0.0.1");
    let ca_path = ca_file.display().to_string();
    let base = [
        "--timeout",
        "5s",
        "--resolve",
        &resolve,
        "--ca-file",
        &ca_path,
    ];

    let outcome = wsprobe_check(&url, &base);

    // nginx completes the handshake and answers over HTTP.
    outcome.assert_fields(
        2,
        &[
            ("/class", "missing_101".into()),
            ("/response/status", 400.into()),
            ("/tls/client_certificate", "none_configured".into()),
        ],
    );
    assert_mentions(
        "hint",
        outcome.str_at("/hint"),
        &["requires a client certificate"],
        &outcome,
    );

    // With a certificate from the CA nginx trusts, the request gets past TLS:
    // nginx answers its 200 to the upgrade (it proxies nothing here).
    let (client_cert, client_key) = ca.client("wsprobe-client");
    let (cert, key) = (
        write("client.pem", &client_cert),
        write("client.key", &client_key),
    );
    let mut with_cert = base.to_vec();
    with_cert.extend(["--cert", &cert, "--key", &key]);
    let outcome = wsprobe_check(&url, &with_cert);
    outcome.assert_fields(
        2,
        &[
            ("/response/status", 200.into()),
            ("/tls/client_certificate", "sent".into()),
        ],
    );
}

#[test]
#[ignore = "needs Debian packages: python3-aiosmtpd (installed by .ci/run)"]
fn an_smtp_server_on_the_port_is_named_at_once_instead_of_timing_out() {
    let dir = TempDir::new().expect("tempdir");
    let (_server, port) = aiosmtpd(dir.path());

    let started = std::time::Instant::now();
    let outcome = wsprobe_check(&format!("ws://127.0.0.1:{port}/"), &["--timeout", "10s"]);

    outcome.assert_fields(
        2,
        &[
            ("/class", "protocol_error".into()),
            ("/phase", "upgrade".into()),
            ("/evidence/rule", "not_http".into()),
            ("/evidence/protocol", "smtp".into()),
        ],
    );
    assert!(
        outcome.str_at("/evidence/first_bytes").starts_with("220 "),
        "{outcome}"
    );
    assert_mentions(
        "hint",
        outcome.str_at("/hint"),
        &["This port speaks SMTP: wrong port?"],
        &outcome,
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{outcome}"
    );
}
