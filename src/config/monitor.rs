//! Monitors: a monitor's keys over `defaults` over built-in defaults, its
//! schedule, alert channels, thresholds and maintenance windows, and the
//! check spec it runs.

use super::Monitor;
use super::de::At;
use super::keys::{fields_of, split};
use super::loader::Loader;
use super::node::{Node, Pos};
use super::options::{TlsCache, build_spec, check_options};
use super::raw::{RawAlerting, RawMonitorOwn, RawOptions, RawWindow};
use crate::check::spec::Target;
use crate::schedule::{MaintenanceWindow, Schedule};
use crate::state::policy::Policy;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How often a monitor runs when neither it nor `defaults` says.
pub const DEFAULT_SCHEDULE: Duration = Duration::from_secs(60);

/// The `defaults:` section, applied key by key under each monitor.
#[derive(Debug, Default)]
pub(crate) struct Defaults {
    pub alerting: RawAlerting,
    pub options: RawOptions,
}

/// Decode `defaults:` and report its errors once, before any monitor uses it.
pub(crate) fn defaults(l: &mut Loader, node: Option<&Node>, channels: &[String]) -> Defaults {
    let Some(node) = node else {
        return Defaults::default();
    };
    let parts: [&[&str]; 2] = [fields_of::<RawAlerting>(), fields_of::<RawOptions>()];
    let Some([alerting, options]) = split_into(l, node, &parts) else {
        return Defaults::default();
    };
    let d = Defaults {
        alerting: l.decode_each(&alerting, RawAlerting::or),
        options: l.decode_each(&options, RawOptions::or),
    };
    alerting_settings(l, &d.alerting, channels);
    super::labels::labels(l, "labels", d.alerting.labels.as_ref());
    check_options(l, &d.options);
    d
}

fn split_into<const N: usize>(
    l: &mut Loader,
    node: &Node,
    parts: &[&[&str]; N],
) -> Option<[Node; N]> {
    match split(node, parts) {
        Ok((nodes, errors)) => {
            for e in errors {
                l.de_error(e);
            }
            nodes.try_into().ok()
        }
        Err(e) => {
            l.de_error(e);
            None
        }
    }
}

/// Everything a monitor needs from the rest of the file.
pub(crate) struct MonitorContext<'a> {
    pub defaults: &'a Defaults,
    pub channels: &'a [String],
    pub tls: &'a mut TlsCache,
    /// Names seen so far, with where they were first defined.
    pub names: &'a mut HashMap<String, Pos>,
    /// Every `depends_on` entry so far: (monitor, the parent it names), checked
    /// once every monitor is known ([`super::dependencies::check`]).
    pub dependencies: &'a mut Vec<(String, At<String>)>,
}

/// Validate one monitor; `None` when it has errors (all recorded).
pub(crate) fn monitor(l: &mut Loader, node: &Node, cx: &mut MonitorContext) -> Option<Monitor> {
    let before = l.error_count();
    let parts: [&[&str]; 3] = [
        fields_of::<RawMonitorOwn>(),
        fields_of::<RawAlerting>(),
        fields_of::<RawOptions>(),
    ];
    let [own, alerting, options] = split_into(l, node, &parts)?;
    // Decode every part before giving up, so each reports its own errors.
    let own: Option<RawMonitorOwn> = l.decode(&own);
    let alerting = l.decode_each(&alerting, RawAlerting::or);
    let options = l.decode_each(&options, RawOptions::or);

    let alerting = alerting.or(&cx.defaults.alerting);
    let settings = alerting_settings(l, &alerting, cx.channels);
    let labels = super::labels::labels(l, "labels", alerting.labels.as_ref());
    let placement = super::locations::placement(l, &alerting.locations, &alerting.quorum);
    let (mut opts, origins) = check_options(l, &options.or(&cx.defaults.options));
    let own = own?;
    let name = monitor_name(l, &own.name, cx.names);
    let maintenance = windows(l, own.maintenance.as_deref().unwrap_or_default());
    let target = target(l, &own.url);
    opts.secret_values.extend(l.take_sent_expansions());
    let (schedule, alert, policy) = settings?;
    let (locations, quorum) = placement?;
    let (name, maintenance, target) = (name?, maintenance?, target?);
    let depends_on = super::dependencies::listed(l, &name, own.depends_on.as_deref());
    if l.error_count() > before {
        return None;
    }
    cx.dependencies
        .extend(depends_on.iter().map(|p| (name.clone(), p.clone())));
    let spec = build_spec(l, target.clone(), &opts, &origins, own.url.pos, cx.tls)?;
    Some(Monitor {
        name,
        url: target.url,
        options: opts,
        spec: Arc::new(spec),
        schedule,
        alert,
        policy,
        maintenance,
        locations,
        quorum,
        depends_on: depends_on.into_iter().map(|p| p.value).collect(),
        labels,
    })
}

