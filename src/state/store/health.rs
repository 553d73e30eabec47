//! Is the store durable right now? When writes fail (a full disk, a file made
//! read-only, a deleted file that could not be recreated) the store keeps
//! working from memory (`store/overlay.rs`) and says so here: the condition
//! (shown by `/readyz`, `/api` and the page), a counter of failed writes and a
//! gauge for `/metrics`.
//!
//! A condition is logged once when it starts (and once when it changes or
//! ends), not once per failed write: on a full disk every run fails the same
//! way, and one line per run would bury the cause.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::{Mutex, PoisonError};

/// The store's durability, shared by every clone of the store.
#[derive(Debug, Default)]
pub struct StoreHealth {
    condition: Mutex<Option<String>>,
    errors: Counter,
    degraded: Gauge,
}

impl StoreHealth {
    /// Why the store is not durable, or `None` when every write lands on disk.
    pub fn degraded(&self) -> Option<String> {
        self.condition
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Failed writes since start.
    pub fn errors_total(&self) -> u64 {
        self.errors.get()
    }

    /// Register `state_store_errors_total` and `state_store_degraded`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "state_store_errors",
            "Writes to the state store that failed (the daemon kept the data in memory)",
            self.errors.clone(),
        );
        registry.register(
            "state_store_degraded",
            "1 while the state store cannot be written and state and alerts live only in memory",
            self.degraded.clone(),
        );
    }

    /// A write failed with `reason`; logs only when the condition is new.
    pub(super) fn failed(&self, reason: String) {
        self.errors.inc();
        self.degraded.set(1);
        let mut condition = self
            .condition
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if condition.as_deref() != Some(reason.as_str()) {
            tracing::error!(
                error = %reason,
                "state store cannot be written; state and alerts are kept in memory \
                 (not durable) until it can"
            );
            *condition = Some(reason);
        }
    }

    /// Writes land on disk again; logs once if they had not.
    pub(super) fn recovered(&self, what: &str) {
        let mut condition = self
            .condition
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(was) = condition.take() {
            self.degraded.set(0);
            tracing::info!(was = %was, written = %what, "state store writable again; memory written to disk");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_condition_counts_every_failure_and_clears_on_recovery() {
        let health = StoreHealth::default();
        assert_eq!(health.degraded(), None);
        health.failed("database or disk is full".into());
        health.failed("database or disk is full".into());
        assert_eq!(
            health.degraded().as_deref(),
            Some("database or disk is full")
        );
        assert_eq!(health.errors_total(), 2);
        health.recovered("2 runs");
        assert_eq!(health.degraded(), None);
        assert_eq!(health.errors_total(), 2, "the counter never goes back");
    }
}
