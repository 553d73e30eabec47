//! Local resource exhaustion seen by the daemon's checks: the monitor itself is
//! failing, so it is logged loudly (once per condition, not once per check),
//! counted, and held against readiness until a check gets past it again. Such
//! a run says nothing about the endpoint: it moves no monitor's state.

use crate::check::local::LocalResource;
use crate::check::{CheckError, CheckReport};
use chrono::{DateTime, SecondsFormat, Utc};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// One resource running out, since its first failed check.
#[derive(Debug, Clone)]
struct Condition {
    since: DateTime<Utc>,
    errno: String,
    message: String,
    first_monitor: String,
}

/// The resources this host is out of right now.
#[derive(Debug, Default)]
pub struct LocalFaults {
    active: Mutex<BTreeMap<LocalResource, Condition>>,
}

impl LocalFaults {
    /// Take in a finished check of `monitor`. Returns the exhausted resource
    /// when the check failed for want of one (the caller then leaves the
    /// monitor's state alone); any other outcome proves sockets can be made
    /// again, which ends every condition.
    pub fn observe(
        &self,
        monitor: &str,
        report: &CheckReport,
        at: DateTime<Utc>,
    ) -> Option<LocalResource> {
        let mut active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(CheckError::Local {
            resource,
            errno,
            message,
            ..
        }) = &report.decisive().error
        {
            if !active.contains_key(resource) {
                tracing::error!(
                    monitor = %monitor,
                    resource = resource.as_str(),
                    errno = %errno,
                    "this host ran out of {resource} ({message}): checks cannot run and monitors keep their last state until it recovers"
                );
                active.insert(
                    *resource,
                    Condition {
                        since: at,
                        errno: errno.clone(),
                        message: message.clone(),
                        first_monitor: monitor.to_string(),
                    },
                );
            }
            return Some(*resource);
        }
        for (resource, condition) in std::mem::take(&mut *active) {
            tracing::warn!(
                monitor = %monitor,
                resource = resource.as_str(),
                since = %condition.since.to_rfc3339_opts(SecondsFormat::Secs, true),
                "{resource} available again: checks run normally"
            );
        }
        None
    }

    /// One sentence per exhausted resource, for `/readyz`.
    pub fn reasons(&self) -> Vec<String> {
        let active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        active
            .iter()
            .map(|(resource, c)| {
                format!(
                    "this host ran out of {resource} ({}: {}) since {}, first seen by monitor {:?}",
                    c.errno,
                    c.message,
                    c.since.to_rfc3339_opts(SecondsFormat::Secs, true),
                    c.first_monitor
                )
            })
            .collect()
    }
}
