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

use super::StoreError;
use super::rows::{self, ResultRow};
use rusqlite::{Connection, params};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::oneshot;

/// Most runs written in one transaction, so a long queue is written in
/// bounded steps and the first callers do not wait for the last.
const MAX_BATCH: usize = 256;

/// What one run writes: its state, its result row and its outbox rows.
#[derive(Debug)]
pub(super) struct RunRows {
    pub monitor: String,
    pub state_json: String,
    pub result: ResultRow,
    pub outbox: Option<OutboxRows>,
}

/// One notification, enqueued once per channel.
#[derive(Debug)]
pub(super) struct OutboxRows {
    pub json: String,
    pub status: &'static str,
    pub at: i64,
    pub channels: Vec<String>,
}

type Reply = oneshot::Sender<Result<(), StoreError>>;

/// Runs waiting to be written, and whether a writer is at work on them.
#[derive(Debug, Default)]
pub(super) struct RunQueue {
    inner: Mutex<Pending>,
}

#[derive(Debug, Default)]
struct Pending {
    runs: Vec<(RunRows, Reply)>,
    writing: bool,
}

impl RunQueue {
    /// Write `run` with the next transaction; resolves once it is committed.
    pub async fn commit(
        self: &Arc<Self>,
        conn: &Arc<Mutex<Connection>>,
        run: RunRows,
    ) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        let start_writer = {
            let mut pending = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            pending.runs.push((run, reply));
            !std::mem::replace(&mut pending.writing, true)
        };
        if start_writer {
            let queue = Arc::clone(self);
            let conn = Arc::clone(conn);
            // Not awaited: the writer answers each run through its channel.
            drop(tokio::task::spawn_blocking(move || queue.write_all(&conn)));
        }
        answer
            .await
            .map_err(|_| StoreError::Task("the run writer stopped before answering".into()))?
    }

    /// Runs queued but not yet taken by the writer.
    #[cfg(test)]
    pub fn waiting(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .runs
            .len()
    }

    /// Write batches until the queue is empty (on a blocking-pool thread).
    fn write_all(&self, conn: &Mutex<Connection>) {
        loop {
            let batch: Vec<(RunRows, Reply)> = {
                let mut pending = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
                if pending.runs.is_empty() {
                    pending.writing = false;
                    return;
                }
                let n = pending.runs.len().min(MAX_BATCH);
                pending.runs.drain(..n).collect()
            };
            let (runs, replies): (Vec<RunRows>, Vec<Reply>) = batch.into_iter().unzip();
            let outcomes = catch_unwind(AssertUnwindSafe(|| {
                // A panic mid-batch drops its transaction, which rolls back:
                // the connection is still sound, so a poisoned lock is usable.
                let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
                write_batch(&mut conn, &runs)
            }));
            match outcomes {
                Ok(outcomes) => {
                    for (reply, outcome) in replies.into_iter().zip(outcomes) {
                        // The caller may have gone away; its run is written anyway.
                        let _ = reply.send(outcome);
                    }
                }
                Err(_) => {
                    for reply in replies {
                        let _ = reply.send(Err(StoreError::Task(
                            "writing a run panicked; it was rolled back".into(),
                        )));
                    }
                }
            }
        }
    }
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
    conn.prepare_cached(
        "INSERT INTO monitor_state (monitor, state_json, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (monitor) DO UPDATE
         SET state_json = excluded.state_json, updated_at = excluded.updated_at",
    )?
    .execute(params![
        run.monitor,
        run.state_json,
        super::micros(run.result.at)
    ])?;
    rows::insert_result(conn, &run.monitor, &run.result)?;
    if let Some(outbox) = &run.outbox {
        let mut insert = conn.prepare_cached(
            "INSERT INTO outbox (monitor, channel, status, notification_json,
                                 created_at, next_attempt_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        )?;
        for channel in &outbox.channels {
            insert.execute(params![
                run.monitor,
                channel,
                outbox.status,
                outbox.json,
                outbox.at
            ])?;
        }
    }
    Ok(())
}
