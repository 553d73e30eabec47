//! Value parsers shared by the subcommands.

use std::time::Duration;

/// Parse a humantime duration ("250ms", "5s", "1m30s").
pub fn duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("{e} (expected a duration like 250ms, 5s or 1m)"))
}
