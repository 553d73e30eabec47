//! Which keys a mapping may have: the field lists of the raw structs, the
//! split of one mapping between several of them, and "unknown key" messages
//! that name the allowed keys and the likely intended one.

use super::de::DeError;
use super::node::{Kind, Node};
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use std::fmt;

/// "unknown key `timout`, did you mean `timeout`? (allowed keys: …)"
pub(crate) fn unknown_key(key: &str, allowed: &[&str]) -> String {
    let suggestion = allowed
        .iter()
        .map(|a| (edit_distance(key, a), a))
        .filter(|(d, a)| *d <= 2.max(a.len() / 4) && *d < a.len().min(key.len()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| format!(", did you mean `{a}`?"))
        .unwrap_or_default();
    format!(
        "unknown key `{key}`{suggestion} (allowed keys: {})",
        allowed.join(", ")
    )
}

/// The one of `names` closest to a misspelt `name`, if one is close enough
/// (a monitor in `depends_on`, a notification kind).
pub(crate) fn closest<'a>(name: &str, names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    names
        .map(|n| (edit_distance(name, n), n))
        .filter(|(d, n)| *d <= 2.max(n.len() / 4))
        .min_by_key(|(d, n)| (*d, *n))
        .map(|(_, n)| n)
}

pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (prev + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// The keys a derived struct accepts, read from its `Deserialize` impl so the
/// lists used to split a mapping between structs cannot drift from them.
pub(crate) fn fields_of<T: DeserializeOwned>() -> &'static [&'static str] {
    match T::deserialize(FieldsProbe) {
        Err(FieldsProbeDone(fields)) => fields,
        Ok(_) => &[],
    }
}

/// Split a mapping between several structs by their keys; keys no part
/// accepts are errors naming every allowed key.
pub(crate) fn split(node: &Node, parts: &[&[&str]]) -> Result<(Vec<Node>, Vec<DeError>), DeError> {
    let Kind::Map(entries) = &node.kind else {
        return Err(DeError::new(
            node.pos,
            format!("expected a mapping, found {}", node.found()),
        ));
    };
    let mut out: Vec<Vec<(Node, Node)>> = vec![Vec::new(); parts.len()];
    let mut errors = Vec::new();
    for (key, value) in entries {
        let name = key.text().unwrap_or_default();
        match parts.iter().position(|p| p.contains(&name)) {
            Some(i) => out[i].push((key.clone(), value.clone())),
            None => {
                let allowed: Vec<&str> = parts.iter().flat_map(|p| p.iter().copied()).collect();
                errors.push(DeError::new(key.pos, unknown_key(name, &allowed)));
            }
        }
    }
    let nodes = out
        .into_iter()
        .map(|entries| Node {
            pos: node.pos,
            kind: Kind::Map(entries),
        })
        .collect();
    Ok((nodes, errors))
}

/// A deserializer that only records the field list of the struct asked for.
struct FieldsProbe;

#[derive(Debug)]
struct FieldsProbeDone(&'static [&'static str]);

impl fmt::Display for FieldsProbeDone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("field probe")
    }
}

impl std::error::Error for FieldsProbeDone {}

impl de::Error for FieldsProbeDone {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        FieldsProbeDone(&[])
    }
}

impl<'de> Deserializer<'de> for FieldsProbe {
    type Error = FieldsProbeDone;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, FieldsProbeDone> {
        Err(FieldsProbeDone(&[]))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, FieldsProbeDone> {
        Err(FieldsProbeDone(fields))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::super::node::{Pos, parse};
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        port: u16,
        host: String,
    }

    #[test]
    fn field_lists_come_from_the_derived_impl() {
        assert_eq!(fields_of::<Inner>(), ["port", "host"]);
    }

    #[test]
    fn split_hands_each_key_to_its_part_and_reports_the_rest() {
        let doc = parse("port: 1\nname: a\nbogus: 2\n").unwrap();
        let (parts, errors) = split(&doc, &[&["name"], &["port", "host"]]).unwrap();
        assert!(parts[0].get("name").is_some() && parts[0].get("port").is_none());
        assert!(parts[1].get("port").is_some());
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].pos, Some(Pos { line: 3, column: 1 }));
        assert_eq!(
            errors[0].message,
            "unknown key `bogus` (allowed keys: name, port, host)"
        );
    }

    #[test]
    fn unknown_keys_suggest_the_closest_allowed_key_only_when_close() {
        let allowed = ["timeout", "retries", "on"];
        let cases = [
            (
                "timout",
                "unknown key `timout`, did you mean `timeout`? (allowed keys: timeout, retries, on)",
            ),
            (
                "retires",
                "unknown key `retires`, did you mean `retries`? (allowed keys: timeout, retries, on)",
            ),
            ("x", "unknown key `x` (allowed keys: timeout, retries, on)"),
            (
                "colour",
                "unknown key `colour` (allowed keys: timeout, retries, on)",
            ),
        ];
        for (key, message) in cases {
            assert_eq!(unknown_key(key, &allowed), message);
        }
    }
}
