//! Routing end to end: the real daemon watches endpoints that refuse and
//! then recover (a fault server started on the refused port), and alerts
//! real HTTP receivers through webhook channels with `when:` and
//! `escalate_after:`. Each test asserts what every receiver got.

mod daemon_support;
mod support;
mod support_http;

use daemon_support::{Daemon, QUICK, SOON, Scratch, bodies, results};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use support::{Behavior, FaultServer, refused_port};
use support_http::Receiver;

/// `(monitor, kind)` of every webhook a receiver got, in order.
fn alerts(receiver: &Receiver) -> Vec<(String, String)> {
    bodies(receiver)
        .iter()
        .map(|b| (text(&b["monitor"]), text(&b["kind"])))
        .collect()
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(m, k)| (m.to_string(), k.to_string()))
        .collect()
}

/// How many `kind` alerts of `monitor` a receiver got.
fn count(receiver: &Receiver, monitor: &str, kind: &str) -> usize {
    alerts(receiver)
        .iter()
        .filter(|(m, k)| m == monitor && k == kind)
        .count()
}

/// The tests' config: `monitors` (YAML list items, one a line) alerting
/// webhook channels, each `(name, receiver, its routing keys)`.
fn config(monitors: &[String], channels: &[(&str, &Receiver, &str)]) -> String {
    let mut yaml = format!("{QUICK}monitors:\n");
    for m in monitors {
        yaml += &format!("  - {m}\n");
    }
    yaml += "channels:\n";
    for (name, receiver, routing) in channels {
        let url = receiver.url("/");
        let routing = if routing.is_empty() {
            String::new()
        } else {
            format!(", {routing}")
        };
        yaml += &format!("  {name}: {{ type: webhook, url: \"{url}\"{routing} }}\n");
    }
    yaml
}

/// A healthy endpoint where `addr` refused connections so far.
async fn recover(addr: SocketAddr) -> FaultServer {
    FaultServer::start_on(addr, Behavior::Healthy).await
}

