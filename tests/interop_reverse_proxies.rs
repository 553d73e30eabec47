//! Interop with real reverse proxies besides nginx (tests/interop.rs):
//! Debian's Apache httpd, HAProxy and lighttpd in front of the python3-websockets echo
//! server, each configured right and in the ways the field gets wrong, with
//! the hint naming that product's own fix (`upgrade=websocket`,
//! `timeout tunnel`), not nginx's.
//!
//! Ignored by default (they need Debian packages); `.ci/run` installs
//! apache2, haproxy, lighttpd and python3-websockets and runs them.

mod support_interop;

use std::net::TcpListener;
use std::path::{Path, PathBuf};

use support_interop::{
    Launch, Server, assert_mentions, free_port, python_echo_server, wsprobe_check,
};
use tempfile::TempDir;

const APACHE: Launch = Launch {
    binary: "/usr/sbin/apache2",
    package: "apache2",
    template: "apache.conf.in",
    before_config: &["-f"],
    after_config: &["-DFOREGROUND"],
};
const HAPROXY: Launch = Launch {
    binary: "/usr/sbin/haproxy",
    package: "haproxy",
    template: "haproxy.cfg.in",
    before_config: &["-f"],
    after_config: &["-db"],
};
const LIGHTTPD: Launch = Launch {
    binary: "/usr/sbin/lighttpd",
    package: "lighttpd",
    template: "lighttpd.conf.in",
    before_config: &["-D", "-f"],
    after_config: &[],
};

/// Starts Apache httpd on a fresh port with `proxy` (ProxyPass lines).
fn apache(dir: &Path, proxy: &str) -> (Server, u16) {
    APACHE.start(dir, &[("PROXY", proxy)])
}

/// Starts HAProxy on a fresh port in front of `backend` with `timeouts`.
fn haproxy(dir: &Path, backend: u16, timeouts: &str) -> (Server, u16) {
    let backend = format!("127.0.0.1:{backend}");
    HAPROXY.start(dir, &[("BACKEND", &backend), ("TIMEOUTS", timeouts)])
}

/// Starts lighttpd on a fresh port proxying to `backend`, with `header`.
fn lighttpd(dir: &Path, backend: u16, header: &str) -> (Server, u16) {
    let backend = backend.to_string();
    LIGHTTPD.start(dir, &[("BACKEND", &backend), ("HEADER", header)])
}

#[test]
#[ignore = "needs Debian packages: apache2, python3-websockets (installed by .ci/run)"]
fn apache_with_upgrade_websocket_passes_and_plain_proxypass_gets_apaches_fix() {
    let dir = TempDir::new().expect("tempdir");
    let (_backend, backend) = python_echo_server(dir.path());
    // Two backend names, so the two ProxyPass lines get two workers: httpd
    // shares one worker (and its upgrade= setting) between equal URLs.
    let (_apache, port) = apache(
        dir.path(),
        &format!(
            "ProxyPass /right/ http://127.0.0.1:{backend}/ upgrade=websocket\n\
             ProxyPass /plain/ http://localhost:{backend}/"
        ),
    );

    let right = wsprobe_check(&format!("ws://127.0.0.1:{port}/right/"), &[]);
    right.assert_fields(0, &[("/class", "ok".into()), ("/close/clean", true.into())]);

    let plain = wsprobe_check(&format!("ws://127.0.0.1:{port}/plain/"), &[]);
    // httpd dropped the hop-by-hop Upgrade; the backend refuses a plain GET.
    plain.assert_missing_101(426);
    // The 426 is the backend's, with its Server header: nothing names
    // httpd, so the hint gives the common proxies' fixes, Apache's among them.
    assert_mentions(
        "hint",
        plain.str_at("/hint"),
        &["ProxyPass … upgrade=websocket"],
        &plain,
    );
}

#[test]
#[ignore = "needs Debian packages: apache2, python3-websockets (installed by .ci/run)"]
fn apache_named_by_its_via_header_or_error_page_gets_only_its_own_fix() {
    let dir = TempDir::new().expect("tempdir");
    let (_backend, backend) = python_echo_server(dir.path());
    let closed = free_port();
    // `ProxyVia Full` adds httpd's version as the Via comment ("On" gives
    // only the host, which names no product).
    let (_apache, port) = apache(
        dir.path(),
        &format!(
            "ProxyVia Full\n\
             ProxyPass /plain/ http://127.0.0.1:{backend}/\n\
             ProxyPass /down/ http://127.0.0.1:{closed}/"
        ),
    );

    let plain = wsprobe_check(&format!("ws://127.0.0.1:{port}/plain/"), &[]);
    plain.assert_fields(
        2,
        &[
            ("/class", "missing_101".into()),
            ("/phase", "upgrade".into()),
        ],
    );
    let hint = plain.str_at("/hint");
    assert_mentions(
        "hint",
        hint,
        &["Apache httpd in front", "upgrade=websocket"],
        &plain,
    );
    assert!(
        !hint.contains("proxy_http_version"),
        "nginx's fix in {hint:?}\n{plain}"
    );

    let down = wsprobe_check(&format!("ws://127.0.0.1:{port}/down/"), &[]);
    // httpd answers 503 (not 502) when it cannot connect to the backend.
    down.assert_missing_101(503);
    assert_mentions(
        "hint",
        down.str_at("/hint"),
        &["Apache httpd", "retry="],
        &down,
    );
}

