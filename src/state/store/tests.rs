use super::*;
use crate::check::{Class, Phase};
use crate::notification::NotificationKind;
use crate::state::machine::{Health, Incident};

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).expect("valid timestamp")
}

fn note(kind: NotificationKind, monitor: &str, at: i64, in_maintenance: bool) -> Notification {
    Notification {
        kind,
        monitor: monitor.to_string(),
        url: "wss://example.test/ws".to_string(),
        class: Class::Timeout,
        phase: Some(Phase::Upgrade),
        message: Some("upgrade: the 101 response took longer than 5000 ms".to_string()),
        hint: Some("a proxy buffering the upgrade".to_string()),
        first_seen: t(0),
        at: t(at),
        outage_secs: None,
        previous_class: None,
        failed_runs: 1,
        in_maintenance,
        report: Some(crate::report::document::sample_document(Class::Timeout, 1)),
        report_text: "timeout".to_string(),
    }
}

fn result(at: i64, ok: bool) -> ResultRow {
    ResultRow {
        at: t(at),
        ok,
        class: if ok { Class::Ok } else { Class::Missing101 },
        phase: (!ok).then_some(Phase::Upgrade),
        total_ms: 41.25,
        in_maintenance: false,
        report: StoredReport::Document(Box::new(crate::report::document::sample_document(
            if ok { Class::Ok } else { Class::Missing101 },
            1,
        ))),
    }
}

fn down_state(at: i64) -> MonitorState {
    MonitorState {
        health: Health::Down,
        since: Some(t(at)),
        consecutive_failures: 1,
        consecutive_successes: 0,
        incident: Some(Incident {
            first_seen: t(at),
            alerted: true,
            last_notified_at: Some(t(at)),
            last_notified_class: Some(Class::Timeout),
            current_class: Class::Timeout,
            announced: true,
        }),
    }
}

