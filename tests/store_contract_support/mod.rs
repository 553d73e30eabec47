//! The `contract!` macro: each test of the store contract, written once
//! against [`Store`], becomes one test per backend; and the rows the tests
//! write (shared with tests/store_postgres.rs).

use chrono::{DateTime, Utc};
use wsprobe::check::{Class, Phase};
use wsprobe::notification::{Notification, NotificationKind};
use wsprobe::state::machine::{Health, Incident, MonitorState};
use wsprobe::state::store::{Delivery, ResultRow, Store, StoredReport};

/// A fresh SQLite store.
pub fn sqlite_store() -> Store {
    Store::open_in_memory().expect("open an in-memory SQLite store")
}

pub fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).expect("valid timestamp")
}

pub fn note(kind: NotificationKind, monitor: &str, first_seen: i64, at: i64) -> Notification {
    Notification {
        kind,
        monitor: monitor.to_string(),
        url: "wss://example.test/ws".to_string(),
        class: Class::Timeout,
        phase: Some(Phase::Upgrade),
        message: Some("upgrade: the 101 response took longer than 5000 ms".to_string()),
        hint: Some("a proxy buffering the upgrade".to_string()),
        first_seen: t(first_seen),
        at: t(at),
        outage_secs: None,
        previous_class: None,
        failed_runs: 1,
        classes_seen: vec![],
        link: None,
        labels: Default::default(),
        first_phase: None,
        in_maintenance: false,
        suppressed_by: None,
        round: None,
        group: Vec::new(),
        report: Some(wsprobe::report::document::sample_document(
            Class::Timeout,
            1,
        )),
        report_text: "timeout".to_string(),
    }
}

pub fn result(at: i64, ok: bool) -> ResultRow {
    let class = if ok { Class::Ok } else { Class::Missing101 };
    ResultRow {
        at: t(at),
        ok,
        class,
        phase: (!ok).then_some(Phase::Upgrade),
        total_ms: 41.25,
        in_maintenance: false,
        report: StoredReport::Document(Box::new(wsprobe::report::document::sample_document(
            class, 1,
        ))),
    }
}

pub fn down_state(first_seen: i64) -> MonitorState {
    MonitorState {
        health: Health::Down,
        since: Some(t(first_seen)),
        consecutive_failures: 1,
        consecutive_successes: 0,
        incident: Some(Incident {
            first_seen: t(first_seen),
            alerted: true,
            last_notified_at: Some(t(first_seen)),
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

pub fn channels(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

pub fn ids(due: &[Delivery]) -> Vec<i64> {
    due.iter().map(|d| d.id).collect()
}

pub async fn commit_down(store: &Store, monitor: &str, revision: i64, at: i64, to: &[&str]) {
    let n = note(NotificationKind::Down, monitor, at, at);
    store
        .commit_run(
            monitor,
            revision,
            &down_state(at),
            &result(at, false),
            Some((&n, &channels(to)[..])),
        )
        .await
        .expect("commit");
}

/// `contract! { async fn name(store) { … } … }`: each test once per backend,
/// as `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! contract {
    ($( $(#[$meta:meta])* async fn $name:ident($store:ident) $body:block )*) => {
        $( $(#[$meta])* async fn $name($store: Store) $body )*

        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::store_contract_support::sqlite_store()).await
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test]
                #[ignore = "needs PostgreSQL (Debian's postgresql): run by .ci/run"]
                async fn $name() {
                    // One server per test: tests run in parallel, each on its own.
                    let server = $crate::pg_support::PgServer::start();
                    let store = server.store("contract", "contract-test").await;
                    super::$name(store).await;
                    drop(server);
                }
            )*
        }
    };
}
