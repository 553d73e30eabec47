//! The cluster's heartbeat rows: each instance upserts its own, stamped
//! with the database's `now()` so skewed clocks cannot make a live instance
//! look lost (or a lost one live).

use super::super::StoreError;
use super::super::backend::Member;
use super::connection::Link;
use std::time::Duration;

/// Stamp `me`'s row with `now()`; every row stamped within `keep`.
pub(super) async fn beat(
    link: &Link,
    me: &Member,
    keep: Duration,
) -> Result<Vec<Member>, StoreError> {
    let keep = keep.as_secs_f64();
    let rows = link
        .run(async |client| {
            client
                .execute(
                    "INSERT INTO instance (name, location, version, started_at, heartbeat_at)
                     VALUES ($1, $2, $3, $4, now())
                     ON CONFLICT (name) DO UPDATE
                     SET location = excluded.location, version = excluded.version,
                         started_at = excluded.started_at, heartbeat_at = now()",
                    &[&me.name, &me.location, &me.version, &me.started_at],
                )
                .await?;
            client
                .query(
                    "SELECT name, location, version, started_at, heartbeat_at FROM instance
                     WHERE heartbeat_at > now() - $1::float8 * interval '1 second'
                     ORDER BY name",
                    &[&keep],
                )
                .await
        })
        .await?;
    Ok(rows
        .iter()
        .map(|row| Member {
            name: row.get(0),
            location: row.get(1),
            version: row.get(2),
            started_at: row.get(3),
            heartbeat_at: row.get(4),
        })
        .collect())
}

/// Delete `name`'s row (a clean shutdown), so its monitors move at once.
pub(super) async fn leave(link: &Link, name: &str) -> Result<(), StoreError> {
    link.run(async |client| {
        client
            .execute("DELETE FROM instance WHERE name = $1", &[&name])
            .await
    })
    .await?;
    Ok(())
}
