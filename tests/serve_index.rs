//! The status page of a large installation over HTTP: a daemon watching 230
//! healthy and 30 broken endpoints (fault servers on 127.0.0.1). `/` leads
//! with the counts per status and the failing monitors as full cards, lists
//! the healthy ones compactly, pages both (`?page=N`: 25 cards, 200 rows),
//! and links every monitor to its own page.

mod serve_support;
mod support;

use serve_support::Daemon;
use support::{Behavior, FaultServer};

const HEALTHY: usize = 230;
const BROKEN: usize = 30;

/// The page's links as a browser reads them (minijinja escapes `/`).
fn unescape(html: &str) -> String {
    html.replace("&#x2f;", "/").replace("&amp;", "&")
}

/// The text of each link that follows `marker` in `html`.
fn link_texts(html: &str, marker: &str) -> Vec<String> {
    html.split(marker)
        .skip(1)
        .map(|rest| {
            let a = rest.find("<a ").expect("a link after the marker");
            let start = rest[a..].find('>').expect("tag end") + a + 1;
            let end = rest[start..].find("</a>").expect("link end") + start;
            rest[start..end].to_string()
        })
        .collect()
}

/// Monitor names in page order: full cards, then rows of the compact list.
fn shown(html: &str) -> (Vec<String>, Vec<String>) {
    (
        link_texts(html, "<div class=\"name\">"),
        link_texts(html, "<li><span class=\"dot"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_status_page_shows_failing_monitors_first_and_pages_the_rest() {
    let healthy = FaultServer::start(Behavior::Healthy).await;
    let broken = FaultServer::start(Behavior::FinAfter101).await;
    let mut yaml = String::from(
        "defaults:\n  schedule: \"@every 1h\"\n  timeout: 3s\n  retries: 0\n  failure_threshold: 1\nmonitors:\n",
    );
    // Broken ones interleaved with healthy ones in the config: order on the
    // page must come from their status, not from the file.
    for i in 0..HEALTHY + BROKEN {
        let (name, url) = if i % 8 == 4 && i / 8 < BROKEN {
            (format!("broken-{:02}", i / 8), broken.ws_url("/b"))
        } else {
            (format!("ok-{i:03}"), healthy.ws_url("/ok"))
        };
        yaml.push_str(&format!("  - {{ name: {name}, url: \"{url}\" }}\n"));
    }
    let daemon = Daemon::start(&yaml).await;
    let counts = format!(
        "<b>{BROKEN}</b> down</span><span><b>0</b> degraded</span><span><b>{HEALTHY}</b> up"
    );
    daemon
        .wait_until("every monitor checked once", async |d| {
            d.get("/").await.body.contains(&counts)
        })
        .await;

    let first = daemon.get("/").await;
    assert_eq!(first.status, 200);
    let html = unescape(&first.body);
    assert!(
        html.contains(&format!("{BROKEN} of {} monitors down", HEALTHY + BROKEN)),
        "{html}"
    );
    let (cards, rows) = shown(&html);
    let broken_names: Vec<String> = (0..BROKEN).map(|i| format!("broken-{i:02}")).collect();
    assert_eq!(cards, broken_names[..25], "failing first, as full cards");
    assert!(html.contains("early_fin"), "a failing card shows its cause");
    assert_eq!(rows.len(), 200);
    assert!(rows.iter().all(|r| r.starts_with("ok-")), "{rows:?}");
    assert!(html.contains("Failing, 1–25 of 30"));
    assert!(html.contains("Passing and pending, 1–200 of 230"));
    assert!(html.contains("Page 1 of 2"));
    assert!(
        html.contains("<a rel=\"next\" href=\"/?page=2\">"),
        "{html}"
    );
    assert!(!html.contains("rel=\"prev\""));

    let second = daemon.get("/?page=2").await;
    assert_eq!(second.status, 200);
    let html2 = unescape(&second.body);
    let (cards2, rows2) = shown(&html2);
    assert_eq!(cards2, broken_names[25..]);
    assert_eq!(rows2.len(), HEALTHY - 200);
    let mut all_rows: Vec<&String> = rows.iter().chain(&rows2).collect();
    all_rows.sort();
    all_rows.dedup();
    assert_eq!(all_rows.len(), HEALTHY, "each healthy monitor listed once");
    assert!(html2.contains("<a rel=\"prev\" href=\"/?page=1\">"));
    assert!(!html2.contains("rel=\"next\""));
    assert_eq!(daemon.get("/?page=3").await.status, 404);
    assert_eq!(daemon.get("/?page=0").await.status, 404);

    // A row links to the monitor's own page, which has its detail.
    let name = &rows2[0];
    let link = format!("<a class=\"n\" href=\"/monitors/{name}\">");
    assert!(html2.contains(&link), "{link} in {html2}");
    let detail = daemon.get(&format!("/monitors/{name}")).await;
    assert_eq!(detail.status, 200);
    assert!(detail.body.contains(name.as_str()));
    assert!(detail.body.contains("Recent checks"));

    // The page is a summary: a fraction of the full-card size per monitor.
    assert!(
        first.body.len() < 1_000_000,
        "{} bytes for {} monitors",
        first.body.len(),
        HEALTHY + BROKEN
    );
    daemon.stop().await.expect("clean stop");
}
