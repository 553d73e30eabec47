//! When a monitor's runs turn into alerts.

use std::time::Duration;

/// Thresholds and reminders for one monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Consecutive failed runs that turn the monitor down (≥ 1).
    pub failure_threshold: u32,
    /// Consecutive passing runs that turn it up again (≥ 1).
    pub success_threshold: u32,
    /// Re-send while still down, this often.
    pub repeat: Option<Duration>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            failure_threshold: 1,
            success_threshold: 1,
            repeat: None,
        }
    }
}
