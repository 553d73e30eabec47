//! A script on a live session, step by step: each step timed into
//! `timings.steps` and the timeline; a failure names its step and carries the
//! last messages received, each cut to [`RECENT_MESSAGE_BYTES`] (the report's
//! scrub pass removes secret values from them like from all evidence).

use super::{Action, Capture, CaptureSource, Matcher, Payload, Piece, Step, StepRef, StepTiming};
use crate::check::budget::Budget;
use crate::check::error::CheckError;
use crate::check::failure::Awaited;
use crate::check::model::Phase;
use crate::check::session::{Incoming, Session};
use crate::check::timeline::{Timeline, ms_between, round2};
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};
use tungstenite::Message;

/// How many of the last messages received a failed step shows.
pub const RECENT_MESSAGES: usize = 3;
/// How much of each of them it keeps.
pub const RECENT_MESSAGE_BYTES: usize = 256;
/// How much of the message that failed an expectation it keeps.
pub const RECEIVED_EVIDENCE_BYTES: usize = 512;

/// What a running script remembers: captured values and recent messages.
#[derive(Default)]
pub(in crate::check) struct ScriptState {
    captures: HashMap<String, String>,
    recent: VecDeque<String>,
    /// Each finished step and how long it took.
    pub timings: Vec<StepTiming>,
}

impl ScriptState {
    fn remember(&mut self, text: &str) {
        if self.recent.len() == RECENT_MESSAGES {
            self.recent.pop_front();
        }
        self.recent.push_back(truncate(text, RECENT_MESSAGE_BYTES));
    }

    fn render(&self, pieces: &[Piece]) -> String {
        pieces
            .iter()
            .map(|p| match p {
                Piece::Literal(s) => s.as_str(),
                // The parser only lets a send name captures of earlier
                // steps, which all passed; a missing value cannot happen.
                Piece::Capture(name) => self.captures.get(name).map_or("", String::as_str),
            })
            .collect()
    }

    fn unexpected(&self, step: &StepRef, expected: String, received: &str) -> CheckError {
        CheckError::UnexpectedMessage {
            expected,
            received: truncate(received, RECEIVED_EVIDENCE_BYTES),
            step: Some(step.clone()),
            recent: self.recent.iter().cloned().collect(),
        }
    }
}

/// What a step waiting for the server got.
enum Arrival {
    /// A text or binary message, and its text.
    Data(Message, String),
    /// The server's Close frame.
    Close(Option<tungstenite::protocol::CloseFrame>),
}

/// A data message as text (binary lossily), for matching and evidence.
fn text_of(msg: &Message) -> Option<String> {
    match msg {
        Message::Text(t) => Some(t.to_string()),
        Message::Binary(b) => Some(String::from_utf8_lossy(b).into_owned()),
        _ => None,
    }
}

