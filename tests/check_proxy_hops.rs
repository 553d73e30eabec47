//! Which hop failed, through a proxy (issue 10): the proxy itself down, the
//! proxy refusing the tunnel by policy, or the proxy unable to reach the
//! target. Each is a connect_error in the connect phase whose evidence carries
//! the hop and the proxy's own reply (CONNECT status line, SOCKS5 reply code),
//! and whose hint blames the right hop.

mod check_run;
mod support;

use check_run::{assert_mentions, check, text};
use support::refusing_proxy::{Refusal, RefusingProxy};
use support::{Behavior, FaultServer, refused_port};

/// One refusal, the hop it must be blamed on, and words of its hint.
struct Case {
    refusal: Refusal,
    hop: &'static str,
    hint_words: &'static [&'static str],
}

const POLICY: &[&str] = &["refused to open the tunnel"];
const TARGET: &[&str] = &["target behind it refused the connection or was unreachable"];

/// Runs `wsprobe check --format json` on `url` through `proxy_url`.
async fn check_via(proxy_url: &str, url: &str) -> check_run::Run {
    check([
        "--format",
        "json",
        "--timeout",
        "2s",
        "--proxy",
        proxy_url,
        url,
    ])
    .await
}

/// Checks the fault server through a proxy refusing with `case`, and returns
/// the verdict after asserting the hop, the hint and that the target was
/// never reached.
async fn through_refusing_proxy(case: &Case, scheme: &str) -> serde_json::Value {
    let target = FaultServer::start(Behavior::Healthy).await;
    let proxy = RefusingProxy::start(case.refusal).await;
    let proxy_url = proxy.url(scheme);
    let run = check_via(&proxy_url, &target.ws_url("/")).await;

    let v = run.verdict(2, "connect_error", Some("connect"));
    let label = format!("{:?}", case.refusal);
    assert_eq!(text(&v, "/evidence/hop"), case.hop, "{label}: {v:#}");
    assert_eq!(text(&v, "/evidence/proxy"), proxy_url);
    assert_mentions(&v, "/hint", case.hint_words);
    assert_mentions(&v, "/hint", &[&proxy_url]);
    assert!(!text(&v, "/hint").contains("is down"), "{label}: {v:#}");
    assert_eq!(proxy.requests().len(), 1, "{label}: {:?}", proxy.requests());
    assert!(
        target.records().is_empty(),
        "{label}: the target must not be reached"
    );
    v
}

#[tokio::test]
async fn http_connect_refusals_name_the_hop_and_quote_the_status_line() {
    let cases = [
        (403, "Forbidden", "refused_by_policy", POLICY),
        (
            407,
            "Proxy Authentication Required",
            "refused_by_policy",
            &["credentials"][..],
        ),
        (502, "Bad Gateway", "target_unreachable", TARGET),
        (503, "Service Unavailable", "target_unreachable", TARGET),
        (504, "Gateway Timeout", "target_unreachable", TARGET),
    ];
    for (status, reason, hop, hint_words) in cases {
        let case = Case {
            refusal: Refusal::Http(status, reason),
            hop,
            hint_words,
        };
        let v = through_refusing_proxy(&case, "http").await;
        let line = format!("HTTP/1.1 {status} {reason}");
        assert_eq!(text(&v, "/evidence/reply/protocol"), "http");
        assert_eq!(v["evidence"]["reply"]["status"], status, "{v:#}");
        assert_eq!(text(&v, "/evidence/reply/status_line"), line);
        assert_mentions(&v, "/message", &[&line]);
        assert_mentions(&v, "/hint", &[&line]);
    }
}

#[tokio::test]
async fn socks5_replies_name_the_hop_and_carry_the_rfc_1928_code() {
    let cases = [
        (
            0x02,
            "connection not allowed by ruleset",
            "refused_by_policy",
            POLICY,
        ),
        (0x04, "Host unreachable", "target_unreachable", TARGET),
        (0x05, "Connection refused", "target_unreachable", TARGET),
        (0x06, "TTL expired", "target_unreachable", TARGET),
    ];
    for (code, meaning, hop, hint_words) in cases {
        let case = Case {
            refusal: Refusal::Socks5(code),
            hop,
            hint_words,
        };
        let v = through_refusing_proxy(&case, "socks5").await;
        assert_eq!(text(&v, "/evidence/reply/protocol"), "socks5");
        assert_eq!(v["evidence"]["reply"]["code"], code, "{v:#}");
        assert_eq!(text(&v, "/evidence/reply/meaning"), meaning);
        assert_mentions(&v, "/message", &[&format!("{code:#04x}"), meaning]);
    }
}

#[tokio::test]
async fn a_socks5_proxy_accepting_no_offered_method_is_a_policy_refusal_about_credentials() {
    let case = Case {
        refusal: Refusal::Socks5NoAcceptableMethod,
        hop: "refused_by_policy",
        hint_words: &["credentials"],
    };
    let v = through_refusing_proxy(&case, "socks5").await;
    assert_eq!(text(&v, "/evidence/reply/protocol"), "socks5_auth");
}

#[tokio::test]
async fn an_unreachable_proxy_is_blamed_on_the_proxy_naming_its_address() {
    for scheme in ["http", "socks5"] {
        let addr = refused_port().await;
        let proxy_url = format!("{scheme}://{addr}");
        let run = check_via(&proxy_url, "ws://192.0.2.1:8080/").await;

        let v = run.verdict(2, "connect_error", Some("connect"));
        assert_eq!(text(&v, "/evidence/hop"), "proxy_unreachable", "{v:#}");
        assert_eq!(text(&v, "/evidence/failures/0/addr"), addr.to_string());
        assert_eq!(text(&v, "/evidence/failures/0/cause"), "refused");
        assert_eq!(text(&v, "/evidence/failures/0/errno"), "ECONNREFUSED");
        assert_mentions(&v, "/hint", &[&format!("The proxy {proxy_url} is down")]);
        assert!(!text(&v, "/hint").contains("target behind"), "{v:#}");
    }
}

#[tokio::test]
async fn a_proxy_that_never_accepts_is_a_connect_timeout_blamed_on_the_proxy() {
    let (addr, _guard) = support::backlog::full_listener().await;
    let proxy_url = format!("http://{addr}");
    let run = check([
        "--format",
        "json",
        "--timeout",
        "5s",
        "--connect-timeout",
        "500ms",
        "--proxy",
        &proxy_url,
        "ws://192.0.2.1:8080/",
    ])
    .await;

    let v = run.verdict(2, "timeout", Some("connect"));
    assert_eq!(text(&v, "/evidence/awaited/kind"), "proxy_connect");
    assert_eq!(text(&v, "/evidence/awaited/proxy"), proxy_url);
    assert_mentions(&v, "/evidence/detail", &[&addr.to_string()]);
    assert_mentions(
        &v,
        "/hint",
        &[&format!("The proxy {proxy_url} did not accept")],
    );
}
