//! `wsprobe check` against servers that reflect the request: every secret
//! the check sent (credential headers, URL userinfo, credential query
//! parameters) is absent from every output format, with and without `-v`,
//! while the evidence around it still shows.

mod support;

use std::process::Output;
use support::leaks::{Secret, assert_no_secret, assert_shows};
use support::reflect_server::{ReflectServer, Reflection};

const BEARER: &str = "bearer-T0KEN-1111";
const API_TOKEN: &str = "xapi-T0KEN-2222";
const USER: &str = "alice";
const PASSWORD: &str = "pa$$/w0rd-3333";
const QUERY_TOKEN: &str = "qtok-5555";
const QUERY_KEY: &str = "qkey+6666/=";
const QUERY_SIG: &str = "f00dsig7777";
/// A token carried in a subprotocol, as Kubernetes' API server takes it.
const PROTOCOL_TOKEN: &str = "c3VicHJvdG9rZW4";

const FORMATS: [&str; 4] = ["text", "json", "junit", "nagios"];

fn secrets() -> Vec<Secret> {
    let mut s = vec![
        Secret::new("the bearer token", BEARER),
        Secret::new("the X-Api-Token header", API_TOKEN),
        Secret::new("the URL password", PASSWORD),
        Secret::new("the access_token parameter", QUERY_TOKEN),
        Secret::new("the api_key parameter", QUERY_KEY),
        Secret::new("the X-Amz-Signature parameter", QUERY_SIG),
        Secret::new("the subprotocol token", PROTOCOL_TOKEN),
    ];
    s.extend(Secret::basic("the Basic credentials", USER, PASSWORD));
    s
}

/// The query, with the key percent-encoded as a client must write it.
fn query() -> String {
    let key: String = url::form_urlencoded::byte_serialize(QUERY_KEY.as_bytes()).collect();
    format!("room=lobby&access_token={QUERY_TOKEN}&api_key={key}&X-Amz-Signature={QUERY_SIG}")
}

fn url_with_userinfo(server: &ReflectServer) -> String {
    let password: String = url::form_urlencoded::byte_serialize(PASSWORD.as_bytes()).collect();
    format!(
        "ws://{USER}:{password}@{}/ws?{}",
        server.authority(),
        query()
    )
}

fn url_plain(server: &ReflectServer) -> String {
    format!("ws://{}/ws?{}", server.authority(), query())
}

async fn wsprobe(args: &[String]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_wsprobe"))
        .arg("check")
        .args(["--no-proxy", "--timeout", "3s"])
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .await
        .expect("run wsprobe")
}

/// Run `args` in every format, with and without -v; each output must be free
/// of every secret and show `evidence`.
async fn every_output_is_clean(args: &[String], evidence: &[&str]) {
    for format in FORMATS {
        for verbose in [false, true] {
            let mut full = vec!["--format".to_string(), format.to_string()];
            if verbose {
                full.push("-v".into());
            }
            full.extend(args.iter().cloned());
            let out = wsprobe(&full).await;
            let what = format!("--format {format}{}", if verbose { " -v" } else { "" });
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{what}: {stdout}{stderr}");
            assert_no_secret(&what, &format!("{stdout}\n{stderr}"), &secrets());
            assert_shows(&what, &stdout, evidence);
        }
    }
}

fn header(line: &str) -> [String; 2] {
    ["--header".into(), line.into()]
}

#[tokio::test(flavor = "multi_thread")]
async fn an_error_page_echoing_the_request_leaks_no_userinfo_header_or_parameter() {
    let server = ReflectServer::start(Reflection::ErrorPage).await;
    let mut args = header(&format!("X-Api-Token: {API_TOKEN}")).to_vec();
    args.extend([
        "--subprotocol".into(),
        "chat".into(),
        "--subprotocol".into(),
        format!("base64url.bearer.authorization.k8s.io.{PROTOCOL_TOKEN}"),
    ]);
    args.push(url_with_userinfo(&server));
    every_output_is_clean(&args, &["400", "room=lobby"]).await;
    // -v and json carry the reflected head: its non-secret parts survive.
    let json = wsprobe(&[&["--format".to_string(), "json".into()], &args[..]].concat()).await;
    let json = String::from_utf8_lossy(&json.stdout);
    assert_shows(
        "json",
        &json,
        &[
            "X-Reflected-1",
            "reflector/1",
            "Upgrade: websocket",
            "Sec-WebSocket-Protocol: chat, ***",
            "alice:***@",
            "access_token=***",
        ],
    );
}

