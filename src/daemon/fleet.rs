//! The monitor tasks of one configuration, stopped together on reload or
//! shutdown: each loop races its work against a cancellation token, and `stop`
//! waits for all of them, bounded by the grace period.

use super::monitor_loop;
use super::shared::Shared;
use crate::config::Config;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

/// Running monitor tasks.
pub struct Fleet {
    token: CancellationToken,
    tasks: TaskTracker,
}

impl Fleet {
    /// Start one task per monitor; they also stop when `parent` is cancelled.
    pub fn start(shared: Arc<Shared>, config: Arc<Config>, parent: &CancellationToken) -> Fleet {
        let token = parent.child_token();
        let tasks = TaskTracker::new();
        for index in 0..config.monitors.len() {
            let run = monitor_loop::run(
                shared.clone(),
                config.clone(),
                index,
                token.clone(),
                tasks.clone(),
            );
            tasks.spawn(run.in_current_span());
        }
        // Closed now, but open to the rounds' evaluations the loops start:
        // `wait` returns once the loops and those have all ended.
        tasks.close();
        Fleet { token, tasks }
    }

    /// Stop every task; in-flight checks get `grace` to finish.
    pub async fn stop(self, grace: Duration) {
        self.token.cancel();
        // Each loop bounds its own in-flight check by `grace`; the extra second
        // covers committing the result.
        if tokio::time::timeout(grace + Duration::from_secs(1), self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("some monitor tasks did not stop within the grace period");
        }
    }
}
