//! The cluster's heartbeat rows: each instance upserts its own, stamped
//! with the database's `now()` so skewed clocks cannot make a live instance
//! look lost (or a lost one live).

use super::super::StoreError;
use super::super::backend::Member;
use super::connection::Link;
use std::time::Duration;

/// Stamp `me`'s row with `now()`; every row stamped within `keep`.
///
/// The row is `me`'s only if it is this process's (same `started_at`) or
/// its writer has been silent for `lease`: a second live process started
/// with the same `--instance` must not share the row, or both would own
/// the same monitors and check each of them twice. That process is told
/// ([`StoreError::NameTaken`]) and checks nothing; a restart under the
/// same name takes the row over once the crashed incarnation's lease ran out.
pub(super) async fn beat(
    link: &Link,
    me: &Member,
    keep: Duration,
    lease: Duration,
) -> Result<Vec<Member>, StoreError> {
    let keep = keep.as_secs_f64();
    let lease = lease.as_secs_f64();
    let (written, rows) = link
        .run(async |client| {
            let written = client
                .execute(
                    "INSERT INTO instance (name, location, version, started_at, heartbeat_at)
                     VALUES ($1, $2, $3, $4, now())
                     ON CONFLICT (name) DO UPDATE
                     SET location = excluded.location, version = excluded.version,
                         started_at = excluded.started_at, heartbeat_at = now()
                     WHERE instance.started_at = excluded.started_at
                        OR instance.heartbeat_at <= now() - $5::float8 * interval '1 second'",
                    &[&me.name, &me.location, &me.version, &me.started_at, &lease],
                )
                .await?;
            let rows = client
                .query(
                    "SELECT name, location, version, started_at, heartbeat_at FROM instance
                     WHERE heartbeat_at > now() - $1::float8 * interval '1 second'
                     ORDER BY name",
                    &[&keep],
                )
                .await?;
            Ok((written, rows))
        })
        .await?;
    let members: Vec<Member> = rows
        .iter()
        .map(|row| Member {
            name: row.get(0),
            location: row.get(1),
            version: row.get(2),
            started_at: row.get(3),
            heartbeat_at: row.get(4),
        })
        .collect();
    if written == 0 {
        let other = members.iter().find(|m| m.name == me.name);
        return Err(StoreError::NameTaken {
            name: me.name.clone(),
            started_at: other.map(|m| m.started_at),
        });
    }
    Ok(members)
}

/// Delete `me`'s row (a clean shutdown), so its monitors move at once; a
/// row another process with the same name wrote is left alone.
pub(super) async fn leave(link: &Link, me: &Member) -> Result<(), StoreError> {
    link.run(async |client| {
        client
            .execute(
                "DELETE FROM instance WHERE name = $1 AND started_at = $2",
                &[&me.name, &me.started_at],
            )
            .await
    })
    .await?;
    Ok(())
}
