use super::format::*;
use super::view::*;
use super::*;
use crate::check::model::{CloseFrameInfo, Event as CheckEvent, PeerEnd};
use crate::check::{CheckError, Class, Phase};
use crate::report::document::sample_document;
use crate::serve::base_path;
use crate::state::machine::{Health, MonitorState};
use crate::state::store::{ResultPoint, ResultRow, StoredReport};
use axum::http::header;
use chrono::{DateTime, Duration, Utc};

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).expect("valid")
}

const HOSTILE: &str = "<script>alert('x')</script>&\"";

fn failed_row(at: DateTime<Utc>) -> ResultRow {
    let mut report = sample_document(Class::EarlyFin, 1);
    report.phase = Some(Phase::Open);
    report.message = Some(format!("open: closed {HOSTILE}"));
    report.hint = Some(format!("proxy speaking HTTP/1.0 {HOSTILE}"));
    report.evidence = Some(CheckError::EarlyFin {
        phase: Phase::Open,
        peer_end: Some(PeerEnd::Fin),
        close_frame: Some(CloseFrameInfo::new(Some(4000), HOSTILE.into())),
        ms_after_101: Some(0.12),
        idle_ms: None,
        while_held: false,
    });
    report.events = vec![CheckEvent {
        at_ms: 1.3,
        phase: Phase::Open,
        what: format!("failed {HOSTILE}"),
    }];
    ResultRow {
        at,
        ok: false,
        class: Class::EarlyFin,
        phase: Some(Phase::Open),
        total_ms: 1.3,
        in_maintenance: false,
        report: StoredReport::Document(Box::new(report)),
    }
}

/// Runs at the end of `runs` whose outcome is `ok`, as the state machine counts streaks.
fn trailing(runs: &[(i64, bool)], ok: bool) -> u32 {
    runs.iter().rev().take_while(|(_, o)| *o == ok).count() as u32
}

fn snapshot(name: &str, health: Health, runs: &[(i64, bool)]) -> Snapshot {
    let now = t(86_400);
    let points: Vec<ResultPoint> = runs
        .iter()
        .map(|(at, ok)| ResultPoint {
            at: t(*at),
            ok: *ok,
            class: if *ok { Class::Ok } else { Class::EarlyFin },
            phase: (!ok).then_some(Phase::Open),
            total_ms: 12.5,
            in_maintenance: false,
        })
        .collect();
    let last = points.last().map(|p| {
        if p.ok {
            ResultRow {
                at: p.at,
                ok: true,
                class: Class::Ok,
                phase: None,
                total_ms: 12.5,
                in_maintenance: false,
                report: StoredReport::Document(Box::new(sample_document(Class::Ok, 1))),
            }
        } else {
            failed_row(p.at)
        }
    });
    let last_failure = points
        .iter()
        .rev()
        .find(|p| !p.ok)
        .map(|p| failed_row(p.at));
    Snapshot {
        labels: Default::default(),
        name: name.to_string(),
        url: "ws://127.0.0.1:9/ws".into(),
        schedule: "@every 30s".into(),
        state: MonitorState {
            health,
            since: Some(t(0)),
            consecutive_failures: trailing(runs, false),
            consecutive_successes: trailing(runs, true),
            ..MonitorState::default()
        },
        last,
        last_failure,
        points,
        now,
    }
}

#[test]
fn a_card_says_up_down_degraded_or_pending_from_state_and_last_run() {
    let cases = [
        (Health::Up, vec![(80_000, true)], "up", "Up"),
        (Health::Down, vec![(80_000, false)], "down", "Down"),
        (
            Health::Up,
            vec![(80_000, true), (80_100, false)],
            "degraded",
            "Degraded",
        ),
        (Health::Unknown, vec![], "pending", "No data yet"),
    ];
    for (health, runs, status, label) in cases {
        let c = card(&snapshot("api", health, &runs));
        assert_eq!(
            (c.status, c.status_label),
            (status, label),
            "{health:?} {runs:?}"
        );
        assert_eq!(
            c.failure.is_some(),
            status == "down" || status == "degraded"
        );
        assert_eq!(c.bar_24h.len(), BAR_24H);
        assert_eq!(c.bar_7d.len(), BAR_7D);
    }
}

