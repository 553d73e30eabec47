//! Group commit for [`super::Store::commit_run`]: runs that finish while a
//! transaction is being written wait in a queue, and the next transaction
//! writes all of them — one `BEGIN … COMMIT` and one fsync for many runs
//! instead of one each.
//!
//! Each caller still gets its answer only once its own run is committed (and
//! synced: the connection keeps SQLite's `synchronous=FULL`), and each run is
//! still written whole or not at all, so what a crash can do is unchanged.
//! If a shared transaction fails, every run in it is written again alone, so
//! one bad run fails by itself with its own error.
//!
//! Why: at ~1,000 runs/s (10,000 monitors every 10 s) one fsync per run was
//! the limit — every run held a blocking-pool thread waiting for the
//! connection, the pool grew to its 512 threads, and runs fell behind.

use super::super::backend::{OutboxRows, RunRows};
use super::super::run_queue::{self, RunQueue};
use super::overlay::Overlay;
use super::queries;
use super::{Disk, Durability, StoreError};
use rusqlite::{Connection, params};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, PoisonError};

/// Write `run` with the next transaction; resolves once it is committed
/// (or, when the disk refuses it, kept in memory: see `store/overlay.rs`).
pub(super) async fn commit(
    queue: &Arc<RunQueue>,
    disk: &Arc<Disk>,
    run: RunRows,
) -> Result<Durability, StoreError> {
    let (answer, start_writer) = queue.push(run);
    if start_writer {
        let queue = Arc::clone(queue);
        let disk = Arc::clone(disk);
        // Not awaited: the writer answers each run through its channel.
        drop(tokio::task::spawn_blocking(move || {
            write_all(&queue, &disk)
        }));
    }
    run_queue::answer_of(answer).await
}

/// Write batches until the queue is empty (on a blocking-pool thread).
fn write_all(queue: &RunQueue, disk: &Disk) {
    while let Some((runs, replies)) = queue.next_batch() {
        // A panic mid-batch drops its transaction, which rolls back: the
        // connection is still sound, so a poisoned lock is usable.
        let outcomes = catch_unwind(AssertUnwindSafe(|| write_or_keep(disk, runs)));
        run_queue::answer(replies, outcomes.ok());
    }
}

/// Write `runs`, first writing what memory holds from earlier failures. What
/// the disk refuses is kept in memory (never lost, never an error to the
/// caller), and `disk.health` says the store is not durable.
fn write_or_keep(disk: &Disk, runs: Vec<RunRows>) -> Vec<Result<Durability, StoreError>> {
    let mut conn = disk.conn.lock().unwrap_or_else(PoisonError::into_inner);
    let mut overlay = disk.overlay.lock().unwrap_or_else(PoisonError::into_inner);
    // A file that cannot be put back, or older runs still waiting in memory:
    // newer runs must not land before (or instead of) them, so they wait too.
    let writable = disk.check_file(&mut conn)
        && (overlay.is_empty() || {
            let written = write_overlay(&mut conn, &mut overlay, disk);
            written.map_err(|e| disk.write_failed(&e)).is_ok()
        });
    if !writable {
        return runs
            .into_iter()
            .map(|run| {
                overlay.keep(run);
                Ok(Durability::MemoryOnly)
            })
            .collect();
    }
    let outcomes = write_batch(&mut conn, &runs);
    runs.into_iter()
        .zip(outcomes)
        .map(|(run, outcome)| match outcome {
            Ok(()) => Ok(Durability::Durable),
            // Not a disk failure: the state moved on under this run.
            Err(e @ StoreError::Conflict { .. }) => Err(e),
            Err(e) => {
                disk.write_failed(&e);
                overlay.keep(run);
                Ok(Durability::MemoryOnly)
            }
        })
        .collect()
}

/// Everything memory holds, in one transaction; on success the store is
/// durable again.
pub(super) fn write_overlay(
    conn: &mut Connection,
    overlay: &mut Overlay,
    disk: &Disk,
) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    let (summary, moved) = overlay.write(&tx)?;
    tx.commit()?;
    overlay.written(moved);
    disk.health.recovered(&summary);
    Ok(())
}