fn target(l: &mut Loader, url: &At<String>) -> Option<Target> {
    let text = l.text("url", url)?;
    match Target::parse(&text.value) {
        Ok(t) => Some(t),
        Err(e) => {
            let reason = match e {
                crate::check::spec::SpecError::Url { reason, .. } => reason,
                other => other.to_string(),
            };
            let note = text.source_note();
            l.key_error(url.pos, "url", format!("invalid URL{note}: {reason}"));
            None
        }
    }
}

fn monitor_name(
    l: &mut Loader,
    name: &At<String>,
    names: &mut HashMap<String, Pos>,
) -> Option<String> {
    let n = name.value.trim();
    if n.is_empty() {
        l.key_error(name.pos, "name", "must not be empty");
        return None;
    }
    if n.chars().any(char::is_control) {
        l.key_error(name.pos, "name", "must not contain control characters");
        return None;
    }
    if n.starts_with('@') {
        l.key_error(
            name.pos,
            "name",
            format!("{n:?} starts with '@', which marks wsprobe's own incidents (a degraded location); choose another name"),
        );
        return None;
    }
    if let Some(first) = names.get(n) {
        l.key_error(
            name.pos,
            "name",
            format!(
                "duplicate monitor name {n:?} (first defined on line {})",
                first.line
            ),
        );
        return None;
    }
    names.insert(n.to_string(), name.pos);
    Some(n.to_string())
}

/// Schedule, alert channels and thresholds, with built-in defaults.
fn alerting_settings(
    l: &mut Loader,
    a: &RawAlerting,
    channels: &[String],
) -> Option<(Schedule, Vec<String>, Policy)> {
    let before = l.error_count();
    let schedule = match &a.schedule {
        None => Some(Schedule::Every(DEFAULT_SCHEDULE)),
        Some(s) => Schedule::parse(&s.value)
            .map_err(|e| l.key_error(s.pos, "schedule", e))
            .ok(),
    };
    let alert = alert_channels(l, "alert", a.alert.iter().flatten(), channels);
    let mut policy = Policy::default();
    for (key, raw, field) in [
        (
            "failure_threshold",
            &a.failure_threshold,
            &mut policy.failure_threshold,
        ),
        (
            "success_threshold",
            &a.success_threshold,
            &mut policy.success_threshold,
        ),
    ] {
        if let Some(v) = raw {
            if v.value == 0 {
                l.key_error(v.pos, key, "must be at least 1, found 0");
            }
            *field = v.value;
        }
    }
    if let Some(r) = &a.repeat {
        // `never` (or 0) turns reminders off, e.g. to override `defaults`.
        policy.repeat = if r.value.trim() == "never" {
            None
        } else {
            l.duration("repeat", r).filter(|d| !d.is_zero())
        };
    }
    match schedule {
        Some(s) if l.error_count() == before => Some((s, alert, policy)),
        _ => None,
    }
}

