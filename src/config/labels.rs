//! `labels:` of a monitor (its own over `defaults:`, key by key) and the
//! label names a channel's `when: {labels: …}` may ask for: names are
//! lowercase words (`tier`, `team_name`), values strings.

use super::de::Pairs;
use super::loader::Loader;
use std::collections::BTreeMap;

/// A monitor's labels over those of `defaults`: every label of `own`, then
/// each of `fallback` whose name `own` does not set.
pub(crate) fn merge(own: Option<Pairs>, fallback: Option<Pairs>) -> Option<Pairs> {
    match (own, fallback) {
        (Some(mut own), Some(fallback)) => {
            for (name, value) in fallback.0 {
                if !own.0.iter().any(|(n, _)| n.value == name.value) {
                    own.0.push((name, value));
                }
            }
            Some(own)
        }
        (own, fallback) => own.or(fallback),
    }
}

/// Validated labels (`key` names the mapping in errors: `labels`); every
/// bad name or value is recorded, and the good ones are kept.
pub(crate) fn labels(l: &mut Loader, key: &str, pairs: Option<&Pairs>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (name, value) in pairs.iter().flat_map(|p| &p.0) {
        if let Err(reason) = label_name(&name.value) {
            l.key_error(
                name.pos,
                key,
                format!("invalid label name {:?}: {reason}", name.value),
            );
            continue;
        }
        if let Some(text) = l.text(key, value) {
            out.insert(name.value.clone(), text.value);
        }
    }
    out
}

/// A label name is a lowercase letter or `_`, then lowercase letters,
/// digits and `_`: what Alertmanager and Prometheus accept as a label name,
/// in one case so `Tier` and `tier` cannot be two labels.
fn label_name(name: &str) -> Result<(), &'static str> {
    let mut chars = name.chars();
    match chars.next() {
        None => Err("must not be empty"),
        Some(c) if c.is_ascii_digit() => Err("must not start with a digit"),
        _ if name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') =>
        {
            Ok(())
        }
        _ => Err("use lowercase letters, digits and _ (e.g. tier, team_name)"),
    }
}

#[cfg(test)]
mod tests {
    use super::label_name;

    #[test]
    fn label_names_are_lowercase_words() {
        for good in ["tier", "team_name", "_x", "az2", "a"] {
            assert_eq!(label_name(good), Ok(()), "{good}");
        }
        let cases = [
            ("", "must not be empty"),
            ("1tier", "must not start with a digit"),
            (
                "Tier",
                "use lowercase letters, digits and _ (e.g. tier, team_name)",
            ),
            (
                "team-name",
                "use lowercase letters, digits and _ (e.g. tier, team_name)",
            ),
            (
                "tier.1",
                "use lowercase letters, digits and _ (e.g. tier, team_name)",
            ),
        ];
        for (bad, why) in cases {
            assert_eq!(label_name(bad), Err(why), "{bad:?}");
        }
    }
}
