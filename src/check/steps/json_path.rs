//! Singular JSON paths (`$.data.items[0].id`, `$["a b"]`) and the conditions
//! a step's `expect` puts on them (`$.type == "pong"`, `$.id exists`,
//! `$.n != 3`, several joined by `&&`). Written here rather than taken from a
//! crate: the JSONPath crates implement full RFC 9535 queries (filters,
//! wildcards, node lists), while a check needs one value per path and a
//! comparison, with errors that say where the expression went wrong.

use serde_json::Value;
use std::fmt;

/// One step of a path: a member name or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// `.name` or `["name"]`.
    Member(String),
    /// `[3]`.
    Index(usize),
}

/// A path from the root of a message to one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    segments: Vec<Segment>,
    written: String,
}

impl JsonPath {
    /// Parse a whole path such as `$.a.b[0]`.
    pub fn parse(text: &str) -> Result<JsonPath, String> {
        let mut cursor = Cursor::new(text.trim());
        let path = cursor.path()?;
        cursor.end()?;
        Ok(path)
    }

    /// The value at this path, if the message has one there.
    pub fn find<'v>(&self, root: &'v Value) -> Option<&'v Value> {
        self.segments
            .iter()
            .try_fold(root, |value, segment| match segment {
                Segment::Member(name) => value.as_object()?.get(name),
                Segment::Index(i) => value.as_array()?.get(*i),
            })
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written)
    }
}

/// What a condition asks of the value at its path.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// There is a value (possibly `null`).
    Exists,
    /// The value equals this literal.
    Equals(Value),
    /// The value is missing or differs from this literal.
    NotEquals(Value),
}

/// `PATH exists`, `PATH == LITERAL` or `PATH != LITERAL`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// Where the value is.
    pub path: JsonPath,
    /// What it must be.
    pub test: Test,
}

impl Condition {
    /// True when `root` satisfies the condition. Numbers compare by value,
    /// so `1` equals `1.0`.
    pub fn holds(&self, root: &Value) -> bool {
        let found = self.path.find(root);
        match &self.test {
            Test::Exists => found.is_some(),
            Test::Equals(want) => found.is_some_and(|v| same(v, want)),
            Test::NotEquals(want) => !found.is_some_and(|v| same(v, want)),
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.test {
            Test::Exists => write!(f, "{} exists", self.path),
            Test::Equals(v) => write!(f, "{} == {v}", self.path),
            Test::NotEquals(v) => write!(f, "{} != {v}", self.path),
        }
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) if a.is_number() && b.is_number() => x == y,
        _ => a == b,
    }
}

/// Parse `COND && COND …`; the error names the character where it failed.
pub fn parse_conditions(text: &str) -> Result<Vec<Condition>, String> {
    let mut cursor = Cursor::new(text);
    let mut out = vec![cursor.condition()?];
    loop {
        cursor.skip_spaces();
        if cursor.rest().is_empty() {
            return Ok(out);
        }
        cursor.literal_token("&&")?;
        out.push(cursor.condition()?);
    }
}

struct Cursor<'t> {
    text: &'t str,
    at: usize,
}

impl<'t> Cursor<'t> {
    fn new(text: &'t str) -> Cursor<'t> {
        Cursor { text, at: 0 }
    }

    fn rest(&self) -> &'t str {
        &self.text[self.at..]
    }

