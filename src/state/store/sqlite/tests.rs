use super::super::{RunRows, Store, StoredReport, encode, retry_backoff};
use super::*;
use crate::check::{Class, Phase};
use crate::notification::{Notification, NotificationKind};
use crate::state::machine::{Health, Incident, MonitorState};

/// The SQLite store twice: through the [`Store`] handle, as the daemon uses
/// it, and as itself, for what only SQLite has (its connection, group commit).
#[derive(Clone)]
struct Sqlite {
    raw: SqliteStore,
    store: Store,
    /// Each monitor's revision after its last commit, as the daemon keeps it.
    revisions: Arc<Mutex<HashMap<String, i64>>>,
}

impl std::ops::Deref for Sqlite {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

impl Sqlite {
    fn in_memory() -> Sqlite {
        Sqlite::from(SqliteStore::open_in_memory().expect("open"))
    }

    fn from(raw: SqliteStore) -> Sqlite {
        Sqlite {
            store: Store::from_backend(raw.clone()),
            raw,
            revisions: Arc::default(),
        }
    }

    /// Commit at the revision of this store's last commit of `monitor`, as
    /// the one daemon of a file does.
    async fn commit_run(
        &self,
        monitor: &str,
        state: &MonitorState,
        result: &ResultRow,
        notification: Option<(&Notification, &[String])>,
    ) -> Result<Durability, StoreError> {
        let revision = *self
            .revisions
            .lock()
            .unwrap()
            .entry(monitor.into())
            .or_default();
        let committed = self
            .store
            .commit_run(monitor, revision, state, result, notification)
            .await;
        if committed.is_ok() {
            self.revisions
                .lock()
                .unwrap()
                .insert(monitor.into(), revision + 1);
        }
        committed
    }

    async fn load_states(&self) -> Result<HashMap<String, MonitorState>, StoreError> {
        let saved = self.store.load_states().await?;
        Ok(saved.into_iter().map(|(m, s)| (m, s.state)).collect())
    }
}

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
        first_seen: t(at),
        at: t(at),
        outage_secs: None,
        previous_class: None,
        failed_runs: 1,
        classes_seen: vec![],
        link: None,
        labels: Default::default(),
        first_phase: None,
        in_maintenance,
        suppressed_by: None,
        round: None,
        group: Vec::new(),
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
            failed_runs: 1,
            classes_seen: vec![Class::Timeout],
            last_phase: None,
            first_phase: None,
            suppressed_by: None,
            channels_told: None,
        }),
        round: None,
    }
}

fn channels(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

async fn status_of(store: &Sqlite, id: i64) -> String {
    store
        .raw
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

async fn commit_down(store: &Sqlite, monitor: &str, at: i64, to: &[&str]) {
    let n = note(NotificationKind::Down, monitor, at, false);
    store
        .commit_run(
            monitor,
            &down_state(at),
            &result(at, false),
            Some((&n, &channels(to)[..])),
        )
        .await
        .expect("commit");
}

#[tokio::test]
async fn a_run_without_a_notification_only_updates_state_and_history() {
    let store = Sqlite::in_memory();
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
async fn mark_failed_counts_the_attempt_and_postpones_the_next_one() {
    let store = Sqlite::in_memory();
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
async fn due_deliveries_are_oldest_first_up_to_the_limit() {
    let store = Sqlite::in_memory();
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
    let store = Sqlite::in_memory();
    commit_down(&store, "api", 0, &["pager"]).await;
    store
        .raw
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
async fn an_unreadable_state_is_skipped_so_the_monitor_starts_unknown() {
    let store = Sqlite::in_memory();
    commit_down(&store, "api", 0, &[]).await;
    store
        .raw
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
    let store = Sqlite::from(SqliteStore::open(&dir.path().join("state.db")).expect("open"));
    let (mode, version, mmap) = store
        .raw
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

fn run_rows(monitor: &str, at: i64) -> RunRows {
    RunRows {
        monitor: monitor.to_string(),
        revision: 0,
        state_json: encode("monitor state", &MonitorState::default()).expect("encode"),
        result: result(at, true),
        outbox: Vec::new(),
    }
}

async fn monitors_with_results(store: &Sqlite) -> Vec<String> {
    store
        .raw
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
    let store = Sqlite::in_memory();
    store
        .raw
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
        let mut conn = store.raw.disk.conn.lock().expect("connection");
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
    let store = Sqlite::in_memory();
    // Hold the connection, as a long transaction would, while the runs arrive.
    let (held, is_held) = std::sync::mpsc::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let disk = Arc::clone(&store.raw.disk);
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
    // Queued or already taken by the one writer (which then waits for the
    // connection): either way none is answered before the transaction in
    // progress ends.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(
        commits.iter().all(|c| !c.is_finished()),
        "a run was answered while the connection was held"
    );
    release.send(()).expect("release");
    holder.join().expect("holder");
    for commit in commits {
        commit.await.expect("task").expect("committed");
    }
    assert_eq!(monitors_with_results(&store).await.len(), 50);
    assert_eq!(store.load_states().await.expect("states").len(), 50);
}

async fn refuse_writes(store: &Sqlite, refuse: bool) {
    store
        .raw
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
    let store = Sqlite::in_memory();
    refuse_writes(&store, true).await;
    let down = note(NotificationKind::Down, "api", 0, false);
    let kept = store
        .commit_run(
            "api",
            &down_state(0),
            &result(0, false),
            Some((&down, &channels(&["mail", "hook"])[..])),
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
    let store = Sqlite::in_memory();
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
                Some((&n, &channels(&["hook"])[..])),
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
    let store = Sqlite::in_memory();
    refuse_writes(&store, true).await;
    let down = note(NotificationKind::Down, "api", 0, false);
    store
        .commit_run(
            "api",
            &down_state(0),
            &result(0, false),
            Some((&down, &channels(&["hook"])[..])),
        )
        .await
        .expect("kept in memory");
    // The outbox table is gone, as from a damaged file: reading it fails.
    store
        .raw
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
