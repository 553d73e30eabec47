//! The application context handed to every daemon task: the store, the
//! channels, the monitor states and the concurrency cap, plus what the HTTP
//! surface reads (the running config, metrics, the scheduling heartbeat).
//! Passed as an `Arc`.

use super::heartbeat::Heartbeat;
use super::local_fault::LocalFaults;
use crate::alert::channel::AlertChannel;
use crate::cluster::{Cluster, identity};
use crate::config::Config;
use crate::serve::metrics::DaemonMetrics;
use crate::state::machine::MonitorState;
use crate::state::store::{SavedState, Store};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};

/// Shared by every task of one daemon.
pub struct Shared {
    /// Durable state and outbox.
    pub store: Store,
    channels: RwLock<HashMap<String, Arc<dyn AlertChannel>>>,
    /// The last committed state of each monitor, with its store revision.
    states: Mutex<HashMap<String, SavedState>>,
    /// Caps the number of checks in flight.
    pub slots: RwLock<Arc<Semaphore>>,
    /// Wakes the dispatcher when the outbox has new work.
    pub outbox_ready: Notify,
    /// Prometheus metrics, recorded by the monitor loops and the dispatcher.
    pub metrics: DaemonMetrics,
    /// Where each monitor loop is, for `/healthz`.
    pub heartbeat: Heartbeat,
    /// Resources this host ran out of, for the log and `/readyz`.
    pub local_faults: LocalFaults,
    /// This instance, the others sharing its store, and what it owns.
    pub cluster: Cluster,
    config: RwLock<Arc<Config>>,
}

impl Shared {
    /// A context from loaded parts.
    pub fn new(
        store: Store,
        channels: HashMap<String, Arc<dyn AlertChannel>>,
        states: HashMap<String, SavedState>,
        config: Arc<Config>,
    ) -> Shared {
        Shared::in_cluster(
            store,
            channels,
            states,
            config,
            Cluster::solo(identity::member(
                identity::default_name(),
                identity::DEFAULT_LOCATION.into(),
            )),
        )
    }

    /// A context for an instance of `cluster`.
    pub fn in_cluster(
        store: Store,
        channels: HashMap<String, Arc<dyn AlertChannel>>,
        states: HashMap<String, SavedState>,
        config: Arc<Config>,
        cluster: Cluster,
    ) -> Shared {
        let mut metrics = DaemonMetrics::for_location(cluster.location());
        store.health().register(metrics.registry_mut());
        cluster.register(metrics.registry_mut());
        Shared {
            store,
            channels: RwLock::new(channels),
            states: Mutex::new(states),
            slots: RwLock::new(Arc::new(Semaphore::new(config.settings.concurrency.max(1)))),
            outbox_ready: Notify::new(),
            metrics,
            heartbeat: Heartbeat::default(),
            local_faults: LocalFaults::default(),
            cluster,
            // Shared with the fleet, never copied: the monitors are most of a
            // large configuration (about 1 KB each).
            config: RwLock::new(config),
        }
    }

    /// The configuration in force (replaced on reload).
    pub fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .map(|c| c.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// Adopt the settings of a reloaded configuration.
    pub fn apply_config(&self, config: &Arc<Config>) {
        if let Ok(mut slots) = self.slots.write() {
            *slots = Arc::new(Semaphore::new(config.settings.concurrency.max(1)));
        }
        match self.config.write() {
            Ok(mut c) => *c = config.clone(),
            Err(e) => *e.into_inner() = config.clone(),
        }
        let names: Vec<String> = config.monitors.iter().map(|m| m.name.clone()).collect();
        self.metrics.retain_monitors(&names);
        self.heartbeat.retain(&names);
    }

    /// How long results are kept.
    pub fn retention(&self) -> Duration {
        self.config().settings.retention
    }

    /// The semaphore limiting checks in flight.
    pub fn slots(&self) -> Arc<Semaphore> {
        self.slots
            .read()
            .map(|s| s.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// Replace the channels after a reload.
    pub fn replace_channels(&self, channels: HashMap<String, Arc<dyn AlertChannel>>) {
        match self.channels.write() {
            Ok(mut c) => *c = channels,
            Err(e) => *e.into_inner() = channels,
        }
    }

    /// The channel with this name, if configured.
    pub fn channel(&self, name: &str) -> Option<Arc<dyn AlertChannel>> {
        let channels = self.channels.read().unwrap_or_else(|e| e.into_inner());
        channels.get(name).cloned()
    }

    /// The names of the configured channels.
    pub fn channel_names(&self) -> Vec<String> {
        let channels = self.channels.read().unwrap_or_else(|e| e.into_inner());
        channels.keys().cloned().collect()
    }

    /// The last known state of a monitor.
    pub fn state(&self, monitor: &str) -> MonitorState {
        let states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        states
            .get(monitor)
            .map(|saved| saved.state.clone())
            .unwrap_or_default()
    }

    /// The last known state of a monitor with its store revision (0 and
    /// Unknown when none was saved).
    pub fn saved(&self, monitor: &str) -> Option<SavedState> {
        let states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        states.get(monitor).cloned()
    }

    /// Forget the states of monitors not in `names` (removed by a reload).
    pub fn retain_states(&self, names: &[String]) {
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        states.retain(|monitor, _| names.contains(monitor));
    }

    /// Remember a monitor's new state (after it is committed to the store,
    /// or read back from it).
    pub fn set_state(&self, monitor: &str, state: SavedState) {
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        states.insert(monitor.to_string(), state);
    }
}