#[tokio::test]
async fn everything_from_config_and_evidence_is_html_escaped() {
    let pages = Pages::new();
    let c = card(&snapshot(HOSTILE, Health::Down, &[(80_000, false)]));
    let shown = Shown {
        cards: &[c],
        rows: &[],
        counts: listing::Counts {
            down: 1,
            ..Default::default()
        },
        page: 1,
        pages: 1,
        // The store's reason names the state file, whose path is config.
        store_degraded: Some(HOSTILE.to_string()),
        // Instance names are checked, but a fence reason quotes the store's error.
        cluster: ClusterFooter {
            instance: "probe-1".into(),
            location: Some("eu-west".into()),
            live: vec!["probe-1".into(), "probe-2".into()],
            fenced: Some(HOSTILE.to_string()),
        },
        base: base_path::LinkBase::default(),
    };
    let response = pages.render("index.html", shown.context(t(0)));
    assert_eq!(response.status(), StatusCode::OK);
    let csp = response.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .expect("ascii");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    let html = String::from_utf8(body.to_vec()).expect("utf-8");
    assert!(!html.contains("<script"), "unescaped markup in:\n{html}");
    assert!(
        html.contains("&lt;script&gt;alert("),
        "escaped name, hint and evidence expected"
    );
    assert!(html.contains("proxy speaking HTTP&#x2f;1.0"));
    assert!(html.contains("1 of 1 monitor down"));
    // minijinja also escapes `/` (as &#x2f;), which browsers decode in attributes.
    assert!(
        html.contains(
            "href=\"&#x2f;monitors&#x2f;%3Cscript%3Ealert%28%27x%27%29%3C%2Fscript%3E%26%22\""
        ),
        "{html}"
    );
}

#[test]
fn numbers_read_like_a_status_page() {
    assert_eq!(percent(None), "—");
    assert_eq!(percent(Some(1.0)), "100.00 %");
    assert_eq!(percent(Some(0.0)), "0.00 %");
    assert_eq!(percent(Some(0.99999)), "99.99 %");
    assert_eq!(percent(Some(0.5)), "50.00 %");
    assert_eq!(ms_text(0.4234), "0.42 ms");
    assert_eq!(ms_text(12.4), "12 ms");
    assert_eq!(ms_text(1240.0), "1.24 s");
    assert_eq!(ago(t(100), t(40)), "1 min ago");
    assert_eq!(ago(t(100), t(90)), "10 s ago");
    assert_eq!(ago(t(7200), t(0)), "2 h ago");
    assert_eq!(
        duration_text(Duration::seconds(3 * 3600 + 5 * 60)),
        "3 h 5 min"
    );
    assert_eq!(duration_text(Duration::seconds(45)), "45 s");
    assert_eq!(
        duration_text(Duration::days(2) + Duration::hours(4)),
        "2 d 4 h"
    );
}

#[test]
fn the_banner_leads_with_the_worst_news() {
    let counts = |down, degraded, pending, up| listing::Counts {
        down,
        degraded,
        pending,
        up,
    };
    assert_eq!(banner(&counts(0, 0, 0, 0)).status, "pending");
    let b = banner(&counts(1, 1, 1, 0));
    assert_eq!(
        (b.status, b.title.as_str()),
        ("down", "1 of 3 monitors down")
    );
    let b = banner(&counts(0, 2, 0, 3));
    assert_eq!(
        (b.status, b.title.as_str()),
        ("degraded", "2 of 5 monitors degraded")
    );
    assert_eq!(
        banner(&counts(0, 0, 2, 0)).title,
        "Waiting for the first checks"
    );
    assert_eq!(banner(&counts(0, 0, 0, 1)).title, "All systems operational");
}

#[test]
fn renders_beyond_the_slots_are_turned_away_at_once_with_retry_after() {
    let pages = Pages::new();
    let held: Vec<_> = (0..RENDER_SLOTS)
        .map(|_| pages.slot().expect("a free slot"))
        .collect();
    assert!(pages.slot().is_none(), "every slot is taken");
    let busy = busy();
    assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(busy.headers()[header::RETRY_AFTER], "2");
    drop(held);
    assert!(
        pages.slot().is_some(),
        "a slot is free again once a render ends"
    );
}

#[tokio::test]
async fn one_check_in_the_sparkline_is_not_called_checks() {
    let pages = Pages::new();
    let html = |runs: &[(i64, bool)]| {
        let c = card(&snapshot("feed", Health::Up, runs));
        let shown = Shown {
            cards: &[c],
            rows: &[],
            counts: listing::Counts {
                up: 1,
                ..Default::default()
            },
            page: 1,
            pages: 1,
            store_degraded: None,
            cluster: ClusterFooter {
                instance: "probe-1".into(),
                location: None,
                live: vec!["probe-1".into()],
                fenced: None,
            },
            base: base_path::LinkBase::default(),
        };
        pages.render("index.html", shown.context(t(0)))
    };
    for (runs, want) in [
        (&[(80_000, true)][..], "last 1 check<"),
        (&[(80_000, true), (70_000, true)][..], "last 2 checks<"),
    ] {
        let body = axum::body::to_bytes(html(runs).into_body(), 1 << 20)
            .await
            .expect("body");
        let page = String::from_utf8(body.to_vec()).expect("utf-8");
        assert!(page.contains(want), "{want} in:\n{page}");
    }
}
