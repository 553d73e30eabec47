//! The `wsprobe check` command line: retries, input errors, several URLs at
//! once, `--all-addresses`, secret hygiene, the nagios and junit formats, and
//! HTTP CONNECT proxies.
//!
//! The proxies and the relay that fails once are written here on plain
//! sockets: each is a few lines, and what they saw is part of the evidence.

mod check_run;
mod support;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use check_run::{assert_mentions, check, flag, num, text};
use support::frames;
use support::{Behavior, FaultServer, refused_port};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

/// Starts a listener on 127.0.0.1:0 that hands every connection (with its
/// 0-based index) to `serve`. The accept loop ends with the test's runtime.
async fn listen<F, Fut>(serve: F) -> SocketAddr
where
    F: Fn(TcpStream, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let serve = Arc::new(serve);
        for n in 0.. {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(serve(tcp, n));
        }
    });
    addr
}

/// Connects to `target` and copies bytes both ways until either side ends.
async fn relay(mut client: TcpStream, target: SocketAddr) {
    if let Ok(mut upstream) = TcpStream::connect(target).await {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    }
}

/// A minimal HTTP CONNECT proxy; returns its address and the request heads it saw.
async fn connect_proxy() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let addr = listen(move |mut client, _| {
        let log = Arc::clone(&log);
        async move {
            let Ok(head) = frames::read_head(&mut client).await else {
                return;
            };
            log.lock().unwrap().push(head.clone());
            let target: Option<SocketAddr> = head
                .strip_prefix("CONNECT ")
                .and_then(|rest| rest.split(' ').next())
                .and_then(|authority| authority.parse().ok());
            let Some(target) = target else {
                let _ = client
                    .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                    .await;
                return;
            };
            if client
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .await
                .is_ok()
            {
                relay(client, target).await;
            }
        }
    })
    .await;
    (addr, seen)
}

#[tokio::test]
async fn retries_make_one_attempt_more_per_retry_and_keep_every_attempt() {
    let addr = refused_port().await;
    let run = check([
        "--format",
        "json",
        "--timeout",
        "2s",
        "--retries",
        "2",
        "--retry-delay",
        "100ms",
        &format!("ws://{addr}/"),
    ])
    .await;

    let v = run.verdict(2, "connect_error", Some("connect"));
    assert_eq!(num(&v, "/attempts"), 3.0);
    let details = v["attempt_details"].as_array().expect("attempt_details");
    let numbers: Vec<u64> = details
        .iter()
        .filter_map(|a| a["number"].as_u64())
        .collect();
    assert_eq!(numbers, [1, 2, 3]);
    assert!(details.iter().all(|a| a["class"] == "connect_error"));
    assert!(run.elapsed >= Duration::from_millis(200), "{run}");
}

#[tokio::test]
async fn a_check_that_fails_once_then_passes_on_retry_is_ok_and_shows_the_failure() {
    let backend = FaultServer::start(Behavior::Healthy).await;
    let target = backend.addr;
    // The first connection reads the request and closes without answering;
    // later ones reach the healthy backend.
    let flaky = listen(move |mut client, n| async move {
        if n == 0 {
            let _ = frames::read_head(&mut client).await;
            let _ = client.shutdown().await;
        } else {
            relay(client, target).await;
        }
    })
    .await;
    let run = check([
        "--format",
        "json",
        "--timeout",
        "2s",
        "--retries",
        "2",
        "--retry-delay",
        "100ms",
        &format!("ws://{flaky}/"),
    ])
    .await;

    let v = run.verdict(0, "ok", None);
    assert_eq!(num(&v, "/attempts"), 2.0);
    assert_eq!(text(&v, "/attempt_details/0/class"), "early_fin");
    assert_eq!(text(&v, "/attempt_details/0/phase"), "upgrade");
    assert_eq!(text(&v, "/attempt_details/1/class"), "ok");
    assert!(flag(&v, "/close/clean"));
}

/// One invalid command line.
struct BadInput {
    args: Vec<String>,
    says: &'static [&'static str],
}

