//! The state store's contract, run against every backend: the same tests on
//! SQLite (always) and on PostgreSQL (ignored by default: they start a
//! throwaway server; `.ci/run` runs them). What one backend promises the
//! daemon, the other must keep, or a cluster would behave unlike one daemon.

// Shared with tests/store_postgres.rs, which uses all of it.
#[allow(dead_code)]
mod pg_support;
#[macro_use]
mod store_contract_support;

use store_contract_support::*;
use wsprobe::check::Class;
use wsprobe::notification::NotificationKind;
use wsprobe::state::machine::{Health, MonitorState};
use wsprobe::state::store::{Store, StoreError};

contract! {
    /// State, result and one delivery per channel land together, and read back whole.
    async fn a_run_saves_its_state_result_and_one_delivery_per_channel(store) {
        commit_down(&store, "api", 0, 10, &["ops-mail", "pager"]).await;
        let states = store.load_states().await.expect("states");
        assert_eq!(states["api"].state, down_state(10));
        assert_eq!(states["api"].revision, 1);
        assert_eq!(states["api"].saved_at, t(10));
        assert_eq!(
            store.recent_results("api", t(0)).await.expect("results"),
            vec![result(10, false)]
        );
        let due = store.due_deliveries(t(10), 10).await.expect("due");
        let mut got: Vec<_> = due.iter().map(|d| d.channel.as_str()).collect();
        got.sort_unstable();
        assert_eq!(got, ["ops-mail", "pager"]);
        assert_eq!(due[0].notification, note(NotificationKind::Down, "api", 10, 10));
        assert_eq!((due[0].attempts, &due[0].last_error), (0, &None));
        assert_eq!(due[0].created_at, t(10));
        assert!(due.iter().all(|d| d.durable));
        assert_eq!(store.outbox_depth().await.expect("depth"), 2);
    }

    /// A commit applied to a revision that is no longer the saved one
    /// changes nothing and says so: another instance checked the monitor.
    async fn a_commit_to_a_stale_revision_is_a_conflict_and_writes_nothing(store) {
        commit_down(&store, "api", 0, 10, &["pager"]).await;
        let up = MonitorState { health: Health::Up, ..MonitorState::default() };
        let stale = store.commit_run("api", 0, &up, &result(20, true), None).await;
        assert!(matches!(stale, Err(StoreError::Conflict { ref monitor }) if monitor == "api"),
            "{stale:?}");
        let states = store.load_states().await.expect("states");
        assert_eq!((states["api"].state.health, states["api"].revision), (Health::Down, 1));
        assert_eq!(store.recent_results("api", t(0)).await.expect("results").len(), 1);
        store.commit_run("api", 1, &up, &result(20, true), None).await.expect("current revision");
        assert_eq!(store.load_states().await.expect("states")["api"].revision, 2);
    }

    /// The same DOWN (one incident, one channel) is enqueued once however
    /// many writers produce it; a REMINDER may repeat.
    async fn a_down_is_enqueued_once_per_incident_and_channel(store) {
        commit_down(&store, "api", 0, 10, &["pager"]).await;
        // A second writer that missed the first commit's state produces the same DOWN.
        let again = note(NotificationKind::Down, "api", 10, 12);
        store
            .commit_run("api", 1, &down_state(10), &result(12, false),
                Some((&again, &channels(&["pager", "mail"])[..])))
            .await
            .expect("commit");
        let due = store.due_deliveries(t(20), 10).await.expect("due");
        let mut got: Vec<_> = due.iter().map(|d| (d.channel.as_str(), d.notification.at)).collect();
        got.sort_unstable();
        assert_eq!(got, [("mail", t(12)), ("pager", t(10))]);
        let reminder = note(NotificationKind::Reminder, "api", 10, 70);
        for (revision, at) in [(2, 70), (3, 130)] {
            store
                .commit_run("api", revision, &down_state(10), &result(at, false),
                    Some((&reminder, &channels(&["mail"])[..])))
                .await
                .expect("reminder");
        }
        assert_eq!(store.outbox_depth().await.expect("depth"), 4);
    }

    /// An escalation: one run enqueues the REMINDER for the channel already
    /// told and the DOWN for the channel escalated to, in one commit; that
    /// DOWN, produced again (a replayed run), is not enqueued twice.
    async fn a_run_enqueues_a_reminder_and_an_escalated_down_together_and_that_down_once(store) {
        commit_down(&store, "api", 0, 10, &["pager"]).await;
        let reminder = note(NotificationKind::Reminder, "api", 10, 70);
        let escalated = note(NotificationKind::Down, "api", 10, 70);
        let (pager, manager) = (channels(&["pager"]), channels(&["manager"]));
        store
            .commit_run("api", 1, &down_state(10), &result(70, false),
                [(&reminder, &pager[..]), (&escalated, &manager[..])])
            .await
            .expect("commit");
        assert_eq!(store.outbox_depth().await.expect("depth"), 3);
        store
            .commit_run("api", 2, &down_state(10), &result(80, false),
                Some((&escalated, &manager[..])))
            .await
            .expect("replayed");
        assert_eq!(store.outbox_depth().await.expect("depth"), 3, "the escalation once");
        let due = store.due_deliveries(t(80), 10).await.expect("due");
        let mut got: Vec<_> = due.iter()
            .map(|d| (d.channel.as_str(), d.notification.kind, d.notification.at))
            .collect();
        got.sort_unstable_by_key(|g| g.0);
        assert_eq!(got, [
            ("manager", NotificationKind::Down, t(70)),
            ("pager", NotificationKind::Down, t(10)),
        ], "the pager's REMINDER waits behind its DOWN");
    }

    /// Only the oldest pending delivery per monitor and channel is due, so a
    /// RECOVERED never overtakes its DOWN while the DOWN waits for a retry.
    async fn a_later_delivery_waits_behind_a_pending_one_of_its_monitor_and_channel(store) {
        commit_down(&store, "api", 0, 0, &["pager"]).await;
        let recovered = note(NotificationKind::Recovered, "api", 0, 60);
        store
            .commit_run("api", 1, &MonitorState::default(), &result(60, true),
                Some((&recovered, &channels(&["pager"])[..])))
            .await
            .expect("commit");
        commit_down(&store, "db", 0, 60, &["pager"]).await;
        let first = store.due_deliveries(t(60), 10).await.expect("due");
        assert_eq!(first.len(), 2, "api's DOWN and db's DOWN");
        let api_down = first.iter().find(|d| d.notification.monitor == "api").expect("api").id;
        store.mark_failed(api_down, "timeout", t(600)).await.expect("failed");
        let db_down = first.iter().find(|d| d.notification.monitor == "db").expect("db").id;
        store.mark_delivered(db_down).await.expect("delivered");
        assert!(ids(&store.due_deliveries(t(300), 10).await.expect("due")).is_empty(),
            "the RECOVERED waits for its DOWN's retry");
        let retry = store.due_deliveries(t(600), 10).await.expect("due");
        assert_eq!(ids(&retry), [api_down]);
        assert_eq!((retry[0].attempts, retry[0].last_error.as_deref()), (1, Some("timeout")));
        store.mark_delivered(api_down).await.expect("delivered");
        let next = store.due_deliveries(t(600), 10).await.expect("due");
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].notification.kind, NotificationKind::Recovered);
    }

    /// A delivery settled once cannot be settled again.
    async fn settling_a_delivery_that_is_not_pending_is_an_error(store) {
        commit_down(&store, "api", 0, 0, &["pager"]).await;
        let id = store.due_deliveries(t(0), 10).await.expect("due")[0].id;
        store.mark_delivered(id).await.expect("delivered");
        assert!(matches!(store.mark_delivered(id).await, Err(StoreError::UnknownDelivery(_))));
        assert!(matches!(store.mark_failed(id, "x", t(9)).await, Err(StoreError::UnknownDelivery(_))));
        assert_eq!(store.outbox_depth().await.expect("depth"), 0);
    }

    /// One channel's deliveries are read apart from another's.
    async fn one_channels_due_deliveries_are_read_alone(store) {
        for (i, monitor) in ["a", "b", "c"].iter().enumerate() {
            commit_down(&store, monitor, 0, i as i64, &["slow", "fast"]).await;
        }
        let fast = store.due_deliveries_for("fast", t(10), 2).await.expect("due");
        assert_eq!(fast.len(), 2);
        assert!(fast.iter().all(|d| d.channel == "fast"));
        assert_eq!(store.due_deliveries(t(10), 100).await.expect("due").len(), 6);
    }

    /// Held alerts (maintenance) are kept but never due nor counted.
    async fn held_alerts_are_kept_but_never_due(store) {
        let mut held = note(NotificationKind::Down, "api", 0, 0);
        held.in_maintenance = true;
        store
            .commit_run("api", 0, &down_state(0), &result(0, false),
                Some((&held, &channels(&["pager"])[..])))
            .await
            .expect("commit");
        assert!(store.due_deliveries(t(100), 10).await.expect("due").is_empty());
        assert_eq!(store.outbox_depth().await.expect("depth"), 0);
        // The window ended while still down: the DOWN of the same incident now goes out.
        let announced = note(NotificationKind::Down, "api", 0, 70);
        store
            .commit_run("api", 1, &down_state(0), &result(70, false),
                Some((&announced, &channels(&["pager"])[..])))
            .await
            .expect("commit");
        assert_eq!(store.due_deliveries(t(100), 10).await.expect("due").len(), 1);
    }

    /// History reads: per monitor, from a time, newest, newest failure, points.
    async fn results_read_back_per_monitor_and_in_order(store) {
        for (revision, at) in [(0, 10), (1, 20), (2, 30)] {
            store
                .commit_run("api", revision, &MonitorState::default(), &result(at, at != 20), None)
                .await
                .expect("commit");
        }
        store
            .commit_run("db", 0, &MonitorState::default(), &result(25, true), None)
            .await
            .expect("commit");
        let since = store.recent_results("api", t(15)).await.expect("results");
        assert_eq!(since, vec![result(20, false), result(30, true)]);
        let latest = store.latest_result("api", false).await.expect("latest").expect("some");
        assert_eq!(latest.at, t(30));
        let failure = store.latest_result("api", true).await.expect("latest").expect("some");
        assert_eq!(failure, result(20, false));
        let points = store.result_points("api", t(0)).await.expect("points");
        let got: Vec<_> = points.iter().map(|p| (p.at, p.ok, p.class)).collect();
        assert_eq!(got, [(t(10), true, Class::Ok), (t(20), false, Class::Missing101), (t(30), true, Class::Ok)]);
        assert_eq!(store.latest_result("nobody", false).await.expect("latest"), None);
    }

    /// Pruning drops old results and finished alerts, never pending ones.
    async fn prune_keeps_pending_alerts(store) {
        commit_down(&store, "api", 0, 0, &["pager", "mail"]).await;
        let mail = store.due_deliveries_for("mail", t(0), 10).await.expect("due")[0].id;
        store.mark_delivered(mail).await.expect("delivered");
        store
            .commit_run("api", 1, &down_state(0), &result(5000, false), None)
            .await
            .expect("commit");
        let deleted = store.prune(t(1000)).await.expect("prune");
        assert_eq!(deleted, 2, "the old result and the delivered alert");
        assert_eq!(store.recent_results("api", t(0)).await.expect("r").len(), 1);
        assert_eq!(store.outbox_depth().await.expect("depth"), 1);
    }

    /// A monitor removed from the config loses its state and history, not its alerts.
    async fn forgetting_monitors_keeps_their_pending_alerts(store) {
        commit_down(&store, "gone", 0, 0, &["pager"]).await;
        commit_down(&store, "kept", 0, 0, &["pager"]).await;
        store.forget_monitors_except(&["kept".to_string()]).await.expect("forget");
        let states = store.load_states().await.expect("states");
        assert_eq!(states.keys().collect::<Vec<_>>(), ["kept"]);
        assert!(store.recent_results("gone", t(0)).await.expect("r").is_empty());
        assert_eq!(store.outbox_depth().await.expect("depth"), 2);
        // Added back later, it starts fresh at revision 0.
        commit_down(&store, "gone", 0, 100, &["pager"]).await;
    }

    /// An instance taking monitors over reads just their states.
    async fn the_states_of_some_monitors_are_read_alone(store) {
        for monitor in ["a", "b", "c"] {
            commit_down(&store, monitor, 0, 0, &["pager"]).await;
        }
        let some = store.load_states_of(vec!["a".into(), "c".into(), "new".into()]).await.expect("states");
        let mut names: Vec<_> = some.keys().cloned().collect();
        names.sort();
        assert_eq!(names, ["a", "c"]);
    }

    /// `wsprobe state migrate`: an embedded store copied in keeps every
    /// state at its revision, the open incident, the alerts with their
    /// attempts and schedule, and the results since the cutoff.
    async fn a_migrated_store_carries_states_alerts_and_recent_results(store) {
        let source = store_contract_support::sqlite_store();
        commit_down(&source, "api", 0, 10, &["pager", "mail"]).await;
        source
            .commit_run("api", 1, &down_state(10), &result(20, false), None)
            .await
            .expect("commit");
        source
            .commit_run("db", 0, &MonitorState::default(), &result(5, true), None)
            .await
            .expect("commit");
        let mail = source.due_deliveries_for("mail", t(20), 10).await.expect("due")[0].id;
        source.mark_failed(mail, "421 try later", t(500)).await.expect("failed");
        let pager = source.due_deliveries_for("pager", t(20), 10).await.expect("due")[0].id;
        source.mark_delivered(pager).await.expect("delivered");

        let moved = source.migrate_to(&store, t(8)).await.expect("migrate");
        assert_eq!((moved.states, moved.incidents, moved.alerts, moved.results), (2, 1, 1, 2));
        let states = store.load_states().await.expect("states");
        assert_eq!(states["api"].state, down_state(10));
        assert_eq!(states["api"].revision, 2, "the revision goes on where it was");
        assert_eq!(states["db"].revision, 1);
        assert!(store.due_deliveries(t(100), 10).await.expect("due").is_empty(),
            "the delivered alert is not sent again; the failed one waits for its retry");
        let retry = store.due_deliveries(t(500), 10).await.expect("due");
        assert_eq!(retry.len(), 1);
        assert_eq!((retry[0].channel.as_str(), retry[0].attempts), ("mail", 1));
        assert_eq!(retry[0].last_error.as_deref(), Some("421 try later"));
        assert_eq!(retry[0].notification, note(NotificationKind::Down, "api", 10, 10));
        let results = store.recent_results("api", t(0)).await.expect("results");
        assert_eq!(results, vec![result(10, false), result(20, false)]);
        assert!(store.recent_results("db", t(0)).await.expect("r").is_empty(), "older than the cutoff");
        // The next commit of the new owner fits the carried revision.
        store.commit_run("api", 2, &down_state(10), &result(30, false), None).await.expect("commit");

        let again = source.migrate_to(&store, t(0)).await;
        assert!(matches!(again, Err(StoreError::NotEmpty)), "{again:?}");
    }
}
