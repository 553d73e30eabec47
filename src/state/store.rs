//! The durable store: one SQLite file (WAL) holding each monitor's state, the
//! history of runs and the alert outbox.
//!
//! A run's new state, its result row and its notifications are written in one
//! transaction ([`Store::commit_run`]), so a crash can never leave a state
//! change without its alert (a lost DOWN) or an alert without its state (a
//! second DOWN after restart). Delivery then works the outbox at least once:
//! a row stays due until [`Store::mark_delivered`].
//!
//! Outbox rows have a status:
//! * `pending` — to deliver; due once `next_attempt_at` has passed.
//! * `held` — produced inside a maintenance window. Never delivered; kept for the
//!   record (the daemon logs them) until [`Store::prune`].
//! * `delivered` — done; kept for the record until [`Store::prune`].
//! * `dead` — its notification no longer decodes (written by another version);
//!   set aside so it cannot block the outbox.
//!
//! SQLite calls block, so every async method runs on tokio's blocking pool
//! behind one connection and a std mutex; the async runtime never waits on disk.
//! Runs are written by group commit (`store/group_commit.rs`): many runs, one
//! transaction, each caller answered once its run is durable.
//!
//! When the disk refuses writes (full, read-only) the store does not stop:
//! what it cannot write is kept in memory (`store/overlay.rs`) and delivered
//! from there, [`Store::health`] says why it is not durable, and the next
//! commit that succeeds writes the memory first (`store/health.rs`). A state
//! file deleted or replaced under the daemon is recreated from the open
//! database (`store/file.rs`).

mod error;
mod file;
mod group_commit;
mod health;
mod lock;
mod outbox;
mod overlay;
mod rows;
mod schema;

pub use error::StoreError;
pub use health::StoreHealth;
pub use lock::{LockError, StateLock, lock_path};
pub use rows::{Delivery, ResultPoint, ResultRow, StoredReport};

use super::machine::MonitorState;
use crate::notification::Notification;
use chrono::{DateTime, Utc};
use file::StateFile;
use group_commit::{OutboxRows, RunQueue, RunRows};
use overlay::Overlay;
use rusqlite::Connection;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// How long a statement waits for a lock held by another connection (e.g. a
/// backup or `sqlite3` shell) before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// First retry delay of a failed delivery; doubles per failure.
const RETRY_BASE: Duration = Duration::from_secs(5);
/// Longest delay between two delivery attempts.
const RETRY_CAP: Duration = Duration::from_secs(600);

/// Where a committed run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// On disk: it survives a restart.
    Durable,
    /// Only in memory, because the disk refused it (see [`Store::health`]);
    /// written as soon as the disk takes writes again.
    MemoryOnly,
}

/// The connection, and what stands in for the file while it cannot be
/// written. Lock order: `conn`, then `overlay`.
#[derive(Debug)]
struct Disk {
    conn: Mutex<Connection>,
    overlay: Mutex<Overlay>,
    health: StoreHealth,
    /// The file the connection has open (`None` in memory).
    file: Option<StateFile>,
}

impl Disk {
    /// A write failed: note the condition (logged once) naming the file.
    fn write_failed(&self, error: &StoreError) {
        self.failed("write", error);
    }

    /// A read failed (the outbox while alerts wait in memory): the same
    /// condition as a failed write, since the store cannot be relied on.
    fn read_failed(&self, error: &StoreError) {
        self.failed("read", error);
    }

    fn failed(&self, verb: &str, error: &StoreError) {
        let cause = match error {
            StoreError::Sqlite(e) => e.to_string(),
            other => other.to_string(),
        };
        let reason = match &self.file {
            Some(file) => format!("cannot {verb} {}: {cause}", file.path().display()),
            None => format!("cannot {verb} the state database: {cause}"),
        };
        self.health.failed(reason);
    }
}

/// The state database. Cheap to clone: clones share one connection.
#[derive(Debug, Clone)]
pub struct Store {
    disk: Arc<Disk>,
    /// Runs waiting for the next transaction ([`Store::commit_run`]).
    runs: Arc<RunQueue>,
    /// This process owns the file (`None` in memory).
    _lock: Option<Arc<StateLock>>,
}

