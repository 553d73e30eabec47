//! [`StoreError`]: why the state store failed, naming the file where there is one.

use super::sqlite::LockError;
use std::path::PathBuf;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file could not be opened or configured.
    #[error("cannot open state database {}: {source}", path.display())]
    Open {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// Creating or upgrading the schema failed.
    #[error("cannot create the schema of state database {}: {source}", path.display())]
    Schema {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The database was written by a newer wsprobe.
    #[error(
        "state database {} has schema version {found}, newer than this wsprobe supports ({supported})",
        path.display()
    )]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// The version found in the file.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// Another daemon owns the file, or its lock could not be taken.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The file cannot be written (permissions, an immutable flag, a
    /// read-only mount): a daemon that cannot record what it alerted would
    /// alert again after every restart.
    #[error(
        "state database {} is read-only (file permissions, an immutable flag or a read-only mount); \
         wsprobe needs to write it",
        path.display()
    )]
    ReadOnly {
        /// The database file.
        path: PathBuf,
    },
    /// A state file deleted under the daemon could not be put back.
    #[error("cannot put the state database back at {}: {source}", path.display())]
    Recreate {
        /// The database file.
        path: PathBuf,
        /// The operating system's answer.
        source: std::io::Error,
    },
    /// A query failed.
    #[error("state database query failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A value could not be encoded as JSON.
    #[error("cannot encode {what} as JSON: {source}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// serde_json's error.
        source: serde_json::Error,
    },
    /// A stored value is not what this version expects.
    #[error("state database holds an invalid {what}: {value:?}")]
    Corrupt {
        /// Which column.
        what: &'static str,
        /// The value found.
        value: String,
    },
    /// The saved state moved on since the run was applied to it: another
    /// instance checked the monitor. Apply the run to the saved state again.
    #[error(
        "the saved state of monitor {monitor:?} changed under this run (another instance checked it)"
    )]
    Conflict {
        /// Monitor name.
        monitor: String,
    },
    /// A migration's target already holds data: copying into it would mix
    /// two histories and could send alerts twice.
    #[error(
        "the target store is not empty (it holds states, results or alerts); migrate into an empty one"
    )]
    NotEmpty,
    /// No pending delivery has this id (already delivered, or never existed).
    #[error("no pending delivery with id {0}")]
    UnknownDelivery(i64),
    /// A PostgreSQL database was written by a newer wsprobe.
    #[error(
        "state database {location} has schema version {found}, newer than this wsprobe supports ({supported})"
    )]
    PostgresTooNew {
        /// The database, without its password.
        location: String,
        /// The version found in `wsprobe_schema`.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// PostgreSQL cannot be reached: no connection, a lost one, or no answer in time.
    #[error("cannot reach the state database {location}: {reason}")]
    PostgresUnavailable {
        /// The database, without its password.
        location: String,
        /// Why (the connection error, or the time waited).
        reason: String,
    },
    /// PostgreSQL answered a query with an error.
    #[error("state database {location}: {}", describe(source))]
    Postgres {
        /// The database, without its password.
        location: String,
        /// The driver's error (the server's message and SQLSTATE).
        source: tokio_postgres::Error,
    },
    /// PostgreSQL is unreachable and the memory kept for its runs is full:
    /// this run is not recorded.
    #[error(
        "state database {location} unreachable and {capacity} runs already wait in memory; this run is not recorded"
    )]
    BufferFull {
        /// The database, without its password.
        location: String,
        /// Runs the memory holds.
        capacity: usize,
    },
    /// Another live process heartbeats under this instance's name (two
    /// started with the same `--instance`): sharing the row would make both
    /// own the same monitors and check each twice.
    #[error(
        "another live instance already uses the name {name:?}{}; this one checks nothing until that one has been silent for the lease — give every instance its own --instance",
        started_at.map(|at| format!(" (started {})", at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))).unwrap_or_default()
    )]
    NameTaken {
        /// The name both use.
        name: String,
        /// When the other process started, if its row could be read.
        started_at: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// The blocking task running the query panicked or was cancelled.
    #[error("state database task failed: {0}")]
    Task(String),
}

/// A driver error in full: its own `Display` says only "db error" for
/// everything the server answers, so the server's message and SQLSTATE (or
/// the I/O cause) come along.
pub(super) fn describe(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return format!("{db} (SQLSTATE {})", db.code().code());
    }
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}