#[test]
#[ignore = "needs Debian packages: haproxy, python3-websockets (installed by .ci/run)"]
fn haproxy_timeout_tunnel_decides_how_long_an_idle_websocket_lives() {
    let dir = TempDir::new().expect("tempdir");
    let (_backend, backend) = python_echo_server(dir.path());
    let hold = ["--hold", "4s", "--timeout", "8s"];

    // Right: a short timeout server (HTTP requests) and a long tunnel.
    let (right_proxy, right) = haproxy(
        &subdir(dir.path(), "right"),
        backend,
        "    timeout server 1s\n    timeout tunnel 1h",
    );
    let held = wsprobe_check(&format!("ws://127.0.0.1:{right}/"), &hold);
    held.assert_fields(0, &[("/class", "ok".into()), ("/close/clean", true.into())]);
    drop(right_proxy);

    // Wrong: a tunnel timeout shorter than the time between messages.
    let (_wrong_proxy, wrong) = haproxy(
        &subdir(dir.path(), "wrong"),
        backend,
        "    timeout server 30s\n    timeout tunnel 2s",
    );
    let cut = wsprobe_check(&format!("ws://127.0.0.1:{wrong}/"), &hold);
    cut.assert_fields(
        2,
        &[
            ("/class", "early_fin".into()),
            ("/phase", "open".into()),
            ("/response/status", 101.into()),
            ("/evidence/while_held", true.into()),
        ],
    );
    let idle_ms = cut.f64_at("/evidence/idle_ms");
    assert!(
        (1500.0..=3500.0).contains(&idle_ms),
        "idle_ms {idle_ms} is not HAProxy's 2 s timeout tunnel\n{cut}"
    );
    // HAProxy relays the backend's 101 untouched, so nothing names it: the
    // hint lists the usual idle timeouts, HAProxy's timeout tunnel among them.
    assert_mentions(
        "hint",
        cut.str_at("/hint"),
        &["HAProxy: timeout tunnel"],
        &cut,
    );
}

#[test]
#[ignore = "needs Debian packages: haproxy (installed by .ci/run)"]
fn haproxy_recognised_by_its_error_page_gets_its_own_timeout_server_hint() {
    let dir = TempDir::new().expect("tempdir");
    // A backend that completes TCP (the kernel does, from the backlog) and
    // never answers, because nothing accepts.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind silent backend");
    let backend = silent.local_addr().expect("local addr").port();
    let (_proxy, port) = haproxy(dir.path(), backend, "    timeout server 1s");

    let outcome = wsprobe_check(&format!("ws://127.0.0.1:{port}/"), &["--timeout", "5s"]);

    outcome.assert_missing_101(504);
    assert_mentions(
        "body",
        outcome.str_at("/response/body_snippet"),
        &["The server didn't respond in time"],
        &outcome,
    );
    let hint = outcome.str_at("/hint");
    assert_mentions("hint", hint, &["HAProxy's timeout server"], &outcome);
    assert!(!hint.contains("nginx"), "nginx in {hint:?}\n{outcome}");
    drop(silent);
}

#[test]
#[ignore = "needs Debian packages: lighttpd, python3-websockets (installed by .ci/run)"]
fn lighttpd_passes_the_upgrade_only_with_proxy_header_upgrade_enabled() {
    let dir = TempDir::new().expect("tempdir");
    let (_backend, backend) = python_echo_server(dir.path());
    let (_right_proxy, right) = lighttpd(
        &subdir(dir.path(), "right"),
        backend,
        "proxy.header = ( \"upgrade\" => \"enable\" )",
    );
    let (_wrong_proxy, wrong) = lighttpd(&subdir(dir.path(), "wrong"), backend, "");

    let passed = wsprobe_check(&format!("ws://127.0.0.1:{right}/"), &[]);
    passed.assert_fields(0, &[("/class", "ok".into()), ("/close/clean", true.into())]);

    let refused = wsprobe_check(&format!("ws://127.0.0.1:{wrong}/"), &[]);
    // Without it, lighttpd sends the backend "Connection: close".
    refused.assert_missing_101(426);
    assert_mentions(
        "body",
        refused.str_at("/response/body_snippet"),
        &["invalid Connection header"],
        &refused,
    );
    assert_mentions(
        "hint",
        refused.str_at("/hint"),
        &["lighttpd: proxy.header = ( \"upgrade\" => \"enable\" )"],
        &refused,
    );
}

/// A fresh directory under `dir`, for a second server of the same kind.
fn subdir(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(&path).expect("create server directory");
    path
}
