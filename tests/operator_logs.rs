//! The daemon's logs as an operator reads them (issue 14): plain text when
//! stderr is a pipe (no ANSI escape codes unless `--color always`), every
//! failed check at WARN with its monitor, class, phase and message even
//! below `failure_threshold`, and health changes in the API's words.

mod daemon_support;
mod support;
mod support_http;

use daemon_support::{Daemon, QUICK, SOON, Scratch, field};
use std::ffi::OsStr;
use support::refused_port;

const ESC: char = '\x1b';

/// A monitor whose endpoint refuses connections, DOWN only after 3 runs.
async fn refusing_monitor(scratch: &Scratch) {
    let port = refused_port().await;
    scratch.write_config(&format!(
        r#"{QUICK}
monitors:
  - name: feed
    url: ws://{port}/ws
    schedule: "@every 300ms"
    failure_threshold: 3
"#
    ));
}

fn human_daemon(scratch: &Scratch, extra: &[&str], env: &[(&str, &str)]) -> Daemon {
    let config = scratch.config();
    let state = scratch.state();
    let mut args = vec![
        OsStr::new("run"),
        OsStr::new("--config"),
        config.as_os_str(),
        OsStr::new("--state"),
        state.as_os_str(),
    ];
    args.extend(extra.iter().map(OsStr::new));
    Daemon::spawn(args, scratch, env)
}

#[tokio::test]
async fn piped_human_logs_have_no_escape_codes_and_name_every_failure_and_the_change_to_down() {
    let scratch = Scratch::new();
    refusing_monitor(&scratch).await;
    let daemon = human_daemon(&scratch, &[], &[]);
    let down = daemon
        .until("the change to down", SOON, || {
            let err = daemon.stderr();
            err.lines()
                .find(|l| l.contains("health changed"))
                .map(str::to_string)
        })
        .await;
    assert!(
        down.contains("from=unknown") && down.contains("to=down"),
        "the state change uses the API's words: {down}"
    );
    let err = daemon.stderr();
    assert!(
        !err.contains(ESC),
        "escape codes in logs written to a pipe:\n{err:?}"
    );
    let failures: Vec<&str> = err.lines().filter(|l| l.contains("check failed")).collect();
    assert!(
        failures.len() >= 3,
        "the runs below the threshold are logged too:\n{err}"
    );
    for line in failures {
        assert!(line.contains(" WARN "), "a failure is a warning: {line}");
        for want in [
            "monitor=feed",
            "class=connect_error",
            "phase=connect",
            "error=",
        ] {
            assert!(line.contains(want), "{want} missing from {line}");
        }
    }
}

#[tokio::test]
async fn color_always_paints_piped_logs_even_with_no_color_and_never_keeps_them_plain() {
    let scratch = Scratch::new();
    refusing_monitor(&scratch).await;
    // NO_COLOR only governs `auto`: an explicit `always` is the user's choice.
    let painted = human_daemon(&scratch, &["--color", "always"], &[("NO_COLOR", "1")]);
    painted
        .until("a painted WARN line", SOON, || {
            painted
                .stderr()
                .lines()
                .find(|l| l.contains("check failed") && l.contains(ESC))
                .map(str::to_string)
        })
        .await;
    drop(painted);

    let scratch = Scratch::new();
    refusing_monitor(&scratch).await;
    let plain = human_daemon(&scratch, &["--color=never"], &[]);
    plain
        .until("a failure", SOON, || {
            plain
                .stderr()
                .lines()
                .find(|l| l.contains("check failed"))
                .map(str::to_string)
        })
        .await;
    assert!(!plain.stderr().contains(ESC), "{:?}", plain.stderr());
}

#[tokio::test]
async fn a_failure_below_the_threshold_is_a_json_warning_with_its_fields() {
    let scratch = Scratch::new();
    refusing_monitor(&scratch).await;
    let daemon = Daemon::run(&scratch, &[]);
    let line = daemon
        .wait_log("check failed", &[("monitor", "feed")], SOON)
        .await;
    assert_eq!(field(&line, "level"), "WARN");
    assert_eq!(field(&line, "class"), "connect_error");
    assert_eq!(field(&line, "phase"), "connect");
    assert!(
        field(&line, "error").contains("refused"),
        "the failure's message: {line}"
    );
    let down = daemon
        .wait_log("health changed", &[("monitor", "feed")], SOON)
        .await;
    assert_eq!(field(&down, "from"), "unknown");
    assert_eq!(field(&down, "to"), "down");
}
