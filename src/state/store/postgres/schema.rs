//! The PostgreSQL schema and its migrations, versioned in `wsprobe_schema`.
//!
//! Migrations run at connect, in one transaction holding an advisory lock,
//! so instances started together wait for each other instead of racing to
//! create the same tables, and a crash mid-upgrade leaves the previous
//! version intact. A database at a newer version than this build knows is
//! refused: an older instance must not write rows a newer one reads
//! differently.
//!
//! The tables mirror SQLite's (`sqlite/schema.rs`): times of runs and
//! deliveries are µs since the Unix epoch, as the caller gives them, while
//! claims and heartbeats are `timestamptz` set by the database's `now()`,
//! so instances whose clocks disagree still agree on who holds what.

use super::super::StoreError;
use tokio_postgres::Client;

/// `pg_advisory_xact_lock` key held while migrating ("wsprobe" + 1).
const SCHEMA_LOCK: i64 = 0x7773_7072_6f62_6501;

/// Migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: everything SQLite's versions 1 and 2 hold, plus claims on outbox
    // rows and the heartbeat rows of the cluster's instances.
    "
    CREATE TABLE monitor_state (
        monitor     text PRIMARY KEY,
        state_json  text NOT NULL,
        updated_at  bigint NOT NULL,
        revision    bigint NOT NULL
    );
    CREATE TABLE result (
        id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        monitor         text NOT NULL,
        at              bigint NOT NULL,
        ok              boolean NOT NULL,
        class           text NOT NULL,
        phase           text,
        total_ms        double precision NOT NULL,
        in_maintenance  boolean NOT NULL,
        report_json     text NOT NULL
    );
    CREATE INDEX result_monitor_at ON result (monitor, at);
    CREATE INDEX result_at ON result (at);
    -- An identity never hands out an id twice: an id an instance holds
    -- never names a newer row after a prune.
    CREATE TABLE outbox (
        id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        monitor            text NOT NULL,
        channel            text NOT NULL,
        status             text NOT NULL
                           CHECK (status IN ('pending', 'held', 'delivered', 'dead')),
        notification_json  text NOT NULL,
        incident_key       text,
        attempts           bigint NOT NULL DEFAULT 0,
        last_error         text,
        created_at         bigint NOT NULL,
        next_attempt_at    bigint NOT NULL,
        claimed_by         text,
        claimed_until      timestamptz
    );
    CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
    CREATE INDEX outbox_order ON outbox (status, monitor, channel, id);
    CREATE UNIQUE INDEX outbox_incident ON outbox (incident_key, channel)
        WHERE incident_key IS NOT NULL;
    CREATE TABLE instance (
        name          text PRIMARY KEY,
        location      text,
        version       text NOT NULL,
        started_at    timestamptz NOT NULL,
        heartbeat_at  timestamptz NOT NULL
    );
    ",
    // 2: each location's result of each round (checks from several
    // locations with a quorum); the evaluation reads a round's rows back.
    "
    CREATE TABLE round_result (
        monitor        text NOT NULL,
        round          bigint NOT NULL,
        location       text NOT NULL,
        at             bigint NOT NULL,
        evidence_json  text NOT NULL,
        report_json    text,
        report_text    text NOT NULL,
        PRIMARY KEY (monitor, round, location)
    );
    CREATE INDEX round_result_at ON round_result (at);
    ",
];

/// The schema version this build writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// Bring the database up to [`VERSION`], under the schema lock; `Err(found)`
/// inside when the database is at a newer version.
pub(super) async fn migrate(client: &mut Client) -> Result<Result<(), i64>, tokio_postgres::Error> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
        .await?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS wsprobe_schema (version bigint NOT NULL)")
        .await?;
    let found: i64 = tx
        .query_one("SELECT coalesce(max(version), 0) FROM wsprobe_schema", &[])
        .await?
        .get(0);
    if found > VERSION {
        // Dropping the transaction rolls it back.
        return Ok(Err(found));
    }
    let start = usize::try_from(found).unwrap_or(0);
    for sql in &MIGRATIONS[start.min(MIGRATIONS.len())..] {
        tx.batch_execute(sql).await?;
    }
    if found < VERSION {
        tx.execute("DELETE FROM wsprobe_schema", &[]).await?;
        tx.execute(
            "INSERT INTO wsprobe_schema (version) VALUES ($1)",
            &[&VERSION],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Ok(()))
}

/// The error for a database at `found`, newer than this build.
pub(super) fn too_new(location: String, found: i64) -> StoreError {
    StoreError::PostgresTooNew {
        location,
        found,
        supported: VERSION,
    }
}
