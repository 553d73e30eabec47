//! The PostgreSQL backend: one database shared by every instance of a
//! cluster, holding the same states, history and outbox as the SQLite file.
//!
//! # What is guaranteed
//!
//! * **One writer per revision.** A run is written only if the monitor's
//!   saved state is still at the revision the run was applied to; of two
//!   instances committing at the same revision exactly one wins, the other
//!   gets [`StoreError::Conflict`] and nothing of its run is written.
//! * **One DOWN per incident and channel.** The outbox's unique incident key
//!   makes a second insert of the same DOWN or RECOVERED a no-op, whoever
//!   writes it, in the same transaction as the state change.
//! * **At-least-once delivery, one sender at a time.** A due row is claimed
//!   (`FOR UPDATE SKIP LOCKED`) for a lease ([`DEFAULT_CLAIM_LEASE`], longer
//!   than any channel's delivery timeout); no other instance is handed it
//!   until the lease ends or it is settled. If its claimer dies, any instance
//!   sends it after the lease. The idempotency key derives from the row, so it
//!   is the same whoever sends it.
//! * **Bounded.** Every statement is cancelled by the server after 10 s and
//!   every job abandoned by the client after 15 s (`postgres/connection.rs`);
//!   connecting (TCP, TLS, login) is bounded by `connect_timeout`. A silent
//!   server never holds the daemon up.
//! * **An unreachable server loses no run.** While PostgreSQL cannot be
//!   reached, runs wait in a bounded memory ([`MEMORY_RUNS`]) and are answered
//!   [`Durability::MemoryOnly`]; [`StoreHealth`] says why (logged once). On
//!   the first successful write they are written first, in order. One whose
//!   revision was taken meanwhile (its monitor moved to another instance) is
//!   dropped with a log line. Reads fail with
//!   [`StoreError::PostgresUnavailable`] meanwhile, so the alerts of runs in
//!   memory go out once they are written (or from another instance that
//!   took the monitor over); connecting again backs off up to 5 s between
//!   attempts. Past [`MEMORY_RUNS`] a run is refused with
//!   [`StoreError::BufferFull`] rather than pushing out an older one.
//! * **Few round trips.** Runs are written by group commit
//!   (`postgres/runs.rs`): up to 256 runs per transaction, each statement
//!   covering the whole batch (`unnest` arrays), whatever its size.
//! * **One pruner.** Pruning runs under `pg_try_advisory_xact_lock`; an
//!   instance finding another pruning deletes nothing (0) and moves on.
//! * Times the caller gives (runs, deliveries) are stored as it gives them;
//!   claims and heartbeats use the database's clock only.

mod batch;
mod connection;
mod members;
mod outbox;
mod results;
mod rounds;
mod runs;
mod schema;
mod tls;
mod transfer;

pub use schema::VERSION as SCHEMA_VERSION;

use super::backend::{Backend, Member, RunRows, SavedState};
use super::rows::{Delivery, ResultPoint, ResultRow};
use super::transfer::{Carried, CarriedResult};
use super::{Durability, PostgresLocation, StoreError, StoreHealth};
use crate::quorum::evidence::LocationResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use connection::Link;
use runs::RunQueue;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// How long a claimed delivery is withheld from other instances: longer than
/// any channel's delivery timeout, so a live sender settles it first.
pub const DEFAULT_CLAIM_LEASE: Duration = Duration::from_secs(60);
/// Most runs kept in memory while PostgreSQL is unreachable (about 10 s of
/// 100,000 monitors every 60 s, or an hour of 500).
pub const MEMORY_RUNS: usize = 20_000;

/// What the store's parts share: the connections and the health.
#[derive(Debug)]
struct Database {
    location: PostgresLocation,
    /// Group commits, alone, so reads never wait behind a batch.
    writer: Link,
    /// Everything else.
    reader: Link,
    health: StoreHealth,
}

/// The PostgreSQL store. Cheap to clone: clones share connections and memory.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    db: Arc<Database>,
    runs: Arc<RunQueue>,
    /// Names this instance's claims on outbox rows.
    instance: Arc<str>,
    claim_lease: Duration,
}

impl PostgresStore {
    /// Connect to `location` (within its connect timeout) and bring the
    /// schema up to date; `instance` names this daemon's claims on
    /// deliveries. Fails when the database cannot be reached or its schema
    /// is newer than this build.
    pub async fn connect(
        location: &PostgresLocation,
        instance: &str,
    ) -> Result<PostgresStore, StoreError> {
        let db = Database {
            location: location.clone(),
            writer: Link::new(location)?,
            reader: Link::new(location)?,
            health: StoreHealth::default(),
        };
        db.writer.open().await?;
        if let Err(found) = db
            .writer
            .run(async |client| schema::migrate(client).await)
            .await?
        {
            return Err(schema::too_new(location.to_string(), found));
        }
        db.reader.open().await?;
        Ok(PostgresStore {
            db: Arc::new(db),
            runs: Arc::new(RunQueue::new(MEMORY_RUNS)),
            instance: Arc::from(instance),
            claim_lease: DEFAULT_CLAIM_LEASE,
        })
    }

