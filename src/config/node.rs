//! The YAML document as a tree of positioned nodes. Parsing into this tree
//! first lets each section, monitor and channel be decoded on its own, so one
//! broken monitor does not hide the errors of the next.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};
use std::borrow::Cow;

/// A 1-based line and column (in characters) in the config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
}

impl Pos {
    /// The start of the file.
    pub const START: Pos = Pos { line: 1, column: 1 };

    fn of(loc: &Location) -> Pos {
        if loc.line() == 0 {
            return Pos::START;
        }
        Pos {
            line: loc.line() as usize,
            column: loc.column() as usize,
        }
    }
}

/// A YAML node and where it starts.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub pos: Pos,
    pub kind: Kind,
}

/// The shape of a node.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// `~`, `null` or nothing.
    Null,
    /// A scalar: its text as written (unquoted) and what YAML would make of it.
    Scalar { text: String, guess: Guess },
    /// A list.
    Seq(Vec<Node>),
    /// A mapping, in file order; keys are scalar nodes.
    Map(Vec<(Node, Node)>),
}

/// How YAML would type a scalar if nobody asked for a particular type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Guess {
    Str,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
}

impl Node {
    /// The value under `key`, when this node is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            Kind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.text() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text of a scalar node.
    pub fn text(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// "a string", "a list"…: what was found, for "expected X, found Y".
    /// Numbers are shown (they are never secrets); strings are not.
    pub fn found(&self) -> Cow<'static, str> {
        match &self.kind {
            Kind::Null => "nothing".into(),
            Kind::Scalar { guess, text } => match guess {
                Guess::Str => "a string".into(),
                // yes/no/on/off and numbers are shown: they are never secrets.
                Guess::Bool(_) => format!("{text:?}").into(),
                Guess::Int(_) | Guess::UInt(_) | Guess::Float(_) => text.clone().into(),
            },
            Kind::Seq(_) => "a list".into(),
            Kind::Map(_) => "a mapping".into(),
        }
    }
}

/// Parse a whole document. A syntax error comes back with its position and
/// the parser's message.
pub(crate) fn parse(text: &str) -> Result<Node, (Pos, String)> {
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(fleet_budget());
    let tree: Spanned<Tree> = serde_saphyr::from_str_with_options(text, options).map_err(|e| {
        let pos = e.location().map(|l| Pos::of(&l)).unwrap_or(Pos::START);
        let mut options = serde_saphyr::RenderOptions::new(&PlainMessage);
        options.snippets = serde_saphyr::SnippetMode::Off;
        (pos, e.render_with_options(options))
    })?;
    Ok(convert(tree, text))
}

/// The parser's default budget caps a document at 250,000 nodes (a
/// `{ name, url }` monitor is 5), too few for a fleet that cluster mode
/// spreads over several instances; raise the size caps twentyfold (about
/// 250,000 monitors with a few options each) and keep the alias, anchor and
/// depth caps that stop expansion bombs as the parser sets them.
fn fleet_budget() -> serde_saphyr::Budget {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = budget.max_nodes.saturating_mul(20);
    budget.max_events = budget.max_events.saturating_mul(20);
    budget
}

/// The parser's message without its own "at line X" suffix or snippet: the
/// caller puts the position in front, like every other config error.
struct PlainMessage;
struct NoLocation;

impl serde_saphyr::Localizer for NoLocation {
    fn attach_location<'a>(&self, base: Cow<'a, str>, _loc: Location) -> Cow<'a, str> {
        base
    }
}

impl serde_saphyr::MessageFormatter for PlainMessage {
    fn localizer(&self) -> &dyn serde_saphyr::Localizer {
        &NoLocation
    }
    fn format_message<'a>(&self, err: &'a serde_saphyr::Error) -> Cow<'a, str> {
        serde_saphyr::UserMessageFormatter.format_message(err)
    }
}

/// What the parser hands over, before plain scalars get their source text back.
enum Tree {
    Null,
    Str(String),
    Typed(Guess),
    Seq(Vec<Spanned<Tree>>),
    Map(Vec<(Spanned<Tree>, Spanned<Tree>)>),
}