#[tokio::test]
async fn input_errors_exit_3_with_a_message_before_any_connection() {
    let server = FaultServer::start(Behavior::Healthy).await;
    let ws = server.ws_url("/");
    let wss = server.wss_url("localhost", "/");
    let dir = tempfile::TempDir::new().expect("temp dir");
    let missing_ca = dir.path().join("no-such-ca.pem");
    let cert = dir.path().join("client.pem");
    std::fs::write(&cert, "not used").expect("write cert");
    let cases = [
        BadInput {
            args: vec![format!("http://{}/", server.addr)],
            says: &["http://", "use ws://"],
        },
        BadInput {
            args: vec!["--timeout".into(), "soon".into(), ws.clone()],
            says: &["--timeout", "expected a duration"],
        },
        BadInput {
            args: vec![
                "--ca-file".into(),
                missing_ca.display().to_string(),
                wss.clone(),
            ],
            says: &["--ca-file", "no-such-ca.pem"],
        },
        BadInput {
            args: vec!["--cert".into(), cert.display().to_string(), wss.clone()],
            says: &["--key"],
        },
        // One bad URL stops the good one from being checked too.
        BadInput {
            args: vec![ws.clone(), "ftp://example.com/".into()],
            says: &["unsupported scheme", "ftp"],
        },
    ];
    for case in &cases {
        let run = check(
            ["--format", "json"]
                .iter()
                .map(|s| s.to_string())
                .chain(case.args.clone()),
        )
        .await;
        assert_eq!(run.code, 3, "{:?}:\n{run}", case.args);
        assert!(run.stdout.is_empty(), "{:?}:\n{run}", case.args);
        for word in case.says {
            assert!(
                run.stderr.contains(word),
                "{:?} should say {word:?}:\n{run}",
                case.args
            );
        }
    }
    assert!(
        server.records().is_empty(),
        "no connection may be made when the input is bad: {:?}",
        server.records()
    );
}

#[tokio::test]
async fn several_urls_are_checked_concurrently_and_the_worst_status_decides() {
    let silent: Vec<FaultServer> = futures_util::future::join_all(
        (0..3).map(|_| FaultServer::start(Behavior::SilentAfterRequest)),
    )
    .await;
    let healthy = FaultServer::start(Behavior::Healthy).await;
    let mut urls: Vec<String> = silent.iter().map(|s| s.ws_url("/")).collect();
    urls.push(healthy.ws_url("/"));
    let run = check(
        ["--format", "json", "--timeout", "1s"]
            .iter()
            .map(|s| s.to_string())
            .chain(urls.clone()),
    )
    .await;

    // Three 1 s timeouts one after another would take 3 s.
    assert!(run.elapsed < Duration::from_millis(2500), "{run}");
    let reports = run.jsons();
    let got: Vec<(&str, &str)> = reports
        .iter()
        .map(|v| (text(v, "/url"), text(v, "/class")))
        .collect();
    let want: Vec<(&str, &str)> = urls
        .iter()
        .zip(["timeout", "timeout", "timeout", "ok"])
        .map(|(u, c)| (u.as_str(), c))
        .collect();
    assert_eq!(got, want, "one report per URL, in order");
    assert_eq!(run.code, 2, "{run}");
}

#[tokio::test]
async fn all_addresses_checks_each_resolved_address_on_its_own() {
    let server = FaultServer::start(Behavior::Healthy).await;
    let port = server.addr.port();
    let expected: BTreeSet<String> = tokio::net::lookup_host(("localhost", port))
        .await
        .expect("resolve localhost")
        .map(|a| a.ip().to_string())
        .collect();
    let run = check([
        "--format",
        "json",
        "--timeout",
        "2s",
        "--all-addresses",
        &format!("ws://localhost:{port}/"),
    ])
    .await;

    let reports = run.jsons();
    let addresses: BTreeSet<String> = reports
        .iter()
        .map(|v| text(v, "/address").to_string())
        .collect();
    assert_eq!(addresses, expected, "one report per address:\n{run}");
    assert_eq!(reports.len(), expected.len());
    let v4 = reports
        .iter()
        .find(|v| v["address"] == "127.0.0.1")
        .expect("a report for 127.0.0.1");
    assert_eq!(text(v4, "/class"), "ok", "{run}");
    // The fixture listens on 127.0.0.1 only, so any other address fails.
    let all_ok = reports.iter().all(|v| v["ok"] == true);
    assert_eq!(run.code, if all_ok { 0 } else { 2 }, "{run}");
    assert_eq!(
        server.wait_records(1, Duration::from_secs(5)).await.len(),
        1
    );
}

#[tokio::test]
async fn credentials_are_sent_to_the_server_but_never_printed() {
    let server = FaultServer::start(Behavior::Healthy).await;
    let url = server.ws_url("/feed?room=7&access_token=SECRET789");
    let secrets = ["SECRET123", "SECRET456", "SECRET789"];
    let formats: [&[&str]; 4] = [
        &["--format", "text", "-v"],
        &["--format", "json"],
        &["--format", "junit"],
        &["--format", "nagios"],
    ];
    for format in formats {
        let run = check(
            format
                .iter()
                .chain(&[
                    "--timeout",
                    "2s",
                    "-H",
                    "Authorization: Bearer SECRET123",
                    "-H",
                    "Cookie: sid=SECRET456",
                    url.as_str(),
                ])
                .copied(),
        )
        .await;
        assert_eq!(run.code, 0, "{format:?}:\n{run}");
        for secret in secrets {
            assert!(
                !run.stdout.contains(secret) && !run.stderr.contains(secret),
                "{format:?} printed {secret}:\n{run}"
            );
        }
        if format.contains(&"json") {
            let v = run.json();
            let headers = v["attempt_details"][0]["request"]["headers"].to_string();
            assert!(
                headers.contains("Authorization") && headers.contains("[redacted]"),
                "the header is shown, its value is not: {headers}"
            );
            assert_mentions(&v, "/url", &["room=7"]);
        }
    }
    let records = server
        .wait_records(formats.len(), Duration::from_secs(5))
        .await;
    assert_eq!(records.len(), formats.len());
    for rec in &records {
        for line in [
            "GET /feed?room=7&access_token=SECRET789 HTTP/1.1",
            "Authorization: Bearer SECRET123",
            "Cookie: sid=SECRET456",
        ] {
            assert!(rec.request_head.contains(line), "not sent: {line}\n{rec:?}");
        }
    }
}

