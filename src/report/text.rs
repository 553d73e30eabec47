//! `--format text`: one status line per endpoint; on failure the class, phase,
//! evidence, timeline and hint; `-v` adds the request/response heads.

use super::{ms_text, timings_line};
use crate::check::error::CheckError;
use crate::check::model::{CloseInfo, Closer};
use crate::check::{AttemptReport, CheckReport, Status};
use std::fmt::Write;

/// Render every report, separated by blank lines, without colour (alerts,
/// the store, files).
pub fn render(reports: &[CheckReport], verbose: bool) -> String {
    render_with(reports, verbose, false)
}

/// Like [`render`]; `colour` paints each status word (for a terminal).
pub fn render_with(reports: &[CheckReport], verbose: bool, colour: bool) -> String {
    let mut out = String::new();
    for (i, r) in reports.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        report(&mut out, r, verbose, colour);
    }
    out
}

/// The status word, in bold red/yellow/magenta or green when `colour`.
fn status_word(status: Status, colour: bool) -> String {
    let word = status.nagios_word();
    if !colour {
        return word.to_string();
    }
    let sgr = match status {
        Status::Ok => "32",
        Status::Warning => "1;33",
        Status::Critical => "1;31",
        Status::Unknown => "1;35",
    };
    format!("\x1b[{sgr}m{word}\x1b[0m")
}

fn report(out: &mut String, r: &CheckReport, verbose: bool, colour: bool) {
    let last = r.decisive();
    let status = status_word(r.status(), colour);
    match &last.error {
        None => {
            let _ = writeln!(out, "{status} {} — {}", r.label(), success_summary(last));
            for w in &last.warnings {
                let _ = writeln!(out, "  warning:  {w}");
            }
            if r.attempts.len() > 1 {
                let _ = writeln!(
                    out,
                    "  attempts: passed on attempt {} of {}",
                    last.number,
                    r.attempts.len()
                );
                for a in &r.attempts[..r.attempts.len() - 1] {
                    let _ = writeln!(
                        out,
                        "    #{}: {} — {}",
                        a.number,
                        a.class,
                        a.message.as_deref().unwrap_or("")
                    );
                }
            }
            if verbose {
                attempt_detail(out, last, true);
            }
        }
        Some(err) => {
            let phase = last.phase.map(|p| p.as_str()).unwrap_or("-");
            let _ = writeln!(
                out,
                "{status} {} — {} in {phase} ({} attempt{})",
                r.label(),
                last.class,
                r.attempts.len(),
                if r.attempts.len() == 1 { "" } else { "s" }
            );
            let _ = writeln!(out, "  what:     {err}");
            evidence(out, err, last);
            if let Some(hint) = &last.hint {
                let _ = writeln!(out, "  hint:     {hint}");
            }
            for a in &r.attempts[..r.attempts.len() - 1] {
                let _ = writeln!(
                    out,
                    "  attempt #{}: {} in {} — {}",
                    a.number,
                    a.class,
                    a.phase.map(|p| p.as_str()).unwrap_or("-"),
                    a.message.as_deref().unwrap_or("")
                );
            }
            attempt_detail(out, last, verbose);
        }
    }
}

fn success_summary(a: &AttemptReport) -> String {
    let mut parts = vec![format!(
        "101 in {}",
        ms_text(a.timings.upgrade_ms.unwrap_or_default())
    )];
    if let Some(pong) = a
        .events
        .iter()
        .find(|e| e.what.starts_with("pong received after"))
    {
        parts.push(pong.what.replace("pong received after", "pong"));
    }
    if !a.timings.steps.is_empty() {
        let ms: f64 = a.timings.steps.iter().map(|s| s.ms).sum();
        let n = a.timings.steps.len();
        parts.push(format!(
            "{n} step{} in {}",
            if n == 1 { "" } else { "s" },
            ms_text(ms)
        ));
    }
    if let Some(c) = &a.close {
        parts.push(close_text(c));
    }
    parts.push(format!("total {}", ms_text(a.timings.total_ms)));
    parts.join(", ")
}

