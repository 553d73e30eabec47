use super::*;
use crate::check::model::Timings;
use crate::check::{AttemptReport, CheckError};
use std::time::Duration;

const URL: &str = "wss://example.test/ws";

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).expect("valid timestamp")
}

fn summary(ok: bool, class: Class) -> RunSummary {
    RunSummary {
        ok,
        class,
        phase: (!ok).then_some(Phase::Upgrade),
        message: (!ok).then(|| format!("failed with {class}")),
        hint: (!ok).then(|| "look at the proxy".to_string()),
        total_ms: 12.5,
        report: crate::report::document::sample_document(class, 1),
        report_text: format!("run: {class}"),
    }
}

/// One run of a scripted scenario.
#[derive(Clone, Copy)]
struct Run {
    at: i64,
    ok: bool,
    class: Class,
    maintenance: bool,
    /// The parent (`depends_on`) down at this run, if any.
    parent_down: Option<&'static str>,
    /// A parent not checked yet since this monitor began failing.
    parent_unchecked: bool,
}

fn pass(at: i64) -> Run {
    Run {
        at,
        ok: true,
        class: Class::Ok,
        maintenance: false,
        parent_down: None,
        parent_unchecked: false,
    }
}

fn fail(at: i64, class: Class) -> Run {
    Run {
        at,
        ok: false,
        class,
        maintenance: false,
        parent_down: None,
        parent_unchecked: false,
    }
}

impl Run {
    fn in_maintenance(self) -> Run {
        Run {
            maintenance: true,
            ..self
        }
    }

    fn behind_down(self, parent: &'static str) -> Run {
        Run {
            parent_down: Some(parent),
            ..self
        }
    }

    fn parent_unchecked(self) -> Run {
        Run {
            parent_unchecked: true,
            ..self
        }
    }
}

/// The parts of a notification a scenario asserts.
#[derive(Debug, Clone, PartialEq)]
struct Sent {
    run: usize,
    kind: NotificationKind,
    class: Class,
    first_seen: i64,
    outage_secs: Option<u64>,
    previous_class: Option<Class>,
    in_maintenance: bool,
    suppressed_by: Option<&'static str>,
}

fn down(run: usize, class: Class, first_seen: i64) -> Sent {
    Sent {
        run,
        kind: NotificationKind::Down,
        class,
        first_seen,
        outage_secs: None,
        previous_class: None,
        in_maintenance: false,
        suppressed_by: None,
    }
}

fn reminder(run: usize, class: Class, first_seen: i64, outage: u64) -> Sent {
    Sent {
        kind: NotificationKind::Reminder,
        outage_secs: Some(outage),
        ..down(run, class, first_seen)
    }
}

fn recovered(run: usize, class: Class, first_seen: i64, outage: u64) -> Sent {
    Sent {
        kind: NotificationKind::Recovered,
        outage_secs: Some(outage),
        ..down(run, class, first_seen)
    }
}

impl Sent {
    fn held(self) -> Sent {
        Sent {
            in_maintenance: true,
            ..self
        }
    }

    fn suppressed_by(self, parent: &'static str) -> Sent {
        Sent {
            suppressed_by: Some(parent),
            ..self
        }
    }

    fn previously(self, class: Class) -> Sent {
        Sent {
            previous_class: Some(class),
            ..self
        }
    }
}

fn policy(failure_threshold: u32, success_threshold: u32, repeat_secs: Option<u64>) -> Policy {
    Policy {
        failure_threshold,
        success_threshold,
        repeat: repeat_secs.map(Duration::from_secs),
    }
}

/// Play `runs` from the default state; return the final state and what was sent.
fn play(policy: &Policy, runs: &[Run]) -> (MonitorState, Vec<(usize, Notification)>) {
    let mut state = MonitorState::default();
    let mut sent = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        let summary = summary(run.ok, run.class);
        let outcome = RunOutcome {
            at: t(run.at),
            monitor: "api",
            url: URL,
            summary: &summary,
            in_maintenance: run.maintenance,
            suppressed_by: run.parent_down,
            parent_unchecked: run.parent_unchecked,
        };
        let (next, note) = apply(&state, &outcome, policy);
        if let Some(note) = note {
            sent.push((i, note));
        }
        state = next;
    }
    (state, sent)
}

