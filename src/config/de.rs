//! Decoding [`Node`]s into the serde types of `raw`: a small serde
//! `Deserializer` whose errors carry the position of the offending node and
//! the key path leading to it, and [`At`], a value with its position.

use super::keys::unknown_key;
use super::node::{Guess, Kind, Node, Pos};
use serde::Deserialize;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess,
    Visitor,
};
use std::fmt;
use std::marker::PhantomData;

/// A decoded value and the position of its node, for errors found later.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct At<T> {
    pub value: T,
    pub pos: Pos,
}

/// The newtype name that asks [`NodeDe`] for a position (see [`At`]).
const AT_MARKER: &str = "wsprobe::config::At";

impl<'de, T: Deserialize<'de>> Deserialize<'de> for At<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct AtVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for AtVisitor<T> {
            type Value = At<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a positioned value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<At<T>, A::Error> {
                let missing = || de::Error::custom("internal: positioned value incomplete");
                let line: usize = seq.next_element()?.ok_or_else(missing)?;
                let column: usize = seq.next_element()?.ok_or_else(missing)?;
                let value: T = seq.next_element()?.ok_or_else(missing)?;
                Ok(At {
                    value,
                    pos: Pos { line, column },
                })
            }
        }
        d.deserialize_newtype_struct(AT_MARKER, AtVisitor(PhantomData))
    }
}

/// For `#[serde(default, deserialize_with = "written")]` on an
/// `Option<At<Option<T>>>` field: `None` when the key is absent,
/// `Some(At { value: None, .. })` when it is written with no value (`key:`),
/// which plain `Option` cannot tell from absent.
pub(crate) fn written<'de, D, T>(d: D) -> Result<Option<At<Option<T>>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    At::<Option<T>>::deserialize(d).map(Some)
}

/// A mapping kept in file order, with the position of every key and value.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Pairs(pub Vec<(At<String>, At<String>)>);

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct PairsVisitor;
        impl<'de> Visitor<'de> for PairsVisitor {
            type Value = Pairs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pairs, A::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = map.next_entry()? {
                    pairs.push(pair);
                }
                Ok(Pairs(pairs))
            }
        }
        d.deserialize_map(PairsVisitor)
    }
}

/// A decoding error: where, under which key, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeError {
    pub pos: Option<Pos>,
    /// Keys (and `[i]` indexes) from the decoded node down to the problem.
    pub path: Vec<String>,
    pub message: String,
}

impl DeError {
    pub fn new(pos: Pos, message: impl Into<String>) -> DeError {
        DeError {
            pos: Some(pos),
            path: Vec::new(),
            message: message.into(),
        }
    }

    /// Attach a position unless a more precise one is already known.
    fn at(mut self, pos: Pos) -> DeError {
        self.pos.get_or_insert(pos);
        self
    }

    /// Put `segment` (a key, or `[i]`) in front of the key path.
    pub fn under(mut self, segment: String) -> DeError {
        self.path.insert(0, segment);
        self
    }

    /// "`smtp.port`: expected …", or the bare message at the top.
    pub fn text(&self) -> String {
        if self.path.is_empty() {
            return self.message.clone();
        }
        let mut path = String::new();
        for segment in &self.path {
            if !path.is_empty() && !segment.starts_with('[') {
                path.push('.');
            }
            path.push_str(segment);
        }
        format!("`{path}`: {}", self.message)
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            pos: None,
            path: Vec::new(),
            message: msg.to_string(),
        }
    }
    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        Self::custom(unknown_key(field, expected))
    }
    fn missing_field(field: &'static str) -> Self {
        Self::custom(format!("missing required key `{field}`"))
    }
    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        Self::custom(format!(
            "unknown value {variant:?} (expected one of: {})",
            expected.join(", ")
        ))
    }
}

/// Decode one node into a raw type.
pub(crate) fn decode<T: DeserializeOwned>(node: &Node) -> Result<T, DeError> {
    T::deserialize(NodeDe(node))
}

struct NodeDe<'a>(&'a Node);

impl NodeDe<'_> {
    fn expected(&self, what: &str) -> DeError {
        DeError::new(
            self.0.pos,
            format!("expected {what}, found {}", self.0.found()),
        )
    }

    fn scalar(&self) -> Option<&str> {
        self.0.text()
    }
}

