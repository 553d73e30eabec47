//! `wsprobe check` against refusals that say why (issue 10): a challenge
//! whose scheme and realm are evidence while the credentials sent stay
//! secret, a server that wants a subprotocol, and a product in front named by
//! its own answer. Real sockets to the fault server, the real binary.

mod check_run;
mod support;

use check_run::{assert_mentions, check, text};
use support::{Behavior, FaultServer};

fn refusal(status: u16, reason: &'static str, headers: &[(&str, &str)], body: &str) -> Behavior {
    let mut all: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    all.push(("Content-Length".into(), body.len().to_string()));
    all.push(("Connection".into(), "close".into()));
    Behavior::HttpResponse {
        version: "HTTP/1.1",
        status,
        reason,
        headers: all,
        body: body.into(),
    }
}

fn header<'a>(v: &'a serde_json::Value, name: &str) -> &'a str {
    v["response"]["headers"]
        .as_array()
        .expect("headers array")
        .iter()
        .find(|h| h[0].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
        .and_then(|h| h[1].as_str())
        .unwrap_or_else(|| panic!("no {name} header in {v:#}"))
}

#[tokio::test]
async fn a_401_keeps_the_scheme_and_realm_and_names_the_scheme_wanted_but_never_our_token() {
    let server = FaultServer::start(refusal(
        401,
        "Unauthorized",
        &[(
            "WWW-Authenticate",
            "Basic realm=\"ops console\", Digest realm=\"ops\", nonce=\"7ypf3xlj9XXwfDPEoM4URrv\"",
        )],
        "unauthorized",
    ))
    .await;
    let token = "Bearer tok-Zq81x7Hh";
    let header_arg = format!("Authorization: {token}");
    let run = check([
        "--format",
        "json",
        "--timeout",
        "2s",
        "--header",
        &header_arg,
        &server.ws_url("/ws"),
    ])
    .await;

    let v = run.verdict(2, "missing_101", Some("upgrade"));
    assert_eq!(
        header(&v, "www-authenticate"),
        "Basic realm=\"ops console\", Digest realm=\"ops\", nonce=***",
        "{run}"
    );
    assert_mentions(
        &v,
        "/hint",
        &[
            "Basic (realm \"ops console\") or Digest (realm \"ops\")",
            "--header 'Authorization: Basic …'",
        ],
    );
    for secret in ["tok-Zq81x7Hh", "7ypf3xlj9XXwfDPEoM4URrv"] {
        assert!(!run.stdout.contains(secret), "{secret} leaked:\n{run}");
    }
}

#[tokio::test]
async fn a_refusal_that_names_the_missing_subprotocol_gets_a_hint_naming_it() {
    let server = FaultServer::start(refusal(
        400,
        "Bad Request",
        &[("Content-Type", "text/plain")],
        "Unsupported subprotocol: expected \"graphql-transport-ws\"",
    ))
    .await;
    let run = check([
        "--format",
        "json",
        "--timeout",
        "2s",
        &server.ws_url("/graphql"),
    ])
    .await;

    let v = run.verdict(2, "missing_101", Some("upgrade"));
    assert_eq!(text(&v, "/response/reason"), "Bad Request");
    assert_mentions(
        &v,
        "/hint",
        &[
            "Sec-WebSocket-Protocol",
            "--subprotocol graphql-transport-ws",
        ],
    );
}

#[tokio::test]
async fn envoy_without_upgrade_configs_is_named_with_its_fix() {
    let server = FaultServer::start(refusal(403, "Forbidden", &[("server", "envoy")], "")).await;
    let run = check(["--format", "json", "--timeout", "2s", &server.ws_url("/ws")]).await;

    let v = run.verdict(2, "missing_101", Some("upgrade"));
    assert_eq!(header(&v, "server"), "envoy");
    assert_mentions(&v, "/hint", &["Envoy", "upgrade_configs"]);
}
