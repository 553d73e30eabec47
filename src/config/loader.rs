//! One load in progress: the file, its directory, the environment, and every
//! error found so far; plus the leaf conversions all sections share
//! (environment expansion, durations, paths relative to the config file).

use super::de::{self, At, DeError};
use super::env::{self, Text};
use super::error::{ConfigError, ConfigErrors};
use super::node::{Kind, Node, Pos};
use serde::de::DeserializeOwned;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

/// The state of one load.
pub(crate) struct Loader<'a> {
    file: PathBuf,
    dir: PathBuf,
    env: &'a dyn Fn(&str) -> Option<String>,
    errors: Vec<ConfigError>,
    /// Values `${VAR}` put into what a check sends, since the last take.
    sent_expansions: Vec<String>,
}

/// Keys whose values a check sends: what `${VAR}` expands in them is secret
/// (a token kept out of the file), so the check scrubs it from its evidence.
const SENT_KEYS: [&str; 5] = ["url", "headers", "send", "origin", "proxy"];

impl<'a> Loader<'a> {
    pub fn new(file: &Path, env: &'a dyn Fn(&str) -> Option<String>) -> Loader<'a> {
        Loader {
            file: file.to_path_buf(),
            dir: file.parent().map(Path::to_path_buf).unwrap_or_default(),
            env,
            errors: Vec::new(),
            sent_expansions: Vec::new(),
        }
    }

    /// The environment this load reads `${VAR}` (and libpq's `PG*`) from.
    pub fn env(&self) -> &'a dyn Fn(&str) -> Option<String> {
        self.env
    }

    /// Record an error at `pos`.
    pub fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.errors.push(ConfigError {
            file: self.file.clone(),
            line: pos.line,
            column: pos.column,
            message: message.into(),
        });
    }

    /// Record an error about `key`, at `pos`: "`key`: message".
    pub fn key_error(&mut self, pos: Pos, key: &str, message: impl std::fmt::Display) {
        self.error(pos, format!("`{key}`: {message}"));
    }

    /// Record a decoding error.
    pub fn de_error(&mut self, e: DeError) {
        self.error(e.pos.unwrap_or(Pos::START), e.text());
    }

    /// How many errors were found so far (to tell whether a part was clean).
    pub fn error_count(&self) -> usize {
        self.errors.len()
    }

    /// Decode a node, recording the error.
    pub fn decode<T: DeserializeOwned>(&mut self, node: &Node) -> Option<T> {
        de::decode(node).map_err(|e| self.de_error(e)).ok()
    }

    /// Decode a mapping whose keys are all optional one key at a time, so a
    /// bad value does not hide the next one; `combine(one, so_far)` merges.
    /// Keys that fail are recorded as errors and left out of the result.
    pub fn decode_each<T: DeserializeOwned + Default>(
        &mut self,
        node: &Node,
        combine: impl Fn(T, &T) -> T,
    ) -> T {
        let Kind::Map(entries) = &node.kind else {
            return self.decode(node).unwrap_or_default();
        };
        let mut all = T::default();
        for entry in entries {
            let one = Node {
                pos: node.pos,
                kind: Kind::Map(vec![entry.clone()]),
            };
            if let Some(v) = self.decode::<T>(&one) {
                all = combine(v, &all);
            }
        }
        all
    }

    /// Decode the value of a top-level `key`, naming the key in errors.
    pub fn decode_section<T: DeserializeOwned>(&mut self, key: &str, node: &Node) -> Option<T> {
        de::decode(node)
            .map_err(|e| self.de_error(e.under(key.to_string())))
            .ok()
    }

    /// The errors in file order, each once; `Ok(value)` when there are none.
    pub fn finish<T>(mut self, value: Option<T>) -> Result<T, ConfigErrors> {
        self.errors.sort_by_key(|e| (e.line, e.column));
        // Errors in `defaults` are found again for each monitor that uses them.
        let mut seen = std::collections::HashSet::new();
        self.errors
            .retain(|e| seen.insert((e.line, e.column, e.message.clone())));
        match value {
            Some(v) if self.errors.is_empty() => Ok(v),
            _ => Err(ConfigErrors(self.errors)),
        }
    }

    /// A string value with `${VAR}`s expanded.
    pub fn text(&mut self, key: &str, v: &At<String>) -> Option<Text> {
        match env::expand(&v.value, self.env) {
            Ok(text) => {
                if SENT_KEYS.contains(&key) {
                    let values = text.vars.iter().filter_map(|var| (self.env)(var));
                    self.sent_expansions.extend(values);
                }
                Some(text)
            }
            Err(errors) => {
                for e in errors {
                    self.key_error(v.pos, key, e);
                }
                None
            }
        }
    }

    /// A key, token or password: from the environment only (so it is not
    /// written in the file), and never empty.
    pub fn secret(&mut self, key: &str, v: &At<String>) -> Option<String> {
        let text = self.text(key, v)?;
        if !text.uses_env() {
            let leaf = key.rsplit('.').next().unwrap_or(key);
            let var = leaf.to_uppercase();
            self.key_error(
                v.pos,
                key,
                format!(
                    "must come from the environment, e.g. {leaf}: ${{{var}}}, so the secret is not written in the file"
                ),
            );
            return None;
        }
        if text.value.trim().is_empty() {
            self.key_error(v.pos, key, format!("{} is empty", text.shown()));
            return None;
        }
        Some(text.value)
    }

    /// The values `${VAR}` expanded into sent keys (url, headers, send,
    /// origin, proxy) since the last call.
    pub fn take_sent_expansions(&mut self) -> Vec<String> {
        std::mem::take(&mut self.sent_expansions)
    }

    /// A duration such as `30s`, `5m` or `1h30m`.
    pub fn duration(&mut self, key: &str, v: &At<String>) -> Option<Duration> {
        match humantime::parse_duration(v.value.trim()) {
            Ok(d) => Some(d),
            Err(_) => {
                self.key_error(
                    v.pos,
                    key,
                    format!("expected a duration like 30s, 5m, found {:?}", v.value),
                );
                None
            }
        }
    }

    /// A duration that must be greater than zero.
    pub fn positive_duration(&mut self, key: &str, v: &At<String>) -> Option<Duration> {
        let d = self.duration(key, v)?;
        if d.is_zero() {
            self.key_error(v.pos, key, "must be greater than zero");
            return None;
        }
        Some(d)
    }

    /// A path as written, relative to the config file's directory.
    pub fn path(&self, written: &str) -> PathBuf {
        let path = Path::new(written);
        if path.is_absolute() || self.dir.as_os_str().is_empty() {
            return path.to_path_buf();
        }
        let mut out = self.dir.clone();
        out.extend(path.components().filter(|c| *c != Component::CurDir));
        out
    }

    /// A file that must be readable now (certificates, templates).
    pub fn readable_file(&mut self, key: &str, v: &At<String>, what: &str) -> Option<PathBuf> {
        let text = self.text(key, v)?;
        let path = self.path(&text.value);
        match std::fs::read(&path) {
            Ok(_) => Some(path),
            Err(e) => {
                let shown = if text.uses_env() {
                    text.shown()
                } else {
                    path.display().to_string()
                };
                self.key_error(
                    v.pos,
                    key,
                    format!("cannot read {what} {shown}: {}", io_reason(&e)),
                );
                None
            }
        }
    }
}

