//! `--source-address` (issue 12): every socket of a check leaves from the
//! given local address, the proxy hop's too, and the report shows it; an
//! address this host does not have, or one of the other IP family, is the
//! monitor's `local_error` (exit 3), and the endpoint is never reached.
//! Linux routes all of 127.0.0.0/8 to lo, so 127.0.0.2 and .3 stand for two
//! interfaces of one host.

mod check_run;
mod support;

use check_run::{assert_mentions, check, text};
use std::net::IpAddr;
use support::refusing_proxy::{Refusal, RefusingProxy};
use support::{Behavior, FaultServer};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[tokio::test]
async fn a_check_leaves_from_its_source_address_and_sees_what_that_address_sees() {
    let server = FaultServer::start_by_peer(
        Behavior::Healthy,
        vec![(
            ip("127.0.0.3"),
            Behavior::http(503, "Service Unavailable", "down here"),
        )],
    )
    .await;
    let url = server.ws_url("/");

    let from_two = check(["--format", "json", "--source-address", "127.0.0.2", &url]).await;
    let v = from_two.verdict(0, "ok", None);
    assert!(
        text(&v, "/local_address").starts_with("127.0.0.2:"),
        "{from_two}"
    );

    let from_three = check(["--format", "json", "--source-address", "127.0.0.3", &url]).await;
    let v = from_three.verdict(2, "missing_101", Some("upgrade"));
    assert!(
        text(&v, "/local_address").starts_with("127.0.0.3:"),
        "{from_three}"
    );

    let peers: Vec<IpAddr> = server
        .records()
        .iter()
        .filter_map(|r| r.peer.map(|p| p.ip()))
        .collect();
    assert_eq!(peers, [ip("127.0.0.2"), ip("127.0.0.3")]);
}

#[tokio::test]
async fn without_a_source_address_the_report_has_no_local_address() {
    let server = FaultServer::start(Behavior::Healthy).await;
    let run = check(["--format", "json", &server.ws_url("/")]).await;
    let v = run.verdict(0, "ok", None);
    assert!(v.get("local_address").is_none(), "{run}");
}

#[tokio::test]
async fn the_verbose_text_report_names_the_local_address() {
    let server = FaultServer::start(Behavior::Healthy).await;
    let run = check(["-v", "--source-address", "127.0.0.2", &server.ws_url("/")]).await;
    assert_eq!(run.code, 0, "{run}");
    let line = run
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("address:"))
        .unwrap_or_else(|| panic!("no address line:\n{run}"));
    assert!(line.contains(" from 127.0.0.2:"), "{line}");
}

#[tokio::test]
async fn an_address_this_host_does_not_have_is_a_local_error_naming_it() {
    let server = FaultServer::start(Behavior::Healthy).await;
    // TEST-NET-1 (RFC 5737): never an address of a test host.
    let run = check([
        "--format",
        "json",
        "--source-address",
        "192.0.2.1",
        &server.ws_url("/"),
    ])
    .await;
    let v = run.verdict(3, "local_error", Some("connect"));
    assert_eq!(text(&v, "/status"), "unknown", "{run}");
    assert_eq!(text(&v, "/evidence/problem"), "not_assigned", "{run}");
    assert_eq!(text(&v, "/evidence/source_address"), "192.0.2.1", "{run}");
    assert_mentions(&v, "/message", &["192.0.2.1"]);
    assert_mentions(&v, "/hint", &["monitor's own problem", "192.0.2.1"]);
    assert!(server.records().is_empty(), "the endpoint was reached");
}

#[tokio::test]
async fn a_source_of_the_other_ip_family_is_named_with_the_target_address() {
    let server = FaultServer::start(Behavior::Healthy).await;
    let run = check([
        "--format",
        "json",
        "--source-address",
        "::1",
        &server.ws_url("/"),
    ])
    .await;
    let v = run.verdict(3, "local_error", Some("connect"));
    assert_eq!(text(&v, "/evidence/problem"), "family_mismatch", "{run}");
    let target = server.addr.to_string();
    assert_eq!(text(&v, "/evidence/addresses/0"), target, "{run}");
    assert_mentions(&v, "/message", &["::1", "another IP family", &target]);
    assert!(server.records().is_empty(), "the endpoint was reached");
}

#[tokio::test]
async fn the_proxy_hop_leaves_from_the_source_address_too() {
    let proxy = RefusingProxy::start(Refusal::Http(403, "Forbidden")).await;
    let run = check([
        "--format",
        "json",
        "--source-address",
        "127.0.0.3",
        "--proxy",
        &proxy.url("http"),
        "ws://backend.test:80/",
    ])
    .await;
    run.verdict(2, "connect_error", Some("connect"));
    let peers: Vec<IpAddr> = proxy.peers().iter().map(|p| p.ip()).collect();
    assert_eq!(peers, [ip("127.0.0.3")], "{run}");
}

#[tokio::test]
async fn a_source_address_that_is_not_an_address_is_a_usage_error() {
    let run = check(["--source-address", "eth0", "ws://127.0.0.1:9/"]).await;
    // Exit 3 like every usage error, before any connection: nothing on stdout.
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains("--source-address"), "{run}");
    assert!(run.stdout.is_empty(), "{run}");
}
