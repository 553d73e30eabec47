//! One group commit's SQL: a batch of runs in one transaction and a handful
//! of statements whatever its size. Each statement takes the whole batch as
//! arrays (`unnest`): one revision-checked `UPDATE … RETURNING` for saved
//! states, one `INSERT … ON CONFLICT DO NOTHING RETURNING` for new ones, then
//! one multi-row insert each for the result rows and the outbox rows of the
//! runs that won. A run that lost its revision writes nothing; the others
//! commit.

use super::super::StoreError;
use super::super::backend::RunRows;
use super::super::micros;
use super::super::rows::ResultRow;
use super::connection::Link;
use crate::check::Phase;
use std::collections::{HashMap, HashSet};
use tokio_postgres::{Client, Transaction};

/// What became of one run of a batch.
pub(super) enum Outcome {
    /// Committed.
    Written,
    /// Its revision was no longer the saved one: nothing written.
    Conflict,
    /// The server could not be reached; the text says why.
    Unavailable(String),
    /// The server refused this run.
    Failed(StoreError),
}

/// Write `runs` in one transaction; if the server refuses the batch (not an
/// outage), each run alone, so one bad run fails by itself.
pub(super) async fn write(link: &Link, runs: &[RunRows]) -> Vec<Outcome> {
    let whole = link
        .run(async |client| in_one_transaction(client, runs).await)
        .await;
    let error = match whole {
        Ok(won) => return won.into_iter().map(Outcome::from_won).collect(),
        Err(error @ StoreError::PostgresUnavailable { .. }) => {
            let reason = error.to_string();
            return runs
                .iter()
                .map(|_| Outcome::Unavailable(reason.clone()))
                .collect();
        }
        Err(error) if runs.len() == 1 => return vec![Outcome::Failed(error)],
        Err(error) => error,
    };
    tracing::debug!(error = %error, runs = runs.len(), "batch refused; writing its runs one by one");
    let mut outcomes = Vec::with_capacity(runs.len());
    for run in runs {
        if let Some(Outcome::Unavailable(reason)) = outcomes.last() {
            // The connection is gone: the rest would only wait for the backoff.
            let reason = reason.clone();
            outcomes.push(Outcome::Unavailable(reason));
            continue;
        }
        let alone = link
            .run(async |client| in_one_transaction(client, std::slice::from_ref(run)).await)
            .await;
        outcomes.push(match alone {
            Ok(won) => Outcome::from_won(won.first().copied().unwrap_or(false)),
            Err(error @ StoreError::PostgresUnavailable { .. }) => {
                Outcome::Unavailable(error.to_string())
            }
            Err(error) => Outcome::Failed(error),
        });
    }
    outcomes
}

impl Outcome {
    fn from_won(won: bool) -> Outcome {
        if won {
            Outcome::Written
        } else {
            Outcome::Conflict
        }
    }
}

/// The batch in one transaction; which runs won their revision.
async fn in_one_transaction(
    client: &mut Client,
    runs: &[RunRows],
) -> Result<Vec<bool>, tokio_postgres::Error> {
    let tx = client.transaction().await?;
    let mut won = vec![false; runs.len()];
    for round in rounds(runs) {
        let winners = save_states(&tx, runs, &round).await?;
        for i in round {
            won[i] = winners.contains(&runs[i].monitor);
        }
    }
    let written: Vec<&RunRows> = runs
        .iter()
        .zip(&won)
        .filter_map(|(run, won)| won.then_some(run))
        .collect();
    let results: Vec<(&str, &ResultRow)> = written
        .iter()
        .map(|r| (r.monitor.as_str(), &r.result))
        .collect();
    insert_results(&tx, &results).await?;
    insert_outbox(&tx, &written).await?;
    tx.commit().await?;
    Ok(won)
}

/// The runs' indices in rounds holding each monitor at most once, in order:
/// a monitor's second run (memory written after an outage) must see its
/// first one's revision, which one statement over both could not.
fn rounds(runs: &[RunRows]) -> Vec<Vec<usize>> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut rounds: Vec<Vec<usize>> = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        let round = seen.entry(run.monitor.as_str()).or_insert(0);
        if rounds.len() <= *round {
            rounds.push(Vec::new());
        }
        rounds[*round].push(i);
        *round += 1;
    }
    rounds
}

