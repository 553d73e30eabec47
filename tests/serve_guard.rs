//! The HTTP surface when it is not on a private network or not at the root
//! (issue 14): `settings.http.auth` (bearer token and basic, from the
//! environment), `settings.http.allowed_hosts` against DNS rebinding, and
//! `settings.base_path` / `X-Forwarded-Prefix` behind a reverse proxy at a
//! sub-path. Each test runs the real `wsprobe run` binary and talks HTTP to it.

mod daemon_support;
mod support;
mod support_http;

use base64::Engine;
use daemon_support::{Daemon, SOON, Scratch, free_addr, http_client};
use std::net::SocketAddr;
use std::time::Duration;
use support::{Behavior, FaultServer};

const TOKEN: &str = "tok-3f9a1c2e77";
const PASSWORD: &str = "pw-b81d0c5e";

/// Start `wsprobe run` on a healthy endpoint with `settings` (indented
/// lines under `settings:`) and the two secrets in its environment; wait
/// until the surface answers `/healthz`.
async fn daemon_with(settings: &str) -> (Daemon, SocketAddr, FaultServer, Scratch) {
    let server = FaultServer::start(Behavior::Healthy).await;
    let scratch = Scratch::new();
    let addr = free_addr();
    scratch.write_config(&format!(
        "settings:\n  listen: \"{addr}\"\n  jitter: 0s\n  shutdown_grace: 2s\n{settings}\
         defaults: {{ schedule: \"@every 1h\", timeout: 2s, retries: 0, proxy: none }}\n\
         monitors:\n  - {{ name: feed, url: \"{}\" }}\n",
        server.ws_url("/feed")
    ));
    let daemon = Daemon::run(
        &scratch,
        &[
            ("WSPROBE_HTTP_TOKEN", TOKEN),
            ("WSPROBE_HTTP_PASSWORD", PASSWORD),
        ],
    );
    let deadline = std::time::Instant::now() + SOON;
    while get(addr, "/healthz", &[]).await.map(|r| r.0) != Some(200) {
        assert!(
            std::time::Instant::now() < deadline,
            "the surface did not come up:\n{}",
            daemon.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (daemon, addr, server, scratch)
}

/// GET with headers: status, `WWW-Authenticate` values, body; `None` when
/// nothing answers.
async fn get(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> Option<(u16, Vec<String>, String)> {
    let mut req = http_client().get(format!("http://{addr}{path}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let reply = req.send().await.ok()?;
    let status = reply.status().as_u16();
    let challenges = reply
        .headers()
        .get_all(reqwest::header::WWW_AUTHENTICATE)
        .iter()
        .map(|v| v.to_str().unwrap_or_default().to_string())
        .collect();
    Some((status, challenges, reply.text().await.ok()?))
}

async fn status(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> u16 {
    get(addr, path, headers).await.expect("an answer").0
}

/// A page that must answer 200; its body.
async fn page(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> String {
    let (code, _, body) = get(addr, path, headers).await.expect("an answer");
    assert_eq!(code, 200, "{path} {headers:?}: {body}");
    body
}

/// Every `href` of a page, HTML entities decoded (the templates escape `/`).
fn links(body: &str) -> Vec<String> {
    body.split("href=\"")
        .skip(1)
        .map(|rest| {
            let value = &rest[..rest.find('"').expect("a closing quote")];
            value
                .replace("&#x2f;", "/")
                .replace("&quot;", "\"")
                .replace("&#x27;", "'")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&")
        })
        .collect()
}

fn basic(user: &str, password: &str) -> String {
    let pair = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

#[tokio::test]
async fn with_auth_every_route_but_health_asks_for_the_token_or_the_password() {
    let (daemon, addr, _server, _scratch) = daemon_with(
        "  http:\n    auth:\n      bearer_token: ${WSPROBE_HTTP_TOKEN}\n      \
         basic: { user: ops, password: \"${WSPROBE_HTTP_PASSWORD}\" }\n",
    )
    .await;
    let bearer = format!("Bearer {TOKEN}");
    let good_basic = basic("ops", PASSWORD);
    for path in [
        "/",
        "/monitors/feed",
        "/metrics",
        "/api/monitors",
        "/api/cluster",
        "/probe?target=ws://127.0.0.1:1/",
        "/no-such-page",
    ] {
        let (code, challenges, body) = get(addr, path, &[]).await.expect("an answer");
        assert_eq!(code, 401, "{path} without credentials: {body}");
        assert_eq!(
            challenges,
            [
                "Basic realm=\"wsprobe\", charset=\"UTF-8\"",
                "Bearer realm=\"wsprobe\""
            ],
            "{path}"
        );
        for wrong in [
            "Bearer tok-3f9a1c2e7",
            "Bearer tok-3f9a1c2e777",
            &basic("ops", "pw"),
            &basic("root", PASSWORD),
            &format!("Token {TOKEN}"),
        ] {
            assert_eq!(
                status(addr, path, &[("authorization", wrong)]).await,
                401,
                "{path} with {wrong:?}"
            );
        }
    }
    for path in ["/", "/monitors/feed", "/metrics", "/api/monitors"] {
        assert_eq!(
            status(addr, path, &[("authorization", &bearer)]).await,
            200,
            "{path} with the token"
        );
        assert_eq!(
            status(addr, path, &[("authorization", &good_basic)]).await,
            200,
            "{path} with the password"
        );
    }
    // Orchestrators and the image's HEALTHCHECK probe these without credentials.
    assert_eq!(status(addr, "/healthz", &[]).await, 200);
    assert_eq!(status(addr, "/readyz", &[]).await, 200);
    let logs = format!("{}{}", daemon.stdout(), daemon.stderr());
    for secret in [TOKEN, PASSWORD] {
        assert!(!logs.contains(secret), "a secret was logged:\n{logs}");
    }
}

#[tokio::test]
async fn allowed_hosts_refuse_a_foreign_host_name_but_keep_health_open() {
    let (_daemon, addr, _server, _scratch) =
        daemon_with("  http:\n    allowed_hosts: [status.example.test, \"*.ops.example.test\"]\n")
            .await;
    let port = addr.port();
    for host in [
        format!("status.example.test:{port}"),
        "STATUS.example.test".to_string(),
        format!("a.ops.example.test:{port}"),
    ] {
        assert_eq!(status(addr, "/", &[("host", &host)]).await, 200, "{host}");
    }
    // A rebinding page's requests carry its own name, and the address is not listed either.
    for host in [
        format!("attacker.test:{port}"),
        format!("127.0.0.1:{port}"),
        "ops.example.test".to_string(),
        "status.example.test.attacker.test".to_string(),
    ] {
        let (code, _, body) = get(addr, "/api/monitors", &[("host", &host)])
            .await
            .expect("an answer");
        assert_eq!(code, 421, "{host}: {body}");
        assert!(body.contains("settings.http.allowed_hosts"), "{body}");
    }
    assert_eq!(
        status(addr, "/healthz", &[("host", "attacker.test")]).await,
        200
    );
}

#[tokio::test]
async fn under_a_base_path_the_page_links_within_it_whether_the_proxy_strips_it_or_not() {
    let (_daemon, addr, _server, _scratch) = daemon_with("  base_path: /ops/wsprobe/\n").await;
    // A proxy passing the whole path on, and one that stripped the prefix.
    for path in ["/ops/wsprobe/", "/ops/wsprobe", "/"] {
        let links = links(&page(addr, path, &[]).await);
        for link in [
            "/ops/wsprobe/monitors/feed",
            "/ops/wsprobe/api/monitors",
            "/ops/wsprobe/api/cluster",
            "/ops/wsprobe/metrics",
            "/ops/wsprobe/",
        ] {
            assert!(
                links.iter().any(|l| l == link),
                "{link} not among the links at {path}: {links:?}"
            );
        }
        assert!(
            links
                .iter()
                .all(|l| l.starts_with("/ops/wsprobe/") || l.starts_with("data:")),
            "{links:?}"
        );
    }
    let monitor = links(&page(addr, "/ops/wsprobe/monitors/feed", &[]).await);
    assert!(monitor.iter().any(|l| l == "/ops/wsprobe/"), "{monitor:?}");
    for path in ["/ops/wsprobe/api/monitors", "/ops/wsprobe/metrics"] {
        assert_eq!(status(addr, path, &[]).await, 200, "{path}");
    }
    assert_eq!(status(addr, "/ops/wsprobe2/", &[]).await, 404);

    // The proxy's own prefix wins when it is a plain path; anything else is ignored.
    let forwarded = links(&page(addr, "/", &[("x-forwarded-prefix", "/edge/")]).await);
    assert!(
        forwarded.iter().any(|l| l == "/edge/monitors/feed"),
        "{forwarded:?}"
    );
    for hostile in ["//attacker.test", "/a\"onmouseover=x", "javascript:x"] {
        let body = page(addr, "/", &[("x-forwarded-prefix", hostile)]).await;
        let links = links(&body);
        assert!(
            links.iter().any(|l| l == "/ops/wsprobe/monitors/feed") && !body.contains("attacker"),
            "{hostile}: {links:?}"
        );
    }
}
