//! What each location saw in a round, and the round told as one run: the
//! verdict the state machine folds in, and the side-by-side line every alert
//! carries ("eu-west: timeout in upgrade after 10.0 s; us-east: ok 41 ms;
//! ap-south: no result — 1 of 3 failing, 1 unknown, below quorum 2").

use super::verdict::{LocationOutcome, Quorum, RoundOutcome, RoundVerdict, round_verdict};
use crate::check::{Class, Phase};
use crate::report::document::ReportDocument;
use crate::state::machine::RunSummary;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One location's result for one round, as the store keeps it and as the
/// state, the API and the alerts show it (the report itself is loaded for
/// the round's evaluation only, never copied into states or alerts' lists).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocationResult {
    /// The location (`--location`).
    pub location: String,
    /// The instance that checked from there.
    pub instance: String,
    /// When its check finished.
    pub at: DateTime<Utc>,
    /// The check passed there.
    pub ok: bool,
    /// `ok` or the failure class.
    pub class: Class,
    /// The phase that failed.
    pub phase: Option<Phase>,
    /// What went wrong, in one line.
    pub message: Option<String>,
    /// Likely causes.
    pub hint: Option<String>,
    /// How long the decisive attempt took, in milliseconds.
    pub total_ms: f64,
    /// The run's report document (loaded with the round, not serialized).
    #[serde(skip)]
    pub report: Option<ReportDocument>,
    /// The run as verbose text (loaded with the round, not serialized).
    #[serde(skip)]
    pub report_text: String,
}

impl LocationResult {
    /// `run`, finished at `at`, as `instance` in `location` saw it.
    pub fn of_run(location: &str, instance: &str, at: DateTime<Utc>, run: &RunSummary) -> Self {
        LocationResult {
            location: location.to_string(),
            instance: instance.to_string(),
            at,
            ok: run.ok,
            class: run.class,
            phase: run.phase,
            message: run.message.clone(),
            hint: run.hint.clone(),
            total_ms: run.total_ms,
            report: Some(run.report.clone()),
            report_text: run.report_text.clone(),
        }
    }

    /// "timeout in upgrade after 10.0 s", "ok 41 ms".
    pub fn describe(&self) -> String {
        let took = duration_text(self.total_ms);
        match (self.ok, self.phase) {
            (true, _) => format!("ok {took}"),
            (false, Some(phase)) => format!("{} in {} after {took}", self.class, phase.as_str()),
            (false, None) => format!("{} after {took}", self.class),
        }
    }
}

/// "41 ms" below a second, "10.0 s" above.
fn duration_text(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

/// A round of one monitor, evaluated: every listed location's result (or
/// none), and what they decide together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Round {
    /// The round's start, ms since the Unix epoch (its id).
    pub id: i64,
    /// The counts and what they decide.
    pub verdict: RoundVerdict,
    /// Each listed location, in the order listed, with its result if one came.
    pub locations: Vec<LocationSeen>,
}

/// A listed location and its result for the round, if it came in time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocationSeen {
    /// The location.
    pub location: String,
    /// Its result; `None`: unknown (no live instance there, or too late).
    pub result: Option<LocationResult>,
}

impl Round {
    /// The round `id` of a monitor checked from `listed` under `quorum`,
    /// from the `results` that came in (of any location; those not listed
    /// are ignored).
    pub fn evaluate(
        id: i64,
        listed: &[String],
        quorum: Quorum,
        mut results: Vec<LocationResult>,
    ) -> Round {
        let locations: Vec<LocationSeen> = listed
            .iter()
            .map(|location| LocationSeen {
                location: location.clone(),
                result: results
                    .iter()
                    .position(|r| &r.location == location)
                    .map(|i| results.swap_remove(i)),
            })
            .collect();
        let outcomes: Vec<LocationOutcome> = locations
            .iter()
            .map(|seen| match &seen.result {
                None => LocationOutcome::Unknown,
                Some(r) if r.ok => LocationOutcome::Up,
                Some(r) => LocationOutcome::Down(r.class),
            })
            .collect();
        Round {
            id,
            verdict: round_verdict(&outcomes, quorum),
            locations,
        }
    }

