//! Value parsers shared by the subcommands.

use std::time::Duration;

/// Parse a humantime duration ("250ms", "5s", "1m30s").
pub fn duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("{e} (expected a duration like 250ms, 5s or 1m)"))
}

/// A duration, or a bare number of seconds as curl takes `-m 5` or
/// `--connect-timeout 2.5`.
pub fn seconds_or_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if let Ok(seconds) = s.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds)
            .map_err(|_| format!("{s} is not a number of seconds (e.g. 5, 0.5 or 5s)"));
    }
    duration(s)
}

/// A listen address: `127.0.0.1:9108`, `localhost:9108` or `:9108`.
pub fn listen(s: &str) -> Result<std::net::SocketAddr, String> {
    crate::config::listen::parse(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_number_is_seconds_and_a_unit_is_humantime() {
        for (text, want) in [
            ("5", Duration::from_secs(5)),
            ("0.5", Duration::from_millis(500)),
            ("250ms", Duration::from_millis(250)),
            ("1m", Duration::from_secs(60)),
        ] {
            assert_eq!(seconds_or_duration(text), Ok(want), "{text}");
        }
        assert!(seconds_or_duration("-1").unwrap_err().contains("seconds"));
        assert!(seconds_or_duration("soon").is_err());
    }
}