impl Session<'_> {
    /// Run `steps` in order; the first failure ends the script.
    pub(in crate::check) async fn run_steps(
        &mut self,
        steps: &[Step],
        budget: &mut Budget,
        log: &mut Timeline,
        state: &mut ScriptState,
    ) -> Result<(), CheckError> {
        for (i, step) in steps.iter().enumerate() {
            let which = StepRef {
                number: i as u32 + 1,
                description: step.description(),
            };
            let started = Instant::now();
            self.run_step(step, &which, budget, log, state).await?;
            let ms = round2(ms_between(started, Instant::now()));
            log.event(Phase::Open, format!("{which} passed in {ms:.2} ms"));
            state.timings.push(StepTiming { step: which, ms });
        }
        Ok(())
    }

    async fn run_step(
        &mut self,
        step: &Step,
        which: &StepRef,
        budget: &mut Budget,
        log: &mut Timeline,
        state: &mut ScriptState,
    ) -> Result<(), CheckError> {
        let limit = budget.step(step.within.unwrap_or(self.spec.timeout));
        match &step.action {
            Action::Send(payload) => {
                let msg = match payload {
                    Payload::Text(t) => Message::Text(state.render(&t.0).into()),
                    Payload::Binary(b) => Message::Binary(b.clone().into()),
                };
                self.send(msg, limit, Phase::Open).await
            }
            Action::Expect { matcher, captures } => {
                let (msg, text) = self.next_message(which, limit, budget, log, state).await?;
                match matched(matcher, captures, &msg, &text) {
                    Some(values) => {
                        state.captures.extend(values);
                        Ok(())
                    }
                    None => Err(state.unexpected(which, matcher.to_string(), &text)),
                }
            }
            Action::ExpectClose(code) => {
                self.expect_close(*code, which, limit, budget, log, state)
                    .await
            }
            Action::Wait(d) => {
                let waited = self.wait(*d, log, state, budget).await;
                budget.exclude(*d);
                waited
            }
        }
    }

    /// The next text or binary message, or the server's Close, within
    /// `limit`; pings are answered on the way (and data kept as evidence).
    async fn arrival(
        &mut self,
        which: &StepRef,
        limit: Duration,
        log: &mut Timeline,
        state: &mut ScriptState,
    ) -> Result<Arrival, CheckError> {
        let started = Instant::now();
        loop {
            match self
                .recv(limit.saturating_sub(started.elapsed()), Phase::Open)
                .await?
            {
                Incoming::Message(Message::Close(frame)) => return Ok(Arrival::Close(frame)),
                Incoming::Message(msg) => {
                    self.note_other(&msg, log);
                    if let Some(text) = text_of(&msg) {
                        state.remember(&text);
                        return Ok(Arrival::Data(msg, text));
                    }
                }
                Incoming::Ended(e) => return Err(self.ended(Phase::Open, e, false)),
                Incoming::TimedOut => {
                    let awaited = Awaited::StepReply {
                        number: which.number,
                        description: which.description.clone(),
                    };
                    return Err(self.timeout(Phase::Open, awaited, limit));
                }
            }
        }
    }

    /// The next text or binary message; the server closing instead is an early close.
    async fn next_message(
        &mut self,
        which: &StepRef,
        limit: Duration,
        budget: &Budget,
        log: &mut Timeline,
        state: &mut ScriptState,
    ) -> Result<(Message, String), CheckError> {
        match self.arrival(which, limit, log, state).await? {
            Arrival::Data(msg, text) => Ok((msg, text)),
            Arrival::Close(frame) => Err(self
                .server_close_frame(Phase::Open, frame, false, budget)
                .await),
        }
    }

    /// The server's next message must be a Close with `code`; then its FIN
    /// is awaited as after our own closing handshake, and the connection is
    /// recorded as closed by the server, cleanly when the FIN came.
    async fn expect_close(
        &mut self,
        code: u16,
        which: &StepRef,
        limit: Duration,
        budget: &Budget,
        log: &mut Timeline,
        state: &mut ScriptState,
    ) -> Result<(), CheckError> {
        let expected = format!("a Close frame with code {code}");
        let frame = match self.arrival(which, limit, log, state).await? {
            Arrival::Data(_, text) => return Err(state.unexpected(which, expected, &text)),
            Arrival::Close(frame) => frame,
        };
        let err = self
            .server_close_frame(Phase::Open, frame, false, budget)
            .await;
        let close = self.close.as_mut().expect("a server close is recorded");
        let Some(frame) = close.server_frame.clone() else {
            return Err(err);
        };
        if frame.code == Some(code) {
            close.clean = close.peer_end.is_some();
            return Ok(());
        }
        let got = format!(
            "Close {} {:?}",
            frame.code.map_or("(no code)".into(), |c| c.to_string()),
            frame.reason
        );
        Err(state.unexpected(which, expected, &got))
    }

    /// Stay connected for `d`, reading (so pings are answered and messages
    /// kept as evidence); the server closing meanwhile is an early close.
    async fn wait(
        &mut self,
        d: Duration,
        log: &mut Timeline,
        state: &mut ScriptState,
        budget: &Budget,
    ) -> Result<(), CheckError> {
        let end = Instant::now() + d;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            match self.recv(left, Phase::Open).await? {
                Incoming::TimedOut => return Ok(()),
                Incoming::Message(Message::Close(frame)) => {
                    return Err(self
                        .server_close_frame(Phase::Open, frame, false, budget)
                        .await);
                }
                Incoming::Message(msg) => {
                    self.note_other(&msg, log);
                    if let Some(text) = text_of(&msg) {
                        state.remember(&text);
                    }
                }
                Incoming::Ended(e) => return Err(self.ended(Phase::Open, e, false)),
            }
        }
    }
}

/// The captured values when `msg` matches, else `None`.
fn matched(
    matcher: &Matcher,
    captures: &[Capture],
    msg: &Message,
    text: &str,
) -> Option<Vec<(String, String)>> {
    match matcher {
        Matcher::Regex(regex) => {
            let groups = regex.captures(text)?;
            let values = captures.iter().filter_map(|c| {
                let m = match &c.source {
                    CaptureSource::Group(n) => groups.get(*n),
                    CaptureSource::NamedGroup(name) => groups.name(name),
                    CaptureSource::Path(_) => None,
                }?;
                Some((c.name.clone(), m.as_str().to_string()))
            });
            Some(values.collect())
        }
        Matcher::Json(conditions) => {
            let value: serde_json::Value = serde_json::from_str(text).ok()?;
            if !conditions.iter().all(|c| c.holds(&value)) {
                return None;
            }
            let values = captures.iter().filter_map(|c| match &c.source {
                CaptureSource::Path(path) => {
                    let found = path.find(&value)?;
                    let shown = found
                        .as_str()
                        .map_or_else(|| found.to_string(), str::to_string);
                    Some((c.name.clone(), shown))
                }
                _ => None,
            });
            Some(values.collect())
        }
        Matcher::BinaryPrefix(prefix) => match msg {
            Message::Binary(b) if b.starts_with(prefix) => Some(Vec::new()),
            _ => None,
        },
    }
}

/// `s` cut to at most `max` bytes on a character boundary, marked with `…`.
pub(in crate::check) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}
