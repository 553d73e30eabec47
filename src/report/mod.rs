//! Renderers: one file per output format, each a pure function of the reports;
//! [`document`] is the typed report every consumer reads (`--format json`).
//!
//! Reports are already redacted when they are built, so no renderer can leak a
//! credential even by mistake.

pub mod document;
pub mod json;
pub mod junit;
pub mod nagios;
pub mod text;

use crate::check::CheckReport;
use crate::check::model::{Phase, Timings};

/// Output formats of `wsprobe check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Short and human; `-v` adds the heads and the timeline of every attempt.
    Text,
    /// One JSON object per checked endpoint (`docs/report.schema.json`).
    Json,
    /// JUnit XML, one test case per endpoint.
    Junit,
    /// Nagios plugin output with perfdata.
    Nagios,
}

/// Render `reports` in `format`; `colour` paints the status words of the
/// text format (for a terminal).
pub fn render(format: Format, reports: &[CheckReport], verbose: bool, colour: bool) -> String {
    match format {
        Format::Text => text::render_with(reports, verbose, colour),
        Format::Json => json::render(reports),
        Format::Junit => junit::render(reports),
        Format::Nagios => nagios::render(reports),
    }
}

/// "connect 0.21 ms · upgrade 1.02 ms" for the phases that ran.
pub fn timings_line(t: &Timings) -> String {
    let mut parts: Vec<String> = Phase::ALL
        .iter()
        .filter_map(|p| t.get(*p).map(|ms| format!("{p} {}", ms_text(ms))))
        .collect();
    parts.push(format!("total {}", ms_text(t.total_ms)));
    parts.join(" · ")
}

/// Milliseconds for humans: 0.42 ms, 12.3 ms, 1.52 s.
pub fn ms_text(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else if ms >= 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.2} ms")
    }
}
