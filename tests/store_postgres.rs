//! What only a shared store must do, shown with two instances on one real
//! PostgreSQL server (ignored by default: `.ci/run` runs them): claims that
//! keep a delivery to one sender for a lease, one winner per revision, a
//! server restart that loses nothing, a schema newer than this build refused,
//! a silent server that cannot hold a connect up, and a password that never
//! shows in an error.

// Both are shared with tests/store_contract.rs; each test binary uses part.
#[allow(dead_code)]
mod pg_support;
#[path = "support/pki.rs"]
mod pki;
#[allow(dead_code, unused_macros)]
mod store_contract_support;

use pg_support::{PASSWORD, PgServer};
use std::time::{Duration, Instant};
use store_contract_support::{commit_down, down_state, result, t};
use wsprobe::state::machine::MonitorState;
use wsprobe::state::store::postgres::{PostgresStore, SCHEMA_VERSION};
use wsprobe::state::store::{
    Durability, Member, PostgresLocation, SslMode, StateLocation, Store, StoreError,
};

/// A row claimed by one instance is not handed to another until the claim
/// lease ends; then any instance may send it, under the same id.
#[tokio::test]
#[ignore = "needs PostgreSQL (Debian's postgresql): run by .ci/run"]
async fn a_claimed_delivery_is_due_for_no_other_instance_until_its_lease_ends() {
    let server = PgServer::start();
    server.create_database("claims").await;
    let lease = Duration::from_secs(2);
    let a = Store::from_backend(server.backend("claims", "a").await.with_claim_lease(lease));
    let b = Store::from_backend(server.backend("claims", "b").await.with_claim_lease(lease));
    commit_down(&a, "api", 0, 0, &["pager"]).await;
    let claimed = a.due_deliveries(t(10), 10).await.expect("due for a");
    assert_eq!(claimed.len(), 1);
    let started = Instant::now();
    assert!(
        b.due_deliveries(t(10), 10)
            .await
            .expect("due for b")
            .is_empty(),
        "b must not send what a is sending"
    );
    assert_eq!(
        a.due_deliveries(t(10), 10).await.expect("a again")[0].id,
        claimed[0].id,
        "the claimer itself still sees its row, as with SQLite"
    );
    // a dies without settling: after the lease, b sends the same row.
    drop(a);
    tokio::time::sleep(lease + Duration::from_millis(300)).await;
    let taken_over = b.due_deliveries(t(10), 10).await.expect("due for b");
    assert!(started.elapsed() >= lease);
    assert_eq!(taken_over.len(), 1);
    assert_eq!(
        (taken_over[0].id, taken_over[0].created_at),
        (claimed[0].id, claimed[0].created_at),
        "same row, so the same idempotency key"
    );
    b.mark_delivered(taken_over[0].id).await.expect("delivered");
    assert_eq!(b.outbox_depth().await.expect("depth"), 0);
}

/// Two instances committing the same monitor at the same revision: exactly
/// one wins, the other gets a conflict and writes nothing.
#[tokio::test]
#[ignore = "needs PostgreSQL (Debian's postgresql): run by .ci/run"]
async fn of_two_concurrent_commits_at_one_revision_exactly_one_wins() {
    let server = PgServer::start();
    server.create_database("race").await;
    let a = Store::from_backend(server.backend("race", "a").await);
    let b = Store::from_backend(server.backend("race", "b").await);
    let up = MonitorState::default();
    for round in 0..20i64 {
        let monitor = format!("m{}", round % 4);
        let revision = round / 4;
        let (ra, rb) = (result(round * 10, true), result(round * 10 + 1, true));
        let (x, y) = tokio::join!(
            a.commit_run(&monitor, revision, &up, &ra, None),
            b.commit_run(&monitor, revision, &up, &rb, None),
        );
        let wins = [&x, &y]
            .iter()
            .filter(|r| matches!(r, Ok(Durability::Durable)))
            .count();
        let conflicts = [&x, &y]
            .iter()
            .filter(|r| matches!(r, Err(StoreError::Conflict { monitor: m }) if *m == monitor))
            .count();
        assert_eq!((wins, conflicts), (1, 1), "round {round}: {x:?} {y:?}");
    }
    let states = a.load_states().await.expect("states");
    assert!(states.values().all(|s| s.revision == 5), "{states:?}");
    for m in 0..4 {
        let rows = a
            .recent_results(&format!("m{m}"), t(0))
            .await
            .expect("results");
        assert_eq!(rows.len(), 5, "one result per winning commit");
    }
}

