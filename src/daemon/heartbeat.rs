//! Is the daemon still scheduling? Each monitor loop says when its next check
//! is due and when it starts one; a check that should have started long ago
//! but has not (a stuck loop, or every slot taken for minutes) shows up here,
//! and `/healthz` reports it.

use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Where one monitor loop is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Beat {
    /// Sleeping or waiting for a slot; the check is due at this time.
    Waiting(DateTime<Utc>),
    /// A check is running.
    Running,
}

/// A monitor whose check should have started but has not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Late {
    /// Monitor name.
    pub monitor: String,
    /// How long ago the check was due.
    pub by: Duration,
}

/// The scheduling position of every monitor loop, and when the outbox
/// dispatcher last turned.
#[derive(Debug, Default)]
pub struct Heartbeat {
    beats: Mutex<HashMap<String, Beat>>,
    dispatcher: Mutex<Option<std::time::Instant>>,
}

impl Heartbeat {
    /// The outbox dispatcher made one turn of its loop.
    pub fn dispatcher_turned(&self) {
        *self.dispatcher.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(std::time::Instant::now());
    }

    /// How long since the dispatcher last turned (zero before its first turn).
    pub fn dispatcher_silence(&self) -> Duration {
        let last = *self.dispatcher.lock().unwrap_or_else(|e| e.into_inner());
        last.map(|at| at.elapsed()).unwrap_or_default()
    }

    /// The loop of `monitor` waits for its check due at `due`.
    pub fn waiting(&self, monitor: &str, due: DateTime<Utc>) {
        self.set(monitor, Some(Beat::Waiting(due)));
    }

    /// The loop of `monitor` started its check.
    pub fn running(&self, monitor: &str) {
        self.set(monitor, Some(Beat::Running));
    }

    /// The loop of `monitor` ended for good (no future fire time).
    pub fn stopped(&self, monitor: &str) {
        self.set(monitor, None);
    }

    /// Forget loops of monitors no longer configured.
    pub fn retain(&self, names: &[String]) {
        let mut beats = self.beats.lock().unwrap_or_else(|e| e.into_inner());
        beats.retain(|name, _| names.contains(name));
    }

    /// Monitors whose check was due more than `allowance` before `now` and
    /// has not started, most late first.
    pub fn late(&self, now: DateTime<Utc>, allowance: Duration) -> Vec<Late> {
        let beats = self.beats.lock().unwrap_or_else(|e| e.into_inner());
        let mut late: Vec<Late> = beats
            .iter()
            .filter_map(|(name, beat)| match beat {
                Beat::Waiting(due) => {
                    let by = (now - *due).to_std().ok()?;
                    (by > allowance).then(|| Late {
                        monitor: name.clone(),
                        by,
                    })
                }
                Beat::Running => None,
            })
            .collect();
        late.sort_by(|a, b| b.by.cmp(&a.by).then_with(|| a.monitor.cmp(&b.monitor)));
        late
    }

    /// How many monitor loops are known.
    pub fn loops(&self) -> usize {
        self.beats.lock().map(|b| b.len()).unwrap_or(0)
    }

    fn set(&self, monitor: &str, beat: Option<Beat>) {
        let mut beats = self.beats.lock().unwrap_or_else(|e| e.into_inner());
        match beat {
            Some(beat) => {
                beats.insert(monitor.to_string(), beat);
            }
            None => {
                beats.remove(monitor);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).expect("valid")
    }

    #[test]
    fn a_check_due_longer_ago_than_the_allowance_is_late() {
        let hb = Heartbeat::default();
        hb.waiting("api", t(0));
        hb.waiting("future", t(500));
        hb.waiting("recent", t(90));
        let late = hb.late(t(100), Duration::from_secs(60));
        assert_eq!(
            late,
            vec![Late {
                monitor: "api".into(),
                by: Duration::from_secs(100)
            }]
        );
    }

    #[test]
    fn running_or_stopped_loops_are_never_late() {
        let hb = Heartbeat::default();
        hb.waiting("busy", t(0));
        hb.running("busy");
        hb.waiting("ended", t(0));
        hb.stopped("ended");
        assert!(hb.late(t(1000), Duration::from_secs(60)).is_empty());
        assert_eq!(hb.loops(), 1);
    }

    #[test]
    fn retain_forgets_monitors_removed_by_a_reload() {
        let hb = Heartbeat::default();
        hb.waiting("kept", t(0));
        hb.waiting("gone", t(0));
        hb.retain(&["kept".to_string()]);
        let late = hb.late(t(1000), Duration::from_secs(60));
        assert_eq!(late.len(), 1);
        assert_eq!(late[0].monitor, "kept");
    }
}
