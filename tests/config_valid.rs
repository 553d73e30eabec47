//! Valid configs load with the values they state: the repository's example
//! `monitors.yaml` and `tests/fixtures/config/valid.yaml`.

use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};
use std::time::Duration;
use wsprobe::alert::settings::{ChannelSettings, SmtpSecurity};
use wsprobe::check::proxy::ProxySetting;
use wsprobe::config::{self, Config, Monitor};
use wsprobe::notification::NotificationKind;
use wsprobe::quorum::Quorum;
use wsprobe::schedule::Schedule;
use wsprobe::state::route::Route;
use wsprobe::state::store::StateLocation;

fn env(name: &str) -> Option<String> {
    match name {
        "CHAT_TOKEN" => Some("chat-token-value".into()),
        "SMTP_PASSWORD" => Some("smtp-password-value".into()),
        "HOOK_SECRET" => Some("hook-secret-value".into()),
        "ROOM" => Some("lobby".into()),
        _ => None,
    }
}

fn load(path: &str) -> Config {
    let text = std::fs::read_to_string(path).unwrap();
    match config::load_str(&text, Path::new(path), &env) {
        Ok(c) => c,
        Err(e) => panic!("{path} did not load:\n{e}"),
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn monitor<'a>(c: &'a Config, name: &str) -> &'a Monitor {
    c.monitors.iter().find(|m| m.name == name).unwrap()
}

#[test]
fn the_example_monitors_yaml_validates_with_its_variables_set() {
    let c = load("monitors.yaml");
    let names: Vec<&str> = c.monitors.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["chat-gateway", "market-feed", "status-socket"]);
    let channels: Vec<&str> = c.channels.iter().map(|ch| ch.name.as_str()).collect();
    assert_eq!(channels, ["oncall", "ops-hook", "logfile"]);
    assert_eq!(
        c.settings.state,
        StateLocation::Sqlite(PathBuf::from("./wsprobe.db"))
    );
    let chat = monitor(&c, "chat-gateway");
    assert_eq!(
        chat.options.headers,
        ["Authorization: Bearer chat-token-value"]
    );
}

#[test]
fn the_example_needs_its_variables() {
    let text = std::fs::read_to_string("monitors.yaml").unwrap();
    let errors = config::load_str(&text, Path::new("monitors.yaml"), &|_| None).unwrap_err();
    let vars: Vec<&str> = ["CHAT_TOKEN", "SMTP_PASSWORD", "HOOK_SECRET"].to_vec();
    assert_eq!(errors.0.len(), vars.len(), "{errors}");
    for var in vars {
        assert!(
            errors
                .to_string()
                .contains(&format!("${{{var}}} is not set")),
            "{errors}"
        );
    }
}

#[test]
fn settings_and_global_sections_are_read() {
    let c = load("tests/fixtures/config/valid.yaml");
    let s = &c.settings;
    assert_eq!(s.concurrency, 8);
    assert_eq!(s.jitter, secs(2));
    assert_eq!(
        s.state,
        StateLocation::Sqlite(PathBuf::from("tests/fixtures/config/state/wsprobe.db"))
    );
    assert_eq!(s.retention, secs(3 * 24 * 3600));
    assert_eq!(s.listen, Some("127.0.0.1:9108".parse().unwrap()));
    assert_eq!(s.shutdown_grace, secs(15));
    assert_eq!((s.cluster.heartbeat, s.cluster.lease), (secs(1), secs(5)));
    assert_eq!(
        s.heartbeat_url.as_deref(),
        Some("https://hc.example.com/ping/wsprobe")
    );
    assert_eq!(s.heartbeat_every, secs(30));
    assert_eq!(
        c.allow_probe_targets,
        ["wss://*.example.com/*", "ws://127.0.0.1:*/*"]
    );
    assert_eq!(c.maintenance.len(), 1);
    assert_eq!(c.maintenance[0].label.as_deref(), Some("weekly patching"));
    // 2024-01-07 is a Sunday.
    assert!(c.maintenance[0].active_at(at("2024-01-07T03:10:00Z")));
    assert!(!c.maintenance[0].active_at(at("2024-01-08T03:10:00Z")));
    let strict = &c.modules["strict"];
    assert_eq!(
        (strict.timeout, strict.retries, strict.ping),
        (secs(5), 0, false)
    );
}