impl Store {
    /// Open (creating if needed) the database at `path`: exclusive lock (one
    /// daemon per file), WAL journal, no mmap, busy timeout, schema created or
    /// upgraded.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        // Before touching the database: a second daemon must not even open it.
        let lock = StateLock::acquire(path)?;
        let mut conn = configure(path)?;
        schema::migrate(&mut conn, path)?;
        let file = StateFile::opened(path);
        Ok(Store::from_connection(conn, Some(lock), file))
    }

    /// A fresh database that lives only as long as this store (tests, `demo`).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let path = Path::new(":memory:");
        let mut conn = Connection::open_in_memory().map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        schema::migrate(&mut conn, path)?;
        Ok(Store::from_connection(conn, None, None))
    }

    fn from_connection(
        conn: Connection,
        lock: Option<StateLock>,
        file: Option<StateFile>,
    ) -> Store {
        Store {
            disk: Arc::new(Disk {
                conn: Mutex::new(conn),
                overlay: Mutex::default(),
                health: StoreHealth::default(),
                file,
            }),
            runs: Arc::default(),
            _lock: lock.map(Arc::new),
        }
    }

    /// Whether the store is durable now, and its failure counters.
    pub fn health(&self) -> &StoreHealth {
        &self.disk.health
    }

    /// Run `job` on the blocking pool with the connection.
    async fn with<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.with_disk(move |conn, _| job(conn)).await
    }

    /// Like [`Store::with`], with the rest of the disk (overlay, health) too.
    async fn with_disk<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &Disk) -> Result<T, StoreError> + Send + 'static,
    {
        let disk = Arc::clone(&self.disk);
        tokio::task::spawn_blocking(move || {
            // A panic mid-job drops its transaction, which rolls back: the
            // connection is still sound, so a poisoned lock is usable.
            let mut conn = disk.conn.lock().unwrap_or_else(PoisonError::into_inner);
            job(&mut conn, &disk)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Every saved monitor state, by monitor name. A state this version cannot
    /// read is skipped with a warning: that monitor starts again from Unknown
    /// rather than keeping the daemon from starting.
    pub async fn load_states(&self) -> Result<HashMap<String, MonitorState>, StoreError> {
        self.with(|conn| {
            let mut stmt = conn.prepare("SELECT monitor, state_json FROM monitor_state")?;
            let rows = stmt.query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })?;
            let mut states = HashMap::new();
            for row in rows {
                let (monitor, json) = row?;
                match serde_json::from_str(&json) {
                    Ok(state) => {
                        states.insert(monitor, state);
                    }
                    Err(error) => tracing::warn!(
                        monitor = %monitor, %error,
                        "saved state unreadable; the monitor starts from unknown"
                    ),
                }
            }
            Ok(states)
        })
        .await
    }

    /// Atomically: save the new state, append the result row, and enqueue the
    /// notification once per channel (held when it was produced in
    /// maintenance). One transaction, so a crash never leaves a state change
    /// without its alert or an alert without its state. Returns once the run
    /// is committed; runs committed at the same time share a transaction
    /// (group commit, see `store/group_commit.rs`). When the disk refuses
    /// it, the run is kept in memory and its alerts are still due
    /// ([`Durability::MemoryOnly`]): an error is only a run that cannot be
    /// encoded.
    pub async fn commit_run(
        &self,
        monitor: &str,
        state: &MonitorState,
        result: &ResultRow,
        notification: Option<(&Notification, &[String])>,
    ) -> Result<Durability, StoreError> {
        let outbox = match notification {
            Some((note, channels)) => Some(OutboxRows {
                json: encode("notification", note)?,
                status: if note.in_maintenance {
                    "held"
                } else {
                    "pending"
                },
                at: micros(note.at),
                channels: channels.to_vec(),
            }),
            None => None,
        };
        let run = RunRows {
            monitor: monitor.to_string(),
            state_json: encode("monitor state", state)?,
            result: result.clone(),
            outbox,
        };
        self.runs.commit(&self.disk, run).await
    }

    /// Results of `monitor` at or after `since`, oldest first.
    pub async fn recent_results(
        &self,
        monitor: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<ResultRow>, StoreError> {
        let monitor = monitor.to_string();
        self.with(move |conn| rows::results_since(conn, &monitor, micros(since)))
            .await
    }

    /// Like [`Store::recent_results`] without the reports: for charts and
    /// uptime over many runs.
    pub async fn result_points(
        &self,
        monitor: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<ResultPoint>, StoreError> {
        let monitor = monitor.to_string();
        self.with(move |conn| rows::points_since(conn, &monitor, micros(since)))
            .await
    }

    /// The newest result of `monitor` (its newest failure when `failed_only`),
    /// with its report.
    pub async fn latest_result(
        &self,
        monitor: &str,
        failed_only: bool,
    ) -> Result<Option<ResultRow>, StoreError> {
        let monitor = monitor.to_string();
        self.with(move |conn| rows::latest(conn, &monitor, failed_only))
            .await
    }

    /// Delete results older than `older_than`, and finished outbox rows
    /// (delivered, held, dead) created before it. Pending deliveries are never
    /// pruned. Returns the number of rows deleted.
    pub async fn prune(&self, older_than: DateTime<Utc>) -> Result<u64, StoreError> {
        self.with(move |conn| {
            let cutoff = micros(older_than);
            let tx = conn.transaction()?;
            let results = tx.execute("DELETE FROM result WHERE at < ?1", [cutoff])?;
            let outbox = tx.execute(
                "DELETE FROM outbox WHERE status <> 'pending' AND created_at < ?1",
                [cutoff],
            )?;
            tx.commit()?;
            Ok((results + outbox) as u64)
        })
        .await
    }

    /// Forget the state and results of every monitor not in `names` (after a
    /// config reload removed it), so one re-added later starts fresh. Pending
    /// alerts of removed monitors are still delivered.
    pub async fn forget_monitors_except(&self, names: &[String]) -> Result<(), StoreError> {
        let keep: HashSet<String> = names.iter().cloned().collect();
        self.with(move |conn| {
            let tx = conn.transaction()?;
            let known: Vec<String> = tx
                .prepare(
                    "SELECT monitor FROM monitor_state UNION SELECT DISTINCT monitor FROM result",
                )?
                .query_map([], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            for gone in known.iter().filter(|m| !keep.contains(*m)) {
                tx.execute("DELETE FROM monitor_state WHERE monitor = ?1", [gone])?;
                tx.execute("DELETE FROM result WHERE monitor = ?1", [gone])?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }
}

/// Open the file at `path` for the store: busy timeout, writable (or a clear
/// error), no mmap, WAL.
fn configure(path: &Path) -> Result<Connection, StoreError> {
    let open_error = |source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    };
    let conn = Connection::open(path).map_err(open_error)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open_error)?;
    // SQLite falls back to read-only when the file cannot be opened for
    // writing; say so now rather than fail at the first run.
    if conn.is_readonly(rusqlite::MAIN_DB).map_err(open_error)? {
        return Err(StoreError::ReadOnly {
            path: path.to_path_buf(),
        });
    }
    // No memory map: a mapped file that cannot grow or be written (full
    // disk, immutable, truncated by someone else) kills the process with
    // SIGBUS; with plain reads and writes it is an error SQLite returns.
    conn.pragma_update(None, "mmap_size", 0)
        .map_err(open_error)?;
    // WAL: readers (e.g. an operator's sqlite3 shell) never block the
    // daemon's writes, and a commit is one append.
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "wal", |row| row.get(0))
        .map_err(open_error)?;
    if !mode.eq_ignore_ascii_case("wal") {
        // Some filesystems (e.g. network mounts) refuse WAL; SQLite keeps
        // its rollback journal, which is slower but just as durable.
        tracing::warn!(path = %path.display(), %mode, "state database is not in WAL mode");
    }
    Ok(conn)
}

/// Delay before the next attempt after `attempts` failed ones: 5 s, 10 s,
/// 20 s, … doubling, capped at 10 minutes.
pub fn retry_backoff(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(16);
    (RETRY_BASE * 2u32.pow(doublings)).min(RETRY_CAP)
}

fn encode<T: serde::Serialize>(what: &'static str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|source| StoreError::Encode { what, source })
}

/// Times are stored as µs since the Unix epoch.
fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

#[cfg(test)]
mod tests;
