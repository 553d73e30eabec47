//! `wsprobe run`: the monitoring daemon. It loads `monitors.yaml`, runs each
//! monitor on its schedule, turns results into state changes and alerts, and
//! delivers alerts from a durable outbox.
//!
//! * [`shared`]: the application context every task receives (no globals)
//! * [`monitor_loop`]: one task per monitor: schedule, check, state, outbox
//! * `record`: a run applied to the state, routed, committed with its alerts
//! * `rounds`: a monitor checked from several locations — report this
//!   location's result, wait for the others', evaluate the round once
//! * [`dispatch`]: delivers the outbox with retries, one deliverer per channel
//! * [`retention`]: hourly pruning of results older than `settings.retention`
//! * [`fleet`]: the set of monitor tasks of one configuration (replaced on reload)
//! * [`heartbeat`]: where each monitor loop is, so `/healthz` can tell a stuck scheduler
//! * [`dead_man`]: pings `settings.heartbeat_url` while all of this works
//! * `location_watch`: one instance of the cluster watches for a degraded
//!   location and tells `settings.location_alert` once
//! * [`local_fault`]: this host running out of descriptors, ports or buffers (`/readyz`)
//!
//! With `settings.listen` (or `--listen`), the HTTP surface of [`crate::serve`]
//! runs beside them and stops with them.

pub mod dead_man;
pub mod dispatch;
pub mod fleet;
pub mod heartbeat;
pub mod local_fault;
mod location_watch;
pub mod monitor_loop;
mod record;
pub mod retention;
mod rounds;
pub mod shared;

use crate::alert::AlertError;
use crate::alert::channel::{AlertChannel, build_channel};
use crate::cluster::{Cluster, identity, membership};
use crate::config::{self, Config, ConfigErrors};
use crate::state::store::postgres::PostgresStore;
use crate::state::store::{Member, StateLocation, Store, StoreError};
use fleet::Fleet;
use shared::Shared;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

/// How the daemon was started.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// monitors.yaml
    pub config_path: PathBuf,
    /// SQLite file or PostgreSQL URL; overrides `settings.state` from the config.
    pub state: Option<StateLocation>,
    /// Address of the HTTP surface; overrides `settings.listen` from the config.
    pub listen: Option<SocketAddr>,
    /// This instance's name (`--instance`); default: host name and a random suffix.
    pub instance: Option<String>,
    /// This instance's location (`--location`); overrides `settings.location`.
    pub location: Option<String>,
}

/// Outside control of a running daemon (signals, tests, the demo).
#[derive(Debug, Clone, Default)]
pub struct Controls {
    /// Cancelled to stop: finish in-flight checks within the grace period, flush, return.
    pub shutdown: CancellationToken,
    /// Notified to reload the configuration.
    pub reload: Arc<Notify>,
}

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The configuration is invalid; every problem is listed.
    #[error("invalid configuration:\n{0}")]
    Config(ConfigErrors),
    /// The state database could not be opened.
    #[error("state store: {0}")]
    Store(#[from] StoreError),
    /// The HTTP surface could not listen on its address.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address from `settings.listen` or `--listen`.
        addr: SocketAddr,
        /// The operating system's answer.
        source: std::io::Error,
    },
    /// A channel could not be set up (bad address, unreadable template…).
    /// The source already says "channel NAME: …".
    #[error("{source}")]
    Channel {
        /// Channel name.
        name: String,
        /// What is wrong.
        source: AlertError,
    },
}

/// Build every configured channel; the first broken one is an error.
pub fn build_channels(
    config: &Config,
) -> Result<HashMap<String, Arc<dyn AlertChannel>>, DaemonError> {
    let mut channels = HashMap::new();
    for ch in &config.channels {
        let built = build_channel(ch).map_err(|source| DaemonError::Channel {
            name: ch.name.clone(),
            source,
        })?;
        channels.insert(ch.name.clone(), built);
    }
    Ok(channels)
}

/// Run until `controls.shutdown` is cancelled. Every log line of the
/// daemon carries its instance name (the `wsprobe` span).
pub async fn run(opts: RunOptions, controls: Controls) -> Result<(), DaemonError> {
    let config = Arc::new(config::load(&opts.config_path).map_err(DaemonError::Config)?);
    let channels = build_channels(&config)?;
    let location = opts
        .location
        .clone()
        .unwrap_or_else(|| config.settings.location.clone());
    let me = identity::member(
        opts.instance.clone().unwrap_or_else(identity::default_name),
        location,
    );
    // Log lines name the location once there are several (one named).
    let span = match identity::location_of(&me) {
        identity::DEFAULT_LOCATION => tracing::info_span!("wsprobe", instance = %me.name),
        location => tracing::info_span!("wsprobe", instance = %me.name, location = %location),
    };
    let shared = open(&opts, &config, channels, me)
        .instrument(span.clone())
        .await?;
    serve_until_stopped(opts, controls, config, shared)
        .instrument(span)
        .await
}

