//! Latency thresholds (Nagios `-w`/`-c`, Datadog's response-time assertion):
//! `warning_over` / `critical_over` per phase or for the whole attempt. A
//! passing attempt slower than a warning threshold carries a
//! [`Warning::Slow`](super::model::Warning::Slow) (status `warning`); slower
//! than a critical one it fails with [`CheckError::Slow`], class `slow`.

use super::error::CheckError;
use super::model::{Phase, Timings, Warning};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// What a threshold measures: one phase, or the whole attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Measured {
    /// One phase's duration.
    Phase(Phase),
    /// The whole attempt (`total_ms`).
    Total,
}

impl Measured {
    /// `dns`, …, `close` or `total`, as written in the config and on the command line.
    pub fn parse(word: &str) -> Option<Measured> {
        if word == "total" {
            return Some(Measured::Total);
        }
        Phase::ALL
            .into_iter()
            .find(|p| p.as_str() == word)
            .map(Measured::Phase)
    }

    /// Milliseconds this measure took in `timings`, when it ran.
    pub fn ms(self, timings: &Timings) -> Option<f64> {
        match self {
            Measured::Phase(p) => timings.get(p),
            Measured::Total => Some(timings.total_ms),
        }
    }
}

impl fmt::Display for Measured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Measured::Phase(p) => f.write_str(p.as_str()),
            Measured::Total => f.write_str("total"),
        }
    }
}

/// One threshold: a measure and the duration it may not exceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threshold {
    /// What is measured.
    pub over: Measured,
    /// The limit.
    pub limit: Duration,
}

impl Threshold {
    /// `PHASE=DUR`, as `--warning`/`--critical` take it.
    pub fn parse(text: &str) -> Result<Threshold, String> {
        let (word, dur) = text
            .split_once('=')
            .ok_or_else(|| "expected PHASE=DUR, e.g. upgrade=200ms".to_string())?;
        let over = Measured::parse(word.trim()).ok_or_else(|| unknown_measure(word.trim()))?;
        let limit = humantime::parse_duration(dur.trim())
            .map_err(|_| format!("expected a duration like 200ms or 1s, found {dur:?}"))?;
        Ok(Threshold { over, limit })
    }

    fn limit_ms(&self) -> f64 {
        self.limit.as_secs_f64() * 1000.0
    }

    /// How long the measure took, when that is over the limit.
    fn exceeded(&self, timings: &Timings) -> Option<f64> {
        self.over.ms(timings).filter(|ms| *ms > self.limit_ms())
    }
}

/// "unknown phase `x` (one of dns, connect, tls, upgrade, open, close, total)".
pub fn unknown_measure(word: &str) -> String {
    let names: Vec<&str> = Phase::ALL.iter().map(|p| p.as_str()).collect();
    format!(
        "unknown phase `{word}` (one of {}, total)",
        names.join(", ")
    )
}

/// The thresholds of one check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Thresholds {
    /// Slower than one of these: status `warning`.
    pub warning: Vec<Threshold>,
    /// Slower than one of these: class `slow`.
    pub critical: Vec<Threshold>,
}

impl Thresholds {
    /// The first critical threshold a passing attempt exceeded, as its failure.
    pub fn critical(&self, timings: &Timings) -> Option<CheckError> {
        self.critical.iter().find_map(|t| {
            let took_ms = t.exceeded(timings)?;
            Some(CheckError::Slow {
                phase: slowest_phase(t.over, timings),
                over: t.over,
                took_ms,
                threshold_ms: t.limit_ms(),
            })
        })
    }

    /// Every warning threshold a passing attempt exceeded.
    pub fn warnings(&self, timings: &Timings) -> Vec<Warning> {
        self.warning
            .iter()
            .filter_map(|t| {
                Some(Warning::Slow {
                    over: t.over,
                    took_ms: t.exceeded(timings)?,
                    threshold_ms: t.limit_ms(),
                })
            })
            .collect()
    }

    /// Each measure with a threshold and its limits, for the report (Nagios perfdata).
    pub fn limits(&self) -> Vec<Limit> {
        let find = |list: &[Threshold], over| {
            list.iter()
                .find(|t| t.over == over)
                .map(Threshold::limit_ms)
        };
        let mut measures: Vec<Measured> = Phase::ALL.into_iter().map(Measured::Phase).collect();
        measures.push(Measured::Total);
        measures
            .into_iter()
            .map(|over| Limit {
                over,
                warning_ms: find(&self.warning, over),
                critical_ms: find(&self.critical, over),
            })
            .filter(|l| l.warning_ms.is_some() || l.critical_ms.is_some())
            .collect()
    }
}

/// The thresholds in force for one measure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Limit {
    /// What is measured.
    pub over: Measured,
    /// `warning_over`, in ms.
    pub warning_ms: Option<f64>,
    /// `critical_over`, in ms.
    pub critical_ms: Option<f64>,
}

/// The phase a `slow` failure is reported in: the measured one, or for the
/// total the phase that took longest (where the time went).
fn slowest_phase(over: Measured, timings: &Timings) -> Phase {
    match over {
        Measured::Phase(p) => p,
        Measured::Total => Phase::ALL
            .into_iter()
            .filter_map(|p| Some((p, timings.get(p)?)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map_or(Phase::Open, |(p, _)| p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timings() -> Timings {
        Timings {
            connect_ms: Some(2.0),
            upgrade_ms: Some(250.0),
            open_ms: Some(40.0),
            total_ms: 300.0,
            ..Timings::default()
        }
    }

    fn t(text: &str) -> Threshold {
        Threshold::parse(text).unwrap()
    }

    #[test]
    fn thresholds_parse_a_phase_or_total_and_a_duration() {
        assert_eq!(t("upgrade=200ms").over, Measured::Phase(Phase::Upgrade));
        assert_eq!(t("total = 1s").limit, Duration::from_secs(1));
        assert!(
            Threshold::parse("upgrade")
                .unwrap_err()
                .contains("PHASE=DUR")
        );
        assert!(
            Threshold::parse("upgrad=1s")
                .unwrap_err()
                .contains("one of dns, connect")
        );
        assert!(
            Threshold::parse("open=fast")
                .unwrap_err()
                .contains("duration")
        );
    }

    #[test]
    fn only_an_exceeded_threshold_warns_and_a_phase_that_did_not_run_never_does() {
        let th = Thresholds {
            warning: vec![t("upgrade=200ms"), t("open=1s"), t("tls=1ms")],
            critical: vec![],
        };
        let warnings = th.warnings(&timings());
        assert_eq!(
            warnings,
            [Warning::Slow {
                over: Measured::Phase(Phase::Upgrade),
                took_ms: 250.0,
                threshold_ms: 200.0
            }]
        );
    }

    #[test]
    fn a_critical_total_is_reported_in_the_phase_where_the_time_went() {
        let th = Thresholds {
            warning: vec![],
            critical: vec![t("total=100ms")],
        };
        let Some(CheckError::Slow { phase, over, .. }) = th.critical(&timings()) else {
            panic!("expected slow");
        };
        assert_eq!((phase, over), (Phase::Upgrade, Measured::Total));
        assert_eq!(th.critical(&Timings::default()), None);
    }
}
