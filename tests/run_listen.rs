//! `wsprobe run --listen` as blackbox_exporter users type it (issue 14):
//! `localhost:PORT` serves on loopback, `:PORT` is accepted (every
//! interface; not bound here, tests stay on 127.0.0.1), and a value without
//! a port is an input error that shows the accepted forms.

mod daemon_support;
mod support;
mod support_http;

use daemon_support::{Daemon, QUICK, SOON, Scratch, free_addr, http_get, wsprobe};
use std::ffi::OsStr;
use support::{Behavior, FaultServer};

#[tokio::test]
async fn listen_localhost_port_serves_the_http_surface_on_loopback() {
    let server = FaultServer::start(Behavior::Healthy).await;
    let scratch = Scratch::new();
    scratch.write_config(&format!(
        "{QUICK}monitors:\n  - {{ name: feed, url: \"{}\" }}\n",
        server.ws_url("/")
    ));
    let addr = free_addr();
    let listen = format!("localhost:{}", addr.port());
    let daemon = Daemon::run_listening(&scratch, &scratch.state(), &listen);
    daemon
        .wait_log(
            "HTTP surface listening (status page, /metrics, /probe, /api)",
            &[("addr", &addr.to_string())],
            SOON,
        )
        .await;
    let (status, _) = http_get(addr, "/healthz").await;
    assert_eq!(status, 200);
}

#[test]
fn listen_colon_port_is_accepted_and_a_bare_port_is_refused_with_the_forms() {
    let scratch = Scratch::new();
    let missing = scratch.path("missing.yaml");
    let run = |listen: &str| {
        wsprobe(
            &[
                OsStr::new("run"),
                OsStr::new("--config"),
                missing.as_os_str(),
                OsStr::new("--listen"),
                OsStr::new(listen),
            ],
            &scratch,
            &[],
        )
    };
    // Past the command line: the daemon stops at the missing file.
    let accepted = run(":9108");
    let stderr = String::from_utf8_lossy(&accepted.stderr);
    assert_eq!(accepted.status.code(), Some(3), "{stderr}");
    assert!(!stderr.contains("--listen"), "{stderr}");
    assert!(stderr.contains("missing.yaml"), "{stderr}");

    let refused = run("9108");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("--listen") && stderr.contains("localhost:9108 or :9108"),
        "{stderr}"
    );
}