/// Open the state store and build the daemon's context.
async fn open(
    opts: &RunOptions,
    config: &Arc<Config>,
    channels: HashMap<String, Arc<dyn AlertChannel>>,
    me: Member,
) -> Result<Arc<Shared>, DaemonError> {
    let location = opts.state.as_ref().unwrap_or(&config.settings.state);
    let store = match location {
        StateLocation::Sqlite(path) => Store::open(path)?,
        StateLocation::Postgres(database) => Store::from_backend(
            PostgresStore::connect(database, &me.name)
                .await?
                .with_claim_lease(delivery_lease(config, &channels)),
        ),
    };
    let states = store.load_states().await?;
    tracing::info!(
        monitors = config.monitors.len(),
        channels = config.channels.len(),
        state = %location,
        "wsprobe daemon starting"
    );
    let cluster = if store.shared() {
        Cluster::shared(me, config.settings.cluster)
    } else {
        Cluster::solo(me)
    };
    Ok(Arc::new(Shared::in_cluster(
        store,
        channels,
        states,
        config.clone(),
        cluster,
    )))
}

/// How long a claimed delivery is left to its claimer: the configured
/// lease, but never shorter than twice the longest channel timeout, or a
/// slow delivery still in flight could be sent again by another instance.
fn delivery_lease(config: &Config, channels: &HashMap<String, Arc<dyn AlertChannel>>) -> Duration {
    let longest = channels
        .values()
        .map(|c| c.time_limit())
        .max()
        .unwrap_or_default();
    let wanted = config.settings.cluster.delivery_lease;
    if wanted < longest * 2 {
        tracing::warn!(
            delivery_lease = %humantime::format_duration(wanted),
            used = %humantime::format_duration(longest * 2),
            "settings.cluster.delivery_lease is shorter than twice the longest channel timeout; using that"
        );
        return longest * 2;
    }
    wanted
}

/// Start every task of the daemon and run until `controls.shutdown`.
async fn serve_until_stopped(
    opts: RunOptions,
    controls: Controls,
    mut config: Arc<Config>,
    shared: Arc<Shared>,
) -> Result<(), DaemonError> {
    let tasks = TaskTracker::new();
    let membership_stop = CancellationToken::new();
    if shared.store.shared() {
        tasks.spawn(membership::run(shared.clone(), membership_stop.clone()).in_current_span());
        tasks.spawn(location_watch::run(shared.clone(), membership_stop.clone()).in_current_span());
    }
    if let Some(addr) = opts.listen.or(config.settings.listen) {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| DaemonError::Listen { addr, source })?;
        tasks.spawn(
            crate::serve::serve(listener, shared.clone(), controls.shutdown.clone())
                .in_current_span(),
        );
    }
    let dispatcher_stop = CancellationToken::new();
    tasks.spawn(dispatch::run(shared.clone(), dispatcher_stop.clone()).in_current_span());
    tasks.spawn(retention::run(shared.clone(), dispatcher_stop.clone()).in_current_span());
    if let Some(url) = config.settings.heartbeat_url.clone() {
        let every = config.settings.heartbeat_every;
        tasks.spawn(
            dead_man::run(shared.clone(), url, every, dispatcher_stop.clone()).in_current_span(),
        );
    }
    let mut fleet = Fleet::start(shared.clone(), config.clone(), &controls.shutdown);

    loop {
        tokio::select! {
            _ = controls.shutdown.cancelled() => break,
            _ = controls.reload.notified() => {
                if let Some(new_config) = reload(&opts, &shared).await {
                    fleet.stop(config.settings.shutdown_grace).await;
                    // Only once the old monitors have stopped: a run still in
                    // flight would save a removed monitor's state again.
                    forget_removed(&shared, &new_config).await;
                    config = Arc::new(new_config);
                    shared.apply_config(&config);
                    fleet = Fleet::start(shared.clone(), config.clone(), &controls.shutdown);
                }
            }
        }
    }

    tracing::info!("shutting down: letting in-flight checks finish");
    fleet.stop(config.settings.shutdown_grace).await;
    dispatcher_stop.cancel();
    membership_stop.cancel();
    tasks.close();
    tasks.wait().await;
    tracing::info!("wsprobe daemon stopped");
    Ok(())
}

/// Load the new configuration; on any error log every problem and keep the old one.
async fn reload(opts: &RunOptions, shared: &Shared) -> Option<Config> {
    tracing::info!(config = %opts.config_path.display(), "reloading configuration");
    let new_config = match config::load(&opts.config_path) {
        Ok(c) => c,
        Err(errors) => {
            for e in &errors.0 {
                tracing::error!(error = %e, "configuration error; keeping the running configuration");
            }
            return None;
        }
    };
    let channels = match build_channels(&new_config) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "channel error; keeping the running configuration");
            return None;
        }
    };
    shared.replace_channels(channels);
    tracing::info!(
        monitors = new_config.monitors.len(),
        "configuration reloaded"
    );
    Some(new_config)
}

/// Forget the monitors a reload removed, in the store and in memory alike,
/// so one added back later starts fresh instead of resuming its old incident.
async fn forget_removed(shared: &Shared, config: &Config) {
    let names: Vec<String> = config.monitors.iter().map(|m| m.name.clone()).collect();
    if let Err(e) = shared.store.forget_monitors_except(&names).await {
        tracing::error!(error = %e, "could not forget removed monitors");
    }
    shared.retain_states(&names);
}
