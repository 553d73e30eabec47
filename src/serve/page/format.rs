//! Numbers and times as the status page words them.

use chrono::{DateTime, Duration, Utc};

/// A path segment with everything but unreserved characters percent-encoded.
pub(super) fn path_segment(s: &str) -> String {
    crate::check::percent::encode(s)
}

/// "99.95 %", never rounded up to 100; "100.00 %" with the same two
/// decimals, so it lines up beside "0.00 %"; "—" without data.
pub(super) fn percent(ratio: Option<f64>) -> String {
    match ratio {
        None => "—".into(),
        Some(r) => format!("{:.2} %", (r.min(1.0) * 10_000.0).floor() / 100.0),
    }
}

/// "0.42 ms", "12 ms", "1.24 s".
pub(super) fn ms_text(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

/// "12 s ago", "5 min ago", "3 h ago", "2 d ago".
pub(super) fn ago(now: DateTime<Utc>, at: DateTime<Utc>) -> String {
    let secs = (now - at).num_seconds().max(0);
    match secs {
        0..=59 => format!("{secs} s ago"),
        60..=3599 => format!("{} min ago", secs / 60),
        3600..=86_399 => format!("{} h ago", secs / 3600),
        _ => format!("{} d ago", secs / 86_400),
    }
}

/// "45 s", "12 min", "3 h 5 min", "2 d 4 h".
pub(super) fn duration_text(d: Duration) -> String {
    let secs = d.num_seconds().max(0);
    let (days, hours, mins) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3599 => format!("{mins} min"),
        3600..=86_399 => format!("{hours} h {mins} min"),
        _ => format!("{days} d {hours} h"),
    }
}
