//! `settings.heartbeat_url`: a dead man's switch (healthchecks-style ping
//! URLs, or a receiver alerting on the absence of a Watchdog-like signal).
//! Every `settings.heartbeat_every` this instance pings the URL — but only
//! while it is doing its job: its monitor loops are on schedule, the outbox
//! dispatcher is turning, the state store answers, and (in a cluster) it is
//! not fenced off. Every live instance pings, so the receiver hears from the
//! cluster as long as one instance works, and someone outside learns when
//! none does: the one failure wsprobe cannot alert about itself.
//!
//! The URL often carries a token, so it is never logged; a failed ping is
//! logged once per condition and retried at the next interval.

use super::shared::Shared;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Bound of one ping: connect, request and answer.
const PING_TIMEOUT: Duration = Duration::from_secs(10);
/// The dispatcher turns every second; this much silence means it is stuck.
const DISPATCHER_SILENCE: Duration = Duration::from_secs(30);

/// Ping until `stop`.
pub async fn run(shared: Arc<Shared>, url: String, every: Duration, stop: CancellationToken) {
    // reqwest is built without a default provider: ring, as everywhere.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = match reqwest::Client::builder()
        .timeout(PING_TIMEOUT)
        .connect_timeout(PING_TIMEOUT)
        .user_agent(concat!("wsprobe/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "heartbeat_url: cannot build the HTTP client; no pings");
            return;
        }
    };
    // Not "fine" yet: the first ping that lands is logged too.
    let mut last_problem = Some(String::from("not pinged yet"));
    loop {
        let problem = match unwell(&shared).await {
            Some(why) => Some(format!("not pinged: {why}")),
            None => ping(&client, &url).await.err(),
        };
        if problem != last_problem {
            match &problem {
                Some(why) => tracing::warn!(reason = %why, "heartbeat_url"),
                None => tracing::info!(
                    "heartbeat_url pinged; pinging every {}",
                    humantime::format_duration(every)
                ),
            }
            last_problem = problem;
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// Why this instance is not doing its job now, if it is not.
async fn unwell(shared: &Shared) -> Option<String> {
    let allowance = shared.config().settings.overdue_after;
    let late = shared.heartbeat.late(chrono::Utc::now(), allowance);
    if !late.is_empty() {
        return Some(format!("{} monitor(s) overdue", late.len()));
    }
    if shared.heartbeat.dispatcher_silence() > DISPATCHER_SILENCE {
        return Some("the alert dispatcher has stopped turning".into());
    }
    if let Err(e) = shared.store.outbox_depth().await {
        return Some(format!("the state store does not answer: {e}"));
    }
    shared.cluster.fenced().map(|why| format!("cluster: {why}"))
}

/// One ping; the error in words without the URL.
async fn ping(client: &reqwest::Client, url: &str) -> Result<(), String> {
    let answer = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("ping failed: {}", e.without_url()))?;
    let status = answer.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("ping answered HTTP {status}"))
    }
}