fn essentials(sent: &[(usize, Notification)]) -> Vec<Sent> {
    sent.iter()
        .map(|(run, n)| Sent {
            run: *run,
            kind: n.kind,
            class: n.class,
            first_seen: (n.first_seen - t(0)).num_seconds(),
            outage_secs: n.outage_secs,
            previous_class: n.previous_class,
            in_maintenance: n.in_maintenance,
            suppressed_by: n.suppressed_by.as_deref().map(|p| match p {
                "lb" => "lb",
                other => panic!("unexpected parent {other:?}"),
            }),
        })
        .collect()
}

struct Scenario {
    name: &'static str,
    policy: Policy,
    runs: Vec<Run>,
    sent: Vec<Sent>,
    health: Health,
}

#[test]
fn scenarios_send_exactly_the_expected_notifications() {
    use Class::{ConnectError as Conn, Timeout};
    let cases = vec![
        Scenario {
            name: "unknown to up is silent",
            policy: policy(1, 1, None),
            runs: vec![pass(0)],
            sent: vec![],
            health: Health::Up,
        },
        Scenario {
            name: "unknown to down alerts",
            policy: policy(1, 1, None),
            runs: vec![fail(0, Timeout)],
            sent: vec![down(0, Timeout, 0)],
            health: Health::Down,
        },
        Scenario {
            name: "with threshold one the first failure after up sends DOWN",
            policy: policy(1, 1, None),
            runs: vec![pass(0), fail(60, Conn), fail(120, Conn)],
            sent: vec![down(1, Conn, 60)],
            health: Health::Down,
        },
        Scenario {
            name: "with threshold three DOWN comes on the third failure, dated from the first",
            policy: policy(3, 1, None),
            runs: vec![pass(0), fail(60, Conn), fail(120, Conn), fail(180, Timeout)],
            sent: vec![down(3, Timeout, 60)],
            health: Health::Down,
        },
        Scenario {
            name: "a threshold of zero behaves as one",
            policy: policy(0, 0, None),
            runs: vec![fail(0, Conn), pass(60)],
            sent: vec![down(0, Conn, 0), recovered(1, Conn, 0, 60)],
            health: Health::Up,
        },
        Scenario {
            name: "flapping below the failure threshold is silent",
            policy: policy(3, 1, None),
            runs: vec![
                pass(0),
                fail(60, Conn),
                fail(120, Conn),
                pass(180),
                fail(240, Conn),
                fail(300, Conn),
                pass(360),
            ],
            sent: vec![],
            health: Health::Up,
        },
        Scenario {
            name: "failures below the threshold from unknown stay unknown, then a pass is up silently",
            policy: policy(3, 1, None),
            runs: vec![fail(0, Conn), fail(60, Conn), pass(120)],
            sent: vec![],
            health: Health::Up,
        },
        Scenario {
            name: "recovery carries the outage from the first failed run and its class",
            policy: policy(2, 1, None),
            runs: vec![pass(0), fail(60, Conn), fail(120, Timeout), pass(300)],
            sent: vec![down(2, Timeout, 60), recovered(3, Timeout, 60, 240)],
            health: Health::Up,
        },
        Scenario {
            name: "with success threshold three RECOVERED needs three passes in a row",
            policy: policy(1, 3, None),
            runs: vec![
                fail(0, Conn),
                pass(60),
                pass(120),
                fail(180, Conn),
                pass(240),
                pass(300),
                pass(360),
            ],
            sent: vec![down(0, Conn, 0), recovered(6, Conn, 0, 360)],
            health: Health::Up,
        },
        Scenario {
            name: "without repeat a long outage sends DOWN once",
            policy: policy(1, 1, None),
            runs: (0..6).map(|i| fail(i * 3600, Conn)).collect(),
            sent: vec![down(0, Conn, 0)],
            health: Health::Down,
        },
        Scenario {
            name: "reminders come only once repeat has elapsed since the last notification",
            policy: policy(1, 1, Some(600)),
            runs: vec![
                fail(0, Conn),
                fail(300, Conn),
                fail(599, Conn),
                fail(600, Conn),
                fail(900, Conn),
                fail(1250, Conn),
            ],
            sent: vec![
                down(0, Conn, 0),
                reminder(3, Conn, 0, 600),
                reminder(5, Conn, 0, 1250),
            ],
            health: Health::Down,
        },
        Scenario {
            name: "a class change alone sends nothing and is noted in the next reminder only",
            policy: policy(1, 1, Some(600)),
            runs: vec![
                fail(0, Timeout),
                fail(60, Conn),
                fail(600, Conn),
                fail(1200, Conn),
            ],
            sent: vec![
                down(0, Timeout, 0),
                reminder(2, Conn, 0, 600).previously(Timeout),
                reminder(3, Conn, 0, 1200),
            ],
            health: Health::Down,
        },
        Scenario {
            name: "a class that flips back before the reminder is not reported as a change",
            policy: policy(1, 1, Some(600)),
            runs: vec![fail(0, Timeout), fail(60, Conn), fail(600, Timeout)],
            sent: vec![down(0, Timeout, 0), reminder(2, Timeout, 0, 600)],
            health: Health::Down,
        },
        Scenario {
            name: "passes below the success threshold keep the incident and its first_seen",
            policy: policy(1, 2, None),
            runs: vec![
                fail(0, Conn),
                pass(60),
                fail(120, Conn),
                pass(180),
                pass(240),
            ],
            sent: vec![down(0, Conn, 0), recovered(4, Conn, 0, 240)],
            health: Health::Up,
        },
        Scenario {
            name: "a DOWN inside maintenance is marked in_maintenance",
            policy: policy(1, 1, None),
            runs: vec![pass(0), fail(60, Conn).in_maintenance()],
            sent: vec![down(1, Conn, 60).held()],
            health: Health::Down,
        },
        Scenario {
            name: "a RECOVERED after a held DOWN is held too, even outside maintenance",
            policy: policy(1, 1, None),
            runs: vec![fail(0, Conn).in_maintenance(), pass(60)],
            sent: vec![down(0, Conn, 0).held(), recovered(1, Conn, 0, 60).held()],
            health: Health::Up,
        },
        Scenario {
            name: "a RECOVERED inside maintenance is marked even after an announced DOWN",
            policy: policy(1, 1, None),
            runs: vec![fail(0, Conn), pass(60).in_maintenance()],
            sent: vec![down(0, Conn, 0), recovered(1, Conn, 0, 60).held()],
            health: Health::Up,
        },
        Scenario {
            name: "a DOWN held by maintenance is sent when maintenance ends while still failing",
            policy: policy(1, 1, None),
            runs: vec![
                fail(0, Conn).in_maintenance(),
                fail(60, Conn).in_maintenance(),
                fail(120, Timeout),
                fail(180, Timeout),
                pass(240),
            ],
            sent: vec![
                down(0, Conn, 0).held(),
                down(2, Timeout, 0),
                recovered(4, Timeout, 0, 240),
            ],
            health: Health::Up,
        },
        Scenario {
            name: "reminders inside maintenance are marked and the recovery after them is not",
            policy: policy(1, 1, Some(600)),
            runs: vec![fail(0, Conn), fail(600, Conn).in_maintenance(), pass(700)],
            sent: vec![
                down(0, Conn, 0),
                reminder(1, Conn, 0, 600).held(),
                recovered(2, Conn, 0, 700),
            ],
            health: Health::Up,
        },
        Scenario {
            name: "a DOWN while the parent is down is held, and so is its RECOVERED",
            policy: policy(1, 1, None),
            runs: vec![
                fail(0, Conn).behind_down("lb"),
                fail(60, Conn).behind_down("lb"),
                pass(120),
            ],
            sent: vec![
                down(0, Conn, 0).suppressed_by("lb"),
                recovered(2, Conn, 0, 120).suppressed_by("lb"),
            ],
            health: Health::Up,
        },
        Scenario {
            name: "a DOWN held by a parent is sent once the parent is back and this one still fails",
            policy: policy(1, 1, None),
            runs: vec![
                fail(0, Conn).behind_down("lb"),
                fail(60, Timeout),
                fail(120, Timeout),
                pass(180),
            ],
            sent: vec![
                down(0, Conn, 0).suppressed_by("lb"),
                down(1, Timeout, 0),
                recovered(3, Timeout, 0, 180),
            ],
            health: Health::Up,
        },
        Scenario {
            name: "a child failing before its parent was checked waits one run, then is held by it",
            policy: policy(1, 1, None),
            runs: vec![
                fail(0, Conn).parent_unchecked(),
                fail(60, Conn).behind_down("lb"),
            ],
            sent: vec![down(1, Conn, 0).suppressed_by("lb")],
            health: Health::Down,
        },
        Scenario {
            name: "the wait for an unchecked parent is one run only",
            policy: policy(2, 1, None),
            runs: vec![
                fail(0, Conn).parent_unchecked(),
                fail(60, Conn).parent_unchecked(),
                fail(120, Conn).parent_unchecked(),
            ],
            sent: vec![down(2, Conn, 0)],
            health: Health::Down,
        },
        Scenario {
            name: "a parent going down after this DOWN was sent does not hold its RECOVERED",
            policy: policy(1, 1, Some(600)),
            runs: vec![
                fail(0, Conn),
                fail(600, Conn).behind_down("lb"),
                pass(700).behind_down("lb"),
            ],
            sent: vec![
                down(0, Conn, 0),
                reminder(1, Conn, 0, 600).suppressed_by("lb"),
                recovered(2, Conn, 0, 700),
            ],
            health: Health::Up,
        },
    ];
    for case in cases {
        let (state, sent) = play(&case.policy, &case.runs);
        assert_eq!(essentials(&sent), case.sent, "{}", case.name);
        assert_eq!(state.health, case.health, "{}", case.name);
        if state.health == Health::Up {
            assert_eq!(state.incident, None, "{}: incident closed", case.name);
        }
    }
}