/// The channels a list under `key` names, each once; unknown names are errors.
pub(crate) fn alert_channels<'a>(
    l: &mut Loader,
    key: &str,
    names: impl IntoIterator<Item = &'a At<String>>,
    channels: &[String],
) -> Vec<String> {
    let mut alert: Vec<String> = Vec::new();
    for name in names {
        if !channels.contains(&name.value) {
            let known = if channels.is_empty() {
                "no channels are defined".to_string()
            } else {
                format!("known channels: {}", channels.join(", "))
            };
            l.key_error(
                name.pos,
                key,
                format!("unknown channel {:?} ({known})", name.value),
            );
        } else if !alert.contains(&name.value) {
            alert.push(name.value.clone());
        }
    }
    alert
}

/// Maintenance windows (a monitor's own or the global ones).
pub(crate) fn windows(l: &mut Loader, raw: &[RawWindow]) -> Option<Vec<MaintenanceWindow>> {
    let before = l.error_count();
    let mut out = Vec::new();
    for w in raw {
        let start = match Schedule::parse(&w.start.value) {
            Ok(s @ Schedule::Cron { .. }) => Some(s),
            Ok(Schedule::Every(_)) => {
                l.key_error(
                    w.start.pos,
                    "start",
                    "expected a cron expression such as \"0 3 * * 0\" (a window opens at fixed times, not '@every')",
                );
                None
            }
            Err(e) => {
                l.key_error(w.start.pos, "start", e);
                None
            }
        };
        let duration = l.positive_duration("duration", &w.duration);
        if let (Some(start), Some(duration)) = (start, duration) {
            out.push(MaintenanceWindow {
                start,
                duration,
                label: w.label.as_ref().map(|s| s.value.clone()),
            });
        }
    }
    (l.error_count() == before).then_some(out)
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, ConfigErrors, load_str};
    use std::path::Path;
    use std::time::Duration;

    fn load(yaml: &str) -> Result<Config, ConfigErrors> {
        load_str(yaml, Path::new("m.yaml"), &|_| None)
    }

    /// A config with `defaults` (may be empty) and one monitor with extra keys.
    fn one_monitor(defaults: &str, monitor: &str) -> Config {
        let yaml = format!(
            "defaults: {{{defaults}}}\nmonitors:\n  - {{name: m, url: 'ws://h/', {monitor}}}\nchannels: {{a: {{type: file, path: '-'}}, b: {{type: file, path: '-'}}}}\n"
        );
        load(&yaml).unwrap_or_else(|e| panic!("{yaml}\n{e}"))
    }

    #[test]
    fn variables_expanded_into_what_a_check_sends_are_its_secrets_and_no_others() {
        let yaml = "defaults: { headers: { X-Trace: '${TRACE}' } }\n\
            monitors:\n  - { name: m, url: 'ws://h/${PATH_PART}/ws', send: 'hi ${MSG}', alert: [hook] }\n\
            channels: { hook: { type: webhook, url: 'http://127.0.0.1:9/${HOOK_PATH}' } }\n";
        let env = |name: &str| Some(format!("value-of-{name}"));
        let config = load_str(yaml, Path::new("m.yaml"), &env).unwrap_or_else(|e| panic!("{e}"));
        let secrets = &config.monitors[0].spec.secrets;
        let mut text =
            "value-of-TRACE value-of-PATH_PART value-of-MSG value-of-HOOK_PATH".to_string();
        secrets.scrub_str(&mut text);
        assert_eq!(text, "*** *** *** value-of-HOOK_PATH");
        assert_eq!(config.monitors[0].spec.shown_url(), "ws://h/***/ws");
    }

    #[test]
    fn a_monitor_key_beats_defaults_which_beat_built_ins() {
        let s = Duration::from_secs;
        // (defaults, monitor, expected timeout, retries, schedule, failure threshold, alert)
        let cases = [
            (
                "timeout: 7s, retries: 2, schedule: '@every 5m', failure_threshold: 3, alert: [a]",
                "timeout: 3s, retries: 0, schedule: '@every 10s', failure_threshold: 1, alert: [b]",
                (s(3), 0, "@every 10s", 1, vec!["b"]),
            ),
            (
                "timeout: 7s, retries: 2, schedule: '@every 5m', failure_threshold: 3, alert: [a]",
                "",
                (s(7), 2, "@every 5m", 3, vec!["a"]),
            ),
            ("", "", (s(10), 0, "@every 1m", 1, vec![])),
        ];
        for (defaults, monitor, (timeout, retries, schedule, threshold, alert)) in cases {
            let c = one_monitor(defaults, monitor);
            let m = &c.monitors[0];
            assert_eq!(m.options.timeout, timeout, "{defaults} | {monitor}");
            assert_eq!(m.spec.timeout, timeout, "the spec agrees with the options");
            assert_eq!(m.options.retries, retries);
            assert_eq!(m.schedule.describe(), schedule);
            assert_eq!(m.policy.failure_threshold, threshold);
            assert_eq!(m.alert, alert);
        }
    }

    #[test]
    fn labels_merge_with_defaults_label_by_label_and_the_monitors_value_wins() {
        let c = one_monitor(
            "labels: {tier: '2', team: core}",
            "labels: {tier: '1', region: eu}",
        );
        let labels: Vec<(&str, &str)> = c.monitors[0]
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(labels, [("region", "eu"), ("team", "core"), ("tier", "1")]);
        let c = one_monitor("labels: {tier: '2'}", "");
        assert_eq!(c.monitors[0].labels["tier"], "2");
        assert!(one_monitor("", "").monitors[0].labels.is_empty());
    }

    #[test]
    fn repeat_never_turns_off_reminders_set_in_defaults() {
        let c = one_monitor("repeat: 1h", "repeat: never");
        assert_eq!(c.monitors[0].policy.repeat, None);
        let c = one_monitor("repeat: 1h", "");
        assert_eq!(c.monitors[0].policy.repeat, Some(Duration::from_secs(3600)));
    }

    #[test]
    fn an_error_in_defaults_is_reported_once_for_all_monitors() {
        let yaml = "defaults: {timeout: soon}\nmonitors:\n  - {name: a, url: 'ws://a/'}\n  - {name: b, url: 'ws://b/'}\n";
        let e = load(yaml).unwrap_err();
        assert_eq!(
            e.to_string(),
            "m.yaml:1:21: `timeout`: expected a duration like 30s, 5m, found \"soon\""
        );
    }

    #[test]
    fn a_bad_url_from_the_environment_is_named_not_shown() {
        let yaml = "monitors:\n  - {name: m, url: '${CHAT_URL}'}\n";
        let env = |_: &str| Some("https://user:pw@chat.example.com/?token=t0k".to_string());
        let e = load_str(yaml, Path::new("m.yaml"), &env).unwrap_err();
        assert_eq!(
            e.to_string(),
            "m.yaml:2:20: `url`: invalid URL (the value of ${CHAT_URL}): scheme https:// is not a WebSocket URL (use wss://)"
        );
    }

    #[test]
    fn spec_errors_point_at_the_key_that_caused_them() {
        let cases = [
            (
                "subprotocols: [ok, 'bad proto']",
                "m.yaml:2:51: `subprotocols`: invalid value \"bad proto\": must be an HTTP token (letters, digits, !#$%&'*+-.^_`|~)",
            ),
            (
                "cert: Cargo.toml",
                "m.yaml:2:38: `cert`: needs `key`, the certificate's private key",
            ),
            (
                "ca_file: Cargo.toml",
                "m.yaml:2:41: `ca_file`: cannot use Cargo.toml: no PEM certificates found",
            ),
            (
                "proxy: 'ftp://p:21'",
                "m.yaml:2:39: `proxy`: invalid proxy \"ftp://p:21\": unsupported proxy scheme \"ftp\" (expected a URL like http://proxy:3128, or none)",
            ),
            (
                "resolve: ['h:80']",
                "m.yaml:2:42: `resolve`: invalid entry \"h:80\": expected HOST:PORT:ADDR, e.g. example.com:443:10.0.0.7",
            ),
        ];
        for (monitor, expected) in cases {
            let yaml = format!("monitors:\n  - {{name: m, url: 'wss://h/', {monitor}}}\n");
            let e = load(&yaml).unwrap_err();
            assert_eq!(e.to_string(), expected, "{monitor}");
        }
    }
}