macro_rules! integers {
    ($($method:ident $visit:ident $ty:ty),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            let pos = self.0.pos;
            let n: $ty = self
                .scalar()
                .and_then(|t| t.parse().ok())
                .ok_or_else(|| self.expected(&format!(
                    "a whole number from {} to {}", <$ty>::MIN, <$ty>::MAX
                )))?;
            visitor.$visit::<DeError>(n.into()).map_err(|e| e.at(pos))
        }
    )*};
}

impl<'de> Deserializer<'de> for NodeDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let pos = self.0.pos;
        match &self.0.kind {
            Kind::Null => visitor.visit_unit(),
            Kind::Scalar { text, guess } => match guess {
                Guess::Str => visitor.visit_str(text),
                Guess::Bool(b) => visitor.visit_bool(*b),
                Guess::Int(i) => visitor.visit_i64(*i),
                Guess::UInt(u) => visitor.visit_u64(*u),
                Guess::Float(f) => visitor.visit_f64(*f),
            },
            Kind::Seq(items) => visitor.visit_seq(SeqDe {
                items: items.iter(),
                index: 0,
            }),
            Kind::Map(entries) => visitor.visit_map(MapDe {
                entries: entries.iter(),
                value: None,
            }),
        }
        .map_err(|e| e.at(pos))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let pos = self.0.pos;
        let b = match self.scalar() {
            Some("true" | "True" | "TRUE") => true,
            Some("false" | "False" | "FALSE") => false,
            _ => return Err(self.expected("true or false")),
        };
        visitor.visit_bool::<DeError>(b).map_err(|e| e.at(pos))
    }

    integers! {
        deserialize_u8 visit_u64 u8, deserialize_u16 visit_u64 u16,
        deserialize_u32 visit_u64 u32, deserialize_u64 visit_u64 u64,
        deserialize_i8 visit_i64 i8, deserialize_i16 visit_i64 i16,
        deserialize_i32 visit_i64 i32, deserialize_i64 visit_i64 i64
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let pos = self.0.pos;
        let f: f64 = self
            .scalar()
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| self.expected("a number"))?;
        visitor.visit_f64::<DeError>(f).map_err(|e| e.at(pos))
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let pos = self.0.pos;
        let text = self.scalar().ok_or_else(|| self.expected("a string"))?;
        visitor.visit_str::<DeError>(text).map_err(|e| e.at(pos))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, DeError> {
        Err(self.expected("bytes (unsupported)"))
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let pos = self.0.pos;
        match self.0.kind {
            Kind::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
        .map_err(|e| e.at(pos))
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0.kind {
            Kind::Null => visitor.visit_unit(),
            _ => Err(self.expected("nothing")),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let pos = self.0.pos;
        if name == AT_MARKER {
            return visitor
                .visit_seq(AtSeq {
                    node: self.0,
                    step: 0,
                })
                .map_err(|e| e.at(pos));
        }
        visitor.visit_newtype_struct(self).map_err(|e| e.at(pos))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let pos = self.0.pos;
        match &self.0.kind {
            Kind::Seq(items) => visitor
                .visit_seq(SeqDe {
                    items: items.iter(),
                    index: 0,
                })
                .map_err(|e| e.at(pos)),
            _ => Err(self.expected("a list")),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let pos = self.0.pos;
        match &self.0.kind {
            Kind::Map(entries) => visitor
                .visit_map(MapDe {
                    entries: entries.iter(),
                    value: None,
                })
                .map_err(|e| e.at(pos)),
            _ => Err(self.expected("a mapping")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let pos = self.0.pos;
        let text = self.scalar().ok_or_else(|| self.expected("a string"))?;
        visitor
            .visit_enum(IntoDeserializer::<DeError>::into_deserializer(text))
            .map_err(|e| e.at(pos))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

/// Hands an [`At`] its line, its column, then its value.
struct AtSeq<'a> {
    node: &'a Node,
    step: u8,
}

impl<'de> SeqAccess<'de> for AtSeq<'_> {
    type Error = DeError;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, DeError> {
        self.step += 1;
        let pos = self.node.pos;
        match self.step {
            1 => seed
                .deserialize((pos.line as u64).into_deserializer())
                .map(Some),
            2 => seed
                .deserialize((pos.column as u64).into_deserializer())
                .map(Some),
            3 => seed.deserialize(NodeDe(self.node)).map(Some),
            _ => Ok(None),
        }
    }
}

struct SeqDe<'a> {
    items: std::slice::Iter<'a, Node>,
    index: usize,
}

impl<'de> SeqAccess<'de> for SeqDe<'_> {
    type Error = DeError;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, DeError> {
        let Some(item) = self.items.next() else {
            return Ok(None);
        };
        let index = self.index;
        self.index += 1;
        seed.deserialize(NodeDe(item))
            .map(Some)
            .map_err(|e| e.at(item.pos).under(format!("[{index}]")))
    }
}

struct MapDe<'a> {
    entries: std::slice::Iter<'a, (Node, Node)>,
    value: Option<(&'a Node, &'a Node)>,
}

impl<'de> MapAccess<'de> for MapDe<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some((key, value));
        seed.deserialize(NodeDe(key))
            .map(Some)
            .map_err(|e| e.at(key.pos))
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, DeError> {
        let (key, value) = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("internal: value before key"))?;
        seed.deserialize(NodeDe(value)).map_err(|e| {
            e.at(value.pos)
                .under(key.text().unwrap_or_default().to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::node::parse;
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        port: At<u16>,
        host: At<String>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        name: At<String>,
        on: Option<At<bool>>,
        inner: Option<Inner>,
        list: Option<Vec<At<String>>>,
        pairs: Option<Pairs>,
    }

    fn outer(yaml: &str) -> Result<Outer, DeError> {
        decode(&parse(yaml).unwrap())
    }

    #[test]
    fn values_decode_with_their_positions() {
        let o = outer(
            "name: y\non: true\ninner: {port: 25, host: mx}\nlist: [a, 1.10]\npairs: {X: y}\n",
        )
        .unwrap();
        assert_eq!(o.name.value, "y");
        assert_eq!(o.name.pos, Pos { line: 1, column: 7 });
        assert_eq!(o.on.map(|b| b.value), Some(true));
        let inner = o.inner.unwrap();
        assert_eq!((inner.port.value, inner.port.pos.column), (25, 15));
        assert_eq!(inner.host.value, "mx");
        let list: Vec<String> = o.list.unwrap().into_iter().map(|s| s.value).collect();
        assert_eq!(list, ["a", "1.10"]);
        let pairs = o.pairs.unwrap().0;
        assert_eq!(
            (pairs[0].0.value.as_str(), pairs[0].1.value.as_str()),
            ("X", "y")
        );
        assert_eq!(pairs[0].0.pos, Pos { line: 5, column: 9 });
    }

    #[test]
    fn errors_name_the_key_path_and_point_at_the_offending_node() {
        let cases = [
            (
                "name: a\ninner: {port: x, host: h}\n",
                (2, 15),
                "`inner.port`: expected a whole number from 0 to 65535, found a string",
            ),
            (
                "name: a\ninner: {port: 70000, host: h}\n",
                (2, 15),
                "`inner.port`: expected a whole number from 0 to 65535, found 70000",
            ),
            (
                "name: a\ninner: {port: 1}\n",
                (2, 8),
                "`inner`: missing required key `host`",
            ),
            (
                "name: a\nlist: [a, [b]]\n",
                (2, 11),
                "`list[1]`: expected a string, found a list",
            ),
            (
                "name: a\non: yes\n",
                (2, 5),
                "`on`: expected true or false, found \"yes\"",
            ),
            (
                "name: a\nnmae: b\n",
                (2, 1),
                "unknown key `nmae`, did you mean `name`? (allowed keys: name, on, inner, list, pairs)",
            ),
            ("on: true\n", (1, 1), "missing required key `name`"),
            ("- a\n", (1, 1), "expected a mapping, found a list"),
        ];
        for (yaml, (line, column), message) in cases {
            let e = outer(yaml).unwrap_err();
            assert_eq!(
                (e.pos, e.text().as_str()),
                (Some(Pos { line, column }), message),
                "{yaml}"
            );
        }
    }
}
