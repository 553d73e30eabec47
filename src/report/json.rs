//! `--format json`: one [`ReportDocument`] per endpoint.

use super::document::ReportDocument;
use crate::check::CheckReport;

/// One JSON document per report, separated by newlines (a JSON stream that
/// `jq` reads as is; a single URL gives exactly one object).
pub fn render(reports: &[CheckReport]) -> String {
    let mut out = String::new();
    for r in reports {
        out.push_str(&serde_json::to_string_pretty(&ReportDocument::new(r)).unwrap_or_default());
        out.push('\n');
    }
    out
}
