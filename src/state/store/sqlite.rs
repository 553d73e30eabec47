//! The SQLite backend: one file (WAL) holding each monitor's state, the
//! history of runs and the alert outbox; one daemon per file (a lock).
//!
//! SQLite calls block, so every operation runs on tokio's blocking pool
//! behind one connection and a std mutex; the async runtime never waits on disk.
//! Runs are written by group commit (`sqlite/group_commit.rs`): many runs, one
//! transaction, each caller answered once its run is durable.
//!
//! When the disk refuses writes (full, read-only) the store does not stop:
//! what it cannot write is kept in memory (`sqlite/overlay.rs`) and delivered
//! from there, [`StoreHealth`] says why it is not durable, and the next
//! commit that succeeds writes the memory first. A state file deleted or
//! replaced under the daemon is recreated from the open database
//! (`sqlite/file.rs`).

mod file;
mod group_commit;
mod lock;
mod outbox;
mod overlay;
mod queries;
mod schema;
mod transfer;

pub use lock::{LockError, StateLock, lock_path};

use super::backend::{Backend, Member, RunRows, SavedState};
use super::rows::{Delivery, ResultPoint, ResultRow, from_micros};
use super::run_queue::RunQueue;
use super::transfer::{Carried, CarriedResult};
use super::{Durability, StoreError, StoreHealth};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use file::StateFile;
use overlay::Overlay;
use rusqlite::Connection;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// How long a statement waits for a lock held by another connection (e.g. a
/// backup or `sqlite3` shell) before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

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

/// The SQLite store. Cheap to clone: clones share one connection.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    disk: Arc<Disk>,
    /// Runs waiting for the next transaction (group commit).
    runs: Arc<RunQueue>,
    /// This process owns the file (`None` in memory).
    _lock: Option<Arc<StateLock>>,
}

impl SqliteStore {
    /// Open (creating if needed) the database at `path`: exclusive lock (one
    /// daemon per file), WAL journal, no mmap, busy timeout, schema created or
    /// upgraded.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        // Before touching the database: a second daemon must not even open it.
        let lock = StateLock::acquire(path)?;
        let mut conn = configure(path)?;
        schema::migrate(&mut conn, path)?;
        let file = StateFile::opened(path);
        Ok(SqliteStore::from_connection(conn, Some(lock), file))
    }

    /// A fresh database that lives only as long as this store (tests, `demo`).
    pub fn open_in_memory() -> Result<SqliteStore, StoreError> {
        let path = Path::new(":memory:");
        let mut conn = Connection::open_in_memory().map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        schema::migrate(&mut conn, path)?;
        Ok(SqliteStore::from_connection(conn, None, None))
    }

    fn from_connection(
        conn: Connection,
        lock: Option<StateLock>,
        file: Option<StateFile>,
    ) -> SqliteStore {
        SqliteStore {
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

    /// Run `job` on the blocking pool with the connection.
    async fn with<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.with_disk(move |conn, _| job(conn)).await
    }

    /// Like [`SqliteStore::with`], with the rest of the disk (overlay, health) too.
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
}

#[async_trait]
impl Backend for SqliteStore {
    fn health(&self) -> &StoreHealth {
        &self.disk.health
    }

    fn shared(&self) -> bool {
        false
    }

    async fn load_states(
        &self,
        only: Option<Vec<String>>,
    ) -> Result<HashMap<String, SavedState>, StoreError> {
        self.with(move |conn| {
            let wanted: Option<HashSet<String>> = only.map(|names| names.into_iter().collect());
            let mut stmt = conn
                .prepare("SELECT monitor, state_json, revision, updated_at FROM monitor_state")?;
            let mut rows = stmt.query([])?;
            let mut states = HashMap::new();
            while let Some(row) = rows.next()? {
                let monitor: String = row.get(0)?;
                if wanted.as_ref().is_some_and(|w| !w.contains(&monitor)) {
                    continue;
                }
                let json: String = row.get(1)?;
                if let Some(state) = super::decode_state(&monitor, &json) {
                    let saved = SavedState {
                        state,
                        revision: row.get(2)?,
                        saved_at: from_micros(row.get(3)?)?,
                    };
                    states.insert(monitor, saved);
                }
            }
            Ok(states)
        })
        .await
    }

    /// Returns once the run is committed; runs committed at the same time
    /// share a transaction (group commit, see `sqlite/group_commit.rs`).
    /// When the disk refuses it, the run is kept in memory and its alerts are
    /// still due ([`Durability::MemoryOnly`]).
    async fn commit_run(&self, run: RunRows) -> Result<Durability, StoreError> {
        group_commit::commit(&self.runs, &self.disk, run).await
    }

    async fn recent_results(
        &self,
        monitor: String,
        since: i64,
    ) -> Result<Vec<ResultRow>, StoreError> {
        self.with(move |conn| queries::results_since(conn, &monitor, since))
            .await
    }

    async fn result_points(
        &self,
        monitor: String,
        since: i64,
    ) -> Result<Vec<ResultPoint>, StoreError> {
        self.with(move |conn| queries::points_since(conn, &monitor, since))
            .await
    }

    async fn latest_result(
        &self,
        monitor: String,
        failed_only: bool,
    ) -> Result<Option<ResultRow>, StoreError> {
        self.with(move |conn| queries::latest(conn, &monitor, failed_only))
            .await
    }

    async fn prune(&self, cutoff: i64) -> Result<u64, StoreError> {
        self.with(move |conn| {
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

    async fn forget_monitors_except(&self, keep: HashSet<String>) -> Result<(), StoreError> {
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

    async fn due(
        &self,
        channel: Option<String>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.due_rows(channel, now, limit).await
    }

    async fn settle(
        &self,
        id: i64,
        failure: Option<(String, DateTime<Utc>)>,
    ) -> Result<(), StoreError> {
        self.settle_row(id, failure).await
    }

    async fn outbox_depth(&self) -> Result<u64, StoreError> {
        self.pending_count().await
    }

    /// One daemon per file: the cluster is this instance alone.
    async fn beat(
        &self,
        me: &Member,
        _keep: Duration,
        _lease: Duration,
    ) -> Result<Vec<Member>, StoreError> {
        Ok(vec![me.clone()])
    }

    async fn leave(&self, _me: &Member) -> Result<(), StoreError> {
        Ok(())
    }

    async fn is_empty(&self) -> Result<bool, StoreError> {
        self.holds_nothing().await
    }

    async fn export_state(&self) -> Result<Carried, StoreError> {
        self.carried_state().await
    }

    async fn export_results(
        &self,
        since: i64,
        after: i64,
        limit: usize,
    ) -> Result<Vec<CarriedResult>, StoreError> {
        self.carried_results(since, after, limit).await
    }

    async fn import_state(&self, carried: Carried) -> Result<(), StoreError> {
        self.write_carried(carried).await
    }

    async fn import_results(&self, rows: Vec<(String, ResultRow)>) -> Result<(), StoreError> {
        self.append_results(rows).await
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

#[cfg(test)]
mod tests;
