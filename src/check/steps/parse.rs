//! The words of a script, shared by the command line and the config:
//! a send is text unless it starts with `json:` (validated), `base64:`,
//! `hex:` or `text:` (to send text that itself starts with one of these);
//! an expect is a regex unless it starts with `json:` (conditions joined by
//! `&&`), `prefix:hex:`/`prefix:base64:` (a binary prefix) or `regex:`.
//! Errors are plain sentences; the caller adds the flag or the position.

use super::json_path::{JsonPath, parse_conditions};
use super::{Action, Capture, CaptureSource, Matcher, Payload, Piece, Step, Template};
use base64::Engine;

/// What a `${name}` that names no earlier capture is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownRef {
    /// Left as written, for the config's own `${VAR}` expansion to replace.
    Keep,
    /// An error: on the command line the shell has expanded its variables,
    /// so an unknown name is a typo.
    Reject,
}

impl Template {
    /// Split `text` at each `${name}` naming one of `captures`. `$${` is a
    /// literal `${` (kept escaped with [`UnknownRef::Keep`], for the config
    /// expansion to unescape).
    pub fn parse(text: &str, captures: &[String], unknown: UnknownRef) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(i) = rest.find('$') {
            literal.push_str(&rest[..i]);
            let tail = &rest[i..];
            if let Some(after) = tail.strip_prefix("$${") {
                literal.push_str(if unknown == UnknownRef::Keep {
                    "$${"
                } else {
                    "${"
                });
                rest = after;
            } else if let Some((name, after)) = tail
                .strip_prefix("${")
                .and_then(|a| a.find('}').map(|end| (&a[..end], &a[end + 1..])))
            {
                if captures.iter().any(|c| c == name) {
                    if !literal.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Capture(name.to_string()));
                } else if unknown == UnknownRef::Keep {
                    literal.push_str(&tail[..name.len() + 3]);
                } else {
                    return Err(format!(
                        "${{{name}}} names no capture of an earlier step{}",
                        known(captures)
                    ));
                }
                rest = after;
            } else {
                literal.push('$');
                rest = &tail[1..];
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() || pieces.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        Ok(Template(pieces))
    }
}

fn known(captures: &[String]) -> String {
    if captures.is_empty() {
        " (none captures anything)".into()
    } else {
        format!(" (captured so far: {})", captures.join(", "))
    }
}

/// A `send`: text, `json:`, `base64:`, `hex:` or `text:`.
pub fn send(text: &str, captures: &[String], unknown: UnknownRef) -> Result<Payload, String> {
    if let Some(b) = text.strip_prefix("base64:") {
        return base64(b).map(Payload::Binary);
    }
    if let Some(h) = text.strip_prefix("hex:") {
        return hex_bytes(h).map(Payload::Binary);
    }
    if let Some(json) = text.strip_prefix("json:") {
        let template = Template::parse(json.trim(), captures, unknown)?;
        check_json(&template)?;
        return Ok(Payload::Text(template));
    }
    let text = text.strip_prefix("text:").unwrap_or(text);
    Template::parse(text, captures, unknown).map(Payload::Text)
}

/// The JSON must parse with every capture stood in by `0`, which is valid
/// both inside a string and as a bare value.
fn check_json(template: &Template) -> Result<(), String> {
    let probe: String = template
        .0
        .iter()
        .map(|p| match p {
            Piece::Literal(s) => s.as_str(),
            Piece::Capture(_) => "0",
        })
        .collect();
    serde_json::from_str::<serde_json::Value>(&probe)
        .map(|_| ())
        .map_err(|e| format!("invalid JSON: {e}"))
}

fn base64(text: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| format!("invalid base64: {e}"))
}

fn hex_bytes(text: &str) -> Result<Vec<u8>, String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(compact).map_err(|e| format!("invalid hex: {e}"))
}

