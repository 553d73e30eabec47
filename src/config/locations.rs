//! A monitor's `locations:` (where it is checked from; default, or `[]`:
//! every location with a live instance) and `quorum:` (how many of them must fail:
//! a whole number, `all`, or by default a majority), set per monitor or in
//! `defaults`.

use super::de::At;
use super::loader::Loader;
use crate::cluster::identity::usable_name;
use crate::quorum::Quorum;

/// The locations listed (empty: every location with a live instance) and
/// the quorum, or `None` when either is invalid (every error recorded).
pub(crate) fn placement(
    l: &mut Loader,
    locations: &Option<Vec<At<String>>>,
    quorum: &Option<At<String>>,
) -> Option<(Vec<String>, Quorum)> {
    let before = l.error_count();
    let listed = locations.as_ref().map(|list| listed(l, list));
    let quorum = quorum.as_ref().map(|q| (q.pos, parse_quorum(l, q)));
    if let (Some(listed), Some((pos, Some(Quorum::AtLeast(n))))) = (&listed, &quorum)
        && *n > listed.len()
        && !listed.is_empty()
    {
        l.key_error(
            *pos,
            "quorum",
            format!(
                "{n} is more than the {} locations listed ({}): no round could ever fail",
                listed.len(),
                listed.join(", ")
            ),
        );
    }
    if l.error_count() > before {
        return None;
    }
    let quorum = quorum.and_then(|(_, q)| q).unwrap_or_default();
    Some((listed.unwrap_or_default(), quorum))
}

fn listed(l: &mut Loader, list: &[At<String>]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in list {
        match usable_name(&name.value) {
            Ok(n) if out.contains(&n) => {
                l.key_error(name.pos, "locations", format!("{n:?} is listed twice"))
            }
            Ok(n) => out.push(n),
            Err(why) => l.key_error(name.pos, "locations", why),
        }
    }
    out
}

fn parse_quorum(l: &mut Loader, q: &At<String>) -> Option<Quorum> {
    let text = q.value.trim();
    if text == "all" {
        return Some(Quorum::All);
    }
    match text.parse::<usize>() {
        Ok(n) if n >= 1 => Some(Quorum::AtLeast(n)),
        _ => {
            l.key_error(
                q.pos,
                "quorum",
                format!(
                    "expected a whole number of locations (at least 1) or `all`, found {text:?}"
                ),
            );
            None
        }
    }
}