/// Save the states of `round` where the revision still matches; the
/// monitors whose state was saved.
async fn save_states(
    tx: &Transaction<'_>,
    runs: &[RunRows],
    round: &[usize],
) -> Result<HashSet<String>, tokio_postgres::Error> {
    let (fresh, saved): (Vec<&RunRows>, Vec<&RunRows>) = round
        .iter()
        .map(|&i| &runs[i])
        .partition(|run| run.revision == 0);
    let mut winners = HashSet::with_capacity(round.len());
    if !saved.is_empty() {
        let monitors: Vec<&str> = saved.iter().map(|r| r.monitor.as_str()).collect();
        let revisions: Vec<i64> = saved.iter().map(|r| r.revision).collect();
        let states: Vec<&str> = saved.iter().map(|r| r.state_json.as_str()).collect();
        let ats: Vec<i64> = saved.iter().map(|r| micros(r.result.at)).collect();
        let rows = tx
            .query(
                "UPDATE monitor_state AS m
                 SET state_json = u.state_json, updated_at = u.at, revision = m.revision + 1
                 FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[])
                      AS u(monitor, revision, state_json, at)
                 WHERE m.monitor = u.monitor AND m.revision = u.revision
                 RETURNING m.monitor",
                &[&monitors, &revisions, &states, &ats],
            )
            .await?;
        winners.extend(rows.iter().map(|row| row.get::<_, String>(0)));
    }
    if !fresh.is_empty() {
        let monitors: Vec<&str> = fresh.iter().map(|r| r.monitor.as_str()).collect();
        let states: Vec<&str> = fresh.iter().map(|r| r.state_json.as_str()).collect();
        let ats: Vec<i64> = fresh.iter().map(|r| micros(r.result.at)).collect();
        let rows = tx
            .query(
                "INSERT INTO monitor_state (monitor, state_json, updated_at, revision)
                 SELECT u.monitor, u.state_json, u.at, 1
                 FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(monitor, state_json, at)
                 ON CONFLICT (monitor) DO NOTHING
                 RETURNING monitor",
                &[&monitors, &states, &ats],
            )
            .await?;
        winners.extend(rows.iter().map(|row| row.get::<_, String>(0)));
    }
    Ok(winners)
}

/// Append result rows, one statement for all of them.
pub(super) async fn insert_results(
    tx: &Transaction<'_>,
    rows: &[(&str, &ResultRow)],
) -> Result<(), tokio_postgres::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let monitors: Vec<&str> = rows.iter().map(|(m, _)| *m).collect();
    let ats: Vec<i64> = rows.iter().map(|(_, r)| micros(r.at)).collect();
    let oks: Vec<bool> = rows.iter().map(|(_, r)| r.ok).collect();
    let classes: Vec<&str> = rows.iter().map(|(_, r)| r.class.as_str()).collect();
    let phases: Vec<Option<&str>> = rows
        .iter()
        .map(|(_, r)| r.phase.map(Phase::as_str))
        .collect();
    let totals: Vec<f64> = rows.iter().map(|(_, r)| r.total_ms).collect();
    let maintenance: Vec<bool> = rows.iter().map(|(_, r)| r.in_maintenance).collect();
    let reports: Vec<String> = rows.iter().map(|(_, r)| r.report.encode()).collect();
    tx.execute(
        "INSERT INTO result (monitor, at, ok, class, phase, total_ms, in_maintenance, report_json)
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::boolean[], $4::text[], $5::text[],
                              $6::float8[], $7::boolean[], $8::text[])",
        &[
            &monitors,
            &ats,
            &oks,
            &classes,
            &phases,
            &totals,
            &maintenance,
            &reports,
        ],
    )
    .await?;
    Ok(())
}

/// One row per (run, channel), in run order so ids keep the order the
/// notifications were produced in; a DOWN or RECOVERED already enqueued
/// for its channel (its incident key) is skipped.
async fn insert_outbox(
    tx: &Transaction<'_>,
    runs: &[&RunRows],
) -> Result<(), tokio_postgres::Error> {
    let mut columns = OutboxColumns::default();
    for run in runs {
        for (outbox, channel) in run
            .outbox
            .iter()
            .flat_map(|o| o.channels.iter().map(move |c| (o, c)))
        {
            columns.monitors.push(&run.monitor);
            columns.channels.push(channel);
            columns.statuses.push(outbox.status);
            columns.jsons.push(&outbox.json);
            columns.keys.push(outbox.incident_key.as_deref());
            columns.ats.push(outbox.at);
        }
    }
    if columns.monitors.is_empty() {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO outbox (monitor, channel, status, notification_json, incident_key,
                             created_at, next_attempt_at)
         SELECT u.monitor, u.channel, u.status, u.json, u.incident_key, u.at, u.at
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[])
              WITH ORDINALITY AS u(monitor, channel, status, json, incident_key, at, n)
         ORDER BY u.n
         ON CONFLICT (incident_key, channel) WHERE incident_key IS NOT NULL DO NOTHING",
        &[
            &columns.monitors,
            &columns.channels,
            &columns.statuses,
            &columns.jsons,
            &columns.keys,
            &columns.ats,
        ],
    )
    .await?;
    Ok(())
}

#[derive(Default)]
struct OutboxColumns<'a> {
    monitors: Vec<&'a str>,
    channels: Vec<&'a str>,
    statuses: Vec<&'a str>,
    jsons: Vec<&'a str>,
    keys: Vec<Option<&'a str>>,
    ats: Vec<i64>,
}