/// A token with the characters HTML, JSON and forms escape, as a debug page
/// echoes it; every spelling is searched, not only the raw one.
const ESCAPED_TOKEN: &str = r#"t&k<"8888">'/q"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_debug_page_echoing_the_request_escaped_leaks_no_spelling_of_a_secret() {
    let server = ReflectServer::start(Reflection::EscapedPage).await;
    let mut args = header(&format!("X-Api-Token: {ESCAPED_TOKEN}")).to_vec();
    args.push(url_with_userinfo(&server));
    let mut all = secrets();
    all.push(Secret::new("the escaped X-Api-Token", ESCAPED_TOKEN));
    for format in FORMATS {
        let out = wsprobe(
            &[
                &["--format".to_string(), format.into(), "-v".into()],
                &args[..],
            ]
            .concat(),
        )
        .await;
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{format}: {text}");
        assert_no_secret(format, &text, &all);
        assert_shows(format, &text, &["400"]);
        if matches!(format, "text" | "json") {
            // -v shows the answer's head: the echo is there, scrubbed.
            assert_shows(format, &text, &["X-Echo-Form", "auth=***"]);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_close_reason_quoting_the_authorization_header_leaks_nothing() {
    let server = ReflectServer::start(Reflection::CloseReason).await;
    let mut args = header(&format!("Authorization: Bearer {BEARER}")).to_vec();
    args.push(url_plain(&server));
    every_output_is_clean(&args, &["4001"]).await;
    let json = wsprobe(&[&["--format".to_string(), "json".into()], &args[..]].concat()).await;
    assert_shows(
        "json",
        &String::from_utf8_lossy(&json.stdout),
        &["rejected ***"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_echoed_message_with_the_credentials_leaks_nothing() {
    let server = ReflectServer::start(Reflection::EchoMessage).await;
    let mut args = header(&format!("Authorization: Bearer {BEARER}")).to_vec();
    args.extend([
        "--send".into(),
        "hello".into(),
        "--expect".into(),
        "^never$".into(),
    ]);
    args.push(url_plain(&server));
    every_output_is_clean(&args, &["echo: hello"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_connection_and_an_unusable_url_show_the_url_masked() {
    let port = support::refused_port().await.port();
    let password: String = url::form_urlencoded::byte_serialize(PASSWORD.as_bytes()).collect();
    let refused = format!("ws://{USER}:{password}@127.0.0.1:{port}/ws?{}", query());
    let out = wsprobe(&["-v".into(), refused]).await;
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert_no_secret("a refused check", &text, &secrets());
    assert_shows(
        "a refused check",
        &text,
        &["alice:***@127.0.0.1", "connect_error"],
    );

    let unusable = format!("http://{USER}:{password}@127.0.0.1/ws?{}", query());
    let out = wsprobe(&[unusable]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert_no_secret("an unusable URL's error", &stderr, &secrets());
    assert_shows(
        "an unusable URL's error",
        &stderr,
        &["alice:***@", "use ws://"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_cut_inside_a_secret_shows_no_beginning_of_it() {
    let server = ReflectServer::start(Reflection::EchoMessage).await;
    // The echo is "echo: <message> | Bearer <token> | …"; wsprobe keeps the
    // first 512 bytes, so this message puts the cut 8 bytes into the token.
    let message = "x".repeat(512 - "echo: ".len() - " | Bearer ".len() - 8);
    let args = [
        "--format".to_string(),
        "json".into(),
        "--header".into(),
        format!("Authorization: Bearer {BEARER}"),
        "--send".into(),
        message,
        "--expect".into(),
        "^never$".into(),
        url_plain(&server),
    ];
    let out = wsprobe(&args).await;
    let json = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{json}");
    assert!(
        !json.contains(&BEARER[..8]),
        "the token's beginning shows:\n{json}"
    );
    assert_shows("json", &json, &["xxxx | ***…"]);
}