#[test]
fn down_copies_the_decisive_attempt_diagnostics_and_counts_failed_runs() {
    let (state, sent) = play(
        &policy(2, 1, None),
        &[fail(0, Class::Timeout), fail(60, Class::Timeout)],
    );
    let (_, note) = &sent[0];
    let expected = summary(false, Class::Timeout);
    assert_eq!(note.monitor, "api");
    assert_eq!(note.url, URL);
    assert_eq!(note.phase, expected.phase);
    assert_eq!(note.message, expected.message);
    assert_eq!(note.hint, expected.hint);
    assert_eq!(note.report.as_ref(), Some(&expected.report));
    assert_eq!(note.report_text, expected.report_text);
    assert_eq!(note.failed_runs, 2);
    assert_eq!(note.at, t(60));
    assert_eq!(state.since, Some(t(60)));
    assert_eq!(state.consecutive_failures, 2);
    assert_eq!(state.consecutive_successes, 0);
}

#[test]
fn recovered_carries_the_passing_run_and_states_the_outage_it_ends() {
    let (state, sent) = play(
        &policy(1, 2, None),
        &[
            fail(0, Class::TlsError),
            fail(30, Class::Timeout),
            pass(60),
            fail(70, Class::Timeout),
            pass(80),
            pass(90),
        ],
    );
    let (_, note) = &sent[1];
    assert_eq!(note.kind, NotificationKind::Recovered);
    let failing = summary(false, Class::Timeout);
    assert_eq!(
        (note.phase, &note.message, &note.hint),
        (failing.phase, &None, &None)
    );
    assert_eq!(note.report_text, "run: ok");
    // Every failed run of the incident, also the one after a pass too short
    // to end it, and every class it showed.
    assert_eq!(note.failed_runs, 3);
    assert_eq!(note.classes_seen, vec![Class::TlsError, Class::Timeout]);
    assert_eq!(note.incident_id(), sent[0].1.incident_id());
    assert_eq!(state.since, Some(t(90)));
    assert_eq!(state.consecutive_successes, 2);
}