#[tokio::test]
async fn nagios_output_is_one_plugin_line_with_perfdata() {
    let healthy = FaultServer::start(Behavior::Healthy).await;
    let run = check([
        "--format",
        "nagios",
        "--timeout",
        "2s",
        &healthy.ws_url("/"),
    ])
    .await;
    assert_eq!(run.code, 0, "{run}");
    let line = run.stdout.trim_end();
    assert_eq!(line.lines().count(), 1, "{run}");
    assert!(line.starts_with("WSPROBE OK - "), "{line}");
    let (summary, perf) = line.split_once(" | ").expect("perfdata after '|'");
    assert!(summary.contains(&healthy.ws_url("/")), "{summary}");
    let labels: Vec<&str> = perf
        .split(' ')
        .map(|p| p.split('=').next().unwrap_or(""))
        .collect();
    for want in ["connect", "upgrade", "open", "close", "total", "attempts"] {
        assert!(labels.contains(&want), "perfdata {perf:?} lacks {want}");
    }
    assert!(perf.contains("ms;;;0"), "{perf}");

    let silent = FaultServer::start(Behavior::SilentAfterRequest).await;
    let run = check(["--format", "nagios", "--timeout", "1s", &silent.ws_url("/")]).await;
    assert_eq!(run.code, 2, "{run}");
    let line = run.stdout.trim_end();
    assert!(line.starts_with("WSPROBE CRITICAL - "), "{line}");
    assert!(line.contains("timeout"), "{line}");
    assert_eq!(line.matches('|').count(), 1, "{line}");
    assert!(
        line.split(" | ")
            .nth(1)
            .is_some_and(|p| p.contains("total="))
    );
}

#[tokio::test]
async fn junit_output_has_one_test_case_per_url_and_a_typed_failure() {
    let healthy = FaultServer::start(Behavior::Healthy).await;
    let cut = FaultServer::start(Behavior::FinAfter101).await;
    let run = check([
        "--format",
        "junit",
        "--timeout",
        "2s",
        &healthy.ws_url("/"),
        &cut.ws_url("/"),
    ])
    .await;

    assert_eq!(run.code, 2, "{run}");
    let xml = &run.stdout;
    assert!(xml.starts_with("<?xml version=\"1.0\""), "{xml}");
    assert!(
        xml.contains("<testsuite ") && xml.contains("tests=\"2\" failures=\"1\""),
        "{xml}"
    );
    assert_eq!(xml.matches("<testcase ").count(), 2, "{xml}");
    assert_eq!(xml.matches("</testcase>").count(), 2, "{xml}");
    assert_eq!(
        xml.matches("<failure type=\"early_fin\"").count(),
        1,
        "{xml}"
    );
    assert_eq!(xml.matches("</failure>").count(), 1, "{xml}");
    assert!(xml.trim_end().ends_with("</testsuites>"), "{xml}");
    assert_eq!(
        element_names(xml),
        [
            "testsuites",
            "testsuite",
            "testcase",
            "system-out",
            "testcase",
            "failure"
        ],
        "{xml}"
    );
}

/// The elements of a small XML document in document order, checking on the
/// way that every element is closed in the right order (the text in between
/// is escaped, so every '<' starts a tag).
fn element_names(xml: &str) -> Vec<String> {
    let mut open: Vec<String> = Vec::new();
    let mut names = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').expect("unterminated tag") + start;
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        if tag.starts_with('?') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(open.pop().as_deref(), Some(name), "mismatched </{name}>");
            continue;
        }
        let name = tag.split_whitespace().next().unwrap_or_default();
        let name = name.trim_end_matches('/').to_string();
        names.push(name.clone());
        if !tag.ends_with('/') {
            open.push(name);
        }
    }
    assert!(open.is_empty(), "unclosed elements: {open:?}");
    names
}

