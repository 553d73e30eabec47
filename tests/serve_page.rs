//! The status page in a real browser: Debian's Chromium, headless, loads the
//! page a running daemon serves and we assert what it shows — monitor names,
//! Up/Down, the failing monitor's class and hint — and that screenshots at
//! desktop and phone width come out as PNGs.
//!
//! The daemon watches fault servers on 127.0.0.1 (one healthy, one closing
//! right after the 101) over a state store seeded with a week of history, so
//! the uptime bars and sparklines have something to draw.
//!
//! Set `WSPROBE_SCREENSHOT_DIR=docs` to also keep the screenshots there (this
//! is how `docs/status-page*.png` are made).

mod serve_support;
mod support;

use chrono::{Duration, Utc};
use serve_support::Daemon;
use std::path::{Path, PathBuf};
use std::time::Duration as StdDuration;
use support::{Behavior, FaultServer};
use tokio::process::Command;
use wsprobe::check::{Class, Phase};
use wsprobe::report::document::{ReportDocument, sample_document};
use wsprobe::state::machine::{Health, MonitorState};
use wsprobe::state::store::{ResultRow, Store, StoredReport};

const CHROMIUM: &str = "/usr/bin/chromium";
/// Longest one Chromium run may take.
const CHROMIUM_PATIENCE: StdDuration = StdDuration::from_secs(90);

#[tokio::test]
#[ignore = "needs Debian chromium (installed by .ci/run)"]
async fn the_status_page_in_headless_chromium_shows_up_and_down_monitors_with_the_cause() {
    require_chromium();
    let healthy = FaultServer::start(Behavior::Healthy).await;
    let broken = FaultServer::start(Behavior::FinAfter101).await;
    let yaml = format!(
        r#"defaults:
  schedule: "@every 1h"
  timeout: 3s
monitors:
  - name: chat-gateway
    url: {chat}
  - name: market-feed
    url: {feed}
  - name: notifications
    url: {notif}
"#,
        chat = healthy.ws_url("/ws"),
        feed = broken.ws_url("/stream"),
        notif = healthy.ws_url("/notify"),
    );
    let daemon = Daemon::start_seeded(&yaml, seed_week).await;
    daemon
        .wait_for_checks(&["chat-gateway", "market-feed", "notifications"])
        .await;
    let url = format!("{}/", daemon.base);
    let work = tempfile::tempdir().expect("tempdir");

    let dom = chromium(work.path(), &["--dump-dom", &url]).await;
    let text = visible_text(&dom);
    for needle in [
        "1 of 3 monitors down",
        "chat-gateway",
        "market-feed",
        "notifications",
        "Up",
        "Down",
        "early_fin",
        "Likely cause:",
        "proxy speaking HTTP/1.0",
        "Last 24 hours",
        "Last 7 days",
    ] {
        assert!(text.contains(needle), "{needle:?} not visible in:\n{text}");
    }
    // The healthy monitors say Up, the broken one Down, each in its own card.
    let card = |name: &str| {
        let start = text.find(name).expect("card");
        text[start..].chars().take(60).collect::<String>()
    };
    assert!(
        card("chat-gateway").contains("Up"),
        "{}",
        card("chat-gateway")
    );
    assert!(
        card("market-feed").contains("Down"),
        "{}",
        card("market-feed")
    );

    let monitor_dom = chromium(
        work.path(),
        &[
            "--dump-dom",
            &format!("{}/monitors/notifications", daemon.base),
        ],
    )
    .await;
    let monitor_text = visible_text(&monitor_dom);
    for needle in [
        "Incidents, last 7 days",
        "Resolved",
        "timeout",
        "Recent checks",
    ] {
        assert!(
            monitor_text.contains(needle),
            "{needle:?} not on the monitor page:\n{monitor_text}"
        );
    }

    for (name, size, (w, h)) in [
        ("status-page.png", "1280,900", (1280, 900)),
        ("status-page-mobile.png", "390,844", (390, 844)),
    ] {
        let file = work.path().join(name);
        let shot = format!("--screenshot={}", file.display());
        chromium(
            work.path(),
            &[
                &shot,
                &format!("--window-size={size}"),
                "--hide-scrollbars",
                &url,
            ],
        )
        .await;
        assert_eq!(png_size(&file), (w, h), "{name}");
        if let Some(dir) = std::env::var_os("WSPROBE_SCREENSHOT_DIR") {
            std::fs::copy(&file, PathBuf::from(dir).join(name)).expect("keep the screenshot");
        }
    }
    daemon.stop().await.expect("clean stop");
}

