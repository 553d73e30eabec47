//! `--format nagios`: plugin output as Nagios, Icinga and Sensu read it
//! (Nagios plugin development guidelines, "Plugin Output"): the first line
//! is `WSPROBE STATUS - summary | perfdata` and carries the one state of the
//! whole check; with several endpoints, one long-text line per endpoint
//! follows, and their perfdata comes after a `|` on the last of those lines.

use crate::check::model::Phase;
use crate::check::thresholds::Measured;
use crate::check::{CheckReport, Status};

/// `warn;crit;min` of a timing's perfdata: the thresholds in ms, empty where none is set.
fn limits(r: &CheckReport, over: Measured) -> String {
    let limit = r.limits.iter().find(|l| l.over == over);
    let ms = |v: Option<f64>| v.map(|v| format!("{v:.3}")).unwrap_or_default();
    format!(
        "{};{};0",
        ms(limit.and_then(|l| l.warning_ms)),
        ms(limit.and_then(|l| l.critical_ms))
    )
}

/// The plugin output for `reports`.
pub fn render(reports: &[CheckReport]) -> String {
    match reports {
        [one] => format!(
            "WSPROBE {} - {} | {}\n",
            one.status().nagios_word(),
            summary(one),
            perfdata(one, None).join(" ")
        ),
        several => render_several(several),
    }
}

/// The worst state first, then one line per endpoint; per-endpoint perfdata
/// labels are prefixed with the endpoint (labels must be unique).
fn render_several(reports: &[CheckReport]) -> String {
    let worst = reports
        .iter()
        .map(CheckReport::status)
        .max()
        .unwrap_or(Status::Unknown);
    let count = |s: Status| reports.iter().filter(|r| r.status() == s).count();
    let failing: Vec<String> = reports
        .iter()
        .filter(|r| r.status() != Status::Ok)
        .map(|r| format!("{} {}", r.label(), r.decisive().class))
        .collect();
    let mut first = format!(
        "WSPROBE {} - {} of {} endpoints OK",
        worst.nagios_word(),
        count(Status::Ok),
        reports.len()
    );
    if !failing.is_empty() {
        first.push_str(&format!("; {}", failing.join(", ")));
    }
    let totals = [
        ("endpoints", reports.len()),
        ("ok", count(Status::Ok)),
        ("warning", count(Status::Warning)),
        ("critical", count(Status::Critical)),
        ("unknown", count(Status::Unknown)),
    ];
    let totals: Vec<String> = totals.iter().map(|(k, n)| format!("{k}={n};;;0")).collect();
    let mut out = format!("{} | {}\n", text_part(&first), totals.join(" "));
    let perf: Vec<String> = reports
        .iter()
        .flat_map(|r| perfdata(r, Some(&r.label())))
        .collect();
    for (i, r) in reports.iter().enumerate() {
        out.push_str(&format!("{} - {}", r.status().nagios_word(), summary(r)));
        if i + 1 == reports.len() {
            out.push_str(&format!(" | {}", perf.join(" ")));
        }
        out.push('\n');
    }
    out
}

/// What happened, without perfdata.
fn summary(r: &CheckReport) -> String {
    let last = r.decisive();
    let text = match &last.error {
        Some(err) => format!("{} {} - {}", r.label(), last.class, err),
        None => {
            let mut s = format!("{} upgraded and closed cleanly", r.label());
            for w in &last.warnings {
                s.push_str(&format!("; {w}"));
            }
            s
        }
    };
    text_part(&text)
}

/// '|' separates perfdata and a newline ends the line: neither may appear
/// in the text part.
fn text_part(text: &str) -> String {
    text.replace('|', "/").replace('\n', " ")
}

/// `label=value[UOM];warn;crit;min;max` for each phase that ran; labels
/// with spaces are quoted, a quote inside doubled, as the guidelines say.
fn perfdata(r: &CheckReport, prefix: Option<&str>) -> Vec<String> {
    let last = r.decisive();
    let label = |name: &str| match prefix {
        None => name.to_string(),
        Some(p) => format!(
            "'{} {name}'",
            p.replace('\'', "''").replace(['|', '='], "_")
        ),
    };
    let mut perf: Vec<String> = Phase::ALL
        .iter()
        .filter_map(|p| {
            let ms = last.timings.get(*p)?;
            Some(format!(
                "{}={ms:.3}ms;{}",
                label(p.as_str()),
                limits(r, Measured::Phase(*p))
            ))
        })
        .collect();
    perf.push(format!(
        "{}={:.3}ms;{}",
        label("total"),
        last.timings.total_ms,
        limits(r, Measured::Total)
    ));
    perf.push(format!("{}={};;;0", label("attempts"), r.attempts.len()));
    if let Some(cert) = last.tls.as_ref().and_then(|t| t.certificate.as_ref()) {
        perf.push(format!("{}={};;;", label("cert_days_left"), cert.days_left));
    }
    perf
}