    fn fail<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{what} at character {}", self.at + 1))
    }

    fn skip_spaces(&mut self) {
        let rest = self.rest();
        self.at += rest.len() - rest.trim_start().len();
    }

    fn end(&mut self) -> Result<(), String> {
        self.skip_spaces();
        if self.rest().is_empty() {
            Ok(())
        } else {
            self.fail("unexpected text after the path")
        }
    }

    fn literal_token(&mut self, token: &str) -> Result<(), String> {
        self.skip_spaces();
        if self.rest().starts_with(token) {
            self.at += token.len();
            Ok(())
        } else {
            self.fail(&format!("expected `{token}`"))
        }
    }

    fn path(&mut self) -> Result<JsonPath, String> {
        self.skip_spaces();
        let start = self.at;
        if !self.rest().starts_with('$') {
            return self.fail("a JSON path starts with `$`");
        }
        self.at += 1;
        let mut segments = Vec::new();
        loop {
            let rest = self.rest();
            if let Some(after) = rest.strip_prefix('.') {
                let len = after
                    .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
                    .unwrap_or(after.len());
                if len == 0 {
                    self.at += 1;
                    return self.fail("expected a member name after `.`");
                }
                segments.push(Segment::Member(after[..len].to_string()));
                self.at += 1 + len;
            } else if rest.starts_with('[') {
                self.at += 1;
                segments.push(self.bracket()?);
            } else {
                break;
            }
        }
        Ok(JsonPath {
            segments,
            written: self.text[start..self.at].to_string(),
        })
    }

    fn bracket(&mut self) -> Result<Segment, String> {
        let rest = self.rest();
        let segment = if rest.starts_with('"') {
            let (value, len) = self.json_literal()?;
            let Value::String(name) = value else {
                unreachable!("a literal starting with a quote is a string")
            };
            self.at += len;
            Segment::Member(name)
        } else {
            let len = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            let Ok(index) = rest[..len].parse() else {
                return self.fail("expected an array index or a quoted member name in `[…]`");
            };
            self.at += len;
            Segment::Index(index)
        };
        if !self.rest().starts_with(']') {
            return self.fail("expected `]`");
        }
        self.at += 1;
        Ok(segment)
    }

    /// The JSON literal (string, number, true, false, null) at the cursor
    /// and its length, without moving.
    fn json_literal(&self) -> Result<(Value, usize), String> {
        let mut stream = serde_json::Deserializer::from_str(self.rest()).into_iter::<Value>();
        match stream.next() {
            Some(Ok(v)) if !v.is_object() && !v.is_array() => Ok((v, stream.byte_offset())),
            _ => self.fail("expected a JSON literal (\"text\", a number, true, false or null)"),
        }
    }

    fn condition(&mut self) -> Result<Condition, String> {
        let path = self.path()?;
        self.skip_spaces();
        let rest = self.rest();
        let test = if let Some(after) = rest.strip_prefix("exists") {
            if after.starts_with(|c: char| c.is_alphanumeric()) {
                return self.fail("expected `exists`, `==` or `!=`");
            }
            self.at += "exists".len();
            Test::Exists
        } else if rest.starts_with("==") || rest.starts_with("!=") {
            let equal = rest.starts_with("==");
            self.at += 2;
            self.skip_spaces();
            let (literal, len) = self.json_literal()?;
            self.at += len;
            if equal {
                Test::Equals(literal)
            } else {
                Test::NotEquals(literal)
            }
        } else {
            return self.fail("expected `exists`, `==` or `!=`");
        };
        Ok(Condition { path, test })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn holds(cond: &str, message: Value) -> bool {
        parse_conditions(cond)
            .unwrap()
            .iter()
            .all(|c| c.holds(&message))
    }

    #[test]
    fn a_member_path_compares_strings_numbers_and_booleans() {
        let m = json!({"type": "pong", "n": 3, "ok": true, "none": null});
        assert!(holds(r#"$.type == "pong""#, m.clone()));
        assert!(!holds(r#"$.type == "ping""#, m.clone()));
        assert!(holds("$.n == 3.0", m.clone()));
        assert!(holds("$.n != 4", m.clone()));
        assert!(holds("$.ok == true", m.clone()));
        assert!(holds("$.none == null", m.clone()));
        assert!(holds("$.none exists", m.clone()));
        assert!(!holds("$.missing exists", m.clone()));
        assert!(holds(r#"$.missing != "x""#, m));
    }

    #[test]
    fn indexes_and_quoted_members_walk_into_nested_values() {
        let m = json!({"data": {"items": [{"id": 7}], "a b": "c"}});
        assert!(holds("$.data.items[0].id exists", m.clone()));
        assert!(holds("$.data.items[0].id == 7", m.clone()));
        assert!(!holds("$.data.items[1].id exists", m.clone()));
        assert!(holds(r#"$.data["a b"] == "c""#, m.clone()));
        assert!(!holds("$.data.items.id exists", m));
    }

    #[test]
    fn conditions_joined_by_and_must_all_hold_even_with_the_operator_inside_a_string() {
        let m = json!({"type": "a && b", "id": 1});
        assert!(holds(r#"$.type == "a && b" && $.id == 1"#, m.clone()));
        assert!(!holds(r#"$.type == "a && b" && $.id == 2"#, m));
    }

    #[test]
    fn parse_errors_name_the_character_where_the_expression_went_wrong() {
        let cases = [
            ("type == 1", "a JSON path starts with `$` at character 1"),
            ("$.a = 1", "expected `exists`, `==` or `!=` at character 5"),
            ("$.a == pong", "expected a JSON literal"),
            ("$.a[x] exists", "expected an array index"),
            (
                "$. exists",
                "expected a member name after `.` at character 3",
            ),
            ("$.a exists $.b exists", "expected `&&` at character 12"),
        ];
        for (text, want) in cases {
            let err = parse_conditions(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn a_condition_displays_as_written() {
        let c = &parse_conditions(r#"$.a[0]  ==  "x""#).unwrap()[0];
        assert_eq!(c.to_string(), r#"$.a[0] == "x""#);
        assert_eq!(JsonPath::parse("$.a.b").unwrap().to_string(), "$.a.b");
    }
}