fn channels(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

async fn status_of(store: &Store, id: i64) -> String {
    store
        .with(move |conn| {
            Ok(
                conn.query_row("SELECT status FROM outbox WHERE id = ?1", [id], |r| {
                    r.get(0)
                })?,
            )
        })
        .await
        .expect("status")
}

async fn commit_down(store: &Store, monitor: &str, at: i64, to: &[&str]) {
    let n = note(NotificationKind::Down, monitor, at, false);
    store
        .commit_run(
            monitor,
            &down_state(at),
            &result(at, false),
            Some((&n, &channels(to))),
        )
        .await
        .expect("commit");
}

#[tokio::test]
async fn commit_run_saves_the_state_the_result_and_one_delivery_per_channel() {
    let store = Store::open_in_memory().expect("open");
    commit_down(&store, "api", 10, &["ops-mail", "pager"]).await;

    let states = store.load_states().await.expect("states");
    assert_eq!(states.get("api"), Some(&down_state(10)));
    assert_eq!(
        store.recent_results("api", t(0)).await.expect("results"),
        vec![result(10, false)]
    );
    let due = store.due_deliveries(t(10), 10).await.expect("due");
    let mut got: Vec<_> = due.iter().map(|d| d.channel.as_str()).collect();
    got.sort_unstable();
    assert_eq!(got, ["ops-mail", "pager"]);
    assert_eq!(
        due[0].notification,
        note(NotificationKind::Down, "api", 10, false)
    );
    assert_eq!((due[0].attempts, &due[0].last_error), (0, &None));
    assert_eq!(due[0].created_at, t(10));
    assert_eq!(store.outbox_depth().await.expect("depth"), 2);
}

#[tokio::test]
async fn a_run_without_a_notification_only_updates_state_and_history() {
    let store = Store::open_in_memory().expect("open");
    commit_down(&store, "api", 0, &["pager"]).await;
    let up = MonitorState {
        health: Health::Up,
        ..MonitorState::default()
    };
    store
        .commit_run("api", &up, &result(60, true), None)
        .await
        .expect("commit");
    assert_eq!(store.load_states().await.expect("states")["api"], up);
    assert_eq!(store.recent_results("api", t(0)).await.expect("r").len(), 2);
    assert_eq!(store.outbox_depth().await.expect("depth"), 1);
}

#[tokio::test]
async fn held_notifications_are_kept_but_never_due_nor_counted() {
    let store = Store::open_in_memory().expect("open");
    let held = note(NotificationKind::Down, "api", 0, true);
    store
        .commit_run(
            "api",
            &down_state(0),
            &result(0, false),
            Some((&held, &channels(&["pager"]))),
        )
        .await
        .expect("commit");
    assert!(
        store
            .due_deliveries(t(9_999), 10)
            .await
            .expect("due")
            .is_empty()
    );
    assert_eq!(store.outbox_depth().await.expect("depth"), 0);
    assert_eq!(status_of(&store, 1).await, "held");
}

#[tokio::test]
async fn mark_failed_counts_the_attempt_and_postpones_the_next_one() {
    let store = Store::open_in_memory().expect("open");
    commit_down(&store, "api", 0, &["pager"]).await;
    let id = store.due_deliveries(t(0), 10).await.expect("due")[0].id;

    store
        .mark_failed(id, "connection refused", t(0) + retry_backoff(1))
        .await
        .expect("mark failed");
    assert!(
        store
            .due_deliveries(t(4), 10)
            .await
            .expect("due")
            .is_empty()
    );
    assert_eq!(store.outbox_depth().await.expect("depth"), 1);
    let again = store.due_deliveries(t(5), 10).await.expect("due");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
    assert_eq!(again[0].last_error.as_deref(), Some("connection refused"));

    store.mark_delivered(id).await.expect("delivered");
    assert!(
        store
            .due_deliveries(t(9_999), 10)
            .await
            .expect("due")
            .is_empty()
    );
    assert_eq!(store.outbox_depth().await.expect("depth"), 0);
    assert_eq!(status_of(&store, id).await, "delivered");
}

#[tokio::test]
async fn marking_a_delivery_that_is_not_pending_is_an_error() {
    let store = Store::open_in_memory().expect("open");
    commit_down(&store, "api", 0, &["pager"]).await;
    store.mark_delivered(1).await.expect("first");
    assert!(matches!(
        store.mark_delivered(1).await,
        Err(StoreError::UnknownDelivery(1))
    ));
    assert!(matches!(
        store.mark_failed(42, "x", t(0)).await,
        Err(StoreError::UnknownDelivery(42))
    ));
}

#[tokio::test]
async fn a_later_notification_waits_behind_a_pending_one_for_the_same_monitor_and_channel() {
    let store = Store::open_in_memory().expect("open");
    commit_down(&store, "api", 0, &["pager"]).await; // id 1
    commit_down(&store, "api", 60, &["pager", "mail"]).await; // ids 2, 3
    commit_down(&store, "db", 60, &["pager"]).await; // id 4
    store
        .mark_failed(1, "timeout", t(600))
        .await
        .expect("mark failed");

    let ids = |due: Vec<Delivery>| due.into_iter().map(|d| d.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.due_deliveries(t(60), 10).await.expect("due")),
        [3, 4]
    );
    store.mark_delivered(3).await.expect("delivered");
    store.mark_delivered(4).await.expect("delivered");
    assert_eq!(
        ids(store.due_deliveries(t(600), 10).await.expect("due")),
        [1]
    );
    store.mark_delivered(1).await.expect("delivered");
    assert_eq!(
        ids(store.due_deliveries(t(600), 10).await.expect("due")),
        [2]
    );
}

#[tokio::test]
async fn due_deliveries_are_oldest_first_up_to_the_limit() {
    let store = Store::open_in_memory().expect("open");
    for (i, monitor) in ["a", "b", "c"].iter().enumerate() {
        commit_down(&store, monitor, 30 - i as i64 * 10, &["pager"]).await;
    }
    let due = store.due_deliveries(t(100), 2).await.expect("due");
    let monitors: Vec<_> = due
        .iter()
        .map(|d| d.notification.monitor.as_str())
        .collect();
    assert_eq!(monitors, ["c", "b"]);
}

