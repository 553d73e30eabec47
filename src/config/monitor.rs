//! Monitors: a monitor's keys over `defaults` over built-in defaults, its
//! schedule, alert channels, thresholds and maintenance windows, and the
//! check spec it runs.

use super::Monitor;
use super::de::{At, fields_of, split};
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
        alerting: l.decode(&alerting).unwrap_or_default(),
        options: l.decode(&options).unwrap_or_default(),
    };
    alerting_settings(l, &d.alerting, channels);
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
    let alerting: Option<RawAlerting> = l.decode(&alerting);
    let options: Option<RawOptions> = l.decode(&options);

    let alerting = alerting.map(|a| a.or(&cx.defaults.alerting));
    let settings = alerting.and_then(|a| alerting_settings(l, &a, cx.channels));
    let checked = options.map(|o| check_options(l, &o.or(&cx.defaults.options)));
    let own = own?;
    let name = monitor_name(l, &own.name, cx.names);
    let maintenance = windows(l, own.maintenance.as_deref().unwrap_or_default());
    let target = l
        .text("url", &own.url)
        .and_then(|url| match Target::parse(&url.value) {
            Ok(t) => Some(t),
            Err(e) => {
                let reason = match e {
                    crate::check::spec::SpecError::Url { reason, .. } => reason,
                    other => other.to_string(),
                };
                l.key_error(
                    own.url.pos,
                    "url",
                    format!("invalid URL {}: {reason}", url.shown()),
                );
                None
            }
        });
    let (schedule, alert, policy) = settings?;
    let (name, maintenance, target) = (name?, maintenance?, target?);
    let (opts, origins) = checked?;
    if l.error_count() > before {
        return None;
    }
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
    })
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
    let mut alert: Vec<String> = Vec::new();
    for name in a.alert.iter().flatten() {
        if !channels.contains(&name.value) {
            let known = if channels.is_empty() {
                "no channels are defined".to_string()
            } else {
                format!("known channels: {}", channels.join(", "))
            };
            l.key_error(
                name.pos,
                "alert",
                format!("unknown channel {:?} ({known})", name.value),
            );
        } else if !alert.contains(&name.value) {
            alert.push(name.value.clone());
        }
    }
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
