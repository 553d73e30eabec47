//! The PostgreSQL side of a migration (`store/transfer.rs`): reading
//! everything out, and writing a carried store in.

use super::super::StoreError;
use super::super::rows::ResultRow;
use super::super::transfer::{Carried, CarriedDelivery, CarriedResult};
use super::batch::insert_results;
use super::connection::Link;
use super::results::{load_states, result_row};

/// No state, result or outbox row is stored.
pub(super) async fn holds_nothing(link: &Link) -> Result<bool, StoreError> {
    link.run(async |client| {
        let row = client
            .query_one(
                "SELECT NOT (EXISTS (SELECT 1 FROM monitor_state)
                          OR EXISTS (SELECT 1 FROM result)
                          OR EXISTS (SELECT 1 FROM outbox))",
                &[],
            )
            .await?;
        Ok(row.get(0))
    })
    .await
}

/// Every state, and every pending or held outbox row in id order.
pub(super) async fn carried_state(link: &Link) -> Result<Carried, StoreError> {
    let states = load_states(link, None).await?.into_iter().collect();
    let rows = link
        .run(async |client| {
            client
                .query(
                    "SELECT monitor, channel, status, notification_json, incident_key, attempts,
                            last_error, created_at, next_attempt_at
                     FROM outbox WHERE status IN ('pending', 'held') ORDER BY id",
                    &[],
                )
                .await
        })
        .await?;
    let outbox = rows
        .iter()
        .map(|row| CarriedDelivery {
            monitor: row.get(0),
            channel: row.get(1),
            status: row.get(2),
            notification_json: row.get(3),
            incident_key: row.get(4),
            attempts: row.get(5),
            last_error: row.get(6),
            created_at: row.get(7),
            next_attempt_at: row.get(8),
        })
        .collect();
    Ok(Carried { states, outbox })
}

/// Up to `limit` results at or after `since` with an id above `after`.
pub(super) async fn carried_results(
    link: &Link,
    since: i64,
    after: i64,
    limit: usize,
) -> Result<Vec<CarriedResult>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = link
        .run(async |client| {
            client
                .query(
                    "SELECT at, ok, class, phase, total_ms, in_maintenance, report_json, id, monitor
                     FROM result WHERE at >= $1 AND id > $2 ORDER BY id LIMIT $3",
                    &[&since, &after, &limit],
                )
                .await
        })
        .await?;
    rows.iter()
        .map(|row| {
            Ok(CarriedResult {
                row: result_row(row)?,
                id: row.get(7),
                monitor: row.get(8),
            })
        })
        .collect()
}

/// States (revisions kept) and outbox rows (status, attempts, schedule
/// kept), in one transaction.
pub(super) async fn write_carried(link: &Link, carried: Carried) -> Result<(), StoreError> {
    let mut monitors = Vec::new();
    let mut jsons = Vec::new();
    let mut ats = Vec::new();
    let mut revisions = Vec::new();
    for (monitor, saved) in &carried.states {
        monitors.push(monitor.as_str());
        jsons.push(super::super::encode("monitor state", &saved.state)?);
        ats.push(saved.saved_at.timestamp_micros());
        revisions.push(saved.revision);
    }
    let o = &carried.outbox;
    let column = |f: fn(&CarriedDelivery) -> &str| o.iter().map(f).collect::<Vec<&str>>();
    let (o_monitors, o_channels) = (column(|d| &d.monitor), column(|d| &d.channel));
    let (o_statuses, o_jsons) = (column(|d| &d.status), column(|d| &d.notification_json));
    let keys: Vec<Option<&str>> = o.iter().map(|d| d.incident_key.as_deref()).collect();
    let errors: Vec<Option<&str>> = o.iter().map(|d| d.last_error.as_deref()).collect();
    let attempts: Vec<i64> = o.iter().map(|d| d.attempts).collect();
    let created: Vec<i64> = o.iter().map(|d| d.created_at).collect();
    let next: Vec<i64> = o.iter().map(|d| d.next_attempt_at).collect();
    link.run(async |client| {
        let tx = client.transaction().await?;
        tx.execute(
            "INSERT INTO monitor_state (monitor, state_json, updated_at, revision)
             SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[])",
            &[&monitors, &jsons, &ats, &revisions],
        )
        .await?;
        tx.execute(
            "INSERT INTO outbox (monitor, channel, status, notification_json, incident_key,
                                 attempts, last_error, created_at, next_attempt_at)
             SELECT u.monitor, u.channel, u.status, u.json, u.key, u.attempts, u.error,
                    u.created, u.next
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                         $6::bigint[], $7::text[], $8::bigint[], $9::bigint[])
                  WITH ORDINALITY AS u(monitor, channel, status, json, key, attempts, error,
                                       created, next, n)
             ORDER BY u.n",
            &[
                &o_monitors,
                &o_channels,
                &o_statuses,
                &o_jsons,
                &keys,
                &attempts,
                &errors,
                &created,
                &next,
            ],
        )
        .await?;
        tx.commit().await
    })
    .await
}

/// Append result rows in one statement.
pub(super) async fn append_results(
    link: &Link,
    rows: Vec<(String, ResultRow)>,
) -> Result<(), StoreError> {
    let rows: Vec<(&str, &ResultRow)> = rows.iter().map(|(m, r)| (m.as_str(), r)).collect();
    link.run(async |client| {
        let tx = client.transaction().await?;
        insert_results(&tx, &rows).await?;
        tx.commit().await
    })
    .await
}
