//! The durable store: each monitor's state, the history of runs and the alert
//! outbox, behind one [`Backend`] trait with two implementations:
//!
//! * [`sqlite`]: one file, one daemon (a lock), the embedded default; kept in
//!   memory and delivered from there while the disk refuses writes
//! * [`postgres`]: one database shared by a cluster of daemons; outbox rows
//!   claimed for a lease, runs kept in memory while the server is unreachable
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

mod backend;
mod error;
mod health;
mod location;
pub mod postgres;
mod rows;
mod run_queue;
pub mod sqlite;
mod transfer;

pub use backend::{Backend, Member, OutboxRows, RunRows, SavedState};
pub use error::StoreError;
pub use health::StoreHealth;
pub use location::{PostgresLocation, SslMode, StateLocation};
pub use rows::{Delivery, ResultPoint, ResultRow, StoredReport};
pub use sqlite::{LockError, StateLock, lock_path};
pub use transfer::{Carried, CarriedDelivery, CarriedResult, Moved};

use super::machine::MonitorState;
use crate::notification::{Notification, NotificationKind};
use crate::quorum::evidence::LocationResult;
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// First retry delay of a failed delivery; doubles per failure.
const RETRY_BASE: Duration = Duration::from_secs(5);
/// Longest delay between two delivery attempts.
const RETRY_CAP: Duration = Duration::from_secs(600);

/// Where a committed run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// On disk: it survives a restart.
    Durable,
    /// Only in memory, because the database refused it (see [`Store::health`]);
    /// written as soon as it takes writes again.
    MemoryOnly,
}

/// The state store. Cheap to clone: clones share one backend.
#[derive(Debug, Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
}