    /// Every location side by side, then the verdict.
    pub fn line(&self) -> String {
        let each: Vec<String> = self
            .locations
            .iter()
            .map(|seen| match &seen.result {
                Some(r) => format!("{}: {}", seen.location, r.describe()),
                None => format!("{}: no result", seen.location),
            })
            .collect();
        format!("{} — {}", each.join("; "), self.verdict)
    }

    /// The result the round's history row and alert take their class,
    /// phase, hint and report from: when failing, the first location with
    /// the class most locations failed with; otherwise the first that passed.
    pub fn representative(&self) -> Option<&LocationResult> {
        let results = || self.locations.iter().filter_map(|s| s.result.as_ref());
        if self.verdict.outcome != RoundOutcome::Failing {
            return results().find(|r| r.ok).or_else(|| results().next());
        }
        let failing = || results().filter(|r| !r.ok);
        let count = |class: Class| failing().filter(|r| r.class == class).count();
        let most = failing().map(|r| count(r.class)).max()?;
        failing().find(|r| count(r.class) == most)
    }

    /// The round as one run for the state machine: it fails when the quorum
    /// failed, and carries the side-by-side line as its message. `None` when
    /// it decides nothing (not enough locations known). The report is the
    /// representative's, or `own` (this location's run) when that one's
    /// report did not decode (a row another version wrote): a decided round
    /// is never lost for want of evidence.
    pub fn as_run(&self, own: &RunSummary) -> Option<RunSummary> {
        let failing = match self.verdict.outcome {
            RoundOutcome::Failing => true,
            RoundOutcome::Passing => false,
            RoundOutcome::NotEnoughLocations => return None,
        };
        let seen = self.representative()?;
        let (report, report_text, from) = match &seen.report {
            Some(report) => (
                report.clone(),
                seen.report_text.clone(),
                format!("{} ({})", seen.location, seen.instance),
            ),
            None => (
                own.report.clone(),
                own.report_text.clone(),
                "the evaluating location".to_string(),
            ),
        };
        Some(RunSummary {
            ok: !failing,
            class: if failing { seen.class } else { Class::Ok },
            phase: seen.phase.filter(|_| failing),
            message: Some(self.line()),
            hint: seen.hint.clone().filter(|_| failing),
            total_ms: seen.total_ms,
            report,
            report_text: format!("{}\n\nThe report from {from}:\n{report_text}", self.line(),),
        })
    }

