//! The daemon's Prometheus metrics: what each monitor's last run showed, the
//! counters and histograms its runs add up to, and the daemon's own health
//! (schedule lag, checks in flight, alert deliveries, outbox depth, checks
//! that could not run for want of a local resource).
//!
//! The daemon records into [`DaemonMetrics`] through small hooks (after each
//! check, around each delivery); `/metrics` encodes it in the OpenMetrics text
//! format. Labels are limited to `monitor`, `phase`, `class`, `channel`,
//! `outcome` and `kind`, so the number of series grows with the config, never with traffic.

use crate::check::local::LocalResource;
use crate::check::{CheckReport, Class, Phase};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

/// The media type of the OpenMetrics text format, which Prometheus negotiates.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Bucket bounds of the check duration histogram, in seconds.
const CHECK_BUCKETS: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];
/// Bucket bounds of the schedule lag histogram, in seconds.
const LAG_BUCKETS: [f64; 10] = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MonitorLabels {
    monitor: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabels {
    monitor: String,
    phase: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClassLabels {
    monitor: String,
    class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    channel: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LocalErrorLabels {
    kind: &'static str,
}

type GaugeF64 = Gauge<f64, AtomicU64>;

fn check_histogram() -> Histogram {
    Histogram::new(CHECK_BUCKETS)
}

/// Every metric of one daemon. Recording is lock-free per series; encoding
/// takes a snapshot.
#[derive(Debug)]
pub struct DaemonMetrics {
    registry: Registry,
    up: Family<MonitorLabels, Gauge>,
    phase_seconds: Family<PhaseLabels, GaugeF64>,
    check_seconds: Family<MonitorLabels, Histogram, fn() -> Histogram>,
    checks: Family<MonitorLabels, Counter>,
    attempts: Family<MonitorLabels, Counter>,
    failures: Family<ClassLabels, Counter>,
    cert_expiry: Family<MonitorLabels, Gauge>,
    last_check: Family<MonitorLabels, GaugeF64>,
    schedule_lag: Histogram,
    in_flight: Gauge,
    deliveries: Family<DeliveryLabels, Counter>,
    outbox_depth: Gauge,
    local_errors: Family<LocalErrorLabels, Counter>,
    monitors: Mutex<BTreeSet<String>>,
}

impl Default for DaemonMetrics {
    fn default() -> Self {
        DaemonMetrics::new()
    }
}

impl DaemonMetrics {
    /// Empty metrics, registered under the `wsprobe_` prefix.
    pub fn new() -> DaemonMetrics {
        DaemonMetrics::with_registry(Registry::with_prefix("wsprobe"))
    }

    /// Empty metrics of an instance in `location`: every series carries a
    /// `location` label, so one Prometheus scraping every location can tell
    /// them apart. The default location adds none (one-location setups keep
    /// their series as they were).
    pub fn for_location(location: &str) -> DaemonMetrics {
        if location == crate::cluster::identity::DEFAULT_LOCATION {
            return DaemonMetrics::new();
        }
        let label = (Cow::Borrowed("location"), Cow::Owned(location.to_string()));
        DaemonMetrics::with_registry(Registry::with_prefix_and_labels(
            "wsprobe",
            std::iter::once(label),
        ))
    }

    fn with_registry(registry: Registry) -> DaemonMetrics {
        let mut m = DaemonMetrics {
            registry,
            up: Family::default(),
            phase_seconds: Family::default(),
            check_seconds: Family::new_with_constructor(check_histogram),
            checks: Family::default(),
            attempts: Family::default(),
            failures: Family::default(),
            cert_expiry: Family::default(),
            last_check: Family::default(),
            schedule_lag: Histogram::new(LAG_BUCKETS),
            in_flight: Gauge::default(),
            deliveries: Family::default(),
            outbox_depth: Gauge::default(),
            local_errors: Family::default(),
            monitors: Mutex::new(BTreeSet::new()),
        };
        let r = &mut m.registry;
        r.register(
            "up",
            "1 if the monitor's last check passed, 0 if it failed",
            m.up.clone(),
        );
        r.register_with_unit(
            "check_duration",
            "Duration of each phase of the monitor's last check (decisive attempt)",
            Unit::Seconds,
            m.phase_seconds.clone(),
        );
        r.register_with_unit(
            "check_total_duration",
            "Total duration of checks (decisive attempt)",
            Unit::Seconds,
            m.check_seconds.clone(),
        );
        r.register("checks", "Checks run", m.checks.clone());
        r.register(
            "attempts",
            "Attempts made, retries included",
            m.attempts.clone(),
        );
        r.register("failures", "Failed checks by class", m.failures.clone());
        r.register_with_unit(
            "cert_expiry_timestamp",
            "Expiry (Unix time) of the certificate the server last presented",
            Unit::Seconds,
            m.cert_expiry.clone(),
        );
        r.register_with_unit(
            "last_check_timestamp",
            "When the monitor's last check finished (Unix time)",
            Unit::Seconds,
            m.last_check.clone(),
        );
        r.register_with_unit(
            "schedule_lag",
            "How late scheduled checks started (waiting for a slot included)",
            Unit::Seconds,
            m.schedule_lag.clone(),
        );
        r.register(
            "checks_in_flight",
            "Scheduled checks running now",
            m.in_flight.clone(),
        );
        r.register(
            "alert_deliveries",
            "Alert delivery attempts by channel and outcome (delivered, failed)",
            m.deliveries.clone(),
        );
        r.register(
            "outbox_depth",
            "Alerts waiting in the outbox (due or waiting for a retry)",
            m.outbox_depth.clone(),
        );
        r.register(
            "local_errors",
            "Checks that could not run because this host ran out of a resource, by kind",
            m.local_errors.clone(),
        );
        // At zero from the start, so increase() sees the first one.
        for kind in LocalResource::ALL {
            let _ = m.local_errors.get_or_create(&LocalErrorLabels {
                kind: kind.as_str(),
            });
        }
        m
    }

    /// Count a check that failed for want of a local resource (it is not a
    /// result of the monitor: `up` and the failure counters stay as they were).
    pub fn observe_local_error(&self, resource: LocalResource) {
        self.local_errors
            .get_or_create(&LocalErrorLabels {
                kind: resource.as_str(),
            })
            .inc();
    }

    /// Where parts of the daemon that keep their own metrics (the state
    /// store's health) register them, so they live with what they measure.
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// Record a finished check of `monitor`.
    pub fn observe_run(&self, monitor: &str, report: &CheckReport) {
        self.remember(monitor);
        let labels = MonitorLabels {
            monitor: monitor.to_string(),
        };
        let last = report.decisive();
        self.up.get_or_create(&labels).set(i64::from(report.ok()));
        // One key for every phase: the monitor's name is copied once per run,
        // not once per phase (a thousand runs a second at 10,000 monitors).
        let mut key = PhaseLabels {
            monitor: monitor.to_string(),
            phase: Phase::ALL[0].as_str(),
        };
        for phase in Phase::ALL {
            key.phase = phase.as_str();
            // A phase the last run did not reach has no duration: drop the
            // series rather than keep an older run's value.
            match last.timings.get(phase) {
                Some(ms) => {
                    self.phase_seconds.get_or_create(&key).set(seconds(ms));
                }
                None => {
                    self.phase_seconds.remove(&key);
                }
            }
        }
        self.check_seconds
            .get_or_create(&labels)
            .observe(seconds(last.timings.total_ms));
        self.checks.get_or_create(&labels).inc();
        self.attempts
            .get_or_create(&labels)
            .inc_by(report.attempts.len() as u64);
        if !report.ok() {
            self.failures
                .get_or_create(&ClassLabels {
                    monitor: monitor.to_string(),
                    class: last.class.as_str(),
                })
                .inc();
        }
        let cert = report.certificate();
        if let Some(cert) = cert {
            self.cert_expiry
                .get_or_create(&labels)
                .set(cert.not_after_unix);
        }
        let now = chrono::Utc::now().timestamp_micros() as f64 / 1e6;
        self.last_check.get_or_create(&labels).set(now);
    }

    /// Record how late a scheduled check started.
    pub fn observe_lag(&self, lag: Duration) {
        self.schedule_lag.observe(lag.as_secs_f64());
    }

    /// Count a scheduled check as in flight until the guard is dropped.
    pub fn check_started(&self) -> InFlight {
        self.in_flight.inc();
        InFlight(self.in_flight.clone())
    }

    /// Record one delivery attempt through `channel`.
    pub fn observe_delivery(&self, channel: &str, delivered: bool) {
        self.deliveries
            .get_or_create(&DeliveryLabels {
                channel: channel.to_string(),
                outcome: if delivered { "delivered" } else { "failed" },
            })
            .inc();
    }

    /// Drop the series of monitors no longer configured (after a reload).
    pub fn retain_monitors(&self, names: &[String]) {
        let mut known = self.monitors.lock().unwrap_or_else(|e| e.into_inner());
        let gone: Vec<String> = known
            .iter()
            .filter(|m| !names.contains(m))
            .cloned()
            .collect();
        for monitor in gone {
            let labels = MonitorLabels {
                monitor: monitor.clone(),
            };
            self.up.remove(&labels);
            self.check_seconds.remove(&labels);
            self.checks.remove(&labels);
            self.attempts.remove(&labels);
            self.cert_expiry.remove(&labels);
            self.last_check.remove(&labels);
            for phase in Phase::ALL {
                self.phase_seconds.remove(&PhaseLabels {
                    monitor: monitor.clone(),
                    phase: phase.as_str(),
                });
            }
            for class in Class::ALL {
                self.failures.remove(&ClassLabels {
                    monitor: monitor.clone(),
                    class: class.as_str(),
                });
            }
            known.remove(&monitor);
        }
    }

    /// The exposition, with the outbox depth read at scrape time (`None`
    /// when the store could not be read: the gauge keeps its last value).
    pub fn encode(&self, outbox_depth: Option<u64>) -> String {
        if let Some(depth) = outbox_depth {
            self.outbox_depth
                .set(i64::try_from(depth).unwrap_or(i64::MAX));
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }

    /// On first sight of a monitor, create its failure counters at zero, so
    /// `increase()` sees the first failure of each class.
    fn remember(&self, monitor: &str) {
        let mut known = self.monitors.lock().unwrap_or_else(|e| e.into_inner());
        if known.insert(monitor.to_string()) {
            for class in Class::ALL.into_iter().filter(|c| *c != Class::Ok) {
                let _ = self.failures.get_or_create(&ClassLabels {
                    monitor: monitor.to_string(),
                    class: class.as_str(),
                });
            }
        }
    }
}

/// Milliseconds as seconds, rounded to the microsecond so the exposition
/// shows `0.00009`, not `0.00008999999999999999`.
pub fn seconds(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1e6
}

/// A scheduled check in flight; dropping it ends it.
#[derive(Debug)]
pub struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::AttemptReport;
    use crate::check::model::{CertInfo, Timings, TlsInfo};

    fn passing(cert_expiry: Option<i64>) -> CheckReport {
        let mut timings = Timings::default();
        timings.set(Phase::Connect, 1.5);
        timings.set(Phase::Upgrade, 2.25);
        timings.total_ms = 4.0;
        let tls = cert_expiry.map(|not_after_unix| TlsInfo {
            certificate: Some(CertInfo {
                subject: "CN=x".into(),
                issuer: "CN=ca".into(),
                names: vec!["x".into()],
                not_before: String::new(),
                not_after: String::new(),
                not_after_unix,
                days_left: 30,
            }),
            ..TlsInfo::default()
        });
        CheckReport {
            url: "wss://x/".into(),
            pinned_address: None,
            limits: Vec::new(),
            attempts: vec![AttemptReport {
                timings,
                tls,
                ..AttemptReport::new(1)
            }],
        }
    }

    fn lines_with(text: &str, needle: &str) -> Vec<String> {
        text.lines()
            .filter(|l| l.contains(needle))
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn a_run_sets_up_phases_counters_and_the_certificate_expiry() {
        let m = DaemonMetrics::new();
        m.observe_run("api", &passing(Some(1_900_000_000)));
        let text = m.encode(Some(2));
        for line in [
            r#"wsprobe_up{monitor="api"} 1"#,
            r#"wsprobe_check_duration_seconds{monitor="api",phase="connect"} 0.0015"#,
            r#"wsprobe_check_duration_seconds{monitor="api",phase="upgrade"} 0.00225"#,
            r#"wsprobe_checks_total{monitor="api"} 1"#,
            r#"wsprobe_attempts_total{monitor="api"} 1"#,
            r#"wsprobe_failures_total{monitor="api",class="early_fin"} 0"#,
            r#"wsprobe_cert_expiry_timestamp_seconds{monitor="api"} 1900000000"#,
            r#"wsprobe_check_total_duration_seconds_count{monitor="api"} 1"#,
            "wsprobe_outbox_depth 2",
            "wsprobe_checks_in_flight 0",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
        assert!(lines_with(&text, r#"phase="dns""#).is_empty());
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn in_flight_counts_until_the_guard_drops_and_deliveries_count_by_outcome() {
        let m = DaemonMetrics::new();
        let a = m.check_started();
        let b = m.check_started();
        assert!(m.encode(None).contains("wsprobe_checks_in_flight 2"));
        drop(a);
        drop(b);
        assert!(m.encode(None).contains("wsprobe_checks_in_flight 0"));
        m.observe_delivery("oncall", true);
        m.observe_delivery("oncall", false);
        m.observe_delivery("oncall", false);
        let text = m.encode(None);
        assert!(
            text.contains(
                r#"wsprobe_alert_deliveries_total{channel="oncall",outcome="delivered"} 1"#
            )
        );
        assert!(
            text.contains(r#"wsprobe_alert_deliveries_total{channel="oncall",outcome="failed"} 2"#)
        );
    }

    #[test]
    fn a_reload_drops_every_series_of_removed_monitors() {
        let m = DaemonMetrics::new();
        m.observe_run("kept", &passing(None));
        m.observe_run("gone", &passing(Some(1)));
        m.retain_monitors(&["kept".to_string()]);
        let text = m.encode(None);
        assert!(lines_with(&text, r#"monitor="gone""#).is_empty(), "{text}");
        assert!(!lines_with(&text, r#"monitor="kept""#).is_empty());
    }

    #[test]
    fn seconds_are_rounded_to_the_microsecond() {
        assert_eq!(seconds(0.09), 0.00009);
        assert_eq!(seconds(1234.5678), 1.234568);
    }
}
