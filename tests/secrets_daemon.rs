//! `wsprobe run` watching servers that reflect the request: no secret the
//! checks sent — `${VAR}` expansions in the URL, headers and message,
//! userinfo, credential headers and query parameters — reaches the alerts
//! (webhook, email, file), the JSON API, the status page, `/probe?debug=true`,
//! the logs or the bytes of the SQLite state, while the evidence still does.

mod daemon_support;
mod serve_support;
mod support;
mod support_http;
mod support_smtp;

use daemon_support::{Daemon, QUICK, SOON, Scratch, bodies};
use std::time::Duration;
use support::leaks::{Secret, assert_no_secret, assert_shows};
use support::reflect_server::{ReflectServer, Reflection};
use support_http::Receiver;
use support_smtp::{Options, SmtpServer};

/// `${VAR}` values: each reaches the check only through the environment.
/// Letters, digits and `-` only, so no encoding on the way out hides one.
const ENV: [(&str, &str); 7] = [
    ("URL_PASSWORD", "envpw-3333"),
    ("QUERY_TOKEN", "envqtok-5555"),
    ("HEADER_TOKEN", "envxapi-2222"),
    ("TRACE_SECRET", "envtrace-4444"),
    ("QUERY_SIG", "envsig-7777"),
    ("BEARER_TOKEN", "envbearer-1111"),
    ("MSG_SECRET", "envmsg-9999"),
];
/// The monitors, one per reflection.
const MONITORS: [&str; 3] = ["error-page", "close-reason", "echo-message"];
/// Secrets written in the file itself.
const LITERAL_KEY: &str = "literal-qkey-6666";
const LITERAL_BEARER: &str = "literal-bearer-8888";

fn env(name: &str) -> &'static str {
    ENV.iter()
        .find(|(k, _)| *k == name)
        .expect("a known variable")
        .1
}

fn secrets() -> Vec<Secret> {
    let mut s: Vec<Secret> = ENV.iter().map(|(k, v)| Secret::new(k, *v)).collect();
    s.push(Secret::new("the literal api_key", LITERAL_KEY));
    s.push(Secret::new("the literal bearer token", LITERAL_BEARER));
    s.extend(Secret::basic(
        "the Basic credentials",
        "alice",
        env("URL_PASSWORD"),
    ));
    s
}

struct Servers {
    error_page: ReflectServer,
    close_reason: ReflectServer,
    echo: ReflectServer,
}