#[tokio::test]
async fn a_filtered_channel_gets_only_tier_1_downs_and_recoveries_and_the_other_everything() {
    let (pay, blog) = (refused_port().await, refused_port().await);
    let (all, pager) = (Receiver::start(&[]).await, Receiver::start(&[]).await);
    let scratch = Scratch::new();
    scratch.write_config(&config(
        &[
            format!(r#"{{ name: pay, url: "ws://{pay}/ws", labels: {{ tier: "1", team: payments }}, repeat: 1s, alert: [all, pager] }}"#),
            format!(r#"{{ name: blog, url: "ws://{blog}/ws", labels: {{ tier: "2" }}, alert: [all, pager] }}"#),
        ],
        &[
            ("all", &all, ""),
            ("pager", &pager, r#"when: { labels: { tier: "1" }, kinds: [down, recovered] }"#),
        ],
    ));
    let daemon = Daemon::run(&scratch, &[]);

    // Both down, and pay down long enough for a REMINDER.
    daemon
        .until("both DOWNs and a reminder of pay", SOON, || {
            (count(&all, "pay", "down") == 1
                && count(&all, "blog", "down") == 1
                && count(&all, "pay", "reminder") >= 1
                && count(&pager, "pay", "down") == 1)
                .then_some(())
        })
        .await;
    let (_pay_up, _blog_up) = (recover(pay).await, recover(blog).await);
    daemon
        .until("both RECOVERED", SOON, || {
            (count(&all, "pay", "recovered") == 1
                && count(&all, "blog", "recovered") == 1
                && count(&pager, "pay", "recovered") == 1)
                .then_some(())
        })
        .await;
    // Two more runs each: nothing else is on its way.
    let runs = results(&scratch.state(), "blog").len();
    daemon
        .until("two more runs", SOON, || {
            (results(&scratch.state(), "blog").len() >= runs + 2).then_some(())
        })
        .await;

    assert_eq!(
        alerts(&pager),
        pairs(&[("pay", "down"), ("pay", "recovered")]),
        "tier 1 only, and no REMINDER: its kinds do not list it"
    );
    let everything = alerts(&all);
    for want in [("blog", "down"), ("blog", "recovered"), ("pay", "down")] {
        assert!(
            everything.contains(&(want.0.into(), want.1.into())),
            "{want:?} in {everything:?}"
        );
    }
    let pager_down = &bodies(&pager)[0];
    assert_eq!(pager_down["labels"]["tier"], "1", "{pager_down}");
    assert_eq!(pager_down["labels"]["team"], "payments", "{pager_down}");
    let rows = daemon_support::outbox(&scratch.state());
    assert!(
        !rows
            .iter()
            .any(|r| r.channel == "pager" && r.monitor == "blog"),
        "nothing is queued for a channel that does not want it: {rows:?}"
    );
}

#[tokio::test]
async fn an_escalation_channel_gets_the_down_after_its_delay_and_never_an_outage_over_before() {
    let (slow, quick) = (refused_port().await, refused_port().await);
    let (first, second) = (Receiver::start(&[]).await, Receiver::start(&[]).await);
    let scratch = Scratch::new();
    scratch.write_config(&config(
        &[
            format!(r#"{{ name: slow-fix, url: "ws://{slow}/ws", alert: [first, second] }}"#),
            format!(r#"{{ name: quick-fix, url: "ws://{quick}/ws", alert: [first, second] }}"#),
        ],
        &[
            ("first", &first, ""),
            ("second", &second, "escalate_after: 2s"),
        ],
    ));
    let daemon = Daemon::run(&scratch, &[]);

    // quick-fix recovers at its next run, a second after its first failure.
    daemon
        .until("a failed run of quick-fix", SOON, || {
            (!results(&scratch.state(), "quick-fix").is_empty()).then_some(())
        })
        .await;
    let _quick_up = recover(quick).await;

    let escalated = daemon
        .until("the escalated DOWN of slow-fix", SOON, || {
            bodies(&second).into_iter().next()
        })
        .await;
    assert_eq!(escalated["monitor"], "slow-fix");
    assert_eq!(escalated["kind"], "down");
    let first_down = bodies(&first)
        .into_iter()
        .find(|b| b["monitor"] == "slow-fix" && b["kind"] == "down")
        .expect("the first channel got the DOWN at once");
    assert_eq!(escalated["incident_id"], first_down["incident_id"]);
    let at = |b: &Value| chrono::DateTime::parse_from_rfc3339(&text(&b["at"])).unwrap();
    let opened = chrono::DateTime::parse_from_rfc3339(&text(&escalated["first_seen"])).unwrap();
    assert!(
        at(&escalated) - opened >= chrono::Duration::seconds(2),
        "escalated only after 2 s: {escalated}"
    );
    assert!(escalated["outage_secs"].as_u64().is_some_and(|s| s >= 2));
    assert!(at(&first_down) < at(&escalated));

    let _slow_up = recover(slow).await;
    daemon
        .until("slow-fix RECOVERED on both", SOON, || {
            (count(&second, "slow-fix", "recovered") == 1
                && count(&first, "slow-fix", "recovered") == 1)
                .then_some(())
        })
        .await;
    assert_eq!(
        alerts(&second),
        pairs(&[("slow-fix", "down"), ("slow-fix", "recovered")]),
        "quick-fix recovered before the delay and never reached it"
    );
    assert_eq!(count(&first, "quick-fix", "down"), 1);
    assert_eq!(count(&first, "quick-fix", "recovered"), 1);
}

#[tokio::test]
async fn an_escalation_due_while_the_daemon_was_killed_is_sent_once_after_it_comes_back() {
    let api = refused_port().await;
    let (first, second) = (Receiver::start(&[]).await, Receiver::start(&[]).await);
    let scratch = Scratch::new();
    scratch.write_config(&config(
        &[format!(
            r#"{{ name: api, url: "ws://{api}/ws", alert: [first, second] }}"#
        )],
        &[
            ("first", &first, ""),
            ("second", &second, "escalate_after: 2s"),
        ],
    ));
    let mut daemon = Daemon::run(&scratch, &[]);
    let down = daemon
        .until("the DOWN on the first channel", SOON, || {
            bodies(&first).into_iter().next()
        })
        .await;
    daemon.kill9();
    assert!(
        second.requests().is_empty(),
        "killed before the escalation was due"
    );

    // Down for longer than the delay while no daemon runs.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut daemon = Daemon::run(&scratch, &[]);
    let escalated = daemon
        .until("the escalated DOWN after the restart", SOON, || {
            bodies(&second).into_iter().next()
        })
        .await;
    assert_eq!(escalated["kind"], "down");
    assert_eq!(escalated["incident_id"], down["incident_id"]);
    daemon
        .wait_log("alert delivered", &[("channel", "second")], SOON)
        .await;

    // Killed and restarted once more: the escalation is not sent again.
    daemon.kill9();
    let daemon = Daemon::run(&scratch, &[]);
    let runs = results(&scratch.state(), "api").len();
    daemon
        .until("three more runs", SOON, || {
            (results(&scratch.state(), "api").len() >= runs + 3).then_some(())
        })
        .await;
    let keys: std::collections::HashSet<String> = bodies(&second)
        .iter()
        .filter(|b| b["kind"] == "down")
        .map(|b| text(&b["delivery_id"]))
        .collect();
    assert_eq!(
        keys.len(),
        1,
        "one escalated DOWN (a resend after kill -9 keeps its key): {:?}",
        alerts(&second)
    );
    assert_eq!(count(&first, "api", "down"), 1, "{:?}", alerts(&first));
}