#[tokio::test]
async fn an_undecodable_outbox_row_is_set_aside_and_does_not_block_others() {
    let store = Store::open_in_memory().expect("open");
    commit_down(&store, "api", 0, &["pager"]).await;
    store
        .with(|conn| {
            conn.execute(
                "INSERT INTO outbox (monitor, channel, status, notification_json, created_at, next_attempt_at)
                 VALUES ('old', 'pager', 'pending', '{\"kind\":\"sideways\"}', 0, 0)",
                [],
            )?;
            Ok(())
        })
        .await
        .expect("insert");
    let due = store.due_deliveries(t(0), 10).await.expect("due");
    assert_eq!(due.iter().map(|d| d.id).collect::<Vec<_>>(), [1]);
    assert_eq!(status_of(&store, 2).await, "dead");
    assert_eq!(store.outbox_depth().await.expect("depth"), 1);
}

#[tokio::test]
async fn prune_removes_old_results_and_finished_alerts_but_never_pending_ones() {
    let store = Store::open_in_memory().expect("open");
    commit_down(&store, "api", 0, &["pager", "mail"]).await; // 1 stays pending, 2 delivered
    store.mark_delivered(2).await.expect("delivered");
    for at in [100, 200, 300] {
        store
            .commit_run("api", &down_state(0), &result(at, false), None)
            .await
            .expect("commit");
    }

    let removed = store.prune(t(200)).await.expect("prune");
    assert_eq!(removed, 3, "results at 0 and 100, delivered alert 2");
    let left: Vec<_> = store
        .recent_results("api", t(0))
        .await
        .expect("results")
        .iter()
        .map(|r| r.at)
        .collect();
    assert_eq!(left, [t(200), t(300)]);
    assert_eq!(store.outbox_depth().await.expect("depth"), 1);
    assert_eq!(status_of(&store, 1).await, "pending");
}

#[tokio::test]
async fn recent_results_are_per_monitor_from_since_and_round_trip_every_field() {
    let store = Store::open_in_memory().expect("open");
    let mut maint = result(120, true);
    maint.in_maintenance = true;
    maint.at += chrono::Duration::microseconds(123_456);
    for (monitor, row) in [
        ("api", result(0, false)),
        ("api", result(60, false)),
        ("db", result(90, false)),
        ("api", maint.clone()),
    ] {
        store
            .commit_run(monitor, &MonitorState::default(), &row, None)
            .await
            .expect("commit");
    }
    let got = store.recent_results("api", t(60)).await.expect("results");
    assert_eq!(got, vec![result(60, false), maint]);
}

