//! A run (or a round of several locations) turned into the monitor's next
//! state and the alerts it calls for, routed to the channels that want them,
//! and committed with its history row in one transaction.
//!
//! A commit names the state revision it was applied to. When another
//! instance moved the state meanwhile (ownership moved, or another location
//! evaluated the same round), the commit is refused; the state is read again
//! and the run applied to it, so thresholds and the open incident carry over.

use super::shared::Shared;
use crate::check::CheckReport;
use crate::config::{Config, Monitor};
use crate::notification::monitor_page;
use crate::state::MonitorState;
use crate::state::machine::{self, RunOutcome, RunSummary};
use crate::state::route::{self, Recipient, Routed};
use crate::state::store::{Durability, ResultRow, SavedState, StoreError};
use chrono::{DateTime, Utc};

/// How many times one run is applied again to a state another instance
/// changed meanwhile before it is given up (each retry rereads the state).
const MAX_CONFLICTS: u32 = 3;

/// What one commit writes, decided from the state it is applied to.
pub(super) struct Planned {
    /// The next state.
    pub after: MonitorState,
    /// The alerts, each with the channels it goes to.
    pub routed: Vec<Routed>,
    /// The history row.
    pub row: ResultRow,
}

/// Every failed run at WARN, also those below `failure_threshold` that move
/// no state: a flapping endpoint shows in the logs before it pages.
pub(super) fn log_failure(monitor: &Monitor, summary: &RunSummary) {
    if summary.ok {
        return;
    }
    tracing::warn!(
        monitor = %monitor.name,
        class = %summary.class,
        phase = %summary.phase.map(|p| p.as_str()).unwrap_or("-"),
        error = summary.message.as_deref().unwrap_or(""),
        "check failed"
    );
}

/// The run `report` of `monitor` (this instance's, from its one location):
/// applied to the state, routed and committed.
pub(super) async fn record(
    shared: &Shared,
    config: &Config,
    monitor: &Monitor,
    report: CheckReport,
) {
    let at = Utc::now();
    let in_maintenance = in_maintenance(config, monitor, at);
    let summary = RunSummary::from_report(&report);
    log_failure(monitor, &summary);
    let row = ResultRow::from_summary(at, &summary, in_maintenance);
    let parents = parents(
        shared,
        monitor,
        failing_since(shared, monitor, at, &summary),
    );
    let outcome = RunOutcome {
        at,
        monitor: &monitor.name,
        url: &report.url,
        summary: &summary,
        in_maintenance,
        suppressed_by: parents.down.as_deref(),
        parent_unchecked: parents.unchecked,
    };
    let recipients = recipients(config, &monitor.alert);
    let before = shared.saved(&monitor.name);
    commit(shared, &monitor.name, before, |state| {
        let (after, routed) = decide(config, monitor, &recipients, state, &outcome);
        Some(Planned {
            after,
            routed,
            row: row.clone(),
        })
    })
    .await;
}

/// Is `monitor` inside one of its maintenance windows (or a global one) at `at`?
pub(super) fn in_maintenance(config: &Config, monitor: &Monitor, at: DateTime<Utc>) -> bool {
    config
        .maintenance
        .iter()
        .chain(monitor.maintenance.iter())
        .any(|w| w.active_at(at))
}

/// What `monitor`'s parents (`depends_on`) say at a run of it, as this
/// instance knows them (in a cluster, a parent another instance owns is as
/// recent as the last refresh of others' states).
pub(super) struct Parents {
    /// The first parent down or failing now. Failing counts: a parent with a
    /// higher `failure_threshold` is not DOWN yet on the run its children
    /// fail with it, and their DOWN must not beat its own. A parent whose own
    /// DOWN is held is down too, so a chain holds from its top.
    pub down: Option<String>,
    /// A parent, not failing, that has not been checked since `monitor`
    /// began failing (`failing_since`): it may yet fail in this period.
    pub unchecked: bool,
}

/// `monitor`'s parents at a run of it; `failing_since` is when its failure
/// began (its incident's first failed run, or this run's start).
pub(super) fn parents(shared: &Shared, monitor: &Monitor, failing_since: DateTime<Utc>) -> Parents {
    let mut unchecked = false;
    for parent in &monitor.depends_on {
        match shared.saved(parent) {
            Some(s)
                if s.state.health == crate::state::machine::Health::Down
                    || s.state.consecutive_failures > 0 =>
            {
                return Parents {
                    down: Some(parent.clone()),
                    unchecked: false,
                };
            }
            Some(s) if s.saved_at >= failing_since => {}
            _ => unchecked = true,
        }
    }
    Parents {
        down: None,
        unchecked,
    }
}

