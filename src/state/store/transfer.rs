//! Moving a store's contents to another backend (`wsprobe state migrate`):
//! what is carried — every monitor's state with its revision (open incidents
//! included), every pending and held alert with its attempts and next try,
//! and the results since a cutoff — and the order that keeps the target
//! either complete or empty.

use super::backend::SavedState;
use super::rows::ResultRow;
use super::{Store, StoreError};
use chrono::{DateTime, Utc};

/// Results copied per round trip.
const RESULT_BATCH: usize = 1_000;

/// A store's states and undelivered alerts, as one unit.
#[derive(Debug, Clone, Default)]
pub struct Carried {
    /// Every saved state, by monitor.
    pub states: Vec<(String, SavedState)>,
    /// Every pending or held outbox row.
    pub outbox: Vec<CarriedDelivery>,
}

/// One outbox row as it is: status, attempts and schedule kept, so a retry
/// goes on where it was and a delivered alert is never sent again.
#[derive(Debug, Clone, PartialEq)]
pub struct CarriedDelivery {
    /// Monitor name.
    pub monitor: String,
    /// Channel name.
    pub channel: String,
    /// `pending` or `held`.
    pub status: String,
    /// The notification, as stored.
    pub notification_json: String,
    /// The DOWN/RECOVERED incident key.
    pub incident_key: Option<String>,
    /// Failed attempts so far.
    pub attempts: i64,
    /// The last attempt's error.
    pub last_error: Option<String>,
    /// When it was enqueued (µs).
    pub created_at: i64,
    /// When it is due next (µs).
    pub next_attempt_at: i64,
}

/// One result row with its id in the source, the cursor of the copy.
#[derive(Debug, Clone, PartialEq)]
pub struct CarriedResult {
    /// Row id in the source (increasing).
    pub id: i64,
    /// Monitor name.
    pub monitor: String,
    /// The row.
    pub row: ResultRow,
}

/// What a migration copied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Moved {
    /// Monitor states (each with its open incident, if any).
    pub states: usize,
    /// Open incidents among them.
    pub incidents: usize,
    /// Pending or held alerts.
    pub alerts: usize,
    /// Results.
    pub results: usize,
}

impl Store {
    /// Copy this store into `target`, which must be empty: results since
    /// `results_since` first, in batches, then states and alerts in one
    /// transaction. If anything fails, what was copied is removed again, so
    /// the target is left empty and the migration can simply be run again.
    pub async fn migrate_to(
        &self,
        target: &Store,
        results_since: DateTime<Utc>,
    ) -> Result<Moved, StoreError> {
        if !target.backend.is_empty().await? {
            return Err(StoreError::NotEmpty);
        }
        match self.copy_into(target, results_since).await {
            Ok(moved) => Ok(moved),
            Err(e) => {
                if let Err(cleanup) = target.forget_monitors_except(&[]).await {
                    tracing::error!(error = %cleanup, "could not remove the partial copy from the target");
                }
                Err(e)
            }
        }
    }

    async fn copy_into(
        &self,
        target: &Store,
        results_since: DateTime<Utc>,
    ) -> Result<Moved, StoreError> {
        let mut moved = Moved::default();
        let since = super::micros(results_since);
        let mut after = i64::MIN;
        loop {
            let batch = self
                .backend
                .export_results(since, after, RESULT_BATCH)
                .await?;
            let Some(last) = batch.last() else { break };
            after = last.id;
            moved.results += batch.len();
            let rows = batch.into_iter().map(|r| (r.monitor, r.row)).collect();
            target.backend.import_results(rows).await?;
        }
        let carried = self.backend.export_state().await?;
        moved.states = carried.states.len();
        moved.incidents = carried
            .states
            .iter()
            .filter(|(_, s)| s.state.incident.is_some())
            .count();
        moved.alerts = carried.outbox.len();
        target.backend.import_state(carried).await?;
        Ok(moved)
    }
}