/// An `expect`: a regex, `json:`, `prefix:hex:`/`prefix:base64:` or `regex:`.
/// A regex's named groups are captured under their names.
pub fn expect(text: &str) -> Result<(Matcher, Vec<Capture>), String> {
    if let Some(conds) = text.strip_prefix("json:") {
        return Ok((Matcher::Json(parse_conditions(conds)?), Vec::new()));
    }
    if let Some(prefix) = text.strip_prefix("prefix:") {
        let bytes = if let Some(h) = prefix.strip_prefix("hex:") {
            hex_bytes(h)?
        } else if let Some(b) = prefix.strip_prefix("base64:") {
            base64(b)?
        } else {
            return Err("a binary prefix is written prefix:hex:… or prefix:base64:…".into());
        };
        return Ok((Matcher::BinaryPrefix(bytes), Vec::new()));
    }
    let pattern = text.strip_prefix("regex:").unwrap_or(text);
    let regex = regex::Regex::new(pattern).map_err(|e| {
        // regex's message is multi-line (pattern, caret, "error: …"): the
        // last line says what is wrong.
        let full = e.to_string();
        let reason = full.lines().last().unwrap_or_default();
        let reason = reason.strip_prefix("error: ").unwrap_or(reason);
        format!("invalid regular expression {pattern:?}: {reason}")
    })?;
    let named = regex
        .capture_names()
        .flatten()
        .map(|name| Capture {
            name: name.to_string(),
            source: CaptureSource::NamedGroup(name.to_string()),
        })
        .collect();
    Ok((Matcher::Regex(regex), named))
}

/// A `capture: {NAME: SOURCE}` entry: a JSON path (`$.token`) for a JSON
/// expectation, a group number or name for a regex.
pub fn capture(name: &str, source: &str, matcher: &Matcher) -> Result<Capture, String> {
    if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return Err(format!(
            "capture name {name:?} must be letters, digits and _"
        ));
    }
    let source = match matcher {
        Matcher::Json(_) => CaptureSource::Path(JsonPath::parse(source)?),
        Matcher::Regex(regex) => match source.parse::<usize>() {
            Ok(n) if n >= 1 && n < regex.captures_len() => CaptureSource::Group(n),
            Ok(n) => {
                return Err(format!(
                    "the regex has no group {n} (it has {})",
                    regex.captures_len() - 1
                ));
            }
            Err(_) if regex.capture_names().flatten().any(|g| g == source) => {
                CaptureSource::NamedGroup(source.to_string())
            }
            Err(_) => return Err(format!("the regex has no group named {source:?}")),
        },
        Matcher::BinaryPrefix(_) => {
            return Err("a binary prefix expectation has nothing to capture".into());
        }
    };
    Ok(Capture {
        name: name.to_string(),
        source,
    })
}

/// One `--send` or `--expect` of the command line, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptWord {
    /// `--send TEXT`.
    Send(String),
    /// `--expect PATTERN`.
    Expect(String),
}

