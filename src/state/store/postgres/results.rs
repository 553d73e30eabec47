//! Reads of states and history, pruning, and forgetting removed monitors.

use super::super::backend::SavedState;
use super::super::rows::{ResultPoint, ResultRow, StoredReport, class_of, from_micros, phase_of};
use super::super::{StoreError, decode_state};
use super::connection::Link;
use std::collections::{HashMap, HashSet};
use tokio_postgres::Row;

/// `pg_try_advisory_xact_lock` key held while pruning ("wsprobe" + 2).
const PRUNE_LOCK: i64 = 0x7773_7072_6f62_6502;

/// How long each location's round results are kept: a day, in µs.
const ROUND_KEEP_MICROS: i64 = 24 * 3600 * 1_000_000;

/// Saved states: all, or those of `only`.
pub(super) async fn load_states(
    link: &Link,
    only: Option<Vec<String>>,
) -> Result<HashMap<String, SavedState>, StoreError> {
    let rows = link
        .run(async |client| {
            client
                .query(
                    "SELECT monitor, state_json, revision, updated_at FROM monitor_state
                     WHERE $1::text[] IS NULL OR monitor = ANY($1)",
                    &[&only],
                )
                .await
        })
        .await?;
    let mut states = HashMap::with_capacity(rows.len());
    for row in rows {
        let monitor: String = row.get(0);
        if let Some(state) = decode_state(&monitor, row.get(1)) {
            let saved = SavedState {
                state,
                revision: row.get(2),
                saved_at: from_micros(row.get(3))?,
            };
            states.insert(monitor, saved);
        }
    }
    Ok(states)
}

const RESULT_COLUMNS: &str = "at, ok, class, phase, total_ms, in_maintenance";

/// Results of `monitor` at or after `since` (µs), oldest first.
pub(super) async fn results_since(
    link: &Link,
    monitor: String,
    since: i64,
) -> Result<Vec<ResultRow>, StoreError> {
    let sql = format!(
        "SELECT {RESULT_COLUMNS}, report_json FROM result
         WHERE monitor = $1 AND at >= $2 ORDER BY at, id"
    );
    let rows = link
        .run(async |client| client.query(&sql, &[&monitor, &since]).await)
        .await?;
    rows.iter().map(result_row).collect()
}

/// Like [`results_since`] without the reports.
pub(super) async fn points_since(
    link: &Link,
    monitor: String,
    since: i64,
) -> Result<Vec<ResultPoint>, StoreError> {
    let sql = format!(
        "SELECT {RESULT_COLUMNS} FROM result WHERE monitor = $1 AND at >= $2 ORDER BY at, id"
    );
    let rows = link
        .run(async |client| client.query(&sql, &[&monitor, &since]).await)
        .await?;
    rows.iter().map(point).collect()
}

/// The newest result of `monitor` (its newest failure when `failed_only`).
pub(super) async fn latest(
    link: &Link,
    monitor: String,
    failed_only: bool,
) -> Result<Option<ResultRow>, StoreError> {
    let sql = format!(
        "SELECT {RESULT_COLUMNS}, report_json FROM result
         WHERE monitor = $1 AND (NOT ok OR NOT $2) ORDER BY at DESC, id DESC LIMIT 1"
    );
    let row = link
        .run(async |client| client.query_opt(&sql, &[&monitor, &failed_only]).await)
        .await?;
    row.as_ref().map(result_row).transpose()
}

fn point(row: &Row) -> Result<ResultPoint, StoreError> {
    Ok(ResultPoint {
        at: from_micros(row.get(0))?,
        ok: row.get(1),
        class: class_of(row.get(2))?,
        phase: phase_of(row.get(3))?,
        total_ms: row.get(4),
        in_maintenance: row.get(5),
    })
}

pub(super) fn result_row(row: &Row) -> Result<ResultRow, StoreError> {
    let point = point(row)?;
    Ok(ResultRow {
        at: point.at,
        ok: point.ok,
        class: point.class,
        phase: point.phase,
        total_ms: point.total_ms,
        in_maintenance: point.in_maintenance,
        report: StoredReport::decode(row.get(6)),
    })
}

/// Delete old results and finished outbox rows, unless another instance is
/// pruning right now (then 0: one pruner is enough).
pub(super) async fn prune(link: &Link, cutoff: i64) -> Result<u64, StoreError> {
    link.run(async |client| {
        let tx = client.transaction().await?;
        let locked: bool = tx
            .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&PRUNE_LOCK])
            .await?
            .get(0);
        if !locked {
            return Ok(0);
        }
        let results = tx
            .execute("DELETE FROM result WHERE at < $1", &[&cutoff])
            .await?;
        let outbox = tx
            .execute(
                "DELETE FROM outbox WHERE status <> 'pending' AND created_at < $1",
                &[&cutoff],
            )
            .await?;
        // A round's results serve its evaluation and the location watch's
        // window (three intervals at most a day); the round's verdict lives on
        // in `result`. So they go after a day, whatever the retention.
        let day_ago = chrono::Utc::now().timestamp_micros() - ROUND_KEEP_MICROS;
        let rounds = tx
            .execute(
                "DELETE FROM round_result WHERE at < $1",
                &[&cutoff.max(day_ago)],
            )
            .await?;
        tx.commit().await?;
        Ok(results + outbox + rounds)
    })
    .await
}

/// Forget the state and results of every monitor not in `keep`; their
/// pending alerts stay, and so do the incidents of degraded locations.
pub(super) async fn forget_except(link: &Link, keep: HashSet<String>) -> Result<(), StoreError> {
    let keep: Vec<String> = keep.into_iter().collect();
    link.run(async |client| {
        let tx = client.transaction().await?;
        // Names starting with '@' are wsprobe's own incidents (a degraded
        // location), never a monitor's: a reload keeps them.
        tx.execute(
            "DELETE FROM monitor_state WHERE monitor <> ALL($1::text[]) AND monitor NOT LIKE '@%'",
            &[&keep],
        )
        .await?;
        tx.execute(
            "DELETE FROM result WHERE monitor <> ALL($1::text[])",
            &[&keep],
        )
        .await?;
        tx.execute(
            "DELETE FROM round_result WHERE monitor <> ALL($1::text[])",
            &[&keep],
        )
        .await?;
        tx.commit().await
    })
    .await
}