#[tokio::test]
#[ignore = "needs Debian chromium (installed by .ci/run)"]
async fn under_a_base_path_chromium_follows_the_page_links_within_it() {
    require_chromium();
    let broken = FaultServer::start(Behavior::FinAfter101).await;
    let yaml = format!(
        "defaults:\n  schedule: \"@every 1h\"\n  timeout: 3s\nmonitors:\n  - name: market-feed\n    url: {}\n",
        broken.ws_url("/stream")
    );
    let daemon = Daemon::start_with(&yaml, "  base_path: /ops/wsprobe\n", async |_| {}).await;
    daemon.wait_for_checks(&["market-feed"]).await;
    let work = tempfile::tempdir().expect("tempdir");
    let index = chromium(
        work.path(),
        &["--dump-dom", &format!("{}/ops/wsprobe/", daemon.base)],
    )
    .await;
    assert!(visible_text(&index).contains("market-feed"), "{index}");
    let hrefs: Vec<&str> = index
        .split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|h| !h.starts_with("data:"))
        .collect();
    assert!(
        !hrefs.is_empty() && hrefs.iter().all(|h| h.starts_with("/ops/wsprobe/")),
        "a link leaves the base path: {hrefs:?}"
    );
    let card = hrefs
        .iter()
        .find(|h| h.contains("/monitors/"))
        .expect("a link to the monitor's page");
    let monitor = chromium(
        work.path(),
        &["--dump-dom", &format!("{}{card}", daemon.base)],
    )
    .await;
    let text = visible_text(&monitor);
    assert!(
        text.contains("Recent checks") && text.contains("early_fin"),
        "{text}"
    );
    assert!(monitor.contains("href=\"/ops/wsprobe/\""), "{monitor}");
    daemon.stop().await.expect("clean stop");
}

/// Fail (never skip) when Chromium is not installed.
fn require_chromium() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium), \
         as .ci/run does"
    );
}

/// Run headless Chromium with a throwaway profile; returns its stdout.
/// Async, so the daemon on this test's runtime can answer it meanwhile.
async fn chromium(work: &Path, args: &[&str]) -> String {
    let run = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--force-color-profile=srgb",
        ])
        .arg(format!(
            "--user-data-dir={}",
            work.join("profile").display()
        ))
        .args(args)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(CHROMIUM_PATIENCE, run)
        .await
        .unwrap_or_else(|_| panic!("chromium {args:?} did not finish within {CHROMIUM_PATIENCE:?}"))
        .unwrap_or_else(|e| panic!("cannot run {CHROMIUM}: {e}"));
    assert!(
        out.status.success(),
        "chromium {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The text a reader sees: the body without tags, styles, closed
/// `<details>` content or attributes, entities decoded, spaces collapsed.
fn visible_text(dom: &str) -> String {
    let body = dom.split_once("<body").map_or(dom, |(_, b)| b);
    let mut out = String::new();
    let mut rest = body;
    let mut hidden_depth = 0usize;
    while let Some(open) = rest.find('<') {
        if hidden_depth == 0 {
            out.push_str(&rest[..open]);
        }
        let close = rest[open..].find('>').map_or(rest.len(), |i| open + i + 1);
        let tag = &rest[open..close];
        // Closed <details> show only their <summary>: skip what follows it.
        if tag.starts_with("<details") && !tag.contains(" open") {
            hidden_depth += 1;
        } else if tag.starts_with("</details") {
            hidden_depth = hidden_depth.saturating_sub(1);
        }
        out.push(' ');
        rest = &rest[close..];
    }
    out.push_str(rest);
    let decoded = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(file: &Path) -> (u32, u32) {
    let bytes = std::fs::read(file).expect("screenshot written");
    assert!(
        bytes.len() > 24 && bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        file.display()
    );
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    (be(16), be(20))
}

/// A week of runs every 10 minutes before now: steady latencies with a daily
/// swell, and one 40-minute `timeout` incident for `notifications` 3 days ago.
async fn seed_week(store: Store) {
    let now = Utc::now();
    let mut noise: u64 = 0x2545_f491_4f6c_dd1d;
    for (monitor, base_ms) in [
        ("chat-gateway", 38.0),
        ("market-feed", 21.0),
        ("notifications", 64.0),
    ] {
        let runs = 7 * 24 * 6;
        for i in (1..=runs).rev() {
            let at = now - Duration::minutes(10 * i);
            noise ^= noise << 13;
            noise ^= noise >> 7;
            noise ^= noise << 17;
            let jitter = (noise % 1000) as f64 / 1000.0;
            let hour = f64::from(chrono::Timelike::hour(&at));
            let swell = 1.0 + 0.35 * ((hour - 6.0) / 24.0 * std::f64::consts::TAU).sin();
            let failed = monitor == "notifications" && (432..436).contains(&i);
            let row = ResultRow {
                at,
                ok: !failed,
                class: if failed { Class::Timeout } else { Class::Ok },
                phase: failed.then_some(Phase::Upgrade),
                total_ms: if failed {
                    3000.0
                } else {
                    base_ms * swell + jitter * base_ms * 0.4
                },
                in_maintenance: false,
                report: StoredReport::Document(Box::new(if failed {
                    ReportDocument {
                        phase: Some(Phase::Upgrade),
                        message: Some("upgrade: the 101 response took longer than 3 s".into()),
                        ..sample_document(Class::Timeout, 1)
                    }
                } else {
                    sample_document(Class::Ok, 1)
                })),
            };
            let state = MonitorState {
                health: Health::Up,
                since: Some(now - Duration::days(7)),
                ..MonitorState::default()
            };
            store
                .commit_run(monitor, runs - i, &state, &row, None)
                .await
                .expect("seed a run");
        }
    }
}
