//! What the store could not write yet: when a commit fails (full disk, a
//! read-only file…), the run's state, result and alerts are kept here, in
//! memory, so alerting goes on; the next commit first writes all of it in one
//! transaction and, once that succeeds, the store is durable again.
//!
//! Alerts kept here have negative ids, so they can never be mistaken for an
//! outbox row; [`super::Store::due_deliveries`] returns them beside the
//! durable ones and [`super::Store::mark_delivered`] settles them here. One
//! that is delivered before the disk recovers is never written as pending, so
//! recovery cannot send it again; one that is moved to disk while its
//! delivery is in flight is remembered (`moved`), so marking it still lands
//! on its new row.
//!
//! Bounded: the newest [`MAX_RESULTS`] results and [`MAX_ALERTS`] alerts;
//! beyond that the oldest are dropped with an error in the log (the states,
//! one per monitor, are always kept).

use super::super::backend::{OutboxRows, RunRows};
use super::super::micros;
use super::super::rows::{RawDelivery, ResultRow};
use super::group_commit::{NewOutboxRow, insert_outbox, upsert_state};
use super::{StoreError, queries};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use std::collections::{HashMap, HashSet, VecDeque};

/// Most results kept in memory while the store cannot be written.
pub const MAX_RESULTS: usize = 2_000;
/// Most alerts kept in memory while the store cannot be written.
pub const MAX_ALERTS: usize = 5_000;

/// An alert that exists only in memory.
#[derive(Debug, Clone)]
struct MemoryAlert {
    id: i64,
    monitor: String,
    channel: String,
    status: &'static str,
    json: String,
    incident_key: Option<String>,
    attempts: i64,
    last_error: Option<String>,
    created_at: i64,
    next_attempt_at: i64,
}

/// A change to a durable outbox row that could not be written.
#[derive(Debug, Clone)]
enum RowUpdate {
    Delivered,
    Failed {
        attempts_added: i64,
        error: String,
        next_attempt_at: i64,
    },
}

/// Where a delivery id lives.
pub(super) enum Target {
    /// Still in memory.
    Memory,
    /// An outbox row (a memory alert moved to disk names its new row).
    Durable(i64),
}

/// Everything written since the store stopped being durable.
#[derive(Debug, Default)]
pub(super) struct Overlay {
    /// Per monitor: the newest state, when it was saved, and the revision it was applied to.
    states: HashMap<String, (String, i64, i64)>,
    results: VecDeque<(String, ResultRow)>,
    alerts: VecDeque<MemoryAlert>,
    updates: HashMap<i64, RowUpdate>,
    moved: HashMap<i64, i64>,
    last_id: i64,
}