#[test]
fn the_state_records_the_incident_while_failing_below_threshold() {
    let (state, sent) = play(
        &policy(3, 1, None),
        &[
            pass(0),
            fail(60, Class::EarlyFin),
            fail(120, Class::Timeout),
        ],
    );
    assert!(sent.is_empty());
    assert_eq!(state.health, Health::Up);
    assert_eq!(state.since, Some(t(0)));
    let incident = state.incident.expect("an open incident");
    assert_eq!(incident.first_seen, t(60));
    assert_eq!(incident.current_class, Class::Timeout);
    assert!(!incident.alerted);
}

#[test]
fn reminder_due_only_when_down_with_repeat_elapsed() {
    let (down_state, _) = play(&policy(1, 1, None), &[fail(0, Class::Timeout)]);
    let (up_state, _) = play(&policy(1, 1, None), &[pass(0)]);
    let cases = [
        ("up never reminds", &up_state, Some(600), 10_000, false),
        (
            "down without repeat never reminds",
            &down_state,
            None,
            10_000,
            false,
        ),
        (
            "down before repeat elapsed",
            &down_state,
            Some(600),
            599,
            false,
        ),
        ("down exactly at repeat", &down_state, Some(600), 600, true),
        (
            "down long after repeat",
            &down_state,
            Some(600),
            5_000,
            true,
        ),
        (
            "unknown never reminds",
            &MonitorState::default(),
            Some(1),
            10,
            false,
        ),
    ];
    for (name, state, repeat, now, due) in cases {
        assert_eq!(
            reminder_due(state, t(now), &policy(1, 1, repeat)),
            due,
            "{name}"
        );
    }
}

