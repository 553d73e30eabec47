//! Scripted conversations: the typed [`Step`]s a check runs in the `open`
//! phase after the ping — send text, JSON or binary; expect a message by
//! regex, JSON conditions or binary prefix within a time; expect the server
//! to close with a code; wait — and the captures that carry a value from a
//! reply into a later send (`${name}`).
//! * [`json_path`]: the JSON path and condition matcher
//! * [`parse`]: the words a user writes (`--send hex:…`, `--expect json:…`) → steps
//! * [`run`]: the steps on a live session, with their timings and evidence

pub mod json_path;
pub mod parse;
pub mod run;

use json_path::{Condition, JsonPath};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// One step of a script.
#[derive(Debug, Clone)]
pub struct Step {
    /// What the step does.
    pub action: Action,
    /// How long an `expect` or `expect_close` may wait (default: the check's timeout).
    pub within: Option<Duration>,
    /// A protocol preset's name for the step (`signalr handshake`), shown before its description.
    pub label: Option<&'static str>,
}

/// What a step does.
#[derive(Debug, Clone)]
pub enum Action {
    /// Send one message.
    Send(Payload),
    /// The next text or binary message must match; then its captures are kept.
    Expect {
        /// What the message must be.
        matcher: Matcher,
        /// Values to keep for later sends.
        captures: Vec<Capture>,
    },
    /// The server must close with this code (the next thing it sends is its Close).
    ExpectClose(u16),
    /// Stay connected this long, answering pings; messages are kept as evidence.
    Wait(Duration),
}

/// A message to send.
#[derive(Debug, Clone)]
pub enum Payload {
    /// A text message (JSON is text), with `${capture}`s filled in when sent.
    Text(Template),
    /// A binary message.
    Binary(Vec<u8>),
}

/// Text with `${name}` references to earlier captures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(pub Vec<Piece>);

/// A part of a [`Template`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Sent as is.
    Literal(String),
    /// Replaced by the value an earlier step captured under this name.
    Capture(String),
}

impl Template {
    /// A template without references.
    pub fn literal(text: impl Into<String>) -> Template {
        Template(vec![Piece::Literal(text.into())])
    }

    /// Bytes of the literal parts, and how many captures it references.
    pub fn size(&self) -> (usize, usize) {
        self.0.iter().fold((0, 0), |(bytes, refs), p| match p {
            Piece::Literal(s) => (bytes + s.len(), refs),
            Piece::Capture(_) => (bytes, refs + 1),
        })
    }
}

/// What an expected message must be.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// A regex on the text (binary is decoded lossily).
    Regex(Regex),
    /// JSON whose every condition holds.
    Json(Vec<Condition>),
    /// A binary message starting with these bytes.
    BinaryPrefix(Vec<u8>),
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Matcher::Regex(r) => write!(f, "/{}/", r.as_str()),
            Matcher::Json(conds) => {
                let words: Vec<String> = conds.iter().map(ToString::to_string).collect();
                f.write_str(&words.join(" && "))
            }
            Matcher::BinaryPrefix(bytes) => {
                write!(f, "binary starting with {}", hex::encode(bytes))
            }
        }
    }
}

/// A value kept from a matched message, for `${name}` in later sends.
#[derive(Debug, Clone)]
pub struct Capture {
    /// The name later sends use.
    pub name: String,
    /// Where the value comes from.
    pub source: CaptureSource,
}

/// Where a capture's value comes from.
#[derive(Debug, Clone)]
pub enum CaptureSource {
    /// A regex group by number (1 is the first group).
    Group(usize),
    /// A named regex group.
    NamedGroup(String),
    /// The value at a JSON path (strings without their quotes, others as JSON).
    Path(JsonPath),
}

impl Step {
    /// A step sending `text` as is (no captures), within the check's timeout.
    pub fn send_text(text: impl Into<String>) -> Step {
        Step {
            action: Action::Send(Payload::Text(Template::literal(text))),
            within: None,
            label: None,
        }
    }

    /// The step in words, for the timeline and for a failure's message.
    pub fn description(&self) -> String {
        match self.label {
            Some(label) => format!("{label}: {}", self.action_words()),
            None => self.action_words(),
        }
    }

    fn action_words(&self) -> String {
        match &self.action {
            Action::Send(Payload::Text(t)) => {
                let (bytes, refs) = t.size();
                if refs == 0 {
                    format!("send text ({bytes} bytes)")
                } else {
                    format!("send text ({bytes} bytes and {refs} captured values)")
                }
            }
            Action::Send(Payload::Binary(b)) => format!("send binary ({} bytes)", b.len()),
            Action::Expect { matcher, .. } => format!("expect {matcher}"),
            Action::ExpectClose(code) => format!("expect_close {code}"),
            Action::Wait(d) => format!("wait {}", humantime::format_duration(*d)),
        }
    }
}

/// Which step of a script, for a failure and the timings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StepRef {
    /// 1-based position in the script.
    pub number: u32,
    /// The step in words, e.g. `expect $.type == "pong"`.
    pub description: String,
}

impl fmt::Display for StepRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "step {} ({})", self.number, self.description)
    }
}

/// How long one step took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StepTiming {
    /// Which step.
    #[serde(flatten)]
    pub step: StepRef,
    /// Milliseconds from its start to its end.
    pub ms: f64,
}
