//! The outbox of a shared store: what is due, claimed for one instance at a
//! time, and what became of a delivery.
//!
//! A due row is claimed with `FOR UPDATE SKIP LOCKED` (two instances asking
//! at once get different rows, neither waits) and a lease: `claimed_until`,
//! by the database's clock. Until it passes, no other instance is handed the
//! row; the claimer itself is (as the SQLite store hands a row out until it
//! is settled). Settling clears the claim; a claimer that died lets its
//! lease run out and any instance sends the row.

use super::super::StoreError;
use super::super::micros;
use super::super::rows::{Delivery, RawDelivery};
use super::connection::Link;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Claim the due rows: $1 now (µs), $2 limit, $3 channel or NULL, $4
/// claimer, $5 lease (s).
const DUE_CLAIM: &str = "WITH picked AS (
        SELECT o.id FROM outbox o
        WHERE o.status = 'pending' AND o.next_attempt_at <= $1
          AND ($3::text IS NULL OR o.channel = $3)
          AND (o.claimed_until IS NULL OR o.claimed_until < now()
               OR o.claimed_by = $4)
          AND NOT EXISTS (SELECT 1 FROM outbox p
                          WHERE p.status = 'pending' AND p.monitor = o.monitor
                            AND p.channel = o.channel AND p.id < o.id)
        ORDER BY o.next_attempt_at, o.id
        LIMIT $2
        FOR UPDATE SKIP LOCKED
     )
     UPDATE outbox SET claimed_by = $4,
                       claimed_until = now() + $5::float8 * interval '1 second'
     FROM picked WHERE outbox.id = picked.id
     RETURNING outbox.id, outbox.channel, outbox.notification_json,
               outbox.attempts, outbox.last_error, outbox.created_at,
               outbox.next_attempt_at";

/// Who claims, and for how long.
pub(super) struct Claim<'a> {
    pub by: &'a str,
    pub lease: Duration,
}

/// Claim and return up to `limit` rows due at `now`: pending, unclaimed (or
/// claimed by us, or whose claim lapsed), the oldest pending of their
/// monitor and channel, oldest first.
pub(super) async fn due(
    link: &Link,
    claim: &Claim<'_>,
    channel: Option<String>,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<Delivery>, StoreError> {
    let (now, limit) = (micros(now), i64::try_from(limit).unwrap_or(i64::MAX));
    let lease = claim.lease.as_secs_f64();
    let rows = link
        .run(async |client| {
            client
                .query(DUE_CLAIM, &[&now, &limit, &channel, &claim.by, &lease])
                .await
        })
        .await?;
    // RETURNING keeps no order.
    let mut raw: Vec<(i64, RawDelivery)> = rows
        .iter()
        .map(|row| {
            let delivery = RawDelivery {
                id: row.get(0),
                channel: row.get(1),
                json: row.get(2),
                attempts: row.get(3),
                last_error: row.get(4),
                created_at: row.get(5),
            };
            (row.get(6), delivery)
        })
        .collect();
    raw.sort_by_key(|(next_attempt_at, row)| (*next_attempt_at, row.id));
    let mut due = Vec::with_capacity(raw.len());
    for (_, row) in raw {
        match row.decode() {
            Ok(delivery) => due.push(delivery),
            Err(reason) => set_aside(link, row.id, &row.channel, reason).await,
        }
    }
    Ok(due)
}

/// A delivery's outcome: delivered (`failure` is `None`) or failed with
/// (error, next attempt). Either way the claim ends.
pub(super) async fn settle(
    link: &Link,
    id: i64,
    failure: Option<(String, DateTime<Utc>)>,
) -> Result<(), StoreError> {
    let changed = link
        .run(async |client| match &failure {
            None => {
                client
                    .execute(
                        "UPDATE outbox SET status = 'delivered', claimed_by = NULL,
                                           claimed_until = NULL
                         WHERE id = $1 AND status = 'pending'",
                        &[&id],
                    )
                    .await
            }
            Some((error, next)) => {
                client
                    .execute(
                        "UPDATE outbox SET attempts = attempts + 1, last_error = $2,
                                           next_attempt_at = $3, claimed_by = NULL,
                                           claimed_until = NULL
                         WHERE id = $1 AND status = 'pending'",
                        &[&id, error, &micros(*next)],
                    )
                    .await
            }
        })
        .await?;
    if changed == 0 {
        return Err(StoreError::UnknownDelivery(id));
    }
    Ok(())
}

/// Pending deliveries, due or waiting for a retry (held ones excluded).
pub(super) async fn depth(link: &Link) -> Result<u64, StoreError> {
    let n: i64 = link
        .run(async |client| {
            let row = client
                .query_one("SELECT count(*) FROM outbox WHERE status = 'pending'", &[])
                .await?;
            Ok(row.get(0))
        })
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// A row whose notification no longer decodes (written by another version)
/// cannot block the outbox.
async fn set_aside(link: &Link, id: i64, channel: &str, reason: String) {
    tracing::warn!(delivery = id, channel = %channel, %reason,
        "outbox row unreadable; set aside as dead");
    let written = link
        .run(async |client| {
            client
                .execute(
                    "UPDATE outbox SET status = 'dead', last_error = $2, claimed_by = NULL,
                                       claimed_until = NULL WHERE id = $1",
                    &[&id, &reason],
                )
                .await
        })
        .await;
    if let Err(error) = written {
        tracing::warn!(delivery = id, %error, "could not set the unreadable outbox row aside");
    }
}