impl Overlay {
    /// Nothing waits to be written.
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
            && self.results.is_empty()
            && self.alerts.is_empty()
            && self.updates.is_empty()
    }

    /// Keep `run` until it can be written.
    pub fn keep(&mut self, run: RunRows) {
        self.states.insert(
            run.monitor.clone(),
            (run.state_json, micros(run.result.at), run.revision),
        );
        if self.results.len() == MAX_RESULTS {
            self.results.pop_front();
            tracing::error!(
                kept = MAX_RESULTS,
                "state store still not writable: the oldest result kept in memory is dropped"
            );
        }
        self.results.push_back((run.monitor.clone(), run.result));
        for outbox in run.outbox {
            self.enqueue(&run.monitor, outbox);
        }
    }

    /// Keep `outbox`'s rows, one per channel, dropping the oldest beyond the bound.
    fn enqueue(&mut self, monitor: &str, outbox: OutboxRows) {
        for channel in outbox.channels {
            if self.alerts.len() == MAX_ALERTS
                && let Some(old) = self.alerts.pop_front()
            {
                tracing::error!(monitor = %old.monitor, channel = %old.channel,
                    kept = MAX_ALERTS,
                    "state store still not writable: the oldest alert kept in memory is dropped");
            }
            self.last_id -= 1;
            self.alerts.push_back(MemoryAlert {
                id: self.last_id,
                monitor: monitor.to_string(),
                channel,
                status: outbox.status,
                json: outbox.json.clone(),
                incident_key: outbox.incident_key.clone(),
                attempts: 0,
                last_error: None,
                created_at: outbox.at,
                next_attempt_at: outbox.at,
            });
        }
    }

    /// Remember a change to durable row `id` that could not be written:
    /// delivered (`failure` is `None`) or failed again with (error, next attempt).
    pub fn unwritten_update(&mut self, id: i64, failure: Option<(&str, i64)>) {
        let update = match (failure, self.updates.remove(&id)) {
            (None, _) => RowUpdate::Delivered,
            (Some((error, next)), previous) => RowUpdate::Failed {
                attempts_added: match previous {
                    Some(RowUpdate::Failed { attempts_added, .. }) => attempts_added + 1,
                    _ => 1,
                },
                error: error.to_string(),
                next_attempt_at: next,
            },
        };
        self.updates.insert(id, update);
    }

    /// Where delivery `id` lives now.
    pub fn target(&self, id: i64) -> Target {
        if id >= 0 {
            return Target::Durable(id);
        }
        match self.moved.get(&id) {
            Some(durable) => Target::Durable(*durable),
            None => Target::Memory,
        }
    }

    /// Memory alert `id` was delivered: forget it. False if unknown.
    pub fn delivered(&mut self, id: i64) -> bool {
        let before = self.alerts.len();
        self.alerts.retain(|a| a.id != id || a.status != "pending");
        self.alerts.len() < before
    }

    /// Memory alert `id` failed: retry it at `next`. False if unknown.
    pub fn failed(&mut self, id: i64, error: &str, next: DateTime<Utc>) -> bool {
        let Some(alert) = self
            .alerts
            .iter_mut()
            .find(|a| a.id == id && a.status == "pending")
        else {
            return false;
        };
        alert.attempts += 1;
        alert.last_error = Some(error.to_string());
        alert.next_attempt_at = micros(next);
        true
    }

    /// Alerts waiting for delivery in memory.
    pub fn pending(&self) -> u64 {
        self.alerts.iter().filter(|a| a.status == "pending").count() as u64
    }

    /// Of `durable` (due rows read from disk), the ones still due once the
    /// changes kept here are applied, then the due memory alerts: per monitor
    /// and channel only the oldest, and never while that pair still has a
    /// pending row on disk (`durable_pending`: id, monitor, channel), so a
    /// RECOVERED never overtakes its DOWN. With `channel`, only that
    /// channel's memory alerts (`durable` is already of that channel).
    pub fn due(
        &self,
        now: i64,
        durable: Vec<RawDelivery>,
        durable_pending: &[(i64, String, String)],
        channel: Option<&str>,
        limit: usize,
    ) -> Vec<RawDelivery> {
        let mut due: Vec<RawDelivery> = durable
            .into_iter()
            .filter_map(|mut row| match self.updates.get(&row.id) {
                None => Some(row),
                Some(RowUpdate::Delivered) => None,
                Some(RowUpdate::Failed {
                    attempts_added,
                    error,
                    next_attempt_at,
                }) => (*next_attempt_at <= now).then(|| {
                    row.attempts += attempts_added;
                    row.last_error = Some(error.clone());
                    row
                }),
            })
            .collect();
        let mut blocked: HashSet<(&str, &str)> = durable_pending
            .iter()
            .filter(|(id, _, _)| !matches!(self.updates.get(id), Some(RowUpdate::Delivered)))
            .map(|(_, m, c)| (m.as_str(), c.as_str()))
            .collect();
        let wanted =
            |a: &&MemoryAlert| a.status == "pending" && channel.is_none_or(|c| a.channel == c);
        for alert in self.alerts.iter().filter(wanted) {
            // Inserting marks the pair: later alerts of it wait for this one.
            if blocked.insert((&alert.monitor, &alert.channel)) && alert.next_attempt_at <= now {
                due.push(RawDelivery {
                    id: alert.id,
                    channel: alert.channel.clone(),
                    json: alert.json.clone(),
                    attempts: alert.attempts,
                    last_error: alert.last_error.clone(),
                    created_at: alert.created_at,
                });
            }
        }
        due.truncate(limit);
        due
    }

    /// Write everything kept here (inside the caller's transaction). Returns
    /// what was written, in words, for the recovery log line.
    pub fn write(&self, conn: &Connection) -> Result<(String, HashMap<i64, i64>), StoreError> {
        for (monitor, (json, at, revision)) in &self.states {
            upsert_state(conn, monitor, json, *at, *revision, false)?;
        }
        for (monitor, result) in &self.results {
            queries::insert_result(conn, monitor, result)?;
        }
        let mut moved = HashMap::with_capacity(self.alerts.len());
        for a in &self.alerts {
            let row = NewOutboxRow {
                monitor: &a.monitor,
                channel: &a.channel,
                status: a.status,
                json: &a.json,
                incident_key: a.incident_key.as_deref(),
                attempts: a.attempts,
                last_error: a.last_error.as_deref(),
                created_at: a.created_at,
                next_attempt_at: a.next_attempt_at,
            };
            // None: the same alert is already on disk; it is settled there.
            if let Some(id) = insert_outbox(conn, &row)? {
                moved.insert(a.id, id);
            }
        }
        for (id, update) in &self.updates {
            match update {
                RowUpdate::Delivered => conn.execute(
                    "UPDATE outbox SET status = 'delivered' WHERE id = ?1 AND status = 'pending'",
                    [id],
                )?,
                RowUpdate::Failed {
                    attempts_added,
                    error,
                    next_attempt_at,
                } => conn.execute(
                    "UPDATE outbox SET attempts = attempts + ?2, last_error = ?3, next_attempt_at = ?4
                     WHERE id = ?1 AND status = 'pending'",
                    params![id, attempts_added, error, next_attempt_at],
                )?,
            };
        }
        let summary = format!(
            "{} states, {} results, {} alerts, {} outbox updates",
            self.states.len(),
            self.results.len(),
            self.alerts.len(),
            self.updates.len()
        );
        Ok((summary, moved))
    }

    /// [`Overlay::write`] was committed: start over, remembering where the
    /// alerts went.
    pub fn written(&mut self, moved: HashMap<i64, i64>) {
        *self = Overlay {
            moved,
            last_id: self.last_id,
            ..Overlay::default()
        };
    }
}
