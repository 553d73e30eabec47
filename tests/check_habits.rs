//! `wsprobe check` with the habits of curl, websocat and Nagios (issue 14):
//! `-k`, `-m/--max-time`, `-q`, `-A/--user-agent`, `--color`, a bare number
//! of seconds for `--timeout`, a URL without a scheme, and `--format nagios`
//! over several URLs. Every case runs the real binary against fault servers
//! on 127.0.0.1.

mod check_run;
mod support;

use check_run::check;
use std::time::Duration;
use support::{Behavior, FaultServer, TestCa, Validity, refused_port};

const HOST: &str = "wsprobe.test";

#[tokio::test]
async fn k_is_insecure_and_accepts_an_untrusted_certificate_with_the_warning() {
    let ca = TestCa::new("habits CA");
    let server =
        FaultServer::start_tls(Behavior::Healthy, ca.server(&[HOST], Validity::Current)).await;
    let resolve = format!("{HOST}:{}:127.0.0.1", server.addr.port());
    let url = server.wss_url(HOST, "/");
    let strict = check(["--timeout", "3s", "--resolve", &resolve, &url]).await;
    assert_eq!(strict.code, 2, "an unknown CA fails without -k:\n{strict}");
    let run = check(["-k", "--timeout", "3s", "--resolve", &resolve, &url]).await;
    assert_eq!(run.code, 1, "-k passes with a WARNING:\n{run}");
    assert!(run.stderr.contains("NOT verified"), "{run}");
}

#[tokio::test]
async fn max_time_bounds_the_whole_command_across_retries() {
    let silent = FaultServer::start(Behavior::SilentAfterRequest).await;
    let url = silent.ws_url("/");
    for flag in ["-m", "--max-time"] {
        let run = check([
            flag,
            "1",
            "--timeout",
            "10s",
            "--retries",
            "3",
            "--format",
            "json",
            &url,
        ])
        .await;
        let v = run.json();
        assert_eq!(
            (run.code, v["class"].as_str()),
            (2, Some("timeout")),
            "{run}"
        );
        assert!(
            run.elapsed < Duration::from_secs(4),
            "{flag} 1 took {:?}:\n{run}",
            run.elapsed
        );
        assert_eq!(
            v["attempts"].as_u64(),
            Some(1),
            "no retry starts after the budget:\n{run}"
        );
    }
    let run = check(["-m", "2s", "--hold", "5s", &url]).await;
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr
            .contains("--hold 5s does not fit in --max-time 2s"),
        "{run}"
    );
}

#[tokio::test]
async fn a_bare_timeout_is_seconds_and_a_nonsense_one_names_the_fix() {
    let silent = FaultServer::start(Behavior::SilentAfterRequest).await;
    let run = check(["--timeout", "1", "--format", "json", &silent.ws_url("/")]).await;
    assert_eq!(run.json()["class"], "timeout", "{run}");
    assert!(run.elapsed < Duration::from_secs(4), "{run}");
    let run = check(["--timeout", "soon", &silent.ws_url("/")]).await;
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains("like 250ms, 5s or 1m"), "{run}");
}

#[tokio::test]
async fn quiet_prints_nothing_and_the_exit_code_still_tells() {
    let healthy = FaultServer::start(Behavior::Healthy).await;
    let refused = refused_port().await;
    for flag in ["-q", "--quiet"] {
        let ok = check([flag, &healthy.ws_url("/")]).await;
        assert_eq!((ok.code, ok.stdout.as_str()), (0, ""), "{ok}");
        let down = check([flag, &format!("ws://{refused}/")]).await;
        assert_eq!((down.code, down.stdout.as_str()), (2, ""), "{down}");
    }
}

#[tokio::test]
async fn a_and_user_agent_set_the_header_sent() {
    let healthy = FaultServer::start(Behavior::Healthy).await;
    for flag in ["-A", "--user-agent"] {
        let run = check([flag, "probe-from-noc/2", &healthy.ws_url("/")]).await;
        assert_eq!(run.code, 0, "{run}");
    }
    let records = healthy.wait_records(2, Duration::from_secs(5)).await;
    for rec in &records {
        assert!(
            rec.request_head
                .contains("User-Agent: probe-from-noc/2\r\n"),
            "{}",
            rec.request_head
        );
        assert_eq!(
            rec.request_head.matches("User-Agent:").count(),
            1,
            "one User-Agent: {}",
            rec.request_head
        );
    }
}

#[tokio::test]
async fn a_url_without_a_scheme_is_an_input_error_suggesting_ws() {
    let run = check(["127.0.0.1:9108/feed"]).await;
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr
            .contains("did you mean ws://127.0.0.1:9108/feed?"),
        "{run}"
    );
    let run = check(["user:hunter2@example.com/ws"]).await;
    assert_eq!(run.code, 3, "{run}");
    assert!(!run.stderr.contains("hunter2"), "{run}");
}

#[tokio::test]
async fn color_paints_status_words_only_when_asked_or_on_a_terminal() {
    let refused = refused_port().await;
    let url = format!("ws://{refused}/");
    let piped = check([url.as_str()]).await;
    assert!(piped.stdout.starts_with("CRITICAL "), "{piped}");
    assert!(!piped.stdout.contains('\x1b'), "{piped}");
    let painted = check(["--color", "always", url.as_str()]).await;
    assert!(
        painted.stdout.starts_with("\x1b[1;31mCRITICAL\x1b[0m "),
        "{painted}"
    );
    // --color is global: accepted before the subcommand's own options too.
    let never = check(["--color=never", url.as_str()]).await;
    assert!(!never.stdout.contains('\x1b'), "{never}");
}

#[tokio::test]
async fn nagios_over_several_urls_prints_one_status_line_then_one_line_per_url() {
    let healthy = FaultServer::start(Behavior::Healthy).await;
    let silent = FaultServer::start(Behavior::SilentAfterRequest).await;
    let refused = refused_port().await;
    let urls = [
        healthy.ws_url("/"),
        silent.ws_url("/"),
        format!("ws://{refused}/"),
    ];
    let mut args = vec!["--format", "nagios", "--timeout", "1s"];
    args.extend(urls.iter().map(String::as_str));
    let run = check(args).await;
    assert_eq!(run.code, 2, "{run}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines.len(),
        4,
        "one status line and three endpoints:\n{run}"
    );
    let (status, totals) = lines[0].split_once(" | ").expect("perfdata on line 1");
    assert!(
        status.starts_with("WSPROBE CRITICAL - 1 of 3 endpoints OK; "),
        "{status}"
    );
    assert!(
        status.contains("timeout") && status.contains("connect_error"),
        "{status}"
    );
    assert_eq!(
        totals,
        "endpoints=3;;;0 ok=1;;;0 warning=0;;;0 critical=2;;;0 unknown=0;;;0"
    );
    for (line, (url, word)) in lines[1..]
        .iter()
        .zip(urls.iter().zip(["OK", "CRITICAL", "CRITICAL"]))
    {
        assert!(line.starts_with(&format!("{word} - {url}")), "{line}");
    }
    // Only the last long-text line carries the endpoints' perfdata.
    assert!(lines[1..3].iter().all(|l| !l.contains('|')), "{run}");
    let (_, perf) = lines[3]
        .split_once(" | ")
        .expect("perfdata on the last line");
    for url in &urls {
        assert!(perf.contains(&format!("'{url} total'=")), "{perf}");
    }
}