#[test]
fn state_round_trips_through_json_with_snake_case_health() {
    let (state, _) = play(&policy(1, 1, Some(60)), &[fail(0, Class::EarlyFin)]);
    let json = serde_json::to_value(&state).expect("serialize");
    assert_eq!(json["health"], "down");
    assert_eq!(json["incident"]["current_class"], "early_fin");
    let back: MonitorState = serde_json::from_value(json).expect("deserialize");
    assert_eq!(back, state);
}

fn attempt(error: Option<CheckError>) -> AttemptReport {
    let class = error.as_ref().map_or(Class::Ok, CheckError::class);
    let phase = error.as_ref().map(CheckError::phase);
    AttemptReport {
        started_at: "2027-01-15T08:00:00.000Z".to_string(),
        class,
        phase,
        message: error.as_ref().map(ToString::to_string),
        hint: error.as_ref().map(|_| "is the name right?".to_string()),
        error,
        timings: Timings {
            dns_ms: Some(3.0),
            total_ms: 3.5,
            ..Timings::default()
        },
        ..AttemptReport::new(1)
    }
}

#[test]
fn summary_from_a_report_takes_the_decisive_attempt() {
    let dns = CheckError::Dns {
        host: "nowhere.test".to_string(),
        reason: "no such host".to_string(),
    };
    let failed = CheckReport {
        url: URL.to_string(),
        pinned_address: None,
        attempts: vec![attempt(None), attempt(Some(dns))],
        limits: Vec::new(),
    };
    let s = RunSummary::from_report(&failed);
    assert!(!s.ok);
    assert_eq!(s.class, Class::DnsError);
    assert_eq!(s.phase, Some(Phase::Dns));
    assert_eq!(s.hint.as_deref(), Some("is the name right?"));
    assert_eq!(s.total_ms, 3.5);
    assert_eq!(s.report, ReportDocument::new(&failed));
    assert!(s.report_text.contains("nowhere.test"), "{}", s.report_text);

    let passed = CheckReport {
        attempts: vec![attempt(None)],
        ..failed
    };
    let s = RunSummary::from_report(&passed);
    assert!(s.ok);
    assert_eq!((s.class, s.phase, s.message), (Class::Ok, None, None));
}