#[tokio::test]
async fn result_points_are_the_results_without_their_reports() {
    let store = Store::open_in_memory().expect("open");
    for (monitor, row) in [
        ("api", result(0, true)),
        ("api", result(60, false)),
        ("db", result(90, false)),
    ] {
        store
            .commit_run(monitor, &MonitorState::default(), &row, None)
            .await
            .expect("commit");
    }
    let got = store.result_points("api", t(0)).await.expect("points");
    let expected: Vec<_> = [result(0, true), result(60, false)]
        .iter()
        .map(|r| (r.at, r.ok, r.class, r.phase, r.total_ms, r.in_maintenance))
        .collect();
    let got: Vec<_> = got
        .iter()
        .map(|p| (p.at, p.ok, p.class, p.phase, p.total_ms, p.in_maintenance))
        .collect();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn latest_result_is_the_newest_run_or_the_newest_failure() {
    let store = Store::open_in_memory().expect("open");
    assert_eq!(store.latest_result("api", false).await.expect("none"), None);
    for row in [result(0, false), result(60, false), result(120, true)] {
        store
            .commit_run("api", &MonitorState::default(), &row, None)
            .await
            .expect("commit");
    }
    let latest = store.latest_result("api", false).await.expect("latest");
    assert_eq!(latest, Some(result(120, true)));
    let failure = store.latest_result("api", true).await.expect("failure");
    assert_eq!(failure, Some(result(60, false)));
    assert_eq!(store.latest_result("db", true).await.expect("other"), None);
}

#[tokio::test]
async fn forgetting_monitors_drops_their_state_and_history_but_not_their_alerts() {
    let store = Store::open_in_memory().expect("open");
    commit_down(&store, "kept", 0, &["pager"]).await;
    commit_down(&store, "gone", 0, &["pager"]).await;
    store
        .forget_monitors_except(&channels(&["kept"]))
        .await
        .expect("forget");
    let states = store.load_states().await.expect("states");
    assert_eq!(states.keys().collect::<Vec<_>>(), ["kept"]);
    assert!(
        store
            .recent_results("gone", t(0))
            .await
            .expect("r")
            .is_empty()
    );
    assert_eq!(
        store.recent_results("kept", t(0)).await.expect("r").len(),
        1
    );
    assert_eq!(store.outbox_depth().await.expect("depth"), 2);
}

#[tokio::test]
async fn an_unreadable_state_is_skipped_so_the_monitor_starts_unknown() {
    let store = Store::open_in_memory().expect("open");
    commit_down(&store, "api", 0, &[]).await;
    store
        .with(|conn| {
            conn.execute(
                "INSERT INTO monitor_state (monitor, state_json, updated_at) VALUES ('old', '{\"health\":42}', 0)",
                [],
            )?;
            Ok(())
        })
        .await
        .expect("insert");
    let states = store.load_states().await.expect("states");
    assert_eq!(states.keys().collect::<Vec<_>>(), ["api"]);
}

#[tokio::test]
async fn a_file_database_uses_wal_no_mmap_and_the_current_schema_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("state.db")).expect("open");
    let (mode, version, mmap) = store
        .with(|conn| {
            let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0))?;
            let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
            let mmap: i64 = conn.pragma_query_value(None, "mmap_size", |r| r.get(0))?;
            Ok((mode, version, mmap))
        })
        .await
        .expect("pragmas");
    // No mmap: a mapped file that cannot grow would kill the daemon with SIGBUS.
    assert_eq!((mode.as_str(), version, mmap), ("wal", schema::VERSION, 0));
}

#[test]
fn retry_backoff_doubles_from_five_seconds_up_to_ten_minutes() {
    let cases = [
        (0, 5),
        (1, 5),
        (2, 10),
        (3, 20),
        (4, 40),
        (7, 320),
        (8, 600),
        (9, 600),
        (u32::MAX, 600),
    ];
    for (attempts, secs) in cases {
        assert_eq!(
            retry_backoff(attempts),
            Duration::from_secs(secs),
            "after {attempts} failures"
        );
    }
}

fn run_rows(monitor: &str, at: i64) -> group_commit::RunRows {
    group_commit::RunRows {
        monitor: monitor.to_string(),
        state_json: encode("monitor state", &MonitorState::default()).expect("encode"),
        result: result(at, true),
        outbox: None,
    }
}

async fn monitors_with_results(store: &Store) -> Vec<String> {
    store
        .with(|conn| {
            let mut stmt = conn.prepare("SELECT DISTINCT monitor FROM result ORDER BY monitor")?;
            let names = stmt.query_map([], |r| r.get(0))?;
            Ok(names.collect::<Result<Vec<String>, _>>()?)
        })
        .await
        .expect("monitors")
}

#[tokio::test]
async fn a_run_that_cannot_be_written_fails_alone_and_the_rest_of_its_batch_is_saved() {
    let store = Store::open_in_memory().expect("open");
    store
        .with(|conn| {
            conn.execute_batch(
                "CREATE TRIGGER refuse_bad BEFORE INSERT ON result WHEN NEW.monitor = 'bad'
                 BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
            )?;
            Ok(())
        })
        .await
        .expect("trigger");
    let runs = [run_rows("a", 1), run_rows("bad", 2), run_rows("c", 3)];
    let outcomes = {
        let mut conn = store.disk.conn.lock().expect("connection");
        group_commit::write_batch(&mut conn, &runs)
    };
    let failed: Vec<bool> = outcomes.iter().map(Result::is_err).collect();
    assert_eq!(failed, [false, true, false]);
    let error = outcomes[1].as_ref().expect_err("bad fails").to_string();
    assert!(error.contains("refused by the test"), "{error}");
    assert_eq!(monitors_with_results(&store).await, ["a", "c"]);
    let states = store.load_states().await.expect("states");
    assert!(!states.contains_key("bad"), "a failed run leaves no state");
}