/// Who closed, with which frame, and when the server ended TCP.
pub fn close_text(c: &CloseInfo) -> String {
    let frame = match &c.server_frame {
        Some(f) => format!(
            "Close {}{}",
            f.code.map_or("(no code)".into(), |c| c.to_string()),
            if f.reason.is_empty() {
                String::new()
            } else {
                format!(" {:?}", f.reason)
            }
        ),
        None => "no Close frame".into(),
    };
    let end = match (c.peer_end, c.peer_end_at_ms) {
        (Some(e), Some(at)) => format!("server {e} at {}", ms_text(at)),
        _ => "server kept TCP open".into(),
    };
    match c.initiated_by {
        Closer::Client if c.clean => format!("clean close ({frame} from the server, then its FIN)"),
        Closer::Client => format!("close: {frame} from the server, {end}"),
        Closer::Server => format!("server closed first: {frame}, {end}"),
    }
}

fn evidence(out: &mut String, err: &CheckError, a: &AttemptReport) {
    match err {
        CheckError::Timeout {
            bytes_sent,
            bytes_received,
            limit_ms,
            detail,
            ..
        } => {
            let _ = writeln!(
                out,
                "  waited:   {limit_ms} ms; {bytes_sent} bytes sent, {bytes_received} bytes received on the connection"
            );
            if let Some(d) = detail {
                let _ = writeln!(out, "  detail:   {d}");
            }
        }
        CheckError::Tls {
            certificate: Some(c),
            ..
        } => {
            let _ = writeln!(
                out,
                "  cert:     subject {} · issuer {}",
                c.subject, c.issuer
            );
            let _ = writeln!(
                out,
                "            valid {} → {} ({} days left) · names {}",
                c.not_before,
                c.not_after,
                c.days_left,
                c.names.join(", ")
            );
        }
        CheckError::UnexpectedMessage {
            received, recent, ..
        } => {
            let _ = writeln!(out, "  received: {received:?}");
            // The last one is usually the message just shown.
            let earlier = match recent.split_last() {
                Some((last, before)) if last == received => before,
                _ => recent.as_slice(),
            };
            for (i, earlier) in earlier.iter().enumerate() {
                let label = if i == 0 {
                    "  last messages:"
                } else {
                    "                 "
                };
                let _ = writeln!(out, "{label} {earlier:?}");
            }
        }
        _ => {}
    }
    if let Some(head) = &a.response {
        let _ = writeln!(out, "  response: {}", head.status_line());
        if head.status != 101 {
            for (k, v) in &head.headers {
                let _ = writeln!(out, "            {k}: {v}");
            }
            if let Some(body) = head
                .body_snippet
                .as_deref()
                .filter(|b| !b.trim().is_empty())
            {
                let one_line: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
                let _ = writeln!(out, "  body:     {}", truncate_chars(&one_line, 200));
            }
        }
    }
    if let Some(c) = &a.close {
        let _ = writeln!(out, "  close:    {}", close_text(c));
    }
    let _ = writeln!(out, "  timings:  {}", timings_line(&a.timings));
}

fn attempt_detail(out: &mut String, a: &AttemptReport, verbose: bool) {
    if verbose {
        if let Some(addr) = &a.address {
            let _ = writeln!(
                out,
                "  address:  {addr}{}{}",
                a.local_address
                    .as_ref()
                    .map(|l| format!(" from {l}"))
                    .unwrap_or_default(),
                a.proxy
                    .as_ref()
                    .map(|p| format!(" via {p}"))
                    .unwrap_or_default()
            );
        }
        if let Some(tls) = &a.tls {
            let _ = writeln!(
                out,
                "  tls:      {} {}",
                tls.version.as_deref().unwrap_or("-"),
                tls.cipher.as_deref().unwrap_or("")
            );
            if let Some(c) = &tls.certificate {
                let _ = writeln!(
                    out,
                    "            {} (issuer {}), expires {} ({} days)",
                    c.subject, c.issuer, c.not_after, c.days_left
                );
            }
        }
        if let Some(req) = &a.request {
            let _ = writeln!(out, "  request:");
            let _ = writeln!(out, "    > {}", req.line);
            for (k, v) in &req.headers {
                let _ = writeln!(out, "    > {k}: {v}");
            }
        }
        if let Some(head) = &a.response {
            let _ = writeln!(out, "  response:");
            let _ = writeln!(out, "    < {}", head.status_line());
            for (k, v) in &head.headers {
                let _ = writeln!(out, "    < {k}: {v}");
            }
        }
        if a.ok() {
            let _ = writeln!(out, "  timings:  {}", timings_line(&a.timings));
        }
    }
    if verbose || !a.ok() {
        let _ = writeln!(out, "  timeline:");
        for e in &a.events {
            let _ = writeln!(
                out,
                "    {:>10}  {:<8} {}",
                ms_text(e.at_ms),
                e.phase.as_str(),
                e.what
            );
        }
    }
}

fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}
