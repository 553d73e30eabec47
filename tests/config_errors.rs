//! Golden tests: each invalid fixture under tests/fixtures/config/ breaks one
//! rule, and the loader must report exactly the expected message.

use std::path::Path;
use wsprobe::config;

const DIR: &str = "tests/fixtures/config";

/// The keys a monitor takes, in the order the loader lists them (one place,
/// so a new key is added once).
macro_rules! monitor_keys {
    () => {
        "name, url, maintenance, depends_on, schedule, alert, failure_threshold, success_threshold, repeat, locations, quorum, labels, timeout, connect_timeout, headers, origin, subprotocols, ping, ping_every, hold, send, expect, steps, protocol, warning_over, critical_over, ca_file, system_roots, cert, key, insecure, cert_expiry_warn, resolve, proxy, retries, retry_delay, max_message_bytes, source_address"
    };
}

fn env(name: &str) -> Option<String> {
    match name {
        "CHAT_TOKEN" => Some("chat-token-value".into()),
        "SMTP_PASSWORD" => Some("smtp-password-value".into()),
        "HOOK_SECRET" => Some("hook-secret-value".into()),
        "BAD_TOKEN" => Some("s3cret\r\nX-Injected: 1".into()),
        _ => None,
    }
}

fn errors(file: &str) -> Vec<String> {
    let path = format!("{DIR}/{file}");
    let text = std::fs::read_to_string(&path).unwrap();
    match config::load_str(&text, Path::new(&path), &env) {
        Ok(_) => vec!["(loaded without errors)".into()],
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

/// (fixture, the one error it must produce, without the "tests/fixtures/config/" prefix).
const RULES: &[(&str, &str)] = &[
    (
        "invalid-syntax.yaml",
        "4:14: invalid YAML: unclosed bracket '{'",
    ),
    (
        "invalid-unknown-key.yaml",
        concat!(
            "4:5: unknown key `timout`, did you mean `timeout`? (allowed keys: ",
            monitor_keys!(),
            ")"
        ),
    ),
    (
        "invalid-settings-key.yaml",
        "2:3: `settings`: unknown key `concurency`, did you mean `concurrency`? (allowed keys: concurrency, jitter, state, retention, listen, shutdown_grace, overdue_after, cluster, heartbeat_url, heartbeat_every, location, public_url, base_path, http, location_alert, group_window)",
    ),
    (
        "invalid-wrong-type.yaml",
        "4:14: `retries`: expected a whole number from 0 to 4294967295, found a string",
    ),
    (
        "invalid-missing-name.yaml",
        "2:5: missing required key `name`",
    ),
    (
        "invalid-missing-url.yaml",
        "2:5: missing required key `url`",
    ),
    (
        "invalid-missing-channel-type.yaml",
        "5:5: missing required key `type` (one of: email, webhook, file, pagerduty, opsgenie, slack, teams, discord, telegram, alertmanager)",
    ),
    (
        "invalid-missing-smtp-host.yaml",
        "6:11: `smtp`: missing required key `host`",
    ),
    (
        "invalid-missing-from.yaml",
        "5:5: missing required key `from`",
    ),
    ("invalid-missing-to.yaml", "5:5: missing required key `to`"),
    (
        "invalid-missing-webhook-url.yaml",
        "5:5: missing required key `url`",
    ),
    (
        "invalid-missing-file-path.yaml",
        "5:5: missing required key `path`",
    ),
    (
        "invalid-duration.yaml",
        "4:14: `timeout`: expected a duration like 30s, 5m, found \"10 parsecs\"",
    ),
    (
        "invalid-cron.yaml",
        "4:15: `schedule`: 4 fields in \"*/1 * * *\": expected 5 fields (m h dom mon dow), 6 with seconds, or '@every 30s'",
    ),
    (
        "invalid-cron-never-fires.yaml",
        "4:15: `schedule`: \"0 0 30 2 *\" never fires: no date matches it (check the day of month against the month)",
    ),
    (
        "invalid-url.yaml",
        "3:10: `url`: invalid URL: scheme https:// is not a WebSocket URL (use wss://)",
    ),
    (
        "invalid-duplicate-name.yaml",
        "4:11: `name`: duplicate monitor name \"chat\" (first defined on line 2)",
    ),
    (
        "invalid-unknown-channel.yaml",
        "4:21: `alert`: unknown channel \"pager\" (known channels: oncall, ops-hook)",
    ),
    (
        "invalid-undefined-env.yaml",
        "6:65: `password`: environment variable ${SMTP_PASSWORD_TYPO} is not set",
    ),
    (
        "invalid-header.yaml",
        "5:7: `headers`: invalid header \"X Team\": header name must be an HTTP token",
    ),
    (
        "invalid-header-secret.yaml",
        "7:7: `headers`: invalid header \"Authorization\": header values cannot contain CR, LF or NUL",
    ),
    (
        "invalid-threshold-phase.yaml",
        "4:37: `warning_over`: unknown phase `handshake` (one of dns, connect, tls, upgrade, open, close, total)",
    ),
    (
        "invalid-step-regex.yaml",
        "6:17: `expect`: invalid regular expression \"(pong\": unclosed group",
    ),
    (
        "invalid-step-base64.yaml",
        "5:15: `send`: invalid base64: Invalid symbol 32, offset 3.",
    ),
    (
        "invalid-step-action.yaml",
        "5:9: step 1: needs exactly one of `send`, `expect`, `expect_close`, `wait`",
    ),
    (
        "invalid-step-capture.yaml",
        "6:24: `capture`: the regex has no group 2 (it has 1)",
    ),
    (
        "invalid-step-json.yaml",
        "5:17: `expect`: expected `exists`, `==` or `!=` at character 8",
    ),
    (
        "invalid-step-close-code.yaml",
        "5:23: `expect_close`: 999 is not a close code (1000 to 4999)",
    ),
    (
        "invalid-quorum.yaml",
        "5:13: `quorum`: expected a whole number of locations (at least 1) or `all`, found \"most\"",
    ),
    (
        "invalid-quorum-above-locations.yaml",
        "5:13: `quorum`: 3 is more than the 2 locations listed (eu-west, us-east): no round could ever fail",
    ),
    (
        "invalid-locations-twice.yaml",
        "4:35: `locations`: \"eu-west\" is listed twice",
    ),
    (
        "invalid-location-alert.yaml",
        "2:25: `location_alert`: unknown channel \"pager\" (known channels: ops)",
    ),
    (
        "invalid-name-reserved.yaml",
        "2:11: `name`: \"@location eu-west\" starts with '@', which marks wsprobe's own incidents (a degraded location); choose another name",
    ),
    (
        "invalid-location.yaml",
        "2:13: `location`: \"eu west\" contains ' '; use letters, digits, '-', '_' and '.'",
    ),
    (
        "invalid-source-address.yaml",
        "4:21: `source_address`: invalid address \"eth0\": expected an IPv4 or IPv6 address of this host, like 10.0.0.5",
    ),
    (
        "invalid-regex.yaml",
        "5:13: `expect`: invalid regular expression \"(pong\": unclosed group",
    ),
    (
        "invalid-template.yaml",
        "7:15: `template`: cannot read template tests/fixtures/config/templates/missing.json.j2: No such file or directory",
    ),
    (
        "invalid-smtp-ca-file.yaml",
        "6:46: `ca_file`: cannot read CA file tests/fixtures/config/certs/missing-ca.pem: No such file or directory",
    ),
    (
        "invalid-smtp-ca-file-without-tls.yaml",
        "6:65: `ca_file`: needs `security: starttls` or `tls`",
    ),
    (
        "invalid-unknown-builtin-template.yaml",
        "9:15: `template`: no built-in template \"teams.json.j2\" (there are: email_subject.j2, email.txt.j2, email.html.j2, webhook.json.j2, slack.json.j2, chat.json.j2, file.txt.j2)",
    ),
    (
        "invalid-ca-file.yaml",
        "4:14: `ca_file`: cannot read CA file tests/fixtures/config/certs/missing-ca.pem: No such file or directory",
    ),
    (
        "invalid-threshold.yaml",
        "4:24: `failure_threshold`: must be at least 1, found 0",
    ),
    (
        "invalid-empty-monitors.yaml",
        "3:11: `monitors`: at least one monitor is required",
    ),
    (
        "invalid-maintenance-every.yaml",
        "2:14: `start`: expected a cron expression such as \"0 3 * * 0\" (a window opens at fixed times, not '@every')",
    ),
    (
        "invalid-channel-type.yaml",
        "5:11: `type`: unknown channel type \"sms\" (expected one of: email, webhook, file, pagerduty, opsgenie, slack, teams, discord, telegram, alertmanager)",
    ),
    (
        "invalid-listen.yaml",
        "2:11: `listen`: expected ADDRESS:PORT like 127.0.0.1:9108, localhost:9108 or :9108 (every interface), found \"localhost\"",
    ),
    (
        "invalid-cluster-lease.yaml",
        "4:12: `cluster.lease`: must be at least twice cluster.heartbeat (5s), found 8s",
    ),
    (
        "invalid-depends-on-unknown.yaml",
        "5:18: `depends_on`: no monitor is named \"edge-bl\", did you mean \"edge-lb\"?",
    ),
    (
        "invalid-depends-on-self.yaml",
        "4:18: `depends_on`: \"chat\" cannot depend on itself",
    ),
    (
        "invalid-depends-on-cycle.yaml",
        "2:66: `depends_on`: auth → chat → presence → auth is a cycle: no monitor in it could ever alert first",
    ),
    (
        "invalid-label-name.yaml",
        "4:15: `labels`: invalid label name \"Tier\": use lowercase letters, digits and _ (e.g. tier, team_name)",
    ),
    (
        "invalid-label-value.yaml",
        "6:21: `labels.tier`: expected a string, found a list",
    ),
    (
        "invalid-when-empty.yaml",
        "7:11: `when`: expected `labels`, `kinds` or both (leave `when` out to receive every alert)",
    ),
    (
        "invalid-when-key.yaml",
        "7:13: `when`: unknown key `label`, did you mean `labels`? (allowed keys: labels, kinds)",
    ),
    (
        "invalid-when-kind.yaml",
        "7:27: `when.kinds`: unknown kind \"recoverd\", did you mean \"recovered\"? (kinds: down, recovered, reminder)",
    ),
    (
        "invalid-when-kinds-empty.yaml",
        "7:20: `when.kinds`: must list at least one of: down, recovered, reminder (leave `kinds` out to receive every kind)",
    ),
    (
        "invalid-when-kinds-without-down.yaml",
        "7:20: `when.kinds`: must include down: a channel gets an incident's REMINDERs and RECOVERED only if it got its DOWN",
    ),
    (
        "invalid-when-label-value.yaml",
        "8:23: `when.labels.tier`: expected a string, found a mapping",
    ),
    (
        "invalid-when-labels-empty.yaml",
        "7:21: `when.labels`: must list at least one label (leave `labels` out to match every monitor)",
    ),
    (
        "invalid-escalate-after.yaml",
        "7:21: `escalate_after`: expected a duration like 30s, 5m, found \"soon\"",
    ),
    (
        "invalid-escalate-after-key.yaml",
        "7:5: unknown key `escalate_afer`, did you mean `escalate_after`? (allowed keys: type, url, timeout, when, escalate_after)",
    ),
    (
        "invalid-heartbeat-url.yaml",
        "2:18: `heartbeat_url`: invalid URL: scheme ftp:// is not http:// or https://",
    ),
    (
        "invalid-http-auth-empty.yaml",
        "3:9: `http.auth`: names no credentials: give bearer_token, basic (user and password), or both",
    ),
    (
        "invalid-http-auth-literal-token.yaml",
        "4:21: `http.auth.bearer_token`: must come from the environment, e.g. bearer_token: ${BEARER_TOKEN}, so the secret is not written in the file",
    ),
    (
        "invalid-http-auth-basic-user.yaml",
        "4:22: `http.auth.basic.user`: must be non-empty and without `:` (basic authentication joins user and password with it)",
    ),
    (
        "invalid-http-allowed-hosts-empty.yaml",
        "3:20: `http.allowed_hosts`: is empty, which would refuse every request: list the names the page is reached by, or remove the key",
    ),
    (
        "invalid-http-allowed-hosts-port.yaml",
        "3:41: `http.allowed_hosts`: \"status.example.com:9108\" has a port: list host names only (any port is accepted)",
    ),
    (
        "invalid-base-path.yaml",
        "2:14: `base_path`: must start with /, e.g. /wsprobe, found \"wsprobe/\"",
    ),
];

#[test]
fn each_invalid_fixture_reports_exactly_its_error() {
    let mut mismatches = Vec::new();
    for (file, expected) in RULES {
        let expected = format!("{DIR}/{file}:{expected}");
        let got = errors(file);
        if got != [expected.clone()] {
            mismatches.push(format!(
                "{file}\n  expected: {expected}\n  got:      {got:?}"
            ));
        }
    }
    assert!(mismatches.is_empty(), "\n{}", mismatches.join("\n"));
}

#[test]
fn every_invalid_fixture_is_covered() {
    for entry in std::fs::read_dir(DIR).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let covered = RULES.iter().any(|(f, _)| *f == name) || MANY.0 == name || TOP.0 == name;
        assert!(
            !name.starts_with("invalid-") || covered,
            "{name} has no expected message"
        );
    }
}

/// Errors in several monitors and sections: all of them, in file order.
const MANY: (&str, &[&str]) = (
    "invalid-many.yaml",
    &[
        "3:16: `concurrency`: must be at least 1, found 0",
        "4:11: `jitter`: expected a duration like 30s, 5m, found \"a bit\"",
        "10:10: `url`: invalid URL: scheme http:// is not a WebSocket URL (use ws://)",
        "11:15: `schedule`: 2 fields in \"every minute\": expected 5 fields (m h dom mon dow), 6 with seconds, or '@every 30s'",
        concat!(
            "12:5: unknown key `timout`, did you mean `timeout`? (allowed keys: ",
            monitor_keys!(),
            ")"
        ),
        "13:14: `retries`: expected a whole number from 0 to 4294967295, found a string",
        "18:31: `headers`: environment variable ${MISSING_TOKEN} is not set",
        "19:13: `expect`: invalid regular expression \"[unclosed\": unclosed character class",
        "20:24: `success_threshold`: must be at least 1, found 0",
        "21:21: `alert`: unknown channel \"pager\" (known channels: oncall)",
        "22:11: `name`: duplicate monitor name \"fine\" (first defined on line 14)",
        "27:47: `security`: expected starttls, tls or none, found \"ssl\"",
        "29:9: `to`: at least one recipient is required",
    ],
);

#[test]
fn errors_in_several_monitors_and_sections_are_all_reported() {
    let expected: Vec<String> = MANY
        .1
        .iter()
        .map(|e| format!("{DIR}/{}:{e}", MANY.0))
        .collect();
    assert_eq!(errors(MANY.0), expected);
}

/// A misspelt section: the unknown key, and the section it should have been.
const TOP: (&str, &[&str]) = (
    "invalid-unknown-top-key.yaml",
    &[
        "1:1: unknown key `monitor`, did you mean `monitors`? (allowed keys: settings, maintenance, allow_probe_targets, modules, defaults, monitors, channels)",
        "1:1: missing required key `monitors`",
    ],
);

#[test]
fn a_misspelt_section_is_reported_with_the_missing_one() {
    let mut expected: Vec<String> = TOP
        .1
        .iter()
        .map(|e| format!("{DIR}/{}:{e}", TOP.0))
        .collect();
    let mut got = errors(TOP.0);
    expected.sort();
    got.sort();
    assert_eq!(got, expected);
}

#[test]
fn a_secret_from_the_environment_never_appears_in_an_error() {
    let all = errors("invalid-header-secret.yaml").join("\n");
    assert!(
        !all.contains("s3cret") && !all.contains("X-Injected"),
        "{all}"
    );
}
