//! `--format junit`: JUnit XML that CI systems render, one test case per endpoint.

use super::text;
use crate::check::CheckReport;

/// The whole document.
pub fn render(reports: &[CheckReport]) -> String {
    let failures = reports.iter().filter(|r| !r.ok()).count();
    let total_s: f64 = reports
        .iter()
        .map(|r| r.attempts.iter().map(|a| a.timings.total_ms).sum::<f64>())
        .sum::<f64>()
        / 1000.0;
    let timestamp = reports
        .first()
        .and_then(|r| r.attempts.first())
        .map(|a| a.started_at.clone())
        .unwrap_or_default();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"wsprobe\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"{total_s:.3}\">\n",
        reports.len()
    ));
    out.push_str(&format!(
        "  <testsuite name=\"wsprobe check\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"{total_s:.3}\" timestamp=\"{}\">\n",
        reports.len(),
        escape(&timestamp)
    ));
    for r in reports {
        let last = r.decisive();
        let time_s: f64 = r.attempts.iter().map(|a| a.timings.total_ms).sum::<f64>() / 1000.0;
        out.push_str(&format!(
            "    <testcase classname=\"wsprobe.check\" name=\"{}\" time=\"{time_s:.3}\">\n",
            escape(&r.label())
        ));
        let detail = text::render(std::slice::from_ref(r), true);
        if let Some(err) = &last.error {
            out.push_str(&format!(
                "      <failure type=\"{}\" message=\"{}\">{}</failure>\n",
                last.class,
                escape(&err.to_string()),
                escape(&detail)
            ));
        } else {
            out.push_str(&format!(
                "      <system-out>{}</system-out>\n",
                escape(&detail)
            ));
        }
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// XML-escape text and attribute values; drop characters XML 1.0 forbids.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escaping_handles_markup_quotes_and_control_bytes() {
        assert_eq!(
            escape("<a href=\"x\">&'\u{1}"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;\\x01"
        );
    }
}
