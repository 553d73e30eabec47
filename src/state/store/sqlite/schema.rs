//! The store's schema and its migrations, versioned with `PRAGMA user_version`.
//! Each migration runs once, in order, in one transaction with the version bump,
//! so a crash mid-upgrade leaves the previous version intact.

use super::super::StoreError;
use rusqlite::Connection;
use std::path::Path;

/// Migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: states, result history, outbox. Times are µs since the Unix epoch (UTC)
    // so they compare as numbers; classes and phases are their `as_str` names.
    "
    CREATE TABLE monitor_state (
        monitor     TEXT PRIMARY KEY NOT NULL,
        state_json  TEXT NOT NULL,
        updated_at  INTEGER NOT NULL
    );
    CREATE TABLE result (
        id              INTEGER PRIMARY KEY,
        monitor         TEXT NOT NULL,
        at              INTEGER NOT NULL,
        ok              INTEGER NOT NULL,
        class           TEXT NOT NULL,
        phase           TEXT,
        total_ms        REAL NOT NULL,
        in_maintenance  INTEGER NOT NULL,
        report_json     TEXT NOT NULL
    );
    CREATE INDEX result_monitor_at ON result (monitor, at);
    CREATE INDEX result_at ON result (at);
    -- AUTOINCREMENT: an id the daemon holds must never name a newer row after a prune.
    CREATE TABLE outbox (
        id                 INTEGER PRIMARY KEY AUTOINCREMENT,
        monitor            TEXT NOT NULL,
        channel            TEXT NOT NULL,
        status             TEXT NOT NULL
                           CHECK (status IN ('pending', 'held', 'delivered', 'dead')),
        notification_json  TEXT NOT NULL,
        attempts           INTEGER NOT NULL DEFAULT 0,
        last_error         TEXT,
        created_at         INTEGER NOT NULL,
        next_attempt_at    INTEGER NOT NULL
    );
    CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
    CREATE INDEX outbox_order ON outbox (status, monitor, channel, id);
    ",
    // 2: a revision per state (a commit names the one it was applied to) and
    // an incident key per DOWN/RECOVERED, unique per channel (the same
    // contract as the PostgreSQL store, where several instances write).
    "
    ALTER TABLE monitor_state ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN incident_key TEXT;
    CREATE UNIQUE INDEX outbox_incident ON outbox (incident_key, channel)
        WHERE incident_key IS NOT NULL;
    ",
];

/// The schema version this build writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// Bring the database at `path` (for messages only) up to [`VERSION`].
pub fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let schema_error = |source| StoreError::Schema {
        path: path.to_path_buf(),
        source,
    };
    let found: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(schema_error)?;
    if found > VERSION {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
            supported: VERSION,
        });
    }
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        let tx = conn.transaction().map_err(schema_error)?;
        tx.execute_batch(sql).map_err(schema_error)?;
        tx.pragma_update(None, "user_version", from as i64 + 1)
            .map_err(schema_error)?;
        tx.commit().map_err(schema_error)?;
    }
    Ok(())
}