#[tokio::test]
async fn runs_that_queue_behind_a_busy_connection_are_all_committed_and_answered() {
    let store = Store::open_in_memory().expect("open");
    // Hold the connection, as a long transaction would, while the runs arrive.
    let (held, is_held) = std::sync::mpsc::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let disk = Arc::clone(&store.disk);
    let holder = std::thread::spawn(move || {
        let _guard = disk.conn.lock().expect("connection");
        held.send(()).expect("held");
        let _ = released.recv();
    });
    is_held.recv().expect("held");
    let started = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let commits: Vec<_> = (0..50)
        .map(|i| {
            let (store, started) = (store.clone(), started.clone());
            tokio::spawn(async move {
                started.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                // Queued in the first poll, before this task yields.
                store
                    .commit_run(
                        &format!("m{i:02}"),
                        &MonitorState::default(),
                        &result(i, true),
                        None,
                    )
                    .await
            })
        })
        .collect();
    while started.load(std::sync::atomic::Ordering::SeqCst) < 50 {
        tokio::task::yield_now().await;
    }
    assert!(
        store.runs.waiting() > 0,
        "runs wait for the transaction in progress instead of taking a thread each"
    );
    release.send(()).expect("release");
    holder.join().expect("holder");
    for commit in commits {
        commit.await.expect("task").expect("committed");
    }
    assert_eq!(monitors_with_results(&store).await.len(), 50);
    assert_eq!(store.load_states().await.expect("states").len(), 50);
}

#[tokio::test]
async fn one_channels_due_deliveries_are_not_hidden_behind_another_channels_queue() {
    let store = Store::open_in_memory().expect("open");
    for monitor in ["a", "b", "c"] {
        commit_down(&store, monitor, 10, &["mail"]).await;
    }
    commit_down(&store, "d", 20, &["mail", "hook"]).await;
    // The limit is filled by mail's older rows…
    let all = store.due_deliveries(t(100), 3).await.expect("due");
    assert!(all.iter().all(|d| d.channel == "mail"), "{all:?}");
    // …but hook's own read still finds its row.
    let hook = store
        .due_deliveries_for("hook", t(100), 3)
        .await
        .expect("due");
    let got: Vec<_> = hook
        .iter()
        .map(|d| (d.channel.as_str(), d.notification.monitor.as_str()))
        .collect();
    assert_eq!(got, [("hook", "d")]);
    let mail = store
        .due_deliveries_for("mail", t(100), 10)
        .await
        .expect("due");
    assert_eq!(mail.len(), 4);
    assert!(mail.iter().all(|d| d.channel == "mail"), "{mail:?}");
}

/// Make every insert into `result` fail while `fault` has a row: a write the
/// database refuses, as a full disk would.
async fn refuse_writes(store: &Store, refuse: bool) {
    store
        .with(move |conn| {
            conn.execute_batch(
                "CREATE TABLE IF NOT EXISTS fault (x INTEGER);
                 CREATE TRIGGER IF NOT EXISTS refuse BEFORE INSERT ON result
                 WHEN EXISTS (SELECT 1 FROM fault)
                 BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;
                 DELETE FROM fault;",
            )?;
            if refuse {
                conn.execute("INSERT INTO fault VALUES (1)", [])?;
            }
            Ok(())
        })
        .await
        .expect("fault switch");
}

