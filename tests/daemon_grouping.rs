//! Grouping (`settings.group_window`) end to end: the real daemon watches 20
//! endpoints that refuse at once, then recover at once (a fault server
//! started on the refused port), and alerts real HTTP receivers: a webhook
//! and a Slack channel each get one notification listing all 20, PagerDuty
//! gets one event per incident (each must resolve on its own), and the
//! recoveries group the same way.

mod daemon_support;
mod support;
mod support_http;

use daemon_support::{Daemon, SOON, Scratch};
use serde_json::Value;
use std::collections::BTreeSet;
use support::{Behavior, FaultServer, refused_port};
use support_http::Receiver;

const MONITORS: usize = 20;
const ROUTING_KEY: &str = "R0UTINGKEY0123456789abcdef012345";

fn json_bodies(receiver: &Receiver, path: &str) -> Vec<Value> {
    receiver
        .requests()
        .iter()
        .filter(|r| r.path == path)
        .map(|r| serde_json::from_slice(&r.body).expect("JSON"))
        .collect()
}

#[tokio::test]
async fn twenty_monitors_down_at_once_reach_each_channel_people_read_as_one_alert() {
    let addr = refused_port().await;
    let r = Receiver::start(&[]).await;
    let mut yaml = format!(
        r#"settings: {{ jitter: 0s, shutdown_grace: 5s, group_window: 2s }}
defaults: {{ schedule: "@every 1s", timeout: 1s, retries: 0, proxy: none, alert: [hook, chat, pd] }}
channels:
  hook: {{ type: webhook, url: "{hook}" }}
  chat: {{ type: slack, url: "{chat}" }}
  pd: {{ type: pagerduty, routing_key: "${{PD_ROUTING_KEY}}", url: "{pd}" }}
monitors:
"#,
        hook = r.url("/hook"),
        chat = r.url("/services/T000/B000/slacktoken"),
        pd = r.url("/pd"),
    );
    for i in 0..MONITORS {
        yaml += &format!("  - {{ name: m{i:02}, url: \"ws://{addr}/m{i:02}\" }}\n");
    }
    let scratch = Scratch::new();
    scratch.write_config(&yaml);
    let daemon = Daemon::run(&scratch, &[("PD_ROUTING_KEY", ROUTING_KEY)]);

    let pd_events = |action: &str| {
        json_bodies(&r, "/pd/v2/enqueue")
            .into_iter()
            .filter(|b| b["event_action"] == action)
            .count()
    };
    daemon
        .until(
            "20 PagerDuty triggers and a grouped webhook DOWN",
            SOON,
            || {
                (pd_events("trigger") == MONITORS && !json_bodies(&r, "/hook").is_empty())
                    .then_some(())
            },
        )
        .await;
    // Past another window: nothing else comes.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let hook = json_bodies(&r, "/hook");
    assert_eq!(hook.len(), 1, "one grouped DOWN: {hook:?}");
    let down = &hook[0];
    assert_eq!(down["kind"], "down");
    assert_eq!(down["monitor"], "20 monitors");
    assert_eq!(down["class"], "connect_error");
    let members: BTreeSet<&str> = down["group"]
        .as_array()
        .expect("group")
        .iter()
        .map(|m| m["monitor"].as_str().unwrap())
        .collect();
    assert_eq!(members.len(), MONITORS, "{down}");
    let incidents: BTreeSet<&str> = down["group"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["incident_id"].as_str().unwrap())
        .collect();
    assert_eq!(incidents.len(), MONITORS, "each keeps its own incident");
    let message = down["message"].as_str().unwrap();
    assert!(
        message.starts_with("20 monitors went down together: m"),
        "{message}"
    );
    assert!(
        message.contains("m07 (connect_error in connect)"),
        "{message}"
    );
    let slack = json_bodies(&r, "/services/T000/B000/slacktoken");
    assert_eq!(slack.len(), 1, "one grouped Slack message: {slack:?}");
    assert!(slack[0].to_string().contains("20 monitors"), "{}", slack[0]);
    assert_eq!(
        pd_events("trigger"),
        MONITORS,
        "PagerDuty: one per incident"
    );

    // All recover at once: grouped the same way; PagerDuty resolves each.
    let _up = FaultServer::start_on(addr, Behavior::Healthy).await;
    daemon
        .until("20 resolves and a grouped RECOVERED", SOON, || {
            (pd_events("resolve") == MONITORS && json_bodies(&r, "/hook").len() == 2).then_some(())
        })
        .await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let hook = json_bodies(&r, "/hook");
    assert_eq!(hook.len(), 2, "{hook:?}");
    assert_eq!(hook[1]["kind"], "recovered");
    assert_eq!(hook[1]["group"].as_array().map(Vec::len), Some(MONITORS));
    assert_eq!(json_bodies(&r, "/services/T000/B000/slacktoken").len(), 2);
}
