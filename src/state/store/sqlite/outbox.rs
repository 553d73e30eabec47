//! The outbox side of [`SqliteStore`]: what is due, and what became of a delivery.
//! Alerts kept in memory while the disk refuses writes (`store/overlay.rs`)
//! are due beside the durable ones, and a delivery whose outcome cannot be
//! written is settled in memory, so a full disk never makes the dispatcher
//! send the same alert again and again.

use super::super::micros;
use super::super::rows::Delivery;
use super::overlay::Target;
use super::{Disk, SqliteStore, StoreError, queries};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use std::sync::PoisonError;

impl SqliteStore {
    pub(super) async fn due_rows(
        &self,
        channel: Option<String>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let sql_limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with_disk(move |conn, disk| {
            let overlay = disk.overlay.lock().unwrap_or_else(PoisonError::into_inner);
            let channel = channel.as_deref();
            let raw = if overlay.is_empty() {
                queries::due(conn, micros(now), sql_limit, channel)?
            } else {
                // An outbox that cannot be read must not hold back the alerts
                // kept in memory: they are what the disk refused.
                let read = queries::due(conn, micros(now), sql_limit, channel)
                    .and_then(|due| Ok((due, queries::pending_pairs(conn)?)));
                let (durable, pending) = read.unwrap_or_else(|e| {
                    disk.read_failed(&e);
                    (Vec::new(), Vec::new())
                });
                overlay.due(micros(now), durable, &pending, channel, limit)
            };
            drop(overlay);
            let mut due = Vec::with_capacity(raw.len());
            for row in raw {
                match row.decode() {
                    Ok(delivery) => due.push(delivery),
                    Err(reason) => set_aside(conn, disk, row.id, &row.channel, &reason),
                }
            }
            Ok(due)
        })
        .await
    }

    /// Record a delivery's outcome: delivered (`failure` is `None`) or
    /// failed with (error, next attempt). On disk if the disk takes it, else
    /// in memory until it does.
    pub(super) async fn settle_row(
        &self,
        id: i64,
        failure: Option<(String, DateTime<Utc>)>,
    ) -> Result<(), StoreError> {
        self.with_disk(move |conn, disk| {
            let mut overlay = disk.overlay.lock().unwrap_or_else(PoisonError::into_inner);
            let durable = match overlay.target(id) {
                Target::Durable(durable) => durable,
                Target::Memory => {
                    let known = match &failure {
                        None => overlay.delivered(id),
                        Some((error, next)) => overlay.failed(id, error, *next),
                    };
                    return if known {
                        Ok(())
                    } else {
                        Err(StoreError::UnknownDelivery(id))
                    };
                }
            };
            match write_outcome(conn, durable, &failure) {
                Ok(0) => Err(StoreError::UnknownDelivery(id)),
                Ok(_) => Ok(()),
                Err(e) => {
                    disk.write_failed(&e);
                    let failure = failure
                        .as_ref()
                        .map(|(e, next)| (e.as_str(), micros(*next)));
                    overlay.unwritten_update(durable, failure);
                    Ok(())
                }
            }
        })
        .await
    }

    /// Pending deliveries, due or waiting for a retry (held ones excluded),
    /// those kept in memory included.
    pub(super) async fn pending_count(&self) -> Result<u64, StoreError> {
        self.with_disk(|conn, disk| {
            let n: i64 = conn.query_row(
                "SELECT COUNT(*) FROM outbox WHERE status = 'pending'",
                [],
                |row| row.get(0),
            )?;
            let memory = disk
                .overlay
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pending();
            Ok(u64::try_from(n).unwrap_or(0) + memory)
        })
        .await
    }
}

/// Write a delivery's outcome to row `id`; the number of rows changed.
fn write_outcome(
    conn: &Connection,
    id: i64,
    failure: &Option<(String, DateTime<Utc>)>,
) -> Result<usize, StoreError> {
    let changed = match failure {
        None => conn.execute(
            "UPDATE outbox SET status = 'delivered' WHERE id = ?1 AND status = 'pending'",
            [id],
        )?,
        Some((error, next)) => conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3
             WHERE id = ?1 AND status = 'pending'",
            params![id, error, micros(*next)],
        )?,
    };
    Ok(changed)
}

/// A row whose notification no longer decodes cannot block the outbox.
fn set_aside(conn: &Connection, disk: &Disk, id: i64, channel: &str, reason: &str) {
    tracing::warn!(delivery = id, channel = %channel, %reason,
        "outbox row unreadable; set aside as dead");
    if let Err(e) = conn.execute(
        "UPDATE outbox SET status = 'dead', last_error = ?2 WHERE id = ?1",
        params![id, reason],
    ) {
        disk.write_failed(&e.into());
    }
}
