//! Templates cannot run away: a nested loop or a gigabyte of output is
//! stopped by the render budget (minijinja fuel and a 1 MiB output cap),
//! when `wsprobe validate` tries the template on the sample notifications
//! (exit 3, the message naming the channel and the template) and when the
//! daemon renders a real alert (the delivery fails with the same reason,
//! logged with the channel, and the daemon goes on).

mod daemon_support;
mod support_http;

use daemon_support::{Daemon, QUICK, SOON, Scratch};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The fixtures of this test, as absolute paths (messages show them so).
fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config/render")
        .join(name)
}

/// `wsprobe validate --config CONFIG`; its exit code and stderr. A template
/// that were not bounded would keep it busy for minutes: `SOON` catches that.
async fn validate(config: &Path) -> (Option<i32>, String) {
    let scratch = Scratch::new();
    let mut run = Daemon::spawn(
        [
            OsStr::new("validate"),
            OsStr::new("--config"),
            config.as_os_str(),
        ],
        &scratch,
        &[],
    );
    let status = run.wait_exit(SOON).await;
    (status.code(), run.stderr())
}

#[tokio::test]
async fn validate_stops_a_nested_loop_template_and_names_channel_and_template() {
    let config = fixture("nested-loop.yaml");
    let (code, stderr) = validate(&config).await;
    assert_eq!(code, Some(3), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!(
            "{}: channel log: template {}: line 1: rendering used up its budget of 500000 fuel \
             (template steps, and 64 bytes of data each): is a loop too large for one alert?",
            config.display(),
            fixture("nested-loop.txt.j2").display()
        )
    );
}

#[tokio::test]
async fn validate_stops_a_template_rendering_more_than_the_output_cap() {
    let config = fixture("huge-output.yaml");
    let (code, stderr) = validate(&config).await;
    assert_eq!(code, Some(3), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!(
            "{}: channel hook: template {}: the rendered output passed 1 MiB, the most one \
             alert part may be",
            config.display(),
            fixture("huge-output.json.j2").display()
        )
    );
}

/// Fine on the sample notification (monitor `chat-gateway`), a nested loop
/// for any other monitor: only a real alert reaches the loop.
const LOOPS_ON_REAL_ALERTS: &str = "{% if monitor == \"chat-gateway\" %}{{ summary }}\
{% else %}{% for a in range(100000) %}{% for b in range(100000) %}{% if a < 0 %}x{% endif %}\
{% endfor %}{% endfor %}{% endif %}\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_running_away_on_a_real_alert_fails_that_delivery_and_the_daemon_goes_on() {
    let scratch = Scratch::new();
    let template = scratch.path("loops.txt.j2");
    std::fs::write(&template, LOOPS_ON_REAL_ALERTS).unwrap();
    scratch.write_config(&format!(
        r#"{QUICK}monitors:
  - {{ name: api, url: "ws://127.0.0.1:9/ws", alert: [log, plain] }}
channels:
  log: {{ type: file, path: ./looping.log, templates: {{ text: loops.txt.j2 }} }}
  plain: {{ type: file, path: ./plain.log }}
"#
    ));
    let daemon = Daemon::run(&scratch, &[]);
    let failed = daemon
        .wait_log(
            "alert delivery failed; will retry",
            &[("channel", "log")],
            Duration::from_secs(30),
        )
        .await;
    assert_eq!(
        daemon_support::field(&failed, "error"),
        format!(
            "could not render the alert: channel log: template {}: line 1: rendering used up \
             its budget of 500000 fuel (template steps, and 64 bytes of data each): is a loop \
             too large for one alert?",
            template.display()
        )
    );
    // The other channel of the same monitor still got its alert.
    let plain = scratch.path("plain.log");
    daemon
        .until("the plain channel's alert", SOON, || {
            std::fs::read_to_string(&plain)
                .ok()
                .filter(|s| s.contains("api"))
        })
        .await;
    assert!(!scratch.path("looping.log").exists());
}