    /// The same store with claims lasting `lease` instead of [`DEFAULT_CLAIM_LEASE`].
    pub fn with_claim_lease(mut self, lease: Duration) -> PostgresStore {
        self.claim_lease = lease;
        self
    }

    /// The same store keeping at most `runs` runs in memory (instead of [`MEMORY_RUNS`]).
    pub fn with_memory_runs(mut self, runs: usize) -> PostgresStore {
        self.runs = Arc::new(RunQueue::new(runs));
        self
    }
}

#[async_trait]
impl Backend for PostgresStore {
    fn health(&self) -> &StoreHealth {
        &self.db.health
    }

    fn shared(&self) -> bool {
        true
    }

    async fn load_states(
        &self,
        only: Option<Vec<String>>,
    ) -> Result<HashMap<String, SavedState>, StoreError> {
        results::load_states(&self.db.reader, only).await
    }

    /// Returns once the run is committed (group commit, `postgres/runs.rs`),
    /// or kept in memory while the server is unreachable.
    async fn commit_run(&self, run: RunRows) -> Result<Durability, StoreError> {
        self.runs.commit(&self.db, run).await
    }

    async fn recent_results(
        &self,
        monitor: String,
        since: i64,
    ) -> Result<Vec<ResultRow>, StoreError> {
        results::results_since(&self.db.reader, monitor, since).await
    }

    async fn result_points(
        &self,
        monitor: String,
        since: i64,
    ) -> Result<Vec<ResultPoint>, StoreError> {
        results::points_since(&self.db.reader, monitor, since).await
    }

    async fn latest_result(
        &self,
        monitor: String,
        failed_only: bool,
    ) -> Result<Option<ResultRow>, StoreError> {
        results::latest(&self.db.reader, monitor, failed_only).await
    }

    async fn prune(&self, older_than: i64) -> Result<u64, StoreError> {
        results::prune(&self.db.reader, older_than).await
    }

    async fn forget_monitors_except(&self, keep: HashSet<String>) -> Result<(), StoreError> {
        results::forget_except(&self.db.reader, keep).await
    }

    async fn due(
        &self,
        channel: Option<String>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let claim = outbox::Claim {
            by: &self.instance,
            lease: self.claim_lease,
        };
        outbox::due(&self.db.reader, &claim, channel, now, limit).await
    }

    async fn settle(
        &self,
        id: i64,
        failure: Option<(String, DateTime<Utc>)>,
    ) -> Result<(), StoreError> {
        outbox::settle(&self.db.reader, id, failure).await
    }

    async fn outbox_depth(&self) -> Result<u64, StoreError> {
        outbox::depth(&self.db.reader).await
    }

    async fn beat(
        &self,
        me: &Member,
        keep: Duration,
        lease: Duration,
    ) -> Result<Vec<Member>, StoreError> {
        members::beat(&self.db.reader, me, keep, lease).await
    }

    async fn leave(&self, me: &Member) -> Result<(), StoreError> {
        members::leave(&self.db.reader, me).await
    }

    async fn is_empty(&self) -> Result<bool, StoreError> {
        transfer::holds_nothing(&self.db.reader).await
    }

    async fn export_state(&self) -> Result<Carried, StoreError> {
        transfer::carried_state(&self.db.reader).await
    }

    async fn export_results(
        &self,
        since: i64,
        after: i64,
        limit: usize,
    ) -> Result<Vec<CarriedResult>, StoreError> {
        transfer::carried_results(&self.db.reader, since, after, limit).await
    }

    async fn import_state(&self, carried: Carried) -> Result<(), StoreError> {
        transfer::write_carried(&self.db.reader, carried).await
    }

    async fn import_results(&self, rows: Vec<(String, ResultRow)>) -> Result<(), StoreError> {
        transfer::append_results(&self.db.reader, rows).await
    }

    async fn record_round(
        &self,
        monitor: String,
        round: i64,
        result: LocationResult,
    ) -> Result<(), StoreError> {
        rounds::record(&self.db.reader, monitor, round, result).await
    }

    async fn round_results(
        &self,
        monitor: String,
        round: i64,
        reports: bool,
    ) -> Result<Vec<LocationResult>, StoreError> {
        rounds::of_round(&self.db.reader, monitor, round, reports).await
    }

    async fn latest_rounds(
        &self,
        since: i64,
    ) -> Result<Vec<(String, i64, LocationResult)>, StoreError> {
        rounds::latest(&self.db.reader, since).await
    }
}
