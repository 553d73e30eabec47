//! One channel's deliverer: keeps up to [`PARALLEL`] of that channel's due
//! outbox rows in flight, refilling a slot as soon as one frees or new work
//! arrives, so a delivery that hangs holds up only its own slot. The store
//! returns only the oldest pending row per monitor and an in-flight row stays
//! pending until settled, so two rows of one monitor are never in flight at
//! once and each monitor's alerts keep their order. Delivered rows leave the
//! outbox; failed ones wait for their retry.

use super::batches::batches;
use crate::alert::group::{MAX_GROUP, grouped};
use crate::alert::{AlertChannel, DeliveryError, DeliveryId, deliver_within};
use crate::daemon::shared::Shared;
use crate::notification::Notification;
use crate::state::store::{Delivery, retry_wait};
use chrono::Utc;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Deliveries of one channel in flight at once: the bound of its queue in
/// memory, and how many hung receivers it takes to stall the channel.
const PARALLEL: usize = 4;
/// At shutdown, how long to keep trying what is due.
const FINAL_FLUSH: Duration = Duration::from_secs(5);

/// One attempt under way (one row, or a group of rows sent as one
/// notification); yields their outbox row ids once settled.
type Attempt<'a> = Pin<Box<dyn Future<Output = Vec<i64>> + Send + 'a>>;

/// The attempts under way and their row ids, so a row still in flight is
/// never started again.
#[derive(Default)]
struct InFlight<'a> {
    attempts: FuturesUnordered<Attempt<'a>>,
    ids: HashSet<i64>,
}

impl InFlight<'_> {
    /// Wait for the next attempt to settle; `false` when none is under way.
    async fn settle_one(&mut self) -> bool {
        match self.attempts.next().await {
            Some(ids) => {
                for id in ids {
                    self.ids.remove(&id);
                }
                true
            }
            None => false,
        }
    }
}

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
        let mut in_flight = InFlight::default();
        let mut look = true;
        loop {
            if look {
                self.fill(&mut in_flight, false).await;
            }
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = retire.cancelled() => return,
                settled = in_flight.settle_one(), if !in_flight.ids.is_empty() => look = settled,
                _ = self.wake.notified() => look = true,
                _ = tokio::time::sleep(self.poll) => look = true,
            }
        }
        // Attempts cut short here leave their rows pending: the final pass
        // (or the next start) tries them again.
        drop(in_flight);
        let _ = tokio::time::timeout(FINAL_FLUSH, self.drain()).await;
    }

    /// Deliver what is due until nothing is (failed rows wait for a later retry).
    async fn drain(&self) {
        let mut in_flight = InFlight::default();
        loop {
            self.fill(&mut in_flight, true).await;
            if !in_flight.settle_one().await {
                return;
            }
        }
    }

    /// Start due rows not yet in flight, up to [`PARALLEL`] attempts under
    /// way; with `settings.group_window` (and a channel that groups), rows
    /// of a kind go together once the window has passed ([`batches`]) —
    /// all at once when `flush`ing at shutdown.
    async fn fill<'a>(&'a self, in_flight: &mut InFlight<'a>, flush: bool) {
        let room = PARALLEL.saturating_sub(in_flight.ids.len());
        if room == 0 {
            return;
        }
        let Some(channel) = self.shared.channel(&self.channel) else {
            return;
        };
        let window = self
            .shared
            .config()
            .settings
            .group_window
            .filter(|_| channel.groups());
        // Rows in flight are still pending and come back first: read past
        // them, and far enough to fill every free slot with a whole group.
        let per_slot = if window.is_some() { MAX_GROUP } else { 1 };
        let limit = in_flight.ids.len() + room * per_slot;
        let due = match self
            .shared
            .store
            .due_deliveries_for(&self.channel, Utc::now(), limit)
            .await
        {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(channel = %self.channel, error = %e, "cannot read the outbox");
                return;
            }
        };
        let fresh: Vec<Delivery> = due
            .into_iter()
            .filter(|d| !in_flight.ids.contains(&d.id))
            .collect();
        for batch in batches(fresh, Utc::now(), window, flush)
            .into_iter()
            .take(room)
        {
            let ids: Vec<i64> = batch.iter().map(|d| d.id).collect();
            in_flight.ids.extend(ids.iter().copied());
            let channel = channel.clone();
            in_flight.attempts.push(Box::pin(async move {
                self.attempt(channel.as_ref(), batch).await;
                ids
            }));
        }
    }

    /// Deliver one row, or a group of rows as one notification, and record
    /// the outcome on every row. A group's idempotency key derives from all
    /// its rows ([`DeliveryId::for_group`]).
    async fn attempt(&self, channel: &dyn AlertChannel, batch: Vec<Delivery>) {
        let (id, group) = match batch.as_slice() {
            [] => return,
            [one] => (
                DeliveryId::for_outbox_row(one.id, &one.channel, one.created_at),
                None,
            ),
            many => {
                let rows: Vec<_> = many.iter().map(|d| (d.id, d.created_at)).collect();
                let notes: Vec<&Notification> = many.iter().map(|d| &d.notification).collect();
                let Some(group) = grouped(&notes) else {
                    return;
                };
                (DeliveryId::for_group(&rows, &many[0].channel), Some(group))
            }
        };
        let first = &batch[0];
        let note = group.as_ref().unwrap_or(&first.notification);
        let result = deliver_within(channel, note, &id).await;
        self.shared
            .metrics
            .observe_delivery(&first.channel, result.is_ok());
        for delivery in &batch {
            settle(&self.shared, delivery, &id, batch.len(), &result).await;
        }
    }
}
/// Record a delivery's outcome in the outbox, and log it.
async fn settle(
    shared: &Shared,
    delivery: &Delivery,
    id: &DeliveryId,
    grouped: usize,
    result: &Result<(), DeliveryError>,
) {
    let monitor = &delivery.notification.monitor;
    let kind = delivery.notification.kind.word();
    match result {
        Ok(()) => {
            tracing::info!(channel = %delivery.channel, monitor = %monitor, kind,
                delivery = %id, grouped, durable = delivery.durable, "alert delivered");
            if let Err(e) = shared.store.mark_delivered(delivery.id).await {
                tracing::error!(error = %e, "delivered, but could not remove it from the outbox");
            }
        }
        Err(e) => {
            let answer = e.to_string();
            let attempts = delivery.attempts + 1;
            let backoff = retry_wait(attempts, e.retry_after());
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
