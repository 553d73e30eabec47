//! `--format nagios`: the plugin line `WSPROBE STATUS - summary | perfdata`,
//! one line per endpoint, as Nagios, Icinga and Sensu expect.

use crate::check::CheckReport;
use crate::check::model::Phase;
use crate::check::thresholds::Measured;

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

/// One plugin line per report.
pub fn render(reports: &[CheckReport]) -> String {
    let mut out = String::new();
    for r in reports {
        out.push_str(&line(r));
        out.push('\n');
    }
    out
}

fn line(r: &CheckReport) -> String {
    let last = r.decisive();
    let summary = match &last.error {
        Some(err) => format!("{} - {}", last.class, err),
        None => {
            let mut s = format!("{} upgraded and closed cleanly", r.label());
            for w in &last.warnings {
                s.push_str(&format!("; {w}"));
            }
            s
        }
    };
    let summary = if last.error.is_some() {
        format!("{} {}", r.label(), summary)
    } else {
        summary
    };
    let mut perf: Vec<String> = Phase::ALL
        .iter()
        .filter_map(|p| {
            let ms = last.timings.get(*p)?;
            Some(format!("{p}={ms:.3}ms;{}", limits(r, Measured::Phase(*p))))
        })
        .collect();
    perf.push(format!(
        "total={:.3}ms;{}",
        last.timings.total_ms,
        limits(r, Measured::Total)
    ));
    perf.push(format!("attempts={};;;0", r.attempts.len()));
    if let Some(cert) = last.tls.as_ref().and_then(|t| t.certificate.as_ref()) {
        perf.push(format!("cert_days_left={};;;", cert.days_left));
    }
    // '|' separates perfdata; it must not appear in the text part.
    let summary = summary.replace('|', "/").replace('\n', " ");
    format!(
        "WSPROBE {} - {} | {}",
        r.status().nagios_word(),
        summary,
        perf.join(" ")
    )
}
