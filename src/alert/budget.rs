//! The limits of one template render, so a channel's template can neither
//! run for minutes (a nested loop) nor fill memory (a loop printing a
//! gigabyte): minijinja's fuel bounds the work and the memory a render may
//! use, and the output is written into a buffer that refuses to grow past
//! [`MAX_OUTPUT_BYTES`]. The same limits hold when `validate` and startup try
//! a template on the sample notifications and when a real alert is sent.

use minijinja::{ErrorKind, Template, Value};
use std::io::{self, Write};

/// Fuel of one render: one unit per template instruction, and one per 64
/// bytes of data a render creates or writes (minijinja's measure), so about
/// 32 MB at most. The built-in templates use under 2,000 on a notification
/// with two attempts of evidence; a nested loop of 1,000 × 1,000 runs out.
pub const FUEL: u64 = 500_000;

/// Longest rendered part (a subject, a body, a file entry): 1 MiB. Receivers
/// refuse far less (Slack: 40,000 characters of text).
pub const MAX_OUTPUT_BYTES: usize = 1 << 20;

/// Why a render stopped.
#[derive(Debug)]
pub enum Overrun {
    /// The template failed, or ran out of fuel (see [`Overrun::reason`]).
    Template(minijinja::Error),
    /// The output passed [`MAX_OUTPUT_BYTES`].
    TooLarge,
}

/// Render `template` with `ctx` within [`MAX_OUTPUT_BYTES`] (the environment
/// carries the [`FUEL`]).
pub fn render(template: &Template, ctx: &Value) -> Result<String, Overrun> {
    let mut out = Capped::default();
    let rendered = template.render_captured_to(ctx, &mut out);
    if out.overflowed {
        return Err(Overrun::TooLarge);
    }
    rendered.map_err(Overrun::Template)?;
    // minijinja writes whole UTF-8 strings and `Capped` refuses a write
    // whole, so the bytes are valid UTF-8.
    String::from_utf8(out.bytes).map_err(|_| Overrun::TooLarge)
}

impl Overrun {
    /// The reason in words, minijinja's own text passed through `describe`.
    pub fn reason(&self, describe: impl Fn(&minijinja::Error) -> String) -> String {
        match self {
            Overrun::Template(e) if e.kind() == ErrorKind::OutOfFuel => {
                let at = e.line().map(|l| format!("line {l}: ")).unwrap_or_default();
                format!(
                    "{at}rendering used up its budget of {FUEL} fuel (template steps, and \
                     64 bytes of data each): is a loop too large for one alert?"
                )
            }
            Overrun::Template(e) => describe(e),
            Overrun::TooLarge => format!(
                "the rendered output passed {} MiB, the most one alert part may be",
                MAX_OUTPUT_BYTES >> 20
            ),
        }
    }
}

/// An output buffer that refuses a write past [`MAX_OUTPUT_BYTES`].
#[derive(Default)]
struct Capped {
    bytes: Vec<u8>,
    overflowed: bool,
}

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.bytes.len() + buf.len() > MAX_OUTPUT_BYTES {
            self.overflowed = true;
            return Err(io::Error::other("rendered output too large"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
