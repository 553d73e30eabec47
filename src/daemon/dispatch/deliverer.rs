//! One channel's deliverer: reads that channel's due outbox rows, a bounded
//! batch at a time, delivers them (a few at once, never two of one monitor,
//! so each monitor's alerts keep their order), and records each outcome:
//! delivered rows leave the outbox, failed ones wait for their retry.

use crate::alert::{AlertChannel, DeliveryError, DeliveryId, deliver_within};
use crate::daemon::shared::Shared;
use crate::state::store::{Delivery, retry_backoff};
use chrono::Utc;
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Rows read at a time: the bound of one channel's queue in memory. The
/// store returns only the oldest pending row per monitor, so one batch holds
/// at most one row of each monitor.
const BATCH: usize = 32;
/// Deliveries of one channel in flight at once: a slow receiver delays the
/// rest of its batch by at most `BATCH / PARALLEL` attempts.
const PARALLEL: usize = 4;
/// At shutdown, how long to keep trying what is due.
const FINAL_FLUSH: Duration = Duration::from_secs(5);

/// Delivers one channel's alerts.
pub(super) struct Deliverer {
    pub shared: Arc<Shared>,
    /// The channel's name, as outbox rows name it.
    pub channel: String,
    /// Notified when the outbox has new work.
    pub wake: Arc<Notify>,
    /// How often to look for retries that became due.
    pub poll: Duration,
}

impl Deliverer {
    /// Deliver until `stop` (then one bounded final pass) or `retire` (the
    /// channel was removed: stop at once; its rows stay pending).
    pub async fn run(self, stop: CancellationToken, retire: CancellationToken) {
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = retire.cancelled() => return,
                _ = self.flush() => {}
            }
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = retire.cancelled() => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.poll) => {}
            }
        }
        // An attempt cut short above left its row pending: this pass (or the
        // next start) tries it again.
        let _ = tokio::time::timeout(FINAL_FLUSH, self.flush()).await;
    }

    /// Try one batch of due deliveries once.
    async fn flush(&self) {
        let Some(channel) = self.shared.channel(&self.channel) else {
            return;
        };
        let due = match self
            .shared
            .store
            .due_deliveries_for(&self.channel, Utc::now(), BATCH)
            .await
        {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(channel = %self.channel, error = %e, "cannot read the outbox");
                return;
            }
        };
        futures_util::stream::iter(due)
            .for_each_concurrent(PARALLEL, |delivery| {
                self.attempt(channel.as_ref(), delivery)
            })
            .await;
    }

    /// Deliver one row and record the outcome.
    async fn attempt(&self, channel: &dyn AlertChannel, delivery: Delivery) {
        let id = DeliveryId::for_outbox_row(delivery.id, &delivery.channel, delivery.created_at);
        let result = deliver_within(channel, &delivery.notification, &id).await;
        self.shared
            .metrics
            .observe_delivery(&delivery.channel, result.is_ok());
        settle(&self.shared, &delivery, &id, result).await;
    }
}

/// Record a delivery's outcome in the outbox, and log it.
async fn settle(
    shared: &Shared,
    delivery: &Delivery,
    id: &DeliveryId,
    result: Result<(), DeliveryError>,
) {
    let monitor = &delivery.notification.monitor;
    let kind = delivery.notification.kind.word();
    match result {
        Ok(()) => {
            tracing::info!(channel = %delivery.channel, monitor = %monitor, kind,
                delivery = %id, "alert delivered");
            if let Err(e) = shared.store.mark_delivered(delivery.id).await {
                tracing::error!(error = %e, "delivered, but could not remove it from the outbox");
            }
        }
        Err(e) => {
            let answer = e.to_string();
            let attempts = delivery.attempts + 1;
            let backoff = retry_backoff(attempts);
            tracing::error!(
                channel = %delivery.channel,
                monitor = %monitor,
                kind,
                delivery = %id,
                attempts,
                retry_in = %humantime::format_duration(backoff),
                error = %answer,
                "alert delivery failed; will retry"
            );
            let next = Utc::now() + chrono::Duration::from_std(backoff).unwrap_or_default();
            if let Err(e) = shared.store.mark_failed(delivery.id, &answer, next).await {
                tracing::error!(error = %e, "could not record the failed delivery");
            }
        }
    }
}
