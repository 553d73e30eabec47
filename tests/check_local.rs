//! Local resource exhaustion is the monitor's fault, not the endpoint's
//! (issue 9): `wsprobe check` that cannot create its socket reports
//! `local_error`, exit 3 (Nagios UNKNOWN), never `connect_error`, and a
//! lookup that fails for want of descriptors is never `dns_error`.

mod check_run;
mod support;

use check_run::{assert_mentions, check_with_fd_limit, text};
use support::{Behavior, FaultServer};

/// The binary needs a few descriptors of its own (stdio, the runtime's epoll
/// and wakers) before it ever makes a socket; the smallest limit it starts
/// with is the one where the socket is the first thing that does not fit.
const LIMITS_TO_TRY: std::ops::RangeInclusive<u32> = 3..=64;

#[tokio::test]
async fn a_check_that_cannot_open_a_socket_is_a_local_error_with_exit_3() {
    let server = FaultServer::start(Behavior::Healthy).await;
    let url = server.ws_url("/");
    for limit in LIMITS_TO_TRY {
        let run = check_with_fd_limit(limit, ["--format", "json", "--timeout", "2s", &url]).await;
        if !run.stdout.trim_start().starts_with('{') {
            continue; // too few descriptors to start at all
        }
        let v = run.verdict(3, "local_error", Some("connect"));
        assert_eq!(text(&v, "/status"), "unknown", "{run}");
        assert_eq!(text(&v, "/evidence/resource"), "file_descriptors", "{run}");
        assert_eq!(text(&v, "/evidence/errno"), "EMFILE", "{run}");
        assert_mentions(&v, "/message", &["this host ran out of file descriptors"]);
        assert_mentions(&v, "/hint", &["monitor's own problem", "ulimit -n"]);
        assert!(server.records().is_empty(), "the endpoint was reached");

        let nagios = check_with_fd_limit(limit, ["--format", "nagios", &url]).await;
        assert_eq!(nagios.code, 3, "{nagios}");
        assert!(nagios.stdout.starts_with("WSPROBE UNKNOWN"), "{nagios}");
        return;
    }
    panic!(
        "wsprobe never started with up to {} descriptors",
        LIMITS_TO_TRY.end()
    );
}

/// glibc's getaddrinfo, out of descriptors, answers "Name or service not
/// known": without a check of its own, wsprobe would blame the name.
#[tokio::test]
async fn a_lookup_that_cannot_open_its_files_is_a_local_error_in_dns_not_a_bad_name() {
    let server = FaultServer::start(Behavior::Healthy).await;
    let url = format!("ws://localhost:{}/", server.addr.port());
    for limit in LIMITS_TO_TRY {
        let run = check_with_fd_limit(limit, ["--format", "json", "--timeout", "2s", &url]).await;
        if !run.stdout.trim_start().starts_with('{') {
            continue; // too few descriptors to start at all
        }
        // The smallest limit that starts leaves no room for the lookup.
        let v = run.verdict(3, "local_error", Some("dns"));
        assert_eq!(text(&v, "/evidence/resource"), "file_descriptors", "{run}");
        assert_mentions(&v, "/hint", &["monitor's own problem"]);
        assert!(server.records().is_empty(), "the endpoint was reached");
        return;
    }
    panic!(
        "wsprobe never started with up to {} descriptors",
        LIMITS_TO_TRY.end()
    );
}

/// Below the limit where a check can run, wsprobe still says what is wrong
/// and exits 3 (it used to panic inside tokio's signal driver at 6 or 7).
#[tokio::test]
async fn a_limit_too_low_to_start_is_a_clear_error_with_exit_3_never_a_panic() {
    let server = FaultServer::start(Behavior::Healthy).await;
    let url = server.ws_url("/");
    for limit in LIMITS_TO_TRY {
        let run = check_with_fd_limit(limit, ["--format", "json", &url]).await;
        if run.stdout.trim_start().starts_with('{') {
            return; // started: every lower limit was checked
        }
        if run.stderr.contains("error while loading shared libraries") {
            continue; // the dynamic loader's own failure, before wsprobe runs
        }
        assert_eq!(run.code, 3, "limit {limit}: {run}");
        assert!(
            run.stderr.contains("wsprobe: ") && run.stderr.contains("ulimit -n"),
            "limit {limit}: {run}"
        );
        assert!(!run.stderr.contains("panicked"), "limit {limit}: {run}");
    }
    panic!(
        "wsprobe never started with up to {} descriptors",
        LIMITS_TO_TRY.end()
    );
}