/// PostgreSQL stopped mid-run: commits are answered MemoryOnly and the
/// store says why; reads fail clearly; once it is back, the runs are written
/// in order and nothing is lost.
#[tokio::test]
#[ignore = "needs PostgreSQL (Debian's postgresql): run by .ci/run"]
async fn runs_made_while_the_server_is_down_are_written_once_it_is_back() {
    let server = PgServer::start();
    let store = server.store("restart", "a").await;
    commit_down(&store, "api", 0, 0, &["pager"]).await;
    server.stop_fast();
    let up = MonitorState::default();
    for revision in 1..=3 {
        let answer = store
            .commit_run("api", revision, &up, &result(revision * 10, true), None)
            .await;
        assert_eq!(answer.expect("kept in memory"), Durability::MemoryOnly);
    }
    let reason = store
        .health()
        .degraded()
        .expect("degraded while the server is down");
    assert!(
        reason.contains("postgres://postgres@127.0.0.1:"),
        "{reason}"
    );
    assert!(!reason.contains(PASSWORD), "{reason}");
    let read = store.load_states().await;
    assert!(
        matches!(read, Err(StoreError::PostgresUnavailable { .. })),
        "{read:?}"
    );
    server.start_again();
    // The link backs off up to 5 s between attempts.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut revision = 4;
    loop {
        let answer = store
            .commit_run("api", revision, &up, &result(revision * 10, true), None)
            .await
            .expect("commit");
        revision += 1;
        if answer == Durability::Durable {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still not durable after the restart"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(store.health().degraded(), None);
    let states = store.load_states().await.expect("states");
    assert_eq!(
        states["api"].revision, revision,
        "every run landed, in order"
    );
    let results = store.recent_results("api", t(0)).await.expect("results");
    assert_eq!(results.len() as i64, revision);
    assert!(results.windows(2).all(|w| w[0].at < w[1].at));
    assert_eq!(
        store.due_deliveries(t(0), 10).await.expect("due").len(),
        1,
        "the DOWN survived"
    );
}

/// A database migrated by a newer wsprobe is refused, naming both versions
/// and the database (without its password).
#[tokio::test]
#[ignore = "needs PostgreSQL (Debian's postgresql): run by .ci/run"]
async fn a_schema_newer_than_this_build_is_refused() {
    let server = PgServer::start();
    drop(server.store("newer", "a").await);
    server
        .admin("newer")
        .await
        .batch_execute("UPDATE wsprobe_schema SET version = 99")
        .await
        .expect("bump the version");
    let refused = PostgresStore::connect(&server.location("newer"), "b").await;
    match refused {
        Err(
            error @ StoreError::PostgresTooNew {
                found: 99,
                supported,
                ..
            },
        ) => {
            assert_eq!(supported, SCHEMA_VERSION);
            let text = error.to_string();
            assert!(text.contains("postgres://postgres@127.0.0.1:"), "{text}");
            assert!(text.contains("99") && !text.contains(PASSWORD), "{text}");
        }
        other => panic!("expected PostgresTooNew, got {other:?}"),
    }
}

/// A server that accepts connections and never answers fails the connect
/// within its connect timeout, with an error saying so. (No PostgreSQL
/// needed: a bare TCP listener.)
#[tokio::test]
async fn a_silent_server_fails_connect_within_the_connect_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let held = tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            sockets.push(socket);
        }
    });
    let url = format!("postgres://probe:{PASSWORD}@127.0.0.1:{port}/db?connect_timeout=1");
    let StateLocation::Postgres(location) = StateLocation::parse(&url).expect("url") else {
        panic!("not a PostgreSQL URL");
    };
    let started = Instant::now();
    let error = PostgresStore::connect(&location, "a")
        .await
        .expect_err("silent server");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(error, StoreError::PostgresUnavailable { .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(text.contains("connect timeout (1 s)"), "{text}");
    assert!(
        text.contains(&format!("postgres://probe@127.0.0.1:{port}/db")),
        "{text}"
    );
    assert!(
        !text.contains(PASSWORD) && !format!("{error:?}").contains(PASSWORD),
        "{text}"
    );
    held.abort();
}

/// Refused connections and a wrong password: the errors say what went
/// wrong, and never the password.
#[tokio::test]
#[ignore = "needs PostgreSQL (Debian's postgresql): run by .ci/run"]
async fn connection_errors_never_show_the_password() {
    let server = PgServer::start();
    server.create_database("secrets").await;
    let mut wrong = server.location("secrets");
    wrong.password = Some("not-the-5ecret".into());
    let error = PostgresStore::connect(&wrong, "a")
        .await
        .expect_err("wrong password");
    let text = format!("{error} {error:?}");
    assert!(text.contains("password authentication failed"), "{text}");
    assert!(!text.contains("not-the-5ecret"), "{text}");
    let mut nobody = server.location("secrets");
    nobody.port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let error = PostgresStore::connect(&nobody, "a")
        .await
        .expect_err("nothing listening");
    let text = format!("{error} {error:?}");
    assert!(text.contains("cannot reach the state database"), "{text}");
    assert!(!text.contains(PASSWORD), "{text}");
}

/// Heartbeats by the database's clock: every instance heard from within
/// `keep` is listed, and one that leaves is gone at once.
#[tokio::test]
#[ignore = "needs PostgreSQL (Debian's postgresql): run by .ci/run"]
async fn instances_see_each_other_through_their_heartbeats() {
    let server = PgServer::start();
    let a = server.store("members", "a").await;
    let b = Store::from_backend(server.backend("members", "b").await);
    assert!(a.shared());
    // Whole seconds: the database keeps µs.
    let started =
        chrono::DateTime::from_timestamp(chrono::Utc::now().timestamp() - 60, 0).expect("a time");
    let member = |name: &str| Member {
        name: name.to_string(),
        location: None,
        version: "0.1.0".to_string(),
        started_at: started,
        heartbeat_at: started,
    };
    let keep = Duration::from_secs(10);
    let lease = Duration::from_secs(10);
    a.beat(&member("a"), keep, lease).await.expect("beat a");
    let seen = b.beat(&member("b"), keep, lease).await.expect("beat b");
    let names: Vec<_> = seen.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert!(
        seen.iter()
            .all(|m| m.started_at == started && m.heartbeat_at > started)
    );
    a.leave(&member("a")).await.expect("leave");
    let seen = b.beat(&member("b"), keep, lease).await.expect("beat b");
    assert_eq!(
        seen.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
        ["b"]
    );
    // A beat older than `keep` no longer counts.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let alone = a
        .beat(&member("a"), Duration::from_secs(1), lease)
        .await
        .expect("beat a");
    assert_eq!(
        alone.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
        ["a"]
    );
}

/// Two processes started with the same `--instance`: the second is refused
/// while the first is live (sharing the row, both would own every monitor
/// the name owns), cannot delete the first one's row on its way out, and
/// takes the name over once the first has been silent for the lease — a
/// restart under the same name after a crash.
#[tokio::test]
#[ignore = "needs PostgreSQL (Debian's postgresql): run by .ci/run"]
async fn a_second_live_process_with_the_same_instance_name_is_refused() {
    let server = PgServer::start();
    let store = server.store("twins", "a").await;
    let incarnation = |secs_ago: i64| Member {
        name: "probe-1".to_string(),
        location: None,
        version: "0.1.0".to_string(),
        started_at: chrono::DateTime::from_timestamp(chrono::Utc::now().timestamp() - secs_ago, 0)
            .expect("a time"),
        heartbeat_at: chrono::Utc::now(),
    };
    let (first, second) = (incarnation(60), incarnation(5));
    let keep = Duration::from_secs(3600);
    let lease = Duration::from_secs(1);
    store.beat(&first, keep, lease).await.expect("first beat");
    store
        .beat(&first, keep, lease)
        .await
        .expect("the first beats again");
    let refused = store
        .beat(&second, keep, lease)
        .await
        .expect_err("a second live process with the same name");
    let text = refused.to_string();
    assert!(matches!(refused, StoreError::NameTaken { .. }), "{text}");
    assert!(
        text.contains("\"probe-1\"") && text.contains("--instance"),
        "{text}"
    );
    // Its clean shutdown leaves the live one's row alone.
    store.leave(&second).await.expect("leave");
    let seen = store.beat(&first, keep, lease).await.expect("first beat");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].started_at, first.started_at);
    // The first goes silent past the lease: the name is free again.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let seen = store
        .beat(&second, keep, lease)
        .await
        .expect("takes the name over");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].started_at, second.started_at);
    assert!(
        store.beat(&first, keep, lease).await.is_err(),
        "the old one is refused now"
    );
}

