//! Keeps the state database small: results (and finished outbox rows) older
//! than `settings.retention` are deleted at start and then every hour.
//! Pending alerts are never pruned.

use super::shared::Shared;
use chrono::Utc;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often old rows are pruned.
const EVERY: Duration = Duration::from_secs(3600);

/// Prune until `stop` is cancelled. `retention` is read from `shared` each
/// time, so a reload that changes it takes effect at the next pass.
pub async fn run(shared: Arc<Shared>, stop: CancellationToken) {
    loop {
        let retention = shared.retention();
        let cutoff = Utc::now() - chrono::Duration::from_std(retention).unwrap_or_default();
        match shared.store.prune(cutoff).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(rows = n, retention = %humantime::format_duration(retention), "old results pruned")
            }
            Err(e) => tracing::error!(error = %e, "could not prune old results"),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(EVERY) => {}
        }
    }
}