impl Store {
    /// Open (creating if needed) the SQLite database at `path`; see
    /// [`sqlite::SqliteStore::open`].
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Ok(Store::from_backend(sqlite::SqliteStore::open(path)?))
    }

    /// Open the store at `location`: a SQLite file ([`Store::open`]) or a
    /// PostgreSQL database ([`postgres::PostgresStore::connect`]), where
    /// `instance` (`--instance`) claims the deliveries it sends.
    pub async fn connect(location: &StateLocation, instance: &str) -> Result<Store, StoreError> {
        match location {
            StateLocation::Sqlite(path) => Store::open(path),
            StateLocation::Postgres(database) => Ok(Store::from_backend(
                postgres::PostgresStore::connect(database, instance).await?,
            )),
        }
    }

    /// A fresh SQLite database that lives only as long as this store (tests, `demo`).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Ok(Store::from_backend(sqlite::SqliteStore::open_in_memory()?))
    }

    /// A store over any backend.
    pub fn from_backend(backend: impl Backend + 'static) -> Store {
        Store {
            backend: Arc::new(backend),
        }
    }

    /// Whether the store is durable now, and its failure counters.
    pub fn health(&self) -> &StoreHealth {
        self.backend.health()
    }

    /// Whether several daemons can share this store (a cluster).
    pub fn shared(&self) -> bool {
        self.backend.shared()
    }

    /// Every saved monitor state, by monitor name. A state this version cannot
    /// read is skipped with a warning: that monitor starts again from Unknown
    /// rather than keeping the daemon from starting.
    pub async fn load_states(&self) -> Result<HashMap<String, SavedState>, StoreError> {
        self.backend.load_states(None).await
    }

    /// The saved states of `monitors` (those that have one): what an
    /// instance reads when it takes them over.
    pub async fn load_states_of(
        &self,
        monitors: Vec<String>,
    ) -> Result<HashMap<String, SavedState>, StoreError> {
        self.backend.load_states(Some(monitors)).await
    }

    /// Atomically: save the new state, append the result row, and enqueue
    /// each notification once per channel it was routed to (held when it
    /// was produced in maintenance or behind a parent that is down). One
    /// transaction, so a crash never leaves a state change without its alert
    /// or an alert without its state. A run usually has at most one
    /// notification; an escalation can add a second (a REMINDER for the
    /// channels told, the DOWN for the channel escalated to).
    ///
    /// `revision` is that of the state the run was applied to (0 when none was
    /// saved); if the saved state has moved on since (another instance
    /// checked the monitor), nothing is written and the answer is
    /// [`StoreError::Conflict`]: apply the run to the saved state and commit
    /// again. On success the saved revision is `revision + 1`.
    ///
    /// When the database refuses the write, the SQLite store keeps the run in
    /// memory and its alerts are still due ([`Durability::MemoryOnly`]).
    pub async fn commit_run<'a>(
        &self,
        monitor: &str,
        revision: i64,
        state: &MonitorState,
        result: &ResultRow,
        notifications: impl IntoIterator<Item = (&'a Notification, &'a [String])>,
    ) -> Result<Durability, StoreError> {
        let mut outbox = Vec::new();
        for (note, channels) in notifications {
            outbox.push(OutboxRows {
                json: encode("notification", note)?,
                status: if note.held() { "held" } else { "pending" },
                at: micros(note.at),
                channels: channels.to_vec(),
                // A held alert is never sent: a later DOWN of the same
                // incident, once the window ends, must not collide with it.
                incident_key: incident_key(note).filter(|_| !note.held()),
            });
        }
        let run = RunRows {
            monitor: monitor.to_string(),
            revision,
            state_json: encode("monitor state", state)?,
            result: result.clone(),
            outbox,
        };
        self.backend.commit_run(run).await
    }

    /// Results of `monitor` at or after `since`, oldest first.
    pub async fn recent_results(
        &self,
        monitor: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<ResultRow>, StoreError> {
        self.backend
            .recent_results(monitor.to_string(), micros(since))
            .await
    }

    /// Like [`Store::recent_results`] without the reports: for charts and
    /// uptime over many runs.
    pub async fn result_points(
        &self,
        monitor: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<ResultPoint>, StoreError> {
        self.backend
            .result_points(monitor.to_string(), micros(since))
            .await
    }

    /// The newest result of `monitor` (its newest failure when `failed_only`),
    /// with its report.
    pub async fn latest_result(
        &self,
        monitor: &str,
        failed_only: bool,
    ) -> Result<Option<ResultRow>, StoreError> {
        self.backend
            .latest_result(monitor.to_string(), failed_only)
            .await
    }

    /// Delete results older than `older_than`, and finished outbox rows
    /// (delivered, held, dead) created before it. Pending deliveries are never
    /// pruned. Returns the number of rows deleted.
    pub async fn prune(&self, older_than: DateTime<Utc>) -> Result<u64, StoreError> {
        self.backend.prune(micros(older_than)).await
    }

    /// Forget the state and results of every monitor not in `names` (after a
    /// config reload removed it), so one re-added later starts fresh. Pending
    /// alerts of removed monitors are still delivered.
    pub async fn forget_monitors_except(&self, names: &[String]) -> Result<(), StoreError> {
        let keep: HashSet<String> = names.iter().cloned().collect();
        self.backend.forget_monitors_except(keep).await
    }

    /// Up to `limit` pending deliveries whose next attempt is due at `now`,
    /// oldest first. Held rows are never returned. Per monitor and channel
    /// only the oldest pending row is returned, so a RECOVERED never
    /// overtakes the DOWN it answers while that DOWN is waiting for a retry.
    pub async fn due_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.backend.due(None, now, limit).await
    }

    /// [`Store::due_deliveries`] of one channel only, so each channel's
    /// deliverer reads its own work and a channel with a long queue never
    /// hides another channel's alerts behind the limit.
    pub async fn due_deliveries_for(
        &self,
        channel: &str,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.backend
            .due(Some(channel.to_string()), now, limit)
            .await
    }

    /// The delivery succeeded: it is never due again (kept as a record until pruned).
    pub async fn mark_delivered(&self, id: i64) -> Result<(), StoreError> {
        self.backend.settle(id, None).await
    }

    /// The delivery failed: count the attempt, keep the error, and retry at
    /// `next_attempt_at` (typically `now + retry_backoff(delivery.attempts + 1)`).
    pub async fn mark_failed(
        &self,
        id: i64,
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.backend
            .settle(id, Some((error.to_string(), next_attempt_at)))
            .await
    }

    /// Pending deliveries, due or waiting for a retry (held ones excluded).
    pub async fn outbox_depth(&self) -> Result<u64, StoreError> {
        self.backend.outbox_depth().await
    }

    /// Record `me`'s heartbeat; every instance heard from within `keep`
    /// (see [`Backend::beat`] for a name another live process holds).
    pub async fn beat(
        &self,
        me: &Member,
        keep: Duration,
        lease: Duration,
    ) -> Result<Vec<Member>, StoreError> {
        self.backend.beat(me, keep, lease).await
    }

    /// Remove `me`'s heartbeat row (a clean shutdown).
    pub async fn leave(&self, me: &Member) -> Result<(), StoreError> {
        self.backend.leave(me).await
    }

    /// Record what this location saw in `round` of `monitor` (the first
    /// result of a location and round stands).
    pub async fn record_round(
        &self,
        monitor: &str,
        round: i64,
        result: LocationResult,
    ) -> Result<(), StoreError> {
        self.backend
            .record_round(monitor.to_string(), round, result)
            .await
    }

    /// Every location's result of `round` of `monitor`, with their reports
    /// when `reports`.
    pub async fn round_results(
        &self,
        monitor: &str,
        round: i64,
        reports: bool,
    ) -> Result<Vec<LocationResult>, StoreError> {
        self.backend
            .round_results(monitor.to_string(), round, reports)
            .await
    }

    /// The newest round result of every monitor and location since `since`.
    pub async fn latest_rounds(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(String, i64, LocationResult)>, StoreError> {
        self.backend.latest_rounds(micros(since)).await
    }
}

/// The key that makes a DOWN or RECOVERED unique cluster-wide: one per
/// incident (monitor and first failed run) and kind. Reminders repeat by
/// design and have none.
fn incident_key(note: &Notification) -> Option<String> {
    let kind = match note.kind {
        NotificationKind::Down => "down",
        NotificationKind::Recovered => "recovered",
        NotificationKind::Reminder => return None,
    };
    Some(format!(
        "{}/{}/{kind}",
        note.monitor,
        note.first_seen.timestamp_micros()
    ))
}

/// A saved state's JSON, or `None` (with a warning) when this version cannot
/// read it: that monitor starts again from Unknown rather than keeping the
/// daemon from starting.
fn decode_state(monitor: &str, json: &str) -> Option<MonitorState> {
    match serde_json::from_str(json) {
        Ok(state) => Some(state),
        Err(error) => {
            tracing::warn!(monitor = %monitor, %error,
                "saved state unreadable; the monitor starts from unknown");
            None
        }
    }
}

/// Delay before the next attempt after `attempts` failed ones: 5 s, 10 s,
/// 20 s, … doubling, capped at 10 minutes.
pub fn retry_backoff(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(16);
    (RETRY_BASE * 2u32.pow(doublings)).min(RETRY_CAP)
}

/// Delay before the next attempt after `attempts` failed ones when the
/// receiver asked for `retry_after` (a 429's `Retry-After`): what it asked,
/// at least a second and at most the backoff's cap, so a rate-limited
/// service is retried when it said it will accept, and a receiver asking for
/// a day cannot park an alert that long; without it, [`retry_backoff`].
pub fn retry_wait(attempts: u32, retry_after: Option<Duration>) -> Duration {
    match retry_after {
        Some(asked) => asked.clamp(RETRY_MIN_ASKED, RETRY_CAP),
        None => retry_backoff(attempts),
    }
}

/// The shortest wait a `Retry-After` can ask for: "0" must not spin.
const RETRY_MIN_ASKED: Duration = Duration::from_secs(1);

fn encode<T: serde::Serialize>(what: &'static str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|source| StoreError::Encode { what, source })
}

/// Times are stored as µs since the Unix epoch.
fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receiver_asking_to_wait_is_retried_when_it_asked_within_bounds() {
        let s = Duration::from_secs;
        let cases = [
            (1, None, retry_backoff(1)),
            (3, None, retry_backoff(3)),
            (1, Some(s(30)), s(30)),
            (5, Some(s(2)), s(2)),
            (1, Some(s(0)), RETRY_MIN_ASKED),
            (1, Some(s(86_400)), RETRY_CAP),
        ];
        for (attempts, asked, want) in cases {
            assert_eq!(retry_wait(attempts, asked), want, "{attempts} {asked:?}");
        }
    }
}