/// Pruning is one instance's job at a time: while another holds the prune
/// lock, pruning deletes nothing and is not an error.
#[tokio::test]
#[ignore = "needs PostgreSQL (Debian's postgresql): run by .ci/run"]
async fn prune_skips_while_another_instance_is_pruning() {
    let server = PgServer::start();
    let store = server.store("prune", "a").await;
    store
        .commit_run("api", 0, &down_state(0), &result(0, false), None)
        .await
        .expect("commit");
    let mut other = server.admin("prune").await;
    let tx = other.transaction().await.expect("begin");
    tx.execute(
        "SELECT pg_advisory_xact_lock($1)",
        &[&0x7773_7072_6f62_6502_i64],
    )
    .await
    .expect("take the prune lock");
    assert_eq!(store.prune(t(1000)).await.expect("prune"), 0);
    tx.rollback().await.expect("release");
    assert_eq!(store.prune(t(1000)).await.expect("prune"), 1);
}

/// `sslmode` as libpq means it, against a server whose certificate names
/// another host: `require` encrypts without checking, `verify-ca` checks the
/// chain only, `verify-full` the chain and the name; a wrong root fails both.
#[tokio::test]
#[ignore = "needs PostgreSQL (Debian's postgresql): run by .ci/run"]
async fn sslmode_checks_what_libpq_checks() {
    let ca = pki::TestCa::new("wsprobe test CA");
    let identity = ca.server(&["db.example"], pki::Validity::Current);
    let server = PgServer::start_with_tls(&identity.cert_chain_pem, &identity.key_pem);
    server.create_database("tls").await;
    let ca_file = ca.write_ca_pem(server.dir());
    let other_dir = tempfile::tempdir().expect("temp dir");
    let other_ca = pki::TestCa::new("another CA").write_ca_pem(other_dir.path());
    // Each mode's connections named after it, to count them apart.
    let with = |sslmode: SslMode, root: &std::path::Path| PostgresLocation {
        sslmode,
        sslrootcert: Some(root.to_path_buf()),
        application_name: Some(format!("wsprobe-{}", sslmode.as_str())),
        ..server.location("tls")
    };
    let admin = server.admin("tls").await;
    let encrypted = async |mode: SslMode| -> i64 {
        let name = format!("wsprobe-{}", mode.as_str());
        admin
            .query_one(
                "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid)
                 WHERE ssl AND application_name = $1",
                &[&name],
            )
            .await
            .expect("pg_stat_ssl")
            .get(0)
    };
    let plain = PostgresStore::connect(&with(SslMode::Disable, &ca_file), "a").await;
    assert_eq!(
        encrypted(SslMode::Disable).await,
        0,
        "disable never encrypts"
    );
    drop(plain.expect("disable"));
    for mode in [SslMode::Prefer, SslMode::Require, SslMode::VerifyCa] {
        let store = PostgresStore::connect(&with(mode, &ca_file), "a").await;
        let store = store.unwrap_or_else(|e| panic!("{mode:?}: {e}"));
        assert_eq!(
            encrypted(mode).await,
            2,
            "{mode:?}: both connections encrypted"
        );
        drop(store);
    }
    let refused = PostgresStore::connect(&with(SslMode::VerifyFull, &ca_file), "a").await;
    let text = refused
        .expect_err("the certificate names db.example")
        .to_string();
    assert!(text.contains("not valid for name"), "{text}");
    for mode in [SslMode::VerifyCa, SslMode::VerifyFull] {
        let refused = PostgresStore::connect(&with(mode, &other_ca), "a").await;
        let text = refused.expect_err("another CA").to_string();
        assert!(text.contains("UnknownIssuer"), "{mode:?}: {text}");
    }
}

