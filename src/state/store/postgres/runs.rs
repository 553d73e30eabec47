//! Group commit for the PostgreSQL store, and the memory that holds runs
//! while the server cannot be reached.
//!
//! Runs that finish while a batch is being written wait in a queue; one
//! writer task writes them, up to 256 per transaction
//! (`postgres/batch.rs`), and answers each caller once its own run is
//! committed.
//!
//! When the server is unreachable, a run is kept in memory instead (up to the
//! store's bound; beyond it the run is refused with
//! [`StoreError::BufferFull`]) and answered [`Durability::MemoryOnly`], so
//! the daemon goes on checking and alerting. Before anything newer, the
//! writer writes the memory, oldest first; a run whose revision was taken
//! meanwhile (the monitor's new owner moved on) is dropped with a log line.

use super::super::backend::RunRows;
use super::super::run_queue::{self, MAX_BATCH};
use super::batch::{self, Outcome};
use super::{Database, Durability, StoreError};
use futures_util::FutureExt;
use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, PoisonError};

/// Runs waiting to be written, and those kept while the server is away.
#[derive(Debug)]
pub(super) struct RunQueue {
    queue: run_queue::RunQueue,
    /// Runs not yet written, oldest first; only the writer touches it.
    memory: Mutex<VecDeque<RunRows>>,
    capacity: usize,
}

impl RunQueue {
    /// A queue whose memory holds at most `capacity` runs.
    pub fn new(capacity: usize) -> RunQueue {
        RunQueue {
            queue: run_queue::RunQueue::default(),
            memory: Mutex::default(),
            capacity,
        }
    }

    /// Write `run` with the next transaction; resolves once it is committed
    /// or kept in memory.
    pub async fn commit(
        self: &Arc<Self>,
        db: &Arc<Database>,
        run: RunRows,
    ) -> Result<Durability, StoreError> {
        let (answer, start_writer) = self.queue.push(run);
        if start_writer {
            // Not awaited: the writer answers each run through its channel.
            drop(tokio::spawn(Arc::clone(self).write_all(Arc::clone(db))));
        }
        run_queue::answer_of(answer).await
    }

    /// Write batches until the queue is empty.
    async fn write_all(self: Arc<Self>, db: Arc<Database>) {
        while let Some((runs, replies)) = self.queue.next_batch() {
            let outcomes = AssertUnwindSafe(self.write(&db, runs)).catch_unwind().await;
            run_queue::answer(replies, outcomes.ok());
        }
    }

    /// The memory first, then `runs`; what the server cannot take now is kept.
    async fn write(
        &self,
        db: &Database,
        runs: Vec<RunRows>,
    ) -> Vec<Result<Durability, StoreError>> {
        if let Err(reason) = self.write_memory(db).await {
            return runs
                .into_iter()
                .map(|run| self.keep(db, run, &reason))
                .collect();
        }
        let outcomes = batch::write(&db.writer, &runs).await;
        runs.into_iter()
            .zip(outcomes)
            .map(|(run, outcome)| match outcome {
                Outcome::Written => Ok(Durability::Durable),
                Outcome::Conflict => Err(StoreError::Conflict {
                    monitor: run.monitor,
                }),
                Outcome::Failed(error) => Err(error),
                Outcome::Unavailable(reason) => self.keep(db, run, &reason),
            })
            .collect()
    }

    /// Keep `run` in memory while the server is away (`reason`), if there is room.
    fn keep(&self, db: &Database, run: RunRows, reason: &str) -> Result<Durability, StoreError> {
        db.health.failed(reason.to_string());
        let mut memory = self.memory.lock().unwrap_or_else(PoisonError::into_inner);
        if memory.len() >= self.capacity {
            tracing::error!(monitor = %run.monitor, location = %db.location,
                capacity = self.capacity, "PostgreSQL unreachable and memory full; run not recorded");
            return Err(StoreError::BufferFull {
                location: db.location.to_string(),
                capacity: self.capacity,
            });
        }
        memory.push_back(run);
        Ok(Durability::MemoryOnly)
    }

    /// Write what memory holds, oldest first, in batches; `Err(reason)` when
    /// the server is still away (the rest stays in memory).
    async fn write_memory(&self, db: &Database) -> Result<(), String> {
        let (mut written, mut processed) = (0usize, 0usize);
        loop {
            let chunk: Vec<RunRows> = {
                let memory = self.memory.lock().unwrap_or_else(PoisonError::into_inner);
                memory.iter().take(MAX_BATCH).cloned().collect()
            };
            if chunk.is_empty() {
                break;
            }
            let outcomes = batch::write(&db.writer, &chunk).await;
            let mut done = 0;
            let mut away = None;
            for (run, outcome) in chunk.iter().zip(outcomes) {
                match outcome {
                    Outcome::Unavailable(reason) => {
                        away = Some(reason);
                        break;
                    }
                    Outcome::Written => written += 1,
                    Outcome::Conflict => tracing::warn!(monitor = %run.monitor,
                        "a run kept in memory while PostgreSQL was unreachable is dropped: \
                         the monitor's state moved on meanwhile (its new owner checked it)"),
                    Outcome::Failed(error) => tracing::error!(monitor = %run.monitor,
                        error = %error, "a run kept in memory could not be written; dropped"),
                }
                done += 1;
            }
            processed += done;
            self.memory
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .drain(..done);
            if let Some(reason) = away {
                return Err(reason);
            }
        }
        if processed > 0 {
            db.health
                .recovered(&format!("{written} of {processed} runs kept in memory"));
        }
        Ok(())
    }
}
