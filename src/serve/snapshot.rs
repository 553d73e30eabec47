//! Everything known about one monitor at one moment — its state, newest run,
//! newest failure and the last 7 days of runs — read once per request and
//! shared by the JSON API and the status page.

use crate::config::Monitor;
use crate::daemon::shared::Shared;
use crate::state::machine::MonitorState;
use crate::state::store::{ResultPoint, ResultRow, StoreError};
use chrono::{DateTime, Duration, Utc};

/// How far back history is read: the longest window shown.
pub const HISTORY: Duration = Duration::days(7);

/// One monitor, as of `now`.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Monitor name.
    pub name: String,
    /// Its URL as the monitor's reports show it (secrets masked).
    pub url: String,
    /// Its schedule, in words.
    pub schedule: String,
    /// Its `labels:` (its own over `defaults:`).
    pub labels: std::collections::BTreeMap<String, String>,
    /// The state machine's view.
    pub state: MonitorState,
    /// The newest run, with its report.
    pub last: Option<ResultRow>,
    /// The newest failed run, with its report.
    pub last_failure: Option<ResultRow>,
    /// Runs of the last [`HISTORY`], oldest first.
    pub points: Vec<ResultPoint>,
    /// When it was taken.
    pub now: DateTime<Utc>,
}

impl Snapshot {
    /// Read one monitor's snapshot from the store.
    pub async fn load(shared: &Shared, monitor: &Monitor) -> Result<Snapshot, StoreError> {
        let now = Utc::now();
        let store = &shared.store;
        let points = store.result_points(&monitor.name, now - HISTORY).await?;
        let last = store.latest_result(&monitor.name, false).await?;
        let last_failure = match &last {
            Some(row) if !row.ok => Some(row.clone()),
            _ => store.latest_result(&monitor.name, true).await?,
        };
        Ok(Snapshot {
            name: monitor.name.clone(),
            url: monitor.spec.shown_url(),
            schedule: monitor.schedule.describe(),
            labels: monitor.labels.clone(),
            state: shared.state(&monitor.name),
            last,
            last_failure,
            points,
            now,
        })
    }

    /// Runs at or after `now - window`.
    pub fn since(&self, window: Duration) -> &[ResultPoint] {
        let start = self.now - window;
        let first = self.points.partition_point(|p| p.at < start);
        &self.points[first..]
    }
}