/// The command line's script: each `--send`/`--expect` a step, in order;
/// the error names the flag and what is wrong.
pub fn from_words(words: &[ScriptWord]) -> Result<Vec<Step>, (&'static str, String, String)> {
    let mut steps = Vec::with_capacity(words.len());
    let mut names: Vec<String> = Vec::new();
    for word in words {
        let action = match word {
            ScriptWord::Send(text) => Action::Send(
                send(text, &names, UnknownRef::Reject).map_err(|e| ("--send", text.clone(), e))?,
            ),
            ScriptWord::Expect(text) => {
                let (matcher, captures) =
                    expect(text).map_err(|e| ("--expect", text.clone(), e))?;
                names.extend(captures.iter().map(|c| c.name.clone()));
                Action::Expect { matcher, captures }
            }
        };
        steps.push(Step {
            action,
            within: None,
            label: None,
        });
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_template_splits_at_known_captures_and_keeps_the_rest_for_the_environment() {
        let t = Template::parse(
            "a ${id} ${HOME} $${id} $5",
            &names(&["id"]),
            UnknownRef::Keep,
        )
        .unwrap();
        assert_eq!(
            t.0,
            vec![
                Piece::Literal("a ".into()),
                Piece::Capture("id".into()),
                Piece::Literal(" ${HOME} $${id} $5".into()),
            ]
        );
    }

    #[test]
    fn on_the_command_line_an_unknown_reference_is_an_error_and_the_escape_is_undone() {
        let err = Template::parse("${idd}", &names(&["id"]), UnknownRef::Reject).unwrap_err();
        assert!(err.contains("captured so far: id"), "{err}");
        let t = Template::parse("$${x}", &[], UnknownRef::Reject).unwrap();
        assert_eq!(t, Template::literal("${x}"));
    }

    #[test]
    fn sends_decode_binary_and_validate_json_with_captures_in_place() {
        assert!(
            matches!(send("hex:00 ff", &[], UnknownRef::Reject), Ok(Payload::Binary(b)) if b == [0, 255])
        );
        assert!(
            matches!(send("base64:AP8=", &[], UnknownRef::Reject), Ok(Payload::Binary(b)) if b == [0, 255])
        );
        assert!(
            send(
                r#"json:{"n": ${n}, "s": "${n}"}"#,
                &names(&["n"]),
                UnknownRef::Reject
            )
            .is_ok()
        );
        let err = send("json:{\"a\":", &[], UnknownRef::Reject).unwrap_err();
        assert!(err.starts_with("invalid JSON"), "{err}");
        assert!(
            send("hex:0g", &[], UnknownRef::Reject)
                .unwrap_err()
                .starts_with("invalid hex")
        );
        assert!(
            send("base64:!!", &[], UnknownRef::Reject)
                .unwrap_err()
                .starts_with("invalid base64")
        );
        assert!(
            matches!(send("text:hex:00", &[], UnknownRef::Reject), Ok(Payload::Text(t)) if t == Template::literal("hex:00"))
        );
    }

    #[test]
    fn expects_choose_their_matcher_by_prefix_and_capture_named_groups() {
        let (m, caps) = expect("session=(?P<sid>\\w+)").unwrap();
        assert!(matches!(m, Matcher::Regex(_)));
        assert_eq!(caps[0].name, "sid");
        assert!(matches!(expect("json:$.a exists").unwrap().0, Matcher::Json(c) if c.len() == 1));
        assert!(
            matches!(expect("prefix:hex:0102").unwrap().0, Matcher::BinaryPrefix(b) if b == [1, 2])
        );
        assert!(expect("(unclosed").unwrap_err().contains("unclosed group"));
        assert!(expect("prefix:0102").is_err());
    }

    #[test]
    fn captures_are_checked_against_their_expectation() {
        let (regex, _) = expect("id=(\\d+)").unwrap();
        assert!(capture("id", "1", &regex).is_ok());
        assert!(
            capture("id", "2", &regex)
                .unwrap_err()
                .contains("no group 2")
        );
        assert!(
            capture("id", "x", &regex)
                .unwrap_err()
                .contains("no group named")
        );
        let (json, _) = expect("json:$.a exists").unwrap();
        assert!(capture("tok", "$.data.token", &json).is_ok());
        assert!(capture("tok", "data", &json).is_err());
        assert!(capture("bad name", "$.a", &json).is_err());
    }

    #[test]
    fn command_line_words_become_steps_in_order_with_captures_flowing_forward() {
        let words = [
            ScriptWord::Expect("hello (?P<who>\\w+)".into()),
            ScriptWord::Send("hi ${who}".into()),
        ];
        let steps = from_words(&words).unwrap();
        assert_eq!(steps.len(), 2);
        let reversed = [words[1].clone(), words[0].clone()];
        let (flag, _, reason) = from_words(&reversed).unwrap_err();
        assert_eq!(flag, "--send");
        assert!(reason.contains("names no capture"), "{reason}");
    }
}