/// Every run in one transaction; if that fails, each run alone, so each
/// caller gets its own outcome.
pub(super) fn write_batch(conn: &mut Connection, runs: &[RunRows]) -> Vec<Result<(), StoreError>> {
    if runs.len() > 1 && in_one_transaction(conn, runs).is_ok() {
        return runs.iter().map(|_| Ok(())).collect();
    }
    runs.iter()
        .map(|run| in_one_transaction(conn, std::slice::from_ref(run)))
        .collect()
}

fn in_one_transaction(conn: &mut Connection, runs: &[RunRows]) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    for run in runs {
        write_run(&tx, run)?;
    }
    tx.commit()?;
    Ok(())
}

fn write_run(conn: &Connection, run: &RunRows) -> Result<(), StoreError> {
    let at = super::super::micros(run.result.at);
    if !upsert_state(conn, &run.monitor, &run.state_json, at, run.revision, true)? {
        return Err(StoreError::Conflict {
            monitor: run.monitor.clone(),
        });
    }
    queries::insert_result(conn, &run.monitor, &run.result)?;
    for outbox in &run.outbox {
        for channel in &outbox.channels {
            insert_outbox(conn, &NewOutboxRow::fresh(&run.monitor, channel, outbox))?;
        }
    }
    Ok(())
}

/// Save `monitor`'s state as of `at` (µs) at revision `revision + 1`. When
/// `checked`, only if the saved revision is still `revision` (0: none
/// saved): false when it is not. Unchecked, the memory of a disk that
/// refused writes catches up (one daemon per file, nobody else moved it).
pub(super) fn upsert_state(
    conn: &Connection,
    monitor: &str,
    state_json: &str,
    at: i64,
    revision: i64,
    checked: bool,
) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(
            "INSERT INTO monitor_state (monitor, state_json, updated_at, revision)
             VALUES (?1, ?2, ?3, ?4 + 1)
             ON CONFLICT (monitor) DO UPDATE
             SET state_json = excluded.state_json, updated_at = excluded.updated_at,
                 revision = excluded.revision
             WHERE NOT ?5 OR monitor_state.revision = ?4",
        )?
        .execute(params![monitor, state_json, at, revision, checked])?;
    Ok(changed > 0)
}

/// One outbox row to insert.
pub(super) struct NewOutboxRow<'a> {
    pub monitor: &'a str,
    pub channel: &'a str,
    pub status: &'a str,
    pub json: &'a str,
    pub incident_key: Option<&'a str>,
    pub attempts: i64,
    pub last_error: Option<&'a str>,
    pub created_at: i64,
    pub next_attempt_at: i64,
}

impl<'a> NewOutboxRow<'a> {
    /// `outbox` for `channel`, due at once.
    pub fn fresh(monitor: &'a str, channel: &'a str, outbox: &'a OutboxRows) -> Self {
        NewOutboxRow {
            monitor,
            channel,
            status: outbox.status,
            json: &outbox.json,
            incident_key: outbox.incident_key.as_deref(),
            attempts: 0,
            last_error: None,
            created_at: outbox.at,
            next_attempt_at: outbox.at,
        }
    }
}

/// Enqueue one row; its id, or `None` when its incident key is already
/// enqueued for its channel (another writer got there first).
pub(super) fn insert_outbox(
    conn: &Connection,
    row: &NewOutboxRow<'_>,
) -> Result<Option<i64>, StoreError> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO outbox (monitor, channel, status, notification_json, incident_key,
                                 attempts, last_error, created_at, next_attempt_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (incident_key, channel) WHERE incident_key IS NOT NULL DO NOTHING",
        )?
        .execute(params![
            row.monitor,
            row.channel,
            row.status,
            row.json,
            row.incident_key,
            row.attempts,
            row.last_error,
            row.created_at,
            row.next_attempt_at
        ])?;
    Ok((inserted > 0).then(|| conn.last_insert_rowid()))
}
