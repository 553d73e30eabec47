//! The SQLite side of a migration (`store/transfer.rs`): reading everything
//! out, and writing a carried store in.

use super::super::backend::SavedState;
use super::super::rows::{ResultRow, from_micros};
use super::super::transfer::{Carried, CarriedDelivery, CarriedResult};
use super::group_commit::{NewOutboxRow, insert_outbox, upsert_state};
use super::{SqliteStore, StoreError, queries};
use rusqlite::params;

impl SqliteStore {
    pub(super) async fn holds_nothing(&self) -> Result<bool, StoreError> {
        self.with(|conn| {
            let any: bool = conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM monitor_state)
                     OR EXISTS (SELECT 1 FROM result)
                     OR EXISTS (SELECT 1 FROM outbox)",
                [],
                |row| row.get(0),
            )?;
            Ok(!any)
        })
        .await
    }

    pub(super) async fn carried_state(&self) -> Result<Carried, StoreError> {
        self.with(|conn| {
            let mut states = Vec::new();
            let mut stmt = conn
                .prepare("SELECT monitor, state_json, revision, updated_at FROM monitor_state")?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let monitor: String = row.get(0)?;
                let json: String = row.get(1)?;
                if let Some(state) = super::super::decode_state(&monitor, &json) {
                    let saved = SavedState {
                        state,
                        revision: row.get(2)?,
                        saved_at: from_micros(row.get(3)?)?,
                    };
                    states.push((monitor, saved));
                }
            }
            let mut stmt = conn.prepare(
                "SELECT monitor, channel, status, notification_json, incident_key, attempts,
                        last_error, created_at, next_attempt_at
                 FROM outbox WHERE status IN ('pending', 'held') ORDER BY id",
            )?;
            let outbox = stmt
                .query_map([], |row| {
                    Ok(CarriedDelivery {
                        monitor: row.get(0)?,
                        channel: row.get(1)?,
                        status: row.get(2)?,
                        notification_json: row.get(3)?,
                        incident_key: row.get(4)?,
                        attempts: row.get(5)?,
                        last_error: row.get(6)?,
                        created_at: row.get(7)?,
                        next_attempt_at: row.get(8)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            Ok(Carried { states, outbox })
        })
        .await
    }

    pub(super) async fn carried_results(
        &self,
        since: i64,
        after: i64,
        limit: usize,
    ) -> Result<Vec<CarriedResult>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT at, ok, class, phase, total_ms, in_maintenance, report_json, id, monitor
                 FROM result WHERE at >= ?1 AND id > ?2 ORDER BY id LIMIT ?3",
            )?;
            let mut rows = stmt.query(params![since, after, limit])?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                out.push(CarriedResult {
                    row: queries::result_row(row)?,
                    id: row.get(7)?,
                    monitor: row.get(8)?,
                });
            }
            Ok(out)
        })
        .await
    }

    pub(super) async fn write_carried(&self, carried: Carried) -> Result<(), StoreError> {
        self.with(move |conn| {
            let tx = conn.transaction()?;
            for (monitor, saved) in &carried.states {
                let json = super::super::encode("monitor state", &saved.state)?;
                let at = saved.saved_at.timestamp_micros();
                // Stored at the revision it had, so its owner's next commit fits.
                upsert_state(&tx, monitor, &json, at, saved.revision - 1, false)?;
            }
            for d in &carried.outbox {
                insert_outbox(
                    &tx,
                    &NewOutboxRow {
                        monitor: &d.monitor,
                        channel: &d.channel,
                        status: &d.status,
                        json: &d.notification_json,
                        incident_key: d.incident_key.as_deref(),
                        attempts: d.attempts,
                        last_error: d.last_error.as_deref(),
                        created_at: d.created_at,
                        next_attempt_at: d.next_attempt_at,
                    },
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    pub(super) async fn append_results(
        &self,
        rows: Vec<(String, ResultRow)>,
    ) -> Result<(), StoreError> {
        self.with(move |conn| {
            let tx = conn.transaction()?;
            for (monitor, row) in &rows {
                queries::insert_result(&tx, monitor, row)?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }
}
