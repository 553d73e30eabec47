//! A monitor's `steps:` (and the `send`/`expect` shorthand for a two-step
//! script) → typed [`Step`]s, every bad value reported at its line and
//! column. A `${name}` in a `send` is a capture when an earlier step
//! captures that name, and the environment variable otherwise: the capture
//! names are known here, so which one a reference means is decided at load.

use super::de::{At, Pairs};
use super::loader::Loader;
use super::raw::RawOptions;
use crate::check::steps::parse::{self, UnknownRef};
use crate::check::steps::{Action, Payload, Piece, Step, Template};
use serde::Deserialize;

/// One entry of `steps:`: exactly one of `send`, `expect`, `expect_close`,
/// `wait`, with `within` and `capture` where they apply.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStep {
    pub send: Option<At<String>>,
    pub expect: Option<At<String>>,
    pub expect_close: Option<At<u16>>,
    pub wait: Option<At<String>>,
    pub within: Option<At<String>>,
    pub capture: Option<Pairs>,
}

/// The script of a monitor: its `steps:`, or `send` then `expect`.
pub(crate) fn script(l: &mut Loader, raw: &RawOptions) -> Vec<Step> {
    let shorthand = [&raw.send, &raw.expect];
    if let Some(steps) = &raw.steps {
        if let Some(first) = shorthand.into_iter().flatten().next() {
            l.error(
                first.pos,
                "`send`/`expect` are the short form of a two-step script: with `steps:`, write them as steps",
            );
        }
        let mut names = Vec::new();
        return steps
            .iter()
            .enumerate()
            .filter_map(|(i, s)| step(l, i + 1, s, &mut names))
            .collect();
    }
    let mut names = Vec::new();
    let send = raw.send.as_ref().and_then(|v| send(l, v, &names));
    let expect = raw
        .expect
        .as_ref()
        .and_then(|v| expect(l, v, None, &mut names));
    send.into_iter()
        .chain(expect)
        .map(|action| Step {
            action,
            within: None,
            label: None,
        })
        .collect()
}

fn step(l: &mut Loader, number: usize, raw: &At<RawStep>, names: &mut Vec<String>) -> Option<Step> {
    let s = &raw.value;
    let actions = [
        s.send.is_some(),
        s.expect.is_some(),
        s.expect_close.is_some(),
        s.wait.is_some(),
    ];
    if actions.iter().filter(|a| **a).count() != 1 {
        l.error(
            raw.pos,
            format!("step {number}: needs exactly one of `send`, `expect`, `expect_close`, `wait`"),
        );
        return None;
    }
    let waits = s.expect.is_some() || s.expect_close.is_some();
    if let (Some(within), false) = (&s.within, waits) {
        l.key_error(
            within.pos,
            "within",
            "applies to `expect` and `expect_close` only",
        );
    }
    if let (Some(capture), None) = (&s.capture, &s.expect) {
        let pos = capture.0.first().map_or(raw.pos, |(k, _)| k.pos);
        l.key_error(pos, "capture", "applies to `expect` only");
    }
    let within = s
        .within
        .as_ref()
        .and_then(|w| l.positive_duration("within", w));
    let action = if let Some(v) = &s.send {
        send(l, v, names)?
    } else if let Some(v) = &s.expect {
        expect(l, v, s.capture.as_ref(), names)?
    } else if let Some(code) = &s.expect_close {
        Action::ExpectClose(close_code(l, code)?)
    } else {
        Action::Wait(l.duration("wait", s.wait.as_ref()?)?)
    };
    Some(Step {
        action,
        within,
        label: None,
    })
}

fn close_code(l: &mut Loader, code: &At<u16>) -> Option<u16> {
    // RFC 6455 §7.4: 1000-4999 are codes an endpoint may send; below is unused.
    if (1000..=4999).contains(&code.value) {
        Some(code.value)
    } else {
        l.key_error(
            code.pos,
            "expect_close",
            format!("{} is not a close code (1000 to 4999)", code.value),
        );
        None
    }
}

/// A send, its `${VAR}`s expanded piece by piece around the captures.
fn send(l: &mut Loader, v: &At<String>, names: &[String]) -> Option<Action> {
    let payload = match parse::send(&v.value, names, UnknownRef::Keep) {
        Ok(p) => p,
        Err(e) => {
            l.key_error(v.pos, "send", e);
            return None;
        }
    };
    let Payload::Text(Template(pieces)) = payload else {
        return Some(Action::Send(payload));
    };
    let mut expanded = Vec::with_capacity(pieces.len());
    for piece in pieces {
        expanded.push(match piece {
            Piece::Literal(text) => {
                let at = At {
                    value: text,
                    pos: v.pos,
                };
                Piece::Literal(l.text("send", &at)?.value)
            }
            capture => capture,
        });
    }
    Some(Action::Send(Payload::Text(Template(expanded))))
}

fn expect(
    l: &mut Loader,
    v: &At<String>,
    capture: Option<&Pairs>,
    names: &mut Vec<String>,
) -> Option<Action> {
    let text = l.text("expect", v)?;
    let (matcher, mut captures) = match parse::expect(&text.value) {
        Ok(parsed) => parsed,
        Err(e) => {
            l.key_error(v.pos, "expect", e);
            return None;
        }
    };
    for (name, source) in capture.iter().flat_map(|c| &c.0) {
        match parse::capture(&name.value, &source.value, &matcher) {
            Ok(c) => captures.push(c),
            Err(e) => l.key_error(source.pos, "capture", e),
        }
    }
    names.extend(captures.iter().map(|c| c.name.clone()));
    Some(Action::Expect { matcher, captures })
}
