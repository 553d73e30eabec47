//! `depends_on:` — the monitors a monitor sits behind (a gateway behind its
//! load balancer, a chat service behind its auth service). While a parent
//! is down the child's DOWN is held: the parent's alert already names the
//! outage, and one page beats a storm (Icinga's dependencies, Uptime Kuma's
//! groups). The graph is checked here: every parent exists, none is the
//! monitor itself or listed twice, and no chain of parents leads back.

use super::de::At;
use super::keys::closest;
use super::loader::Loader;
use super::node::Pos;
use std::collections::{HashMap, HashSet};

/// The parents `monitor` lists, trimmed, each once and none itself (errors
/// recorded), with their positions for [`check`].
pub(crate) fn listed(l: &mut Loader, monitor: &str, raw: Option<&[At<String>]>) -> Vec<At<String>> {
    let mut out: Vec<At<String>> = Vec::new();
    for parent in raw.unwrap_or_default() {
        let name = parent.value.trim();
        if name == monitor {
            l.key_error(
                parent.pos,
                "depends_on",
                format!("{name:?} cannot depend on itself"),
            );
        } else if out.iter().any(|n| n.value == name) {
            l.key_error(
                parent.pos,
                "depends_on",
                format!("{name:?} is listed twice"),
            );
        } else {
            out.push(At {
                value: name.to_string(),
                pos: parent.pos,
            });
        }
    }
    out
}

/// Every parent named in `edges` (monitor, parent as [`listed`] kept it) is
/// a monitor of the file,
/// and no chain of parents is a cycle (each cycle reported once, at the
/// entry that closes it).
pub(crate) fn check(l: &mut Loader, names: &HashMap<String, Pos>, edges: &[(String, At<String>)]) {
    let mut parents: HashMap<&str, Vec<&str>> = HashMap::new();
    for (child, parent) in edges {
        let name = parent.value.as_str();
        if names.contains_key(name) {
            parents.entry(child).or_default().push(name);
            continue;
        }
        let hint = closest(name, names.keys().map(String::as_str))
            .map(|n| format!(", did you mean {n:?}?"))
            .unwrap_or_default();
        l.key_error(
            parent.pos,
            "depends_on",
            format!("no monitor is named {name:?}{hint}"),
        );
    }
    let mut reported: Vec<Vec<&str>> = Vec::new();
    for (child, parent) in edges {
        let Some(path) = path_back(&parents, &parent.value, child) else {
            continue;
        };
        let mut cycle: Vec<&str> = path.clone();
        cycle.sort_unstable();
        if reported.contains(&cycle) {
            continue;
        }
        reported.push(cycle);
        let chain: Vec<&str> = std::iter::once(child.as_str()).chain(path).collect();
        l.key_error(
            parent.pos,
            "depends_on",
            format!(
                "{} is a cycle: no monitor in it could ever alert first",
                chain.join(" → ")
            ),
        );
    }
}

/// The chain of parents from `from` that reaches `to` (both included), if any.
fn path_back<'a>(
    parents: &HashMap<&'a str, Vec<&'a str>>,
    from: &'a str,
    to: &str,
) -> Option<Vec<&'a str>> {
    let mut stack: Vec<Vec<&'a str>> = vec![vec![from]];
    let mut seen: HashSet<&str> = HashSet::new();
    while let Some(path) = stack.pop() {
        let last = *path.last()?;
        if last == to {
            return Some(path);
        }
        if !seen.insert(last) {
            continue;
        }
        for next in parents.get(last).into_iter().flatten() {
            let mut longer = path.clone();
            longer.push(next);
            stack.push(longer);
        }
    }
    None
}