/// The OS message without Rust's " (os error 2)" suffix.
pub(crate) fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn relative_paths_are_taken_from_the_config_files_directory() {
        let cases = [
            ("conf/monitors.yaml", "./wsprobe.db", "conf/wsprobe.db"),
            (
                "conf/monitors.yaml",
                "templates/a.j2",
                "conf/templates/a.j2",
            ),
            ("monitors.yaml", "./wsprobe.db", "./wsprobe.db"),
            (
                "conf/monitors.yaml",
                "/var/lib/wsprobe.db",
                "/var/lib/wsprobe.db",
            ),
        ];
        for (file, written, expected) in cases {
            let l = Loader::new(Path::new(file), &no_env);
            assert_eq!(l.path(written), PathBuf::from(expected), "{file} {written}");
        }
    }

    #[test]
    fn errors_come_out_sorted_and_once() {
        let mut l = Loader::new(Path::new("m.yaml"), &no_env);
        l.error(Pos { line: 9, column: 1 }, "late");
        l.error(Pos { line: 2, column: 5 }, "early");
        l.error(Pos { line: 9, column: 1 }, "late");
        let errors = l.finish(Some(())).unwrap_err();
        assert_eq!(errors.to_string(), "m.yaml:2:5: early\nm.yaml:9:1: late");
    }

    #[test]
    fn durations_say_what_they_expected() {
        let mut l = Loader::new(Path::new("m.yaml"), &no_env);
        let at = |s: &str| At {
            value: s.to_string(),
            pos: Pos::START,
        };
        assert_eq!(
            l.duration("timeout", &at("1m30s")),
            Some(Duration::from_secs(90))
        );
        assert_eq!(l.duration("timeout", &at("10 parsecs")), None);
        assert_eq!(l.positive_duration("timeout", &at("0s")), None);
        let errors = l.finish(Some(())).unwrap_err().to_string();
        assert_eq!(
            errors,
            "m.yaml:1:1: `timeout`: expected a duration like 30s, 5m, found \"10 parsecs\"\n\
             m.yaml:1:1: `timeout`: must be greater than zero"
        );
    }
}