#[test]
fn a_monitor_that_sets_every_option_keeps_its_own_values() {
    let c = load("tests/fixtures/config/valid.yaml");
    let m = monitor(&c, "chat-gateway");
    assert_eq!(m.url, "wss://chat.example.com/ws?room=lobby");
    assert!(matches!(m.schedule, Schedule::Every(d) if d == secs(30)));
    let o = &m.options;
    assert_eq!(o.timeout, secs(4));
    assert_eq!(o.connect_timeout, Some(secs(2)));
    assert_eq!(
        o.headers,
        [
            "Authorization: Bearer chat-token-value",
            "X-Literal: ${NOT_A_VAR}"
        ]
    );
    assert_eq!(o.origin.as_deref(), Some("https://app.example.com"));
    assert_eq!(o.subprotocols, ["chat.v1", "chat.v2"]);
    assert!(!o.ping);
    assert_eq!((o.ping_every, o.hold), (Some(secs(2)), Some(secs(5))));
    // `send` then `expect`: the short form of a two-step script.
    let script: Vec<String> = o.steps.iter().map(|s| s.description()).collect();
    assert_eq!(script, ["send text (13 bytes)", r#"expect /"pong"/"#]);
    assert_eq!(
        o.tls.ca_file,
        Some(PathBuf::from("tests/fixtures/config/certs/test-ca.pem"))
    );
    assert!(!o.tls.system_roots && !o.tls.insecure);
    assert_eq!(o.cert_expiry_warn, secs(30 * 24 * 3600));
    assert_eq!(o.resolve, ["chat.example.com:443:10.0.0.7"]);
    assert_eq!(o.proxy, ProxySetting::None);
    assert_eq!((o.retries, o.retry_delay), (1, secs(1)));
    assert_eq!(o.max_message_bytes, 65536);
    assert_eq!(m.alert, ["oncall", "ops-hook"]);
    assert_eq!(
        (
            m.policy.failure_threshold,
            m.policy.success_threshold,
            m.policy.repeat
        ),
        (2, 2, None)
    );
    assert_eq!(m.maintenance.len(), 1);
    // Its own label over the one in `defaults`; an unquoted 1 is the text "1".
    let labels: Vec<(&str, &str)> = m
        .labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(labels, [("team", "chat"), ("tier", "1")]);
    // The spec is built from the same options.
    assert_eq!(m.spec.pinned_addr, Some("10.0.0.7".parse().unwrap()));
    assert!(m.spec.tls.is_some());
    let script: Vec<String> = m.spec.steps.iter().map(|s| s.description()).collect();
    assert_eq!(script[1], r#"expect /"pong"/"#);
}

#[test]
fn a_monitor_that_sets_nothing_takes_defaults_then_built_ins() {
    let c = load("tests/fixtures/config/valid.yaml");
    let m = monitor(&c, "status");
    assert_eq!(m.schedule.describe(), "*/1 * * * *");
    let o = &m.options;
    assert_eq!((o.timeout, o.retries, o.retry_delay), (secs(7), 2, secs(3)));
    assert_eq!(o.headers, ["X-Probe: wsprobe"]);
    assert!(o.ping, "built-in default");
    assert_eq!(o.proxy, ProxySetting::FromEnv, "built-in default");
    assert_eq!(m.alert, ["oncall"]);
    assert_eq!(m.policy.failure_threshold, 3);
    assert_eq!(m.policy.success_threshold, 1, "built-in default");
    assert_eq!(m.policy.repeat, Some(secs(3600)));
    assert_eq!(m.labels.get("tier").map(String::as_str), Some("2"));
    assert!(m.spec.tls.is_none());
}

#[test]
fn channels_of_each_type_are_read_with_secrets_from_the_environment() {
    let c = load("tests/fixtures/config/valid.yaml");
    let [email, hook, file] = &c.channels[..] else {
        panic!("{:?}", c.channels)
    };
    let ChannelSettings::Email(e) = &email.settings else {
        panic!()
    };
    assert_eq!(
        (e.host.as_str(), e.port, e.security),
        ("smtp.example.com", 465, SmtpSecurity::Tls)
    );
    assert_eq!(e.username.as_deref(), Some("alerts"));
    assert_eq!(e.password.as_deref(), Some("smtp-password-value"));
    assert_eq!(e.from, "wsprobe <alerts@example.com>");
    assert_eq!(e.to, ["oncall@example.com", "Backup <backup@example.com>"]);
    assert_eq!(e.timeout, config::DEFAULT_DELIVERY_TIMEOUT);
    assert_eq!(
        email.templates.subject,
        Some(PathBuf::from("tests/fixtures/config/templates/subject.j2"))
    );
    let ChannelSettings::Webhook(w) = &hook.settings else {
        panic!()
    };
    assert_eq!(w.url, "https://hooks.example.com/T000/B000");
    assert_eq!(w.headers, [("X-Team".to_string(), "sre".to_string())]);
    assert_eq!(w.secret.as_deref(), Some("hook-secret-value"));
    assert_eq!(w.timeout, secs(5));
    assert_eq!(
        hook.route,
        Route {
            labels: [("tier".to_string(), "1".to_string())].into(),
            kinds: Some(vec![NotificationKind::Down, NotificationKind::Recovered]),
            escalate_after: Some(secs(15 * 60)),
        }
    );
    assert_eq!(
        email.route,
        Route::default(),
        "no when: every alert, at once"
    );
    assert_eq!(
        hook.templates.body,
        Some(PathBuf::from(
            "tests/fixtures/config/templates/body.json.j2"
        ))
    );
    let ChannelSettings::File(f) = &file.settings else {
        panic!()
    };
    assert_eq!(f.path, PathBuf::from("-"));
}

#[test]
fn debug_output_of_a_config_holds_no_secret() {
    let c = load("tests/fixtures/config/valid.yaml");
    let debug = format!("{c:?}");
    for secret in [
        "chat-token-value",
        "smtp-password-value",
        "hook-secret-value",
    ] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
}

#[test]
fn load_reads_the_file_from_disk() {
    let c = config::load(Path::new("tests/fixtures/config/valid-no-env.yaml")).unwrap();
    assert_eq!(c.monitors[0].name, "local");
    let e = config::load(Path::new("tests/fixtures/config/does-not-exist.yaml")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "tests/fixtures/config/does-not-exist.yaml: cannot read config: No such file or directory"
    );
}

#[test]
fn builtin_templates_are_accepted_in_every_key_that_takes_a_template() {
    let c = load("tests/fixtures/config/valid-builtin-templates.yaml");
    let overrides = |name: &str| {
        let ch = c.channels.iter().find(|ch| ch.name == name).unwrap();
        let t = &ch.templates;
        [&t.subject, &t.text, &t.html, &t.body].map(|p| p.as_ref().map(|p| p.display().to_string()))
    };
    let b = |s: &str| Some(format!("builtin:{s}"));
    assert_eq!(
        overrides("mail"),
        [
            b("email_subject.j2"),
            b("email.txt.j2"),
            b("email.html.j2"),
            None
        ]
    );
    assert_eq!(overrides("slack"), [None, None, None, b("slack.json.j2")]);
    assert_eq!(
        overrides("chat-hook"),
        [None, None, None, b("chat.json.j2")]
    );
    assert_eq!(overrides("log"), [None, b("file.txt.j2"), None, None]);
    // And every channel builds with them, as `validate` and `run` do.
    wsprobe::daemon::build_channels(&c).expect("channels build");
}

#[test]
fn a_fleet_of_100_000_monitors_fits_in_one_file() {
    // Cluster mode spreads fleets this size over several instances; the
    // YAML parser's default node budget (250,000) stopped at ~49,000.
    let mut text = String::from("monitors:\n");
    for i in 0..100_000 {
        text.push_str(&format!(
            "  - {{ name: m{i:06}, url: \"ws://127.0.0.1:9/m{i}\" }}\n"
        ));
    }
    let c = config::load_str(&text, Path::new("fleet.yaml"), &env).unwrap();
    assert_eq!(c.monitors.len(), 100_000);
    assert_eq!(c.monitors[99_999].name, "m099999");
}

#[test]
fn an_alias_expansion_bomb_is_refused_with_its_position() {
    // Nine levels of ten aliases each would expand to 10^9 nodes.
    let mut text = String::from("x0: &x0 [a, a, a, a, a, a, a, a, a, a]\n");
    for level in 1..10 {
        let prev = format!("*x{}", level - 1);
        let items = [prev.as_str(); 10].join(", ");
        text.push_str(&format!("x{level}: &x{level} [{items}]\n"));
    }
    text.push_str("monitors: []\n");
    let e = config::load_str(&text, Path::new("bomb.yaml"), &env).unwrap_err();
    let message = e.to_string();
    assert!(message.starts_with("bomb.yaml:"), "{message}");
    assert!(message.contains("invalid YAML"), "{message}");
}

#[test]
fn a_source_address_comes_from_defaults_unless_the_monitor_sets_its_own() {
    let c = load("tests/fixtures/config/valid-source-address.yaml");
    let source = |name: &str| monitor(&c, name).spec.source_address;
    assert_eq!(source("from-defaults"), Some("127.0.0.2".parse().unwrap()));
    assert_eq!(source("own-v6"), Some("::1".parse().unwrap()));
}

#[test]
fn the_location_is_read_from_settings_and_is_default_without_one() {
    let c = load("tests/fixtures/config/valid-location.yaml");
    assert_eq!(c.settings.location, "eu-west");
    assert!(
        c.monitors[0].locations.is_empty(),
        "every location by default"
    );
    assert_eq!(c.monitors[0].quorum, Quorum::Majority);
    let c = load("tests/fixtures/config/valid-source-address.yaml");
    assert_eq!(c.settings.location, "default");
}

#[test]
fn locations_and_quorum_come_from_defaults_unless_the_monitor_sets_its_own() {
    let c = load("tests/fixtures/config/valid-locations.yaml");
    let placement = |name: &str| {
        let m = monitor(&c, name);
        (m.locations.clone(), m.quorum)
    };
    let three = vec!["eu-west".to_string(), "us-east".into(), "ap-south".into()];
    assert_eq!(placement("chat"), (three.clone(), Quorum::AtLeast(2)));
    assert_eq!(placement("strict"), (three, Quorum::All));
    assert_eq!(
        placement("europe"),
        (vec!["eu-west".to_string()], Quorum::AtLeast(1))
    );
    assert_eq!(placement("anywhere"), (Vec::new(), Quorum::AtLeast(2)));
    assert!(monitor(&c, "europe").checked_from("eu-west"));
    assert!(!monitor(&c, "europe").checked_from("us-east"));
    assert!(monitor(&c, "anywhere").checked_from("us-east"));
}