/// Checks `url` through `proxy` and asserts a passing check with a clean
/// close that names the proxy it used.
async fn passes_through(proxy: &str, url: &str) {
    let run = check(["--format", "json", "--timeout", "2s", "--proxy", proxy, url]).await;
    let v = run.verdict(0, "ok", None);
    assert_eq!(text(&v, "/attempt_details/0/proxy"), proxy);
    assert!(flag(&v, "/close/clean"));
}

#[tokio::test]
async fn a_check_through_an_http_connect_proxy_passes_and_the_proxy_saw_connect() {
    let server = FaultServer::start(Behavior::Healthy).await;
    let (proxy, seen) = connect_proxy().await;
    passes_through(&format!("http://{proxy}"), &server.ws_url("/through")).await;
    let heads = seen.lock().unwrap().clone();
    assert_eq!(heads.len(), 1, "{heads:?}");
    assert!(
        heads[0].starts_with(&format!("CONNECT {} HTTP/1.1\r\n", server.addr)),
        "{heads:?}"
    );
    let rec = &server.wait_records(1, Duration::from_secs(5)).await[0];
    assert!(
        rec.request_head.starts_with("GET /through HTTP/1.1"),
        "{rec:?}"
    );
}

#[tokio::test]
async fn a_proxy_refusing_the_tunnel_is_a_connect_error_quoting_its_answer() {
    let server = FaultServer::start(Behavior::Healthy).await;
    let proxy = listen(|mut client, _| async move {
        if frames::read_head(&mut client).await.is_ok() {
            let _ = client
                .write_all(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n\
                      Proxy-Authenticate: Basic realm=\"corp\"\r\nContent-Length: 0\r\n\r\n",
                )
                .await;
        }
    })
    .await;
    let run = check([
        "--format",
        "json",
        "--timeout",
        "2s",
        "--proxy",
        &format!("http://{proxy}"),
        &server.ws_url("/"),
    ])
    .await;

    let v = run.verdict(2, "connect_error", Some("connect"));
    assert_eq!(text(&v, "/evidence/hop"), "refused_by_policy");
    assert_eq!(
        text(&v, "/evidence/reply/status_line"),
        "HTTP/1.1 407 Proxy Authentication Required"
    );
    assert_eq!(text(&v, "/evidence/proxy"), format!("http://{proxy}"));
    assert_mentions(&v, "/hint", &["refused to open the tunnel", "credentials"]);
    assert!(
        server.records().is_empty(),
        "the target must not be reached"
    );
}

/// A minimal SOCKS5 proxy (no authentication, CONNECT only, RFC 1928);
/// returns its address and the targets it was asked for.
async fn socks5_proxy() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    use tokio::io::AsyncReadExt;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let addr = listen(move |mut client, _| {
        let log = Arc::clone(&log);
        async move {
            let mut greeting = [0u8; 2];
            if client.read_exact(&mut greeting).await.is_err() || greeting[0] != 5 {
                return;
            }
            let mut methods = vec![0u8; greeting[1] as usize];
            if client.read_exact(&mut methods).await.is_err() || !methods.contains(&0) {
                return;
            }
            if client.write_all(&[5, 0]).await.is_err() {
                return;
            }
            let mut request = [0u8; 4];
            if client.read_exact(&mut request).await.is_err() || request[1] != 1 {
                return;
            }
            let host = match request[3] {
                1 => {
                    let mut ip = [0u8; 4];
                    if client.read_exact(&mut ip).await.is_err() {
                        return;
                    }
                    std::net::Ipv4Addr::from(ip).to_string()
                }
                3 => {
                    let mut len = [0u8; 1];
                    if client.read_exact(&mut len).await.is_err() {
                        return;
                    }
                    let mut name = vec![0u8; len[0] as usize];
                    if client.read_exact(&mut name).await.is_err() {
                        return;
                    }
                    String::from_utf8_lossy(&name).into_owned()
                }
                _ => return,
            };
            let mut port = [0u8; 2];
            if client.read_exact(&mut port).await.is_err() {
                return;
            }
            let port = u16::from_be_bytes(port);
            log.lock().unwrap().push(format!("{host}:{port}"));
            let Ok(target) = format!("{host}:{port}").parse::<SocketAddr>() else {
                return;
            };
            if client
                .write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0])
                .await
                .is_ok()
            {
                relay(client, target).await;
            }
        }
    })
    .await;
    (addr, seen)
}

#[tokio::test]
async fn a_check_through_a_socks5_proxy_passes_and_the_proxy_saw_the_target() {
    let server = FaultServer::start(Behavior::Healthy).await;
    let (proxy, seen) = socks5_proxy().await;
    passes_through(&format!("socks5://{proxy}"), &server.ws_url("/socks")).await;
    assert_eq!(
        seen.lock().unwrap().clone(),
        vec![server.addr.to_string()],
        "the proxy should have been asked for the server's address"
    );
}
