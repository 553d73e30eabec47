//! The SQL of the SQLite backend's reads and of its result rows.

use super::super::rows::{
    RawDelivery, ResultPoint, ResultRow, StoredReport, class_of, from_micros, phase_of,
};
use super::super::{StoreError, micros};
use crate::check::Phase;
use rusqlite::{Connection, Row, params};

/// Pending rows due at `now`, the oldest per monitor and channel only; of
/// one channel when `channel` is given.
pub(super) fn due(
    conn: &Connection,
    now: i64,
    limit: i64,
    channel: Option<&str>,
) -> Result<Vec<RawDelivery>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT o.id, o.channel, o.notification_json, o.attempts, o.last_error, o.created_at
         FROM outbox o
         WHERE o.status = 'pending' AND o.next_attempt_at <= ?1
           AND (?3 IS NULL OR o.channel = ?3)
           AND NOT EXISTS (SELECT 1 FROM outbox p
                           WHERE p.status = 'pending' AND p.monitor = o.monitor
                             AND p.channel = o.channel AND p.id < o.id)
         ORDER BY o.next_attempt_at, o.id
         LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now, limit, channel], |row| {
        Ok(RawDelivery {
            id: row.get(0)?,
            channel: row.get(1)?,
            json: row.get(2)?,
            attempts: row.get(3)?,
            last_error: row.get(4)?,
            created_at: row.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every pending row's (id, monitor, channel): what memory alerts must wait for.
pub(super) fn pending_pairs(conn: &Connection) -> Result<Vec<(i64, String, String)>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT id, monitor, channel FROM outbox WHERE status = 'pending'")?;
    let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn insert_result(
    conn: &Connection,
    monitor: &str,
    r: &ResultRow,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO result (monitor, at, ok, class, phase, total_ms, in_maintenance, report_json)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        monitor,
        micros(r.at),
        r.ok,
        r.class.as_str(),
        r.phase.map(Phase::as_str),
        r.total_ms,
        r.in_maintenance,
        r.report.encode(),
    ])?;
    Ok(())
}

pub(super) fn results_since(
    conn: &Connection,
    monitor: &str,
    since: i64,
) -> Result<Vec<ResultRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT at, ok, class, phase, total_ms, in_maintenance, report_json
         FROM result WHERE monitor = ?1 AND at >= ?2 ORDER BY at, id",
    )?;
    let mut rows = stmt.query(params![monitor, since])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(result_row(row)?);
    }
    Ok(out)
}

pub(super) fn points_since(
    conn: &Connection,
    monitor: &str,
    since: i64,
) -> Result<Vec<ResultPoint>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT at, ok, class, phase, total_ms, in_maintenance
         FROM result WHERE monitor = ?1 AND at >= ?2 ORDER BY at, id",
    )?;
    let mut rows = stmt.query(params![monitor, since])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(ResultPoint {
            at: from_micros(row.get(0)?)?,
            ok: row.get(1)?,
            class: class_of(row.get(2)?)?,
            phase: phase_of(row.get(3)?)?,
            total_ms: row.get(4)?,
            in_maintenance: row.get(5)?,
        });
    }
    Ok(out)
}

/// The newest result of `monitor`, or its newest failure when `failed_only`.
pub(super) fn latest(
    conn: &Connection,
    monitor: &str,
    failed_only: bool,
) -> Result<Option<ResultRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT at, ok, class, phase, total_ms, in_maintenance, report_json
         FROM result WHERE monitor = ?1 AND (ok = 0 OR ?2 = 0)
         ORDER BY at DESC, id DESC LIMIT 1",
    )?;
    let mut rows = stmt.query(params![monitor, failed_only])?;
    match rows.next()? {
        Some(row) => Ok(Some(result_row(row)?)),
        None => Ok(None),
    }
}

pub(super) fn result_row(row: &Row<'_>) -> Result<ResultRow, StoreError> {
    Ok(ResultRow {
        at: from_micros(row.get(0)?)?,
        ok: row.get(1)?,
        class: class_of(row.get(2)?)?,
        phase: phase_of(row.get(3)?)?,
        total_ms: row.get(4)?,
        in_maintenance: row.get(5)?,
        report: StoredReport::decode(row.get(6)?),
    })
}
