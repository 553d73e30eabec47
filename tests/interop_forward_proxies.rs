//! Interop with real forward proxies: Debian's tinyproxy (HTTP CONNECT) and
//! microsocks (SOCKS5) between wsprobe and the python3-websockets echo
//! server: a reachable target passes through the proxy; an unreachable
//! target behind it, and the proxy itself down, fail in `connect`.
//!
//! Ignored by default (they need Debian packages); `.ci/run` installs
//! tinyproxy, microsocks and python3-websockets and runs them.

mod support_interop;

use std::path::Path;
use std::process::Command;

use support_interop::{
    Launch, Outcome, Server, free_port, python_echo_server, require_binary, wsprobe_check_via,
};
use tempfile::TempDir;

const TINYPROXY: Launch = Launch {
    binary: "/usr/bin/tinyproxy",
    package: "tinyproxy",
    template: "tinyproxy.conf.in",
    before_config: &["-d", "-c"],
    after_config: &[],
};
const MICROSOCKS: &str = "/usr/bin/microsocks";

/// Starts tinyproxy on a fresh port; returns it with its proxy URL.
fn tinyproxy(dir: &Path) -> (Server, String) {
    let (server, port) = TINYPROXY.start(dir, &[]);
    (server, format!("http://127.0.0.1:{port}"))
}

/// Starts microsocks on a fresh port; returns it with its proxy URL.
fn microsocks(dir: &Path) -> (Server, String) {
    require_binary(MICROSOCKS, "microsocks");
    let port = free_port();
    let mut command = Command::new(MICROSOCKS);
    command.args(["-i", "127.0.0.1", "-p", &port.to_string()]);
    let mut server = Server::spawn("microsocks", command, dir);
    server.wait_ready(port);
    (server, format!("socks5://127.0.0.1:{port}"))
}

/// Asserts a connect failure through `proxy`: the evidence names the proxy,
/// and the address connected to (or last tried) is the proxy's. Returns the
/// evidence.
fn assert_connect_error_via(outcome: &Outcome, proxy: &str) -> String {
    outcome.assert_fields(
        2,
        &[
            ("/class", "connect_error".into()),
            ("/phase", "connect".into()),
            ("/evidence/proxy", proxy.into()),
        ],
    );
    let address = proxy.split("://").nth(1).expect("proxy URL");
    assert_eq!(outcome.str_at("/address"), address, "{outcome}");
    outcome.at("/evidence").to_string()
}

#[test]
#[ignore = "needs Debian packages: tinyproxy, microsocks, python3-websockets (installed by .ci/run)"]
fn a_reachable_target_passes_through_tinyproxy_and_microsocks() {
    let dir = TempDir::new().expect("tempdir");
    let (_backend, backend) = python_echo_server(dir.path());
    let (_tinyproxy, http_proxy) = tinyproxy(dir.path());
    let (_microsocks, socks_proxy) = microsocks(dir.path());
    let url = format!("ws://127.0.0.1:{backend}/");

    for proxy in [&http_proxy, &socks_proxy] {
        let outcome = wsprobe_check_via(&url, Some(proxy), &["--send", "hi", "--expect", "^hi$"]);
        outcome.assert_fields(
            0,
            &[
                ("/class", "ok".into()),
                ("/close/clean", true.into()),
                ("/attempt_details/0/proxy", proxy.as_str().into()),
            ],
        );
    }
}

/// Checks of a port nothing listens on, through tinyproxy and then through
/// microsocks: each proxy's URL with what wsprobe reported.
fn checks_of_an_unreachable_target() -> [(String, Outcome); 2] {
    let dir = TempDir::new().expect("tempdir");
    let (_tinyproxy, http_proxy) = tinyproxy(dir.path());
    let (_microsocks, socks_proxy) = microsocks(dir.path());
    let url = format!("ws://127.0.0.1:{}/", free_port());
    [http_proxy, socks_proxy].map(|proxy| {
        let outcome = wsprobe_check_via(&url, Some(&proxy), &["--timeout", "5s"]);
        (proxy, outcome)
    })
}

#[test]
#[ignore = "needs Debian packages: tinyproxy, microsocks (installed by .ci/run)"]
fn an_unreachable_target_behind_a_proxy_fails_in_connect_with_the_proxys_answer() {
    let [(http_proxy, http), (socks_proxy, socks)] = checks_of_an_unreachable_target();
    let evidence = assert_connect_error_via(&http, &http_proxy);
    // tinyproxy's status line for a target it could not connect to.
    assert!(evidence.contains("500 Unable to connect"), "{http}");
    let evidence = assert_connect_error_via(&socks, &socks_proxy);
    assert!(evidence.to_lowercase().contains("refused"), "{socks}");
}

#[test]
#[ignore = "needs Debian packages: tinyproxy, microsocks (installed by .ci/run)"]
fn the_hint_for_an_unreachable_target_names_the_target_behind_the_proxy() {
    for (proxy, outcome) in checks_of_an_unreachable_target() {
        assert_connect_error_via(&outcome, &proxy);
        let hint = outcome.str_at("/hint");
        assert!(
            hint.contains(&proxy) && hint.contains("the target behind it"),
            "the hint should say the target behind the proxy was unreachable\n{outcome}"
        );
        assert!(!hint.contains("refused to open the tunnel"), "{outcome}");
    }
}

#[test]
#[ignore = "needs Debian packages: tinyproxy, microsocks (installed by .ci/run)"]
fn the_hint_for_a_proxy_that_is_down_names_the_proxy_and_its_address() {
    let down = format!("http://127.0.0.1:{}", free_port());
    let outcome = wsprobe_check_via("ws://127.0.0.1:9/", Some(&down), &["--timeout", "5s"]);
    assert_connect_error_via(&outcome, &down);
    let hint = outcome.str_at("/hint");
    let address = down.trim_start_matches("http://");
    assert!(
        hint.contains(address) && hint.contains("is down or unreachable"),
        "the hint should say the proxy at {address} is down\n{outcome}"
    );
}
