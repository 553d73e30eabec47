//! Outbox dispatch: one [`deliverer`] task per configured channel, so a
//! channel that hangs or refuses never delays another channel's alerts. The
//! outbox in the store stays the source of truth; each deliverer reads only
//! its own channel's due rows, keeps a few in flight and tracks their ids,
//! so no row is sent twice at once.
//!
//! This supervisor starts a deliverer for every channel, retires the
//! deliverers of channels a reload removed (their rows stay pending until
//! the channel is configured again), and passes on the monitor loops' wake-up.

mod batches;
mod deliverer;

use super::shared::Shared;
use deliverer::Deliverer;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

/// How often the outbox is polled for retries that became due, and the set
/// of channels compared with the configuration.
const POLL: Duration = Duration::from_secs(1);

/// A running deliverer, as the supervisor sees it.
struct Running {
    /// Woken when the outbox has new work.
    wake: Arc<Notify>,
    /// Cancelled when its channel is removed.
    retire: CancellationToken,
    task: JoinHandle<()>,
}

/// Deliver until `stop` is cancelled; then every deliverer makes one bounded
/// final pass, and this returns once all of them have finished.
pub async fn run(shared: Arc<Shared>, stop: CancellationToken) {
    let tracker = TaskTracker::new();
    let mut running: HashMap<String, Running> = HashMap::new();
    let mut retiring: Vec<(String, JoinHandle<()>)> = Vec::new();
    loop {
        shared.heartbeat.dispatcher_turned();
        reconcile(&shared, &stop, &tracker, &mut running, &mut retiring);
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = shared.outbox_ready.notified() => {
                for deliverer in running.values() {
                    deliverer.wake.notify_one();
                }
            }
            _ = tokio::time::sleep(POLL) => {}
        }
    }
    tracker.close();
    tracker.wait().await;
}

/// Start a deliverer for each configured channel that has none, and retire
/// those whose channel is gone. A channel removed and added back waits for
/// its retired deliverer to finish, so one row is never in two deliverers.
fn reconcile(
    shared: &Arc<Shared>,
    stop: &CancellationToken,
    tracker: &TaskTracker,
    running: &mut HashMap<String, Running>,
    retiring: &mut Vec<(String, JoinHandle<()>)>,
) {
    retiring.retain(|(_, task)| !task.is_finished());
    let configured = shared.channel_names();
    let removed: Vec<String> = running
        .keys()
        .filter(|name| !configured.contains(name))
        .cloned()
        .collect();
    for name in removed {
        if let Some(gone) = running.remove(&name) {
            tracing::info!(channel = %name, "channel removed; its pending alerts wait in the outbox");
            gone.retire.cancel();
            retiring.push((name, gone.task));
        }
    }
    for name in configured {
        if running.contains_key(&name) || retiring.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let wake = Arc::new(Notify::new());
        // A fresh deliverer looks at the outbox at once.
        wake.notify_one();
        let retire = CancellationToken::new();
        let deliverer = Deliverer {
            shared: shared.clone(),
            channel: name.clone(),
            wake: wake.clone(),
            poll: POLL,
        };
        let task = tracker.spawn(
            deliverer
                .run(stop.clone(), retire.clone())
                .in_current_span(),
        );
        running.insert(name, Running { wake, retire, task });
    }
}