#[tokio::test]
async fn a_run_the_disk_refuses_is_delivered_from_memory_and_written_once_the_disk_takes_writes() {
    let store = Store::open_in_memory().expect("open");
    refuse_writes(&store, true).await;
    let down = note(NotificationKind::Down, "api", 0, false);
    let kept = store
        .commit_run(
            "api",
            &down_state(0),
            &result(0, false),
            Some((&down, &channels(&["mail", "hook"]))),
        )
        .await
        .expect("kept in memory");
    assert_eq!(kept, Durability::MemoryOnly);
    let reason = store.health().degraded().expect("degraded");
    assert!(reason.contains("database or disk is full"), "{reason}");

    let due = store.due_deliveries(t(1), 10).await.expect("due");
    let channels_due: Vec<(&str, bool)> = due
        .iter()
        .map(|d| (d.channel.as_str(), d.durable))
        .collect();
    assert_eq!(channels_due, [("mail", false), ("hook", false)]);
    store
        .mark_delivered(due[0].id)
        .await
        .expect("mail delivered from memory");
    let hook = due[1].id;
    assert_eq!(store.outbox_depth().await.expect("depth"), 1);

    refuse_writes(&store, false).await;
    let written = store
        .commit_run("api", &down_state(0), &result(5, false), None)
        .await
        .expect("written");
    assert_eq!(written, Durability::Durable);
    assert_eq!(store.health().degraded(), None);
    assert_eq!(store.health().errors_total(), 1);
    assert_eq!(
        store.load_states().await.expect("states")["api"],
        down_state(0)
    );
    assert_eq!(
        store
            .recent_results("api", t(0))
            .await
            .expect("results")
            .len(),
        2
    );
    // The hook delivery was in flight while memory moved to disk: its outcome
    // lands on the row it became, and the mail one is never pending again.
    store
        .mark_delivered(hook)
        .await
        .expect("hook delivered after the move");
    assert_eq!(store.outbox_depth().await.expect("depth"), 0);
    assert!(
        store
            .due_deliveries(t(3600), 10)
            .await
            .expect("due")
            .is_empty()
    );
}

#[tokio::test]
async fn while_the_disk_refuses_writes_a_recovered_waits_for_its_down_and_a_failed_alert_for_its_retry()
 {
    let store = Store::open_in_memory().expect("open");
    refuse_writes(&store, true).await;
    for (kind, at) in [
        (NotificationKind::Down, 0),
        (NotificationKind::Recovered, 10),
    ] {
        let n = note(kind, "api", at, false);
        store
            .commit_run(
                "api",
                &down_state(0),
                &result(at, false),
                Some((&n, &channels(&["hook"]))),
            )
            .await
            .expect("kept");
    }
    let due = store.due_deliveries(t(20), 10).await.expect("due");
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].notification.kind, NotificationKind::Down);
    store
        .mark_failed(due[0].id, "503", t(30))
        .await
        .expect("failed");
    assert!(
        store
            .due_deliveries(t(29), 10)
            .await
            .expect("due")
            .is_empty()
    );
    let retry = store.due_deliveries(t(30), 10).await.expect("due");
    assert_eq!((retry.len(), retry[0].attempts), (1, 1));
    store.mark_delivered(retry[0].id).await.expect("delivered");
    let next = store.due_deliveries(t(30), 10).await.expect("due");
    assert_eq!(next[0].notification.kind, NotificationKind::Recovered);
}

#[tokio::test]
async fn alerts_kept_in_memory_are_due_even_when_the_outbox_cannot_be_read() {
    let store = Store::open_in_memory().expect("open");
    refuse_writes(&store, true).await;
    let down = note(NotificationKind::Down, "api", 0, false);
    store
        .commit_run(
            "api",
            &down_state(0),
            &result(0, false),
            Some((&down, &channels(&["hook"]))),
        )
        .await
        .expect("kept in memory");
    // The outbox table is gone, as from a damaged file: reading it fails.
    store
        .with(|conn| Ok(conn.execute_batch("ALTER TABLE outbox RENAME TO outbox_lost")?))
        .await
        .expect("break the outbox");
    let due = store
        .due_deliveries_for("hook", t(1), 10)
        .await
        .expect("memory alerts, though the outbox cannot be read");
    let got: Vec<_> = due
        .iter()
        .map(|d| (d.notification.monitor.as_str(), d.durable))
        .collect();
    assert_eq!(got, [("api", false)]);
    let reason = store.health().degraded().expect("degraded");
    assert!(reason.contains("cannot read"), "{reason}");
}
