//! The outbox loop: delivers due alerts through their channels, retries
//! failures with backoff, and logs every failed delivery with the channel's
//! answer. An alert leaves the outbox only when its channel accepted it.

use super::shared::Shared;
use crate::state::store::retry_backoff;
use chrono::Utc;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the outbox is polled for retries that became due.
const POLL: Duration = Duration::from_secs(1);
/// Longest a single delivery may take before it counts as failed.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);
/// At shutdown, how long to keep trying what is due.
const FINAL_FLUSH: Duration = Duration::from_secs(5);

/// Deliver until `stop` is cancelled, then make one bounded final pass.
pub async fn run(shared: Arc<Shared>, stop: CancellationToken) {
    loop {
        flush(&shared).await;
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = shared.outbox_ready.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
    }
    let _ = tokio::time::timeout(FINAL_FLUSH, flush(&shared)).await;
}

/// Try every due delivery once.
pub async fn flush(shared: &Shared) {
    let due = match shared.store.due_deliveries(Utc::now(), 100).await {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the outbox");
            return;
        }
    };
    for delivery in due {
        let monitor = delivery.notification.monitor.clone();
        let kind = delivery.notification.kind.word();
        let result = match shared.channel(&delivery.channel) {
            None => Err(format!(
                "channel {:?} is no longer configured",
                delivery.channel
            )),
            Some(channel) => {
                match tokio::time::timeout(
                    DELIVERY_TIMEOUT,
                    channel.deliver(&delivery.notification),
                )
                .await
                {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err(format!(
                        "no answer within {}",
                        humantime::format_duration(DELIVERY_TIMEOUT)
                    )),
                }
            }
        };
        shared
            .metrics
            .observe_delivery(&delivery.channel, result.is_ok());
        match result {
            Ok(()) => {
                tracing::info!(channel = %delivery.channel, monitor = %monitor, kind, durable = delivery.durable, "alert delivered");
                if let Err(e) = shared.store.mark_delivered(delivery.id).await {
                    tracing::error!(error = %e, "delivered, but could not remove it from the outbox");
                }
            }
            Err(answer) => {
                let attempts = delivery.attempts + 1;
                let backoff = retry_backoff(attempts);
                tracing::error!(
                    channel = %delivery.channel,
                    monitor = %monitor,
                    kind,
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
}
