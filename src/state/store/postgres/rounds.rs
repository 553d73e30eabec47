//! Each location's result of each round (`round_result`), which the round's
//! evaluation reads back: one row per monitor, round and location, the first
//! written standing (two owners of one location during a handover report
//! once).

use super::super::{StoreError, encode};
use super::connection::Link;
use crate::quorum::evidence::LocationResult;
use crate::report::document::ReportDocument;

/// Record `result` for `round` of `monitor`, unless its location already has.
pub(super) async fn record(
    link: &Link,
    monitor: String,
    round: i64,
    result: LocationResult,
) -> Result<(), StoreError> {
    let at = result.at.timestamp_micros();
    let evidence = encode("round result", &result)?;
    let report = match &result.report {
        Some(doc) => Some(encode("round report", doc)?),
        None => None,
    };
    link.run(async |client| {
        client
            .execute(
                "INSERT INTO round_result
                     (monitor, round, location, at, evidence_json, report_json, report_text)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (monitor, round, location) DO NOTHING",
                &[
                    &monitor,
                    &round,
                    &result.location,
                    &at,
                    &evidence,
                    &report,
                    &result.report_text,
                ],
            )
            .await
    })
    .await?;
    Ok(())
}

/// Every location's result for `round` of `monitor`, by location name;
/// their reports only when `reports` (the rows a waiting location polls
/// stay small).
pub(super) async fn of_round(
    link: &Link,
    monitor: String,
    round: i64,
    reports: bool,
) -> Result<Vec<LocationResult>, StoreError> {
    let rows = link
        .run(async |client| {
            client
                .query(
                    "SELECT evidence_json,
                            CASE WHEN $3 THEN report_json END,
                            CASE WHEN $3 THEN report_text ELSE '' END
                     FROM round_result
                     WHERE monitor = $1 AND round = $2 ORDER BY location",
                    &[&monitor, &round, &reports],
                )
                .await
        })
        .await?;
    let mut results = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(mut result) = decode::<LocationResult>(row.get(0)) else {
            continue;
        };
        result.report = row
            .get::<_, Option<String>>(1)
            .and_then(|json| decode::<ReportDocument>(&json));
        result.report_text = row.get(2);
        results.push(result);
    }
    Ok(results)
}

/// The newest round of every monitor and location at or after `since`
/// (µs), without reports: (monitor, round, result).
pub(super) async fn latest(
    link: &Link,
    since: i64,
) -> Result<Vec<(String, i64, LocationResult)>, StoreError> {
    let rows = link
        .run(async |client| {
            client
                .query(
                    "SELECT DISTINCT ON (monitor, location) monitor, round, evidence_json
                     FROM round_result WHERE at >= $1
                     ORDER BY monitor, location, round DESC",
                    &[&since],
                )
                .await
        })
        .await?;
    Ok(rows
        .iter()
        .filter_map(|row| Some((row.get(0), row.get(1), decode(row.get(2))?)))
        .collect())
}

/// A row another version wrote that this one cannot read is skipped: the
/// location counts as unknown for that round, as if it had not reported.
fn decode<T: serde::de::DeserializeOwned>(json: &str) -> Option<T> {
    match serde_json::from_str(json) {
        Ok(value) => Some(value),
        Err(e) => {
            tracing::warn!(error = %e, "a round result does not decode; its location counts as unknown");
            None
        }
    }
}