    /// This round without the reports: what a state or an alert keeps.
    pub fn brief(&self) -> Round {
        let mut brief = self.clone();
        for seen in &mut brief.locations {
            if let Some(r) = &mut seen.result {
                r.report = None;
                r.report_text.clear();
            }
        }
        brief
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Class;

    fn result(location: &str, class: Class, phase: Option<Phase>, ms: f64) -> LocationResult {
        LocationResult {
            location: location.into(),
            instance: format!("probe-{location}"),
            at: Utc::now(),
            ok: class == Class::Ok,
            class,
            phase,
            message: None,
            hint: (class != Class::Ok).then(|| format!("hint from {location}")),
            total_ms: ms,
            report: Some(crate::report::document::sample_document(class, 1)),
            report_text: format!("text from {location}"),
        }
    }

    /// The evaluating location's own run.
    fn own() -> RunSummary {
        RunSummary {
            ok: true,
            class: Class::Ok,
            phase: None,
            message: None,
            hint: None,
            total_ms: 2.0,
            report: crate::report::document::sample_document(Class::Ok, 1),
            report_text: "own text".into(),
        }
    }

    fn listed() -> Vec<String> {
        ["eu-west", "us-east", "ap-south"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn one_location_failing_alone_is_told_side_by_side_and_passes_the_round() {
        let round = Round::evaluate(
            1,
            &listed(),
            Quorum::Majority,
            vec![
                result("us-east", Class::Ok, None, 41.2),
                result("eu-west", Class::Timeout, Some(Phase::Upgrade), 10_000.0),
                result("ap-south", Class::Ok, None, 120.0),
            ],
        );
        assert_eq!(
            round.line(),
            "eu-west: timeout in upgrade after 10.0 s; us-east: ok 41 ms; ap-south: ok 120 ms \
             — 1 of 3 failing, below quorum 2"
        );
        let run = round.as_run(&own()).expect("decided");
        assert!(run.ok);
        assert_eq!(run.class, Class::Ok);
        assert_eq!((run.phase, run.hint), (None, None));
    }

    #[test]
    fn a_failing_round_takes_the_class_most_locations_failed_with() {
        let round = Round::evaluate(
            1,
            &listed(),
            Quorum::Majority,
            vec![
                result("eu-west", Class::ConnectError, Some(Phase::Connect), 3.0),
                result("us-east", Class::Timeout, Some(Phase::Upgrade), 10_000.0),
                result("ap-south", Class::Timeout, Some(Phase::Upgrade), 10_000.0),
            ],
        );
        let run = round.as_run(&own()).expect("decided");
        assert!(!run.ok);
        assert_eq!(run.class, Class::Timeout);
        assert_eq!(run.hint.as_deref(), Some("hint from us-east"));
        assert!(
            run.report_text
                .contains("The report from us-east (probe-us-east):\ntext from us-east"),
            "{}",
            run.report_text
        );
        assert!(
            run.message
                .unwrap()
                .ends_with("3 of 3 failing, quorum 2 reached")
        );
    }

    #[test]
    fn a_decided_round_whose_report_did_not_decode_still_decides_with_this_locations() {
        let mut unreadable = result("us-east", Class::Timeout, Some(Phase::Upgrade), 10.0);
        unreadable.report = None;
        let round = Round::evaluate(
            1,
            &listed()[..2],
            Quorum::AtLeast(1),
            vec![unreadable, result("eu-west", Class::Ok, None, 3.0)],
        );
        let run = round.as_run(&own()).expect("still decided");
        assert!(!run.ok);
        assert!(
            run.report_text
                .ends_with("The report from the evaluating location:\nown text"),
            "{}",
            run.report_text
        );
    }

    #[test]
    fn a_location_without_a_result_is_unknown_and_can_leave_the_round_undecided() {
        let round = Round::evaluate(
            1,
            &listed(),
            Quorum::Majority,
            vec![result(
                "eu-west",
                Class::Timeout,
                Some(Phase::Upgrade),
                10_000.0,
            )],
        );
        assert_eq!(round.verdict.outcome, RoundOutcome::NotEnoughLocations);
        assert!(
            round
                .line()
                .contains("us-east: no result; ap-south: no result")
        );
        assert_eq!(round.as_run(&own()), None);
        // A location that is not listed does not count.
        let round = Round::evaluate(
            1,
            &listed()[..2],
            Quorum::AtLeast(1),
            vec![result("ap-south", Class::Timeout, None, 1.0)],
        );
        assert_eq!(round.verdict.failing, 0);
        assert_eq!(round.locations.len(), 2);
    }

    #[test]
    fn the_brief_keeps_the_evidence_and_drops_the_reports() {
        let round = Round::evaluate(
            1,
            &listed(),
            Quorum::All,
            vec![result("eu-west", Class::Ok, None, 5.0)],
        );
        let brief = round.brief();
        let seen = brief.locations[0].result.as_ref().unwrap();
        assert!(seen.report.is_none() && seen.report_text.is_empty());
        assert_eq!(seen.total_ms, 5.0);
        let json = serde_json::to_value(&brief).unwrap();
        assert_eq!(json["locations"][0]["result"]["instance"], "probe-eu-west");
        assert!(json["locations"][0]["result"].get("report").is_none());
    }
}
