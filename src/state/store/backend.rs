//! [`Backend`]: what a state store must do, whichever database holds it.
//! Two implementations: SQLite (`store/sqlite.rs`, one daemon, the embedded
//! default) and PostgreSQL (`store/postgres.rs`, shared by a cluster). The
//! contract suite (`tests/store_contract.rs`) runs the same tests on both.
//!
//! The rules every backend keeps:
//! * a run's state, result row and outbox rows are written in one
//!   transaction, and only if the state is still at the revision the run was
//!   applied to (else [`StoreError::Conflict`]: another instance moved it);
//! * a DOWN or RECOVERED is enqueued once per incident and channel (its
//!   incident key is unique), whoever writes it;
//! * per monitor and channel only the oldest pending delivery is due, so a
//!   RECOVERED never overtakes its DOWN.

use super::health::StoreHealth;
use super::rows::{Delivery, ResultPoint, ResultRow};
use super::transfer::{Carried, CarriedResult};
use super::{Durability, StoreError};
use crate::quorum::evidence::LocationResult;
use crate::state::machine::MonitorState;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// A monitor's state as saved, with what a writer needs to keep it consistent.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedState {
    /// The machine's state.
    pub state: MonitorState,
    /// Bumped by every commit; a commit names the revision it was applied to.
    pub revision: i64,
    /// When the run that saved it finished.
    pub saved_at: DateTime<Utc>,
}

/// What one run writes: its state, its result row and its outbox rows.
#[derive(Debug, Clone)]
pub struct RunRows {
    /// Monitor name.
    pub monitor: String,
    /// The revision of the state this run was applied to (0: none saved).
    pub revision: i64,
    /// The new state, as JSON.
    pub state_json: String,
    /// The history row.
    pub result: ResultRow,
    /// The notifications to enqueue, in the order they were produced.
    pub outbox: Vec<OutboxRows>,
}

/// One notification, enqueued once per channel.
#[derive(Debug, Clone)]
pub struct OutboxRows {
    /// The notification, as JSON.
    pub json: String,
    /// `pending`, or `held` inside a maintenance window.
    pub status: &'static str,
    /// When it was produced (µs since the epoch).
    pub at: i64,
    /// The channels to deliver it through.
    pub channels: Vec<String>,
    /// Unique per incident and kind for a DOWN or RECOVERED, so a second
    /// writer cannot enqueue it again; `None` for a reminder.
    pub incident_key: Option<String>,
}

/// One instance of a cluster, as its heartbeat row says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Member {
    /// `--instance`, unique in the cluster.
    pub name: String,
    /// Where it checks from (`None` until locations exist).
    pub location: Option<String>,
    /// The wsprobe version it runs.
    pub version: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// Its last heartbeat, by the database's clock.
    pub heartbeat_at: DateTime<Utc>,
}

/// The operations of a state store; see the module docs for the rules.
#[async_trait]
pub trait Backend: Send + Sync + std::fmt::Debug {
    /// Whether the store is durable now, and its failure counters.
    fn health(&self) -> &StoreHealth;

    /// Saved states, by monitor name: all, or those of `only`. A state this
    /// version cannot read is skipped with a warning.
    async fn load_states(
        &self,
        only: Option<Vec<String>>,
    ) -> Result<HashMap<String, SavedState>, StoreError>;

    /// Write one run atomically (see [`super::Store::commit_run`]).
    async fn commit_run(&self, run: RunRows) -> Result<Durability, StoreError>;

    /// Results of `monitor` at or after `since` (µs), oldest first.
    async fn recent_results(
        &self,
        monitor: String,
        since: i64,
    ) -> Result<Vec<ResultRow>, StoreError>;

    /// Like `recent_results`, without the reports.
    async fn result_points(
        &self,
        monitor: String,
        since: i64,
    ) -> Result<Vec<ResultPoint>, StoreError>;

    /// The newest result of `monitor` (its newest failure when `failed_only`).
    async fn latest_result(
        &self,
        monitor: String,
        failed_only: bool,
    ) -> Result<Option<ResultRow>, StoreError>;

    /// Delete results, and finished outbox rows, created before `older_than`
    /// (µs); never pending ones. The number of rows deleted.
    async fn prune(&self, older_than: i64) -> Result<u64, StoreError>;

    /// Forget the state and results of every monitor not in `keep`.
    async fn forget_monitors_except(&self, keep: HashSet<String>) -> Result<(), StoreError>;

    /// Up to `limit` deliveries due at `now` (of `channel` only, if given),
    /// oldest first, the oldest pending per monitor and channel only. A
    /// shared backend claims them for this instance for a while, so no other
    /// instance sends them meanwhile.
    async fn due(
        &self,
        channel: Option<String>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError>;

    /// A delivery's outcome: delivered (`failure` is `None`) or failed with
    /// (error, next attempt).
    async fn settle(
        &self,
        id: i64,
        failure: Option<(String, DateTime<Utc>)>,
    ) -> Result<(), StoreError>;

    /// Pending deliveries, due or waiting for a retry (held ones excluded).
    async fn outbox_depth(&self) -> Result<u64, StoreError>;

    /// Record `me`'s heartbeat and return every instance heard from within
    /// `keep` (`me` included), by the database's clock. A row of the same
    /// name that another process (another `started_at`) stamped within
    /// `lease` is not overwritten: [`StoreError::NameTaken`]. A backend for
    /// one instance returns only `me`.
    async fn beat(
        &self,
        me: &Member,
        keep: Duration,
        lease: Duration,
    ) -> Result<Vec<Member>, StoreError>;

    /// `me` stops (a clean shutdown): its row goes, so its monitors move at
    /// once; a row of the same name that another process wrote stays.
    async fn leave(&self, me: &Member) -> Result<(), StoreError>;

    /// Whether several instances can share this store.
    fn shared(&self) -> bool;

    /// No state, result or outbox row is stored (a migration's target must be).
    async fn is_empty(&self) -> Result<bool, StoreError>;

    /// Every state with its revision, and every pending or held outbox row.
    async fn export_state(&self) -> Result<Carried, StoreError>;

    /// Up to `limit` results at or after `since` (µs) with an id above
    /// `after`, in id order.
    async fn export_results(
        &self,
        since: i64,
        after: i64,
        limit: usize,
    ) -> Result<Vec<CarriedResult>, StoreError>;

    /// Write states (revisions kept) and outbox rows (status, attempts and
    /// schedule kept) in one transaction.
    async fn import_state(&self, carried: Carried) -> Result<(), StoreError>;

    /// Append result rows.
    async fn import_results(&self, rows: Vec<(String, ResultRow)>) -> Result<(), StoreError>;

    /// Record what one location saw in `round` (ms since the epoch) of
    /// `monitor`; a second result of the same location and round is
    /// ignored, the first stands. A store for one instance keeps no rounds:
    /// it has one location, whose runs are the monitor's runs.
    async fn record_round(
        &self,
        _monitor: String,
        _round: i64,
        _result: LocationResult,
    ) -> Result<(), StoreError> {
        Ok(())
    }

    /// Every location's result of `round` of `monitor`, with their reports
    /// when `reports` (waiting for the others only needs who reported).
    async fn round_results(
        &self,
        _monitor: String,
        _round: i64,
        _reports: bool,
    ) -> Result<Vec<LocationResult>, StoreError> {
        Ok(Vec::new())
    }

    /// The newest round result of every monitor and location at or after
    /// `since` (µs), without reports: (monitor, round, result).
    async fn latest_rounds(
        &self,
        _since: i64,
    ) -> Result<Vec<(String, i64, LocationResult)>, StoreError> {
        Ok(Vec::new())
    }
}
