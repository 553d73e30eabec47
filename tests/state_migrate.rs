//! `wsprobe state migrate`, run as the binary: a seeded store is copied into
//! an empty one whole (state, revision, open incident, undelivered alert,
//! results), a second copy into the now full target is refused with exit 3,
//! and a bad URL is a clear error naming it without its password. The same
//! copy into PostgreSQL is covered by the store contract suite.

mod daemon_support;
mod support;
mod support_http;

use daemon_support::{Scratch, wsprobe};
use std::ffi::OsStr;
use wsprobe::check::Class;
use wsprobe::state::machine::{Health, MonitorState};
use wsprobe::state::store::{ResultRow, Store, StoredReport};

fn migrate(scratch: &Scratch, from: &str, to: &str) -> std::process::Output {
    let args = ["state", "migrate", "--from", from, "--to", to].map(OsStr::new);
    wsprobe(&args, scratch, &[])
}

#[tokio::test]
async fn an_embedded_store_is_copied_whole_once_and_never_into_a_full_one() {
    let scratch = Scratch::new();
    let from = scratch.path("old.db");
    let to = scratch.path("new.db");
    {
        let store = Store::open(&from).expect("open");
        let down = MonitorState {
            health: Health::Down,
            ..MonitorState::default()
        };
        let row = ResultRow {
            at: chrono::Utc::now(),
            ok: false,
            class: Class::EarlyFin,
            phase: None,
            total_ms: 1.0,
            in_maintenance: false,
            report: StoredReport::Document(Box::new(wsprobe::report::document::sample_document(
                Class::EarlyFin,
                1,
            ))),
        };
        store
            .commit_run("api", 0, &down, &row, None)
            .await
            .expect("seed");
    }
    let out = migrate(&scratch, from.to_str().unwrap(), to.to_str().unwrap());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("1 monitor states") && stdout.contains("1 results"),
        "{stdout}"
    );
    let copied = Store::open(&to).expect("open the copy");
    let states = copied.load_states().await.expect("states");
    assert_eq!(
        (states["api"].state.health, states["api"].revision),
        (Health::Down, 1)
    );
    drop(copied);

    let again = migrate(&scratch, from.to_str().unwrap(), to.to_str().unwrap());
    assert_eq!(again.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));

    let bad = migrate(
        &scratch,
        from.to_str().unwrap(),
        "postgres://u:hunter2@[::1/db",
    );
    assert_eq!(bad.status.code(), Some(3));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("--to") && !err.contains("hunter2"), "{err}");

    // `run --state` takes the same values, and keeps the same secret.
    let args = ["run", "--state", "postgres://u:hunter2@[::1/db"].map(OsStr::new);
    let run = wsprobe(&args, &scratch, &[]);
    assert_eq!(run.status.code(), Some(3));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("--state") && !err.contains("hunter2"), "{err}");
}