impl Servers {
    /// Each monitor's URL as the check sends it (the variables expanded).
    fn urls(&self) -> [(&'static str, String); 3] {
        [
            (
                "error-page",
                format!(
                    "ws://alice:{}@{}/ws?room=lobby&access_token={}&api_key={LITERAL_KEY}",
                    env("URL_PASSWORD"),
                    self.error_page.authority(),
                    env("QUERY_TOKEN")
                ),
            ),
            (
                "close-reason",
                format!(
                    "ws://{}/ws?room=lobby&sig={}",
                    self.close_reason.authority(),
                    env("QUERY_SIG")
                ),
            ),
            (
                "echo-message",
                format!("ws://{}/ws?room=lobby", self.echo.authority()),
            ),
        ]
    }
}

fn config(servers: &Servers, listen: &str, hook: &Receiver, smtp: &SmtpServer) -> String {
    format!(
        r#"{QUICK}
monitors:
  - name: error-page
    url: "ws://alice:${{URL_PASSWORD}}@{error_page}/ws?room=lobby&access_token=${{QUERY_TOKEN}}&api_key={LITERAL_KEY}"
    headers: {{ X-Api-Token: "${{HEADER_TOKEN}}", X-Trace-Context: "trace-${{TRACE_SECRET}}" }}
    alert: [hook, mail, log]
  - name: close-reason
    url: "ws://{close_reason}/ws?room=lobby&sig=${{QUERY_SIG}}"
    headers: {{ Authorization: "Bearer ${{BEARER_TOKEN}}" }}
    alert: [hook, mail, log]
  - name: echo-message
    url: "ws://{echo}/ws?room=lobby"
    headers: {{ Authorization: "Bearer {LITERAL_BEARER}" }}
    send: "hello ${{MSG_SECRET}}"
    expect: "^never$"
    alert: [hook, mail, log]
channels:
  hook: {{ type: webhook, url: "{hook_url}", timeout: 5s }}
  mail:
    type: email
    smtp: {{ host: 127.0.0.1, port: {smtp_port}, security: none, timeout: 5s }}
    from: wsprobe <alerts@example.com>
    to: [oncall@example.com]
  log: {{ type: file, path: ./alerts.log }}
"#,
        error_page = servers.error_page.authority(),
        close_reason = servers.close_reason.authority(),
        echo = servers.echo.authority(),
        hook_url = hook.url("/hook"),
        smtp_port = smtp.addr.port(),
    )
    .replace(
        "settings: {",
        &format!("settings: {{ listen: \"{listen}\","),
    )
}

async fn get(client: &reqwest::Client, url: &str) -> String {
    let resp = client
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    resp.text()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

/// The email as a reader sees it: the raw message and every part decoded
/// (the secrets hold no character HTML would escape, so the HTML part is
/// searched as it is).
fn readable(mail: &support_smtp::Received) -> String {
    let msg = mail_parser::MessageParser::default()
        .parse(&mail.data)
        .expect("a MIME message");
    format!(
        "{}\n{}\n{}\n{}",
        String::from_utf8_lossy(&mail.data),
        msg.subject().unwrap_or_default(),
        msg.body_text(0).unwrap_or_default(),
        msg.body_html(0).unwrap_or_default()
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn no_output_of_the_daemon_carries_a_secret_a_server_reflected() {
    let servers = Servers {
        error_page: ReflectServer::start(Reflection::ErrorPage).await,
        close_reason: ReflectServer::start(Reflection::CloseReason).await,
        echo: ReflectServer::start(Reflection::EchoMessage).await,
    };
    let hook = Receiver::start(&[]).await;
    let smtp = SmtpServer::start(Options::default()).await;
    let listen = serve_support::free_addr().to_string();
    let scratch = Scratch::new();
    scratch.write_config(&config(&servers, &listen, &hook, &smtp));
    let daemon = Daemon::run(&scratch, &ENV);
    let alerts_log = scratch.path("alerts.log");
    daemon
        .until("a DOWN for each monitor on every channel", SOON * 2, || {
            let file = std::fs::read_to_string(&alerts_log).unwrap_or_default();
            let filed = MONITORS
                .iter()
                .all(|m| file.contains(&format!("DOWN {m}:")));
            (filed && bodies(&hook).len() >= 3 && smtp.received().len() >= 3).then_some(())
        })
        .await;

    let secrets = secrets();
    let mut outputs: Vec<(String, String)> = Vec::new();
    for request in hook.requests() {
        let headers: Vec<String> = request
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        let text = format!(
            "{}\n{}",
            headers.join("\n"),
            String::from_utf8_lossy(&request.body)
        );
        outputs.push(("a webhook".into(), text));
    }
    for mail in smtp.received() {
        outputs.push(("an email".into(), readable(&mail)));
    }
    outputs.push((
        "the file channel".into(),
        std::fs::read_to_string(&alerts_log).expect("alerts.log"),
    ));
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client");
    let base = format!("http://{listen}");
    outputs.push((
        "/api/monitors".into(),
        get(&client, &format!("{base}/api/monitors")).await,
    ));
    outputs.push(("/".into(), get(&client, &format!("{base}/")).await));
    outputs.push((
        "/metrics".into(),
        get(&client, &format!("{base}/metrics")).await,
    ));
    for (name, url) in servers.urls() {
        for path in [format!("/api/monitors/{name}"), format!("/monitors/{name}")] {
            outputs.push((path.clone(), get(&client, &format!("{base}{path}")).await));
        }
        let target: String = url::form_urlencoded::byte_serialize(url.as_bytes()).collect();
        let probe = get(&client, &format!("{base}/probe?target={target}&debug=true")).await;
        outputs.push((format!("/probe?debug=true for {name}"), probe));
    }
    let mut state = Vec::new();
    for file in ["state.db", "state.db-wal"] {
        state.extend(std::fs::read(scratch.path(file)).unwrap_or_default());
    }
    outputs.push((
        "the SQLite state".into(),
        String::from_utf8_lossy(&state).into_owned(),
    ));
    outputs.push((
        "the daemon's logs".into(),
        format!("{}\n{}", daemon.stdout(), daemon.stderr()),
    ));

    for (what, text) in &outputs {
        assert_no_secret(what, text, &secrets);
    }
    // The scrub masks what was sent, not the evidence around it.
    let find = |what: &str| -> String {
        outputs
            .iter()
            .filter(|(w, _)| w.starts_with(what))
            .map(|(_, t)| t.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    for what in ["a webhook", "an email", "the file channel"] {
        assert_shows(
            what,
            &find(what),
            &[
                "missing_101",
                "early_fin",
                "unexpected_message",
                "room=lobby",
            ],
        );
    }
    assert_shows(
        "the webhook",
        &find("a webhook"),
        &[
            "X-Reflected-1",
            "reflector/1",
            "rejected ***",
            "echo: hello ***",
        ],
    );
    assert_shows(
        "/api/monitors/error-page",
        &find("/api/monitors/error-page"),
        &["alice:***@", "access_token=***", "X-Reflected-1"],
    );
    assert_shows(
        "/monitors/close-reason",
        &find("/monitors/close-reason"),
        &["4001", "sig=***"],
    );
    assert_shows("/", &find("/"), &["error-page", "alice:***@"]);
    assert_shows(
        "/probe for error-page",
        &find("/probe?debug=true for error-page"),
        &["X-Reflected-9", "trace-***"],
    );
    assert_shows(
        "/probe for echo-message",
        &find("/probe?debug=true for echo-message"),
        &["echo: hello ***"],
    );
    assert_shows(
        "the SQLite state",
        &find("the SQLite state"),
        &["X-Reflected-1", "rejected ***", "echo: hello ***"],
    );
}
