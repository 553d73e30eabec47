use super::*;
use crate::check::{Class, Phase};
use crate::state::machine::{RunSummary, apply};
use crate::state::policy::Policy;
use NotificationKind::{Down, Recovered, Reminder};
use chrono::{DateTime, Utc};

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).expect("valid timestamp")
}

fn summary(ok: bool) -> RunSummary {
    let class = if ok { Class::Ok } else { Class::EarlyFin };
    RunSummary {
        ok,
        class,
        phase: (!ok).then_some(Phase::Open),
        message: (!ok).then(|| "closed".to_string()),
        hint: None,
        total_ms: 1.0,
        report: crate::report::document::sample_document(class, 1),
        report_text: String::new(),
    }
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `everything`: no filter; `pager`: tier 1, DOWN and RECOVERED only;
/// `escalation`: everything, 60 s after the incident opened.
fn channels() -> Vec<(&'static str, Route)> {
    vec![
        ("everything", Route::default()),
        (
            "pager",
            Route {
                labels: labels(&[("tier", "1")]),
                kinds: Some(vec![Down, Recovered]),
                escalate_after: None,
            },
        ),
        (
            "escalation",
            Route {
                escalate_after: Some(Duration::from_secs(60)),
                ..Route::default()
            },
        ),
    ]
}

/// One monitor's runs through the machine and the router, the state saved
/// and read back as JSON between runs (as a restart would).
struct Monitor {
    state: MonitorState,
    policy: Policy,
    labels: BTreeMap<String, String>,
    channels: Vec<(&'static str, Route)>,
}

/// What one run enqueued: (kind, channels, held, outage_secs).
type Queued = Vec<(NotificationKind, Vec<String>, bool, Option<u64>)>;

impl Monitor {
    fn new(tier: &str) -> Monitor {
        Monitor {
            state: MonitorState::default(),
            policy: Policy::default(),
            labels: labels(&[("tier", tier), ("team", "payments")]),
            channels: channels(),
        }
    }

    fn run_held(&mut self, at: i64, ok: bool, in_maintenance: bool) -> Queued {
        let summary = summary(ok);
        let outcome = RunOutcome {
            at: t(at),
            monitor: "api",
            url: "wss://api.example/ws",
            summary: &summary,
            in_maintenance,
            suppressed_by: None,
            parent_unchecked: false,
        };
        let (mut after, note) = apply(&self.state, &outcome, &self.policy);
        let recipients: Vec<Recipient> = self
            .channels
            .iter()
            .map(|(channel, route)| Recipient { channel, route })
            .collect();
        let routed = route(
            &self.state,
            &mut after,
            note,
            &outcome,
            &self.labels,
            &recipients,
        );
        let json = serde_json::to_string(&after).unwrap();
        self.state = serde_json::from_str(&json).unwrap();
        routed
            .into_iter()
            .map(|r| (r.note.kind, r.channels, r.note.held(), r.note.outage_secs))
            .collect()
    }

    fn run(&mut self, at: i64, ok: bool) -> Queued {
        self.run_held(at, ok, false)
    }
}

fn to(
    kind: NotificationKind,
    channels: &[&str],
) -> (NotificationKind, Vec<String>, bool, Option<u64>) {
    (
        kind,
        channels.iter().map(|c| c.to_string()).collect(),
        false,
        None,
    )
}

fn with_outage(
    mut q: (NotificationKind, Vec<String>, bool, Option<u64>),
    secs: u64,
) -> (NotificationKind, Vec<String>, bool, Option<u64>) {
    q.3 = Some(secs);
    q
}

#[test]
fn a_tier_1_outage_pages_the_filtered_channel_and_escalates_after_its_delay_once() {
    let mut m = Monitor::new("1");
    m.policy.repeat = Some(Duration::from_secs(40));
    assert_eq!(m.run(0, false), [to(Down, &["everything", "pager"])]);
    assert_eq!(m.run(10, false), []);
    // The pager does not take reminders; the escalation is not due yet.
    assert_eq!(
        m.run(40, false),
        [with_outage(to(Reminder, &["everything"]), 40)]
    );
    // Open 60 s and still down: the escalation channel gets the DOWN.
    assert_eq!(
        m.run(60, false),
        [with_outage(to(Down, &["escalation"]), 60)]
    );
    assert_eq!(m.run(70, false), [], "an escalation is sent once");
    assert_eq!(
        m.run(80, false),
        [with_outage(to(Reminder, &["everything", "escalation"]), 80)]
    );
    assert_eq!(
        m.run(100, true),
        [with_outage(
            to(Recovered, &["everything", "pager", "escalation"]),
            100
        )]
    );
}

#[test]
fn a_tier_2_monitor_never_reaches_the_tier_1_channel() {
    let mut m = Monitor::new("2");
    m.channels.retain(|(c, _)| *c != "escalation");
    assert_eq!(m.run(0, false), [to(Down, &["everything"])]);
    assert_eq!(
        m.run(5, true),
        [with_outage(to(Recovered, &["everything"]), 5)]
    );
}

#[test]
fn an_outage_over_before_the_escalation_delay_never_reaches_the_escalation_channel() {
    let mut m = Monitor::new("2");
    assert_eq!(m.run(0, false), [to(Down, &["everything"])]);
    assert_eq!(m.run(59, false), []);
    assert_eq!(
        m.run(61, true),
        [with_outage(to(Recovered, &["everything"]), 61)],
        "no RECOVERED for a channel that never got the DOWN"
    );
    assert_eq!(m.run(200, true), []);
}

#[test]
fn a_down_decided_after_the_delay_goes_to_the_escalation_channel_at_once() {
    let mut m = Monitor::new("2");
    m.policy.failure_threshold = 3;
    assert_eq!(m.run(0, false), []);
    assert_eq!(m.run(40, false), []);
    assert_eq!(
        m.run(80, false),
        [to(Down, &["everything", "escalation"])],
        "one DOWN for both, not a second one for the escalation"
    );
    assert_eq!(m.run(90, false), []);
}

#[test]
fn no_escalation_while_alerts_are_held_and_a_held_down_tells_nobody() {
    let mut m = Monitor::new("1");
    let held = m.run_held(0, false, true);
    assert_eq!(
        held,
        [(
            Down,
            vec!["everything".into(), "pager".into(), "escalation".into()],
            true,
            None
        )],
        "kept for the record for the channels whose when: matches"
    );
    assert_eq!(
        m.run_held(70, false, true),
        [],
        "past the delay, still held"
    );
    // The window ends, still failing: the DOWN goes out, escalation included.
    assert_eq!(
        m.run(80, false),
        [to(Down, &["everything", "pager", "escalation"])]
    );
}

#[test]
fn a_recovery_of_a_held_outage_is_held_for_the_record_only() {
    let mut m = Monitor::new("2");
    m.run_held(0, false, true);
    let recovered = m.run_held(5, true, false);
    assert_eq!(
        recovered,
        [(
            Recovered,
            vec!["everything".into(), "escalation".into()],
            true,
            Some(5)
        )]
    );
}

#[test]
fn a_channel_that_joins_after_the_down_does_not_get_the_recovered() {
    let mut m = Monitor::new("2");
    m.channels.truncate(1);
    assert_eq!(m.run(0, false), [to(Down, &["everything"])]);
    m.channels.push(("late-joiner", Route::default()));
    assert_eq!(
        m.run(5, true),
        [with_outage(to(Recovered, &["everything"]), 5)]
    );
}

#[test]
fn an_incident_saved_before_routing_existed_recovers_on_every_channel() {
    let mut m = Monitor::new("2");
    m.run(0, false);
    m.state.incident.as_mut().unwrap().channels_told = None;
    let recovered = m.run(5, true);
    assert_eq!(
        recovered,
        [with_outage(to(Recovered, &["everything", "escalation"]), 5)]
    );
}

#[test]
fn when_matches_every_listed_label_and_kind() {
    let monitor = labels(&[("tier", "1"), ("team", "payments")]);
    let route = |l: &[(&str, &str)], kinds: Option<Vec<NotificationKind>>| Route {
        labels: labels(l),
        kinds,
        escalate_after: None,
    };
    let cases = [
        (route(&[], None), Reminder, true),
        (route(&[("tier", "1")], None), Down, true),
        (
            route(&[("tier", "1"), ("team", "payments")], None),
            Down,
            true,
        ),
        (
            route(&[("tier", "1"), ("team", "search")], None),
            Down,
            false,
        ),
        (route(&[("tier", "2")], None), Down, false),
        (route(&[("region", "eu")], None), Down, false),
        (route(&[], Some(vec![Down])), Down, true),
        (route(&[], Some(vec![Down])), Reminder, false),
        (
            route(&[("tier", "1")], Some(vec![Down, Recovered])),
            Recovered,
            true,
        ),
    ];
    for (route, kind, want) in cases {
        assert_eq!(route.accepts(&monitor, kind), want, "{route:?} {kind:?}");
    }
}