/// The memory for runs while the server is away has a bound: past it a run
/// is refused (an error naming the database, not its password), and what
/// was kept is still written once the server is back.
#[tokio::test]
#[ignore = "needs PostgreSQL (Debian's postgresql): run by .ci/run"]
async fn past_its_bound_the_memory_refuses_runs_and_keeps_the_ones_it_has() {
    let server = PgServer::start();
    server.create_database("bound").await;
    let store = Store::from_backend(server.backend("bound", "a").await.with_memory_runs(2));
    server.stop_fast();
    let up = MonitorState::default();
    for revision in 0..2 {
        let row = result(revision * 10, true);
        let kept = store.commit_run("api", revision, &up, &row, None).await;
        assert_eq!(kept.expect("kept"), Durability::MemoryOnly);
    }
    let refused = store
        .commit_run("api", 2, &up, &result(20, true), None)
        .await;
    match refused {
        Err(error @ StoreError::BufferFull { capacity: 2, .. }) => {
            let text = error.to_string();
            assert!(text.contains("postgres://postgres@127.0.0.1:"), "{text}");
            assert!(!text.contains(PASSWORD), "{text}");
        }
        other => panic!("expected BufferFull, got {other:?}"),
    }
    server.start_again();
    let deadline = Instant::now() + Duration::from_secs(20);
    while store.health().degraded().is_some() {
        assert!(Instant::now() < deadline, "memory never written");
        // The refused run's revision is free again: the daemon's next run of
        // the monitor is applied to what was saved.
        let _ = store
            .commit_run("other", 0, &up, &result(0, true), None)
            .await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let states = store.load_states().await.expect("states");
    assert_eq!(states["api"].revision, 2, "both kept runs written");
    assert_eq!(
        store
            .recent_results("api", t(0))
            .await
            .expect("results")
            .len(),
        2
    );
}

/// Rounds (checks from several locations): each location's result of a
/// round is kept once — the first written stands, as when two owners of one
/// location report during a handover — and read back with its report by
/// whichever instance evaluates the round; the newest round of each
/// location is what the "location degraded" watch reads; pruning forgets
/// old rounds.
#[tokio::test]
#[ignore = "needs PostgreSQL (Debian's postgresql): run by .ci/run"]
async fn each_locations_round_result_is_kept_once_and_read_back_with_its_report() {
    use wsprobe::check::Class;
    use wsprobe::quorum::evidence::LocationResult;
    let server = PgServer::start();
    server.create_database("rounds").await;
    let a = Store::from_backend(server.backend("rounds", "a").await);
    let b = Store::from_backend(server.backend("rounds", "b").await);
    let seen = |location: &str, instance: &str, at: i64, ok: bool| {
        let row = result(at, ok);
        LocationResult {
            location: location.into(),
            instance: instance.into(),
            at: t(at),
            ok,
            class: if ok { Class::Ok } else { Class::Timeout },
            phase: None,
            message: (!ok).then(|| format!("timed out from {location}")),
            hint: None,
            total_ms: 12.0,
            report: row.report.document().cloned(),
            report_text: format!("text of {instance}"),
        }
    };
    a.record_round("api", 1000, seen("eu", "a", 1, false))
        .await
        .expect("a records");
    b.record_round("api", 1000, seen("us", "b", 2, true))
        .await
        .expect("b records");
    // A second owner of eu reports the same round: the first result stands.
    b.record_round("api", 1000, seen("eu", "b", 3, true))
        .await
        .expect("a duplicate is no error");
    b.record_round("api", 2000, seen("us", "b", 4, false))
        .await
        .expect("next round");

    let round = b
        .round_results("api", 1000, true)
        .await
        .expect("read the round");
    let who = b.round_results("api", 1000, false).await.expect("who");
    assert_eq!(who.len(), 2);
    assert!(
        who.iter()
            .all(|r| r.report.is_none() && r.report_text.is_empty())
    );
    let got: Vec<(&str, &str, bool)> = round
        .iter()
        .map(|r| (r.location.as_str(), r.instance.as_str(), r.ok))
        .collect();
    assert_eq!(got, [("eu", "a", false), ("us", "b", true)]);
    assert!(round[0].report.is_some(), "the report comes back");
    assert_eq!(round[0].report_text, "text of a");
    assert_eq!(round[0].message.as_deref(), Some("timed out from eu"));
    assert!(
        a.round_results("other", 1000, true)
            .await
            .unwrap()
            .is_empty()
    );

    let latest = a.latest_rounds(t(0)).await.expect("latest");
    let got: Vec<(&str, i64, &str)> = latest
        .iter()
        .map(|(m, round, r)| (m.as_str(), *round, r.location.as_str()))
        .collect();
    assert_eq!(got, [("api", 1000, "eu"), ("api", 2000, "us")]);

    a.prune(t(3)).await.expect("prune");
    let left = a.latest_rounds(t(0)).await.expect("latest");
    assert_eq!(
        left.len(),
        1,
        "only the round written at 4 s is left: {left:?}"
    );

    // Whatever the retention, round results older than a day go: the
    // round's verdict is kept in the history instead.
    let two_days_ago = chrono::Utc::now() - chrono::Duration::days(2);
    let mut old = seen("eu", "a", 0, false);
    old.at = two_days_ago;
    a.record_round("old", 1, old).await.expect("an old round");
    let long_retention = two_days_ago - chrono::Duration::days(30);
    a.prune(long_retention).await.expect("prune");
    let since = two_days_ago - chrono::Duration::hours(1);
    let left = a.latest_rounds(since).await.expect("latest");
    assert!(left.iter().all(|(m, _, _)| m != "old"), "{left:?}");
}