fn convert(tree: Spanned<Tree>, source: &str) -> Node {
    let pos = Pos::of(&tree.referenced);
    let kind = match tree.value {
        Tree::Null => Kind::Null,
        Tree::Str(text) => Kind::Scalar {
            text,
            guess: Guess::Str,
        },
        Tree::Typed(guess) => {
            // YAML would make `y` a boolean and `1.10` the float 1.1; a field
            // that wants a string gets the text as written, from the source
            // (the definition site, for an alias).
            let text = source_text(source, &tree.defined).unwrap_or_else(|| match guess {
                Guess::Bool(b) => b.to_string(),
                Guess::Int(i) => i.to_string(),
                Guess::UInt(u) => u.to_string(),
                Guess::Float(f) => f.to_string(),
                Guess::Str => String::new(),
            });
            Kind::Scalar { text, guess }
        }
        Tree::Seq(items) => Kind::Seq(items.into_iter().map(|i| convert(i, source)).collect()),
        Tree::Map(entries) => Kind::Map(
            entries
                .into_iter()
                .map(|(k, v)| (convert(k, source), convert(v, source)))
                .collect(),
        ),
    };
    Node { pos, kind }
}

fn source_text(source: &str, loc: &Location) -> Option<String> {
    let span = loc.span();
    let start = usize::try_from(span.byte_offset()?).ok()?;
    let len = usize::try_from(span.byte_len()?).ok()?;
    let text = source.get(start..start.checked_add(len)?)?.trim();
    (!text.is_empty()).then(|| text.to_string())
}

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TreeVisitor)
    }
}

struct TreeVisitor;

impl<'de> Visitor<'de> for TreeVisitor {
    type Value = Tree;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Tree, E> {
        Ok(Tree::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Tree, E> {
        Ok(Tree::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Tree, D::Error> {
        Tree::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Tree, E> {
        Ok(Tree::Typed(Guess::Bool(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Tree, E> {
        Ok(Tree::Typed(Guess::Int(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Tree, E> {
        Ok(Tree::Typed(Guess::UInt(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Tree, E> {
        Ok(Tree::Typed(Guess::Float(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Tree, E> {
        Ok(Tree::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Tree, E> {
        Ok(Tree::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Tree::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tree, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Tree::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(node: &Node) -> (&str, Guess, Pos) {
        match &node.kind {
            Kind::Scalar { text, guess } => (text, *guess, node.pos),
            other => panic!("not a scalar: {other:?}"),
        }
    }

    #[test]
    fn plain_scalars_keep_their_source_text_and_position() {
        let doc = parse("a: y\nb: 1.10\nc: \"q\"\nd: &x 0x1F\ne: *x\n").unwrap();
        let cases = [
            ("a", "y", Guess::Bool(true), (1, 4)),
            ("b", "1.10", Guess::Float(1.1), (2, 4)),
            ("c", "q", Guess::Str, (3, 4)),
            // An anchored value starts after its anchor.
            ("d", "0x1F", Guess::Int(31), (4, 7)),
            ("e", "0x1F", Guess::Int(31), (5, 4)),
        ];
        for (key, text, guess, (line, column)) in cases {
            let (t, g, p) = scalar(doc.get(key).unwrap());
            assert_eq!((t, p), (text, Pos { line, column }), "{key}");
            // Guesses are YAML's, whatever its integer signedness.
            assert!(
                g == guess || matches!((g, guess), (Guess::UInt(31), Guess::Int(31))),
                "{key}: {g:?}"
            );
        }
    }

    #[test]
    fn keys_lists_and_nulls_are_positioned() {
        let doc = parse("top:\n  - one\n  -\n").unwrap();
        let Kind::Map(entries) = &doc.kind else {
            panic!()
        };
        assert_eq!(entries[0].0.pos, Pos { line: 1, column: 1 });
        let Kind::Seq(items) = &entries[0].1.kind else {
            panic!()
        };
        assert_eq!(items[0].pos, Pos { line: 2, column: 5 });
        assert!(matches!(items[1].kind, Kind::Null));
    }

    #[test]
    fn syntax_errors_carry_position_and_a_plain_message() {
        let (pos, message) = parse("a: 1\na: 2\n").unwrap_err();
        assert_eq!(pos, Pos { line: 2, column: 1 });
        assert_eq!(message, "duplicate mapping key `a` is not allowed here");
    }
}