/// When the failure of `monitor` that this run continues (or starts) began.
pub(super) fn failing_since(
    shared: &Shared,
    monitor: &Monitor,
    at: DateTime<Utc>,
    run: &RunSummary,
) -> DateTime<Utc> {
    let started = at - chrono::Duration::microseconds((run.total_ms * 1000.0) as i64);
    shared
        .saved(&monitor.name)
        .and_then(|s| s.state.incident.map(|i| i.first_seen))
        .map_or(started, |first| first.min(started))
}

/// The channels named (a monitor's `alert:`, `settings.location_alert`), in
/// that order, with their routing (`when:`, `escalate_after:`).
pub(super) fn recipients<'c>(config: &'c Config, names: &'c [String]) -> Vec<Recipient<'c>> {
    names
        .iter()
        .filter_map(|name| config.channels.iter().find(|c| &c.name == name))
        .map(|c| Recipient {
            channel: &c.name,
            route: &c.route,
        })
        .collect()
}

/// The run applied to `state`: the next state, and the alerts it calls for
/// routed to the channels that want them, each with the monitor's page and
/// labels.
pub(super) fn decide(
    config: &Config,
    monitor: &Monitor,
    recipients: &[Recipient],
    state: &MonitorState,
    outcome: &RunOutcome,
) -> (MonitorState, Vec<Routed>) {
    let (mut after, notification) = machine::apply(state, outcome, &monitor.policy);
    let mut routed = route::route(
        state,
        &mut after,
        notification,
        outcome,
        &monitor.labels,
        recipients,
    );
    for r in &mut routed {
        r.note.link = config
            .settings
            .public_url
            .as_ref()
            .map(|public| monitor_page(public, &monitor.name));
        r.note.labels = monitor.labels.clone();
    }
    (after, routed)
}

/// Commit what `plan` decides from the monitor's state (`before`, as last
/// known); on a conflict, read the state again and let `plan` decide again.
/// `plan` answering `None` writes nothing (the state it was shown already
/// holds this run). Once committed, the state is remembered and the
/// dispatcher woken for the alerts.
pub(super) async fn commit(
    shared: &Shared,
    name: &str,
    mut before: Option<SavedState>,
    mut plan: impl FnMut(&MonitorState) -> Option<Planned>,
) {
    let mut tries = 0;
    let (planned, durability, revision) = loop {
        let (state, revision) = match &before {
            Some(saved) => (saved.state.clone(), saved.revision),
            None => (Default::default(), 0),
        };
        let Some(planned) = plan(&state) else {
            if let Some(saved) = before {
                shared.set_state(name, saved);
            }
            return;
        };
        let enqueue = planned
            .routed
            .iter()
            .map(|r| (&r.note, r.channels.as_slice()));
        // A disk that refuses the write does not make this an error: the store
        // keeps the run in memory (`Durability::MemoryOnly`) and alerting goes on.
        match shared
            .store
            .commit_run(name, revision, &planned.after, &planned.row, enqueue)
            .await
        {
            Ok(durability) => break (planned, durability, revision + 1),
            Err(StoreError::Conflict { .. }) if tries < MAX_CONFLICTS => {
                tries += 1;
                match shared.store.load_states_of(vec![name.to_string()]).await {
                    Ok(mut saved) => before = saved.remove(name),
                    Err(e) => {
                        tracing::error!(monitor = %name, error = %e,
                            "could not reread a state another instance changed; result not recorded");
                        return;
                    }
                }
            }
            Err(e) => {
                // Without the commit the state must not move either, or a restart
                // would disagree with what was alerted.
                tracing::error!(monitor = %name, error = %e, "could not record the result; state unchanged");
                return;
            }
        }
    };
    let was = before.map(|saved| saved.state.health).unwrap_or_default();
    announce(shared, name, was, planned, durability, revision);
}

/// Log what the commit changed, remember the state, and wake the dispatcher.
fn announce(
    shared: &Shared,
    name: &str,
    was: machine::Health,
    planned: Planned,
    durability: Durability,
    revision: i64,
) {
    let Planned { after, routed, row } = planned;
    let durable = durability == Durability::Durable;
    if was != after.health {
        tracing::info!(monitor = %name, from = %was, to = %after.health, class = %row.class, "health changed");
    }
    shared.set_state(
        name,
        SavedState {
            state: after,
            revision,
            saved_at: row.at,
        },
    );
    for routed in routed {
        let n = &routed.note;
        if let Some(parent) = &n.suppressed_by {
            tracing::info!(monitor = %name, kind = n.kind.word(), parent = %parent,
                "alert held: suppressed, parent {parent} down");
        } else if n.in_maintenance {
            tracing::info!(monitor = %name, kind = n.kind.word(), "alert held: maintenance window");
        } else {
            tracing::info!(monitor = %name, kind = n.kind.word(), class = %n.class,
                channels = %routed.channels.join(","), durable, "alert queued");
            shared.outbox_ready.notify_one();
        }
    }
}
