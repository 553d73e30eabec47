//! `--format nagios`: the plugin line `WSPROBE STATUS - summary | perfdata`,
//! one line per endpoint, as Nagios, Icinga and Sensu expect.

use crate::check::CheckReport;
use crate::check::model::Phase;

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
        .filter_map(|p| last.timings.get(*p).map(|ms| format!("{p}={ms:.3}ms;;;0")))
        .collect();
    perf.push(format!("total={:.3}ms;;;0", last.timings.total_ms));
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
