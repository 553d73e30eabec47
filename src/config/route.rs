//! A channel's routing keys, the same for every channel type: `when:`
//! (`labels`, `kinds`) and `escalate_after:` → [`Route`]. What they mean,
//! and why a RECOVERED follows the DOWN, is in [`crate::state::route`].

use super::de::{At, Pairs};
use super::keys::closest;
use super::loader::Loader;
use crate::notification::NotificationKind;
use crate::state::route::Route;
use serde::Deserialize;

/// The routing keys of a channel.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRoute {
    pub when: Option<At<RawWhen>>,
    pub escalate_after: Option<At<String>>,
}

/// `when:`: which notifications a channel receives.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWhen {
    pub labels: Option<At<Pairs>>,
    pub kinds: Option<At<Vec<At<String>>>>,
}

/// The validated route; `None` when it has errors (all recorded).
pub(crate) fn route(l: &mut Loader, raw: RawRoute) -> Option<Route> {
    let before = l.error_count();
    let mut route = Route::default();
    if let Some(when) = &raw.when {
        if when.value.labels.is_none() && when.value.kinds.is_none() {
            l.key_error(
                when.pos,
                "when",
                "expected `labels`, `kinds` or both (leave `when` out to receive every alert)",
            );
        }
        if let Some(labels) = &when.value.labels {
            if labels.value.0.is_empty() {
                l.key_error(
                    labels.pos,
                    "when.labels",
                    "must list at least one label (leave `labels` out to match every monitor)",
                );
            }
            route.labels = super::labels::labels(l, "when.labels", Some(&labels.value));
        }
        route.kinds = when.value.kinds.as_ref().map(|k| kinds(l, k));
    }
    if let Some(delay) = &raw.escalate_after {
        route.escalate_after = l.positive_duration("escalate_after", delay);
    }
    (l.error_count() == before).then_some(route)
}

/// `kinds: [down, recovered]`: known kinds, at least one, `down` among them.
fn kinds(l: &mut Loader, list: &At<Vec<At<String>>>) -> Vec<NotificationKind> {
    let all: Vec<&str> = NotificationKind::all().iter().map(|k| k.name()).collect();
    let known = all.join(", ");
    let mut out = Vec::new();
    for name in &list.value {
        match NotificationKind::from_name(&name.value) {
            Some(kind) if !out.contains(&kind) => out.push(kind),
            Some(_) => {}
            None => {
                let hint = closest(&name.value, all.iter().copied())
                    .map(|k| format!(", did you mean {k:?}?"))
                    .unwrap_or_default();
                l.key_error(
                    name.pos,
                    "when.kinds",
                    format!("unknown kind {:?}{hint} (kinds: {known})", name.value),
                );
            }
        }
    }
    if list.value.is_empty() {
        l.key_error(
            list.pos,
            "when.kinds",
            format!("must list at least one of: {known} (leave `kinds` out to receive every kind)"),
        );
    } else if !out.is_empty() && !out.contains(&NotificationKind::Down) {
        l.key_error(
            list.pos,
            "when.kinds",
            "must include down: a channel gets an incident's REMINDERs and RECOVERED only if it got its DOWN",
        );
    }
    out
}
