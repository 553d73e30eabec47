//! The queue both backends' group commit share: callers add a run and wait
//! for its answer; one writer at a time takes the runs in batches and
//! answers each. How a batch is written (a blocking SQLite transaction, a few
//! PostgreSQL statements) is the backend's; who waits for what is this.

use super::backend::RunRows;
use super::{Durability, StoreError};
use std::sync::{Mutex, PoisonError};
use tokio::sync::oneshot;

/// Most runs written in one transaction, so a long queue is written in
/// bounded steps and the first callers do not wait for the last.
pub(super) const MAX_BATCH: usize = 256;

/// Where a run's answer goes.
pub(super) type Reply = oneshot::Sender<Result<Durability, StoreError>>;

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

/// A caller's wait for its run's answer.
pub(super) type Answer = oneshot::Receiver<Result<Durability, StoreError>>;

impl RunQueue {
    /// Queue `run`: its answer, and whether the caller must start a writer
    /// (none is at work).
    pub fn push(&self, run: RunRows) -> (Answer, bool) {
        let (reply, answer) = oneshot::channel();
        let mut pending = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        pending.runs.push((run, reply));
        (answer, !std::mem::replace(&mut pending.writing, true))
    }

    /// The writer's next batch (up to [`MAX_BATCH`] runs, oldest first), or
    /// `None` when the queue is empty: the writer stops, and the next
    /// [`RunQueue::push`] starts another.
    pub fn next_batch(&self) -> Option<(Vec<RunRows>, Vec<Reply>)> {
        let mut pending = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if pending.runs.is_empty() {
            pending.writing = false;
            return None;
        }
        let n = pending.runs.len().min(MAX_BATCH);
        Some(pending.runs.drain(..n).unzip())
    }
}

/// The caller's side: its run's answer, once the writer sends it.
pub(super) async fn answer_of(answer: Answer) -> Result<Durability, StoreError> {
    answer
        .await
        .map_err(|_| StoreError::Task("the run writer stopped before answering".into()))?
}

/// Send each run's outcome; `None` when writing the batch panicked (its
/// transaction was rolled back).
pub(super) fn answer(replies: Vec<Reply>, outcomes: Option<Vec<Result<Durability, StoreError>>>) {
    match outcomes {
        Some(outcomes) => {
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                // The caller may have gone away; its run is written anyway.
                let _ = reply.send(outcome);
            }
        }
        None => {
            for reply in replies {
                let _ = reply.send(Err(StoreError::Task(
                    "writing a run panicked; it was rolled back".into(),
                )));
            }
        }
    }
}
