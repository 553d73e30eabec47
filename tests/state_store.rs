//! The state store on a real database file: what survives a restart, and that
//! a crash between commit and delivery neither loses nor repeats an alert.

use chrono::{DateTime, Utc};
use std::path::Path;
use wsprobe::check::{Class, Phase};
use wsprobe::notification::NotificationKind;
use wsprobe::state::{
    Health, MonitorState, Policy, ResultRow, RunOutcome, RunSummary, Store, StoreError, apply,
};

const CHANNELS: &[&str] = &["ops-mail", "pager"];

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).expect("valid timestamp")
}

fn failing_run() -> RunSummary {
    RunSummary {
        ok: false,
        class: Class::ConnectError,
        phase: Some(Phase::Connect),
        message: Some("could not connect: 127.0.0.1:9: connection refused".to_string()),
        hint: Some("nothing listens on that port".to_string()),
        total_ms: 0.8,
        report: wsprobe::report::document::sample_document(Class::ConnectError, 1),
        report_text: "connect_error".to_string(),
    }
}

fn channels() -> Vec<String> {
    CHANNELS.iter().map(|c| c.to_string()).collect()
}

/// What the daemon does after each run: apply the machine, commit the outcome.
async fn run_once(store: &Store, state: &MonitorState, revision: i64, at: i64) -> MonitorState {
    let run = failing_run();
    let outcome = RunOutcome {
        at: t(at),
        monitor: "api",
        url: "ws://127.0.0.1:9/",
        summary: &run,
        in_maintenance: false,
        suppressed_by: None,
        parent_unchecked: false,
    };
    let (next, note) = apply(state, &outcome, &Policy::default());
    let row = ResultRow::from_summary(t(at), &run, false);
    let channels = channels();
    store
        .commit_run(
            "api",
            revision,
            &next,
            &row,
            note.as_ref().map(|n| (n, &channels[..])),
        )
        .await
        .expect("commit");
    next
}

fn open(path: &Path) -> Store {
    Store::open(path).expect("open state database")
}

#[tokio::test]
async fn state_history_and_outbox_survive_a_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    let down = {
        let store = open(&path);
        run_once(&store, &MonitorState::default(), 0, 0).await
    };
    assert_eq!(down.health, Health::Down);

    let store = open(&path);
    assert_eq!(
        store.load_states().await.expect("states")["api"].state,
        down
    );
    let results = store.recent_results("api", t(0)).await.expect("results");
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].class, Class::ConnectError);
    assert_eq!(store.outbox_depth().await.expect("depth"), 2);
}

#[tokio::test]
async fn a_crash_between_commit_and_delivery_delivers_exactly_once_after_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    {
        // The run is committed, then the process dies before delivering.
        let store = open(&path);
        run_once(&store, &MonitorState::default(), 0, 0).await;
    }

    let store = open(&path);
    let due = store.due_deliveries(t(1), 10).await.expect("due");
    let mut got: Vec<_> = due
        .iter()
        .map(|d| (d.channel.as_str(), d.notification.kind))
        .collect();
    got.sort_unstable_by_key(|(c, _)| *c);
    assert_eq!(
        got,
        [
            ("ops-mail", NotificationKind::Down),
            ("pager", NotificationKind::Down)
        ]
    );
    for d in &due {
        store.mark_delivered(d.id).await.expect("delivered");
    }

    // The next failing run after the restart starts from the saved Down state:
    // no second DOWN is enqueued.
    let saved = store.load_states().await.expect("states")["api"].clone();
    run_once(&store, &saved.state, saved.revision, 60).await;
    drop(store);

    let store = open(&path);
    assert!(
        store
            .due_deliveries(t(3600), 10)
            .await
            .expect("due")
            .is_empty(),
        "nothing is delivered twice"
    );
    assert_eq!(store.outbox_depth().await.expect("depth"), 0);
}

#[tokio::test]
async fn a_failed_delivery_keeps_its_retry_time_across_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    {
        let store = open(&path);
        run_once(&store, &MonitorState::default(), 0, 0).await;
        for d in store.due_deliveries(t(0), 10).await.expect("due") {
            let next = t(0) + wsprobe::state::retry_backoff(d.attempts + 1);
            store
                .mark_failed(d.id, "smtp: 421 try again later", next)
                .await
                .expect("mark failed");
        }
    }
    let store = open(&path);
    assert!(
        store
            .due_deliveries(t(4), 10)
            .await
            .expect("due")
            .is_empty()
    );
    let due = store.due_deliveries(t(5), 10).await.expect("due");
    assert_eq!(due.len(), 2);
    assert!(
        due.iter().all(
            |d| d.attempts == 1 && d.last_error.as_deref() == Some("smtp: 421 try again later")
        )
    );
}

#[tokio::test]
async fn a_database_from_a_newer_wsprobe_is_refused_with_its_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    drop(open(&path));
    rusqlite::Connection::open(&path)
        .and_then(|c| c.pragma_update(None, "user_version", 99))
        .expect("bump version");

    let err = Store::open(&path).expect_err("newer schema");
    assert!(
        matches!(err, StoreError::TooNew { found: 99, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}

#[test]
fn an_unopenable_path_names_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("no-such-dir").join("state.db");
    let err = Store::open(&path).expect_err("missing directory");
    assert!(
        matches!(err, StoreError::Open { .. } | StoreError::Lock(_)),
        "{err:?}"
    );
    assert!(err.to_string().contains("no-such-dir"), "{err}");
}
