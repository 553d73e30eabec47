//! The instance's name: `--instance NAME`, or the host name plus a short
//! random suffix, so two instances on one host (or a restarted container
//! that reuses its host name) never share a heartbeat row; and its location
//! (`--location NAME`, `settings.location`, default [`DEFAULT_LOCATION`]).

use crate::state::store::Member;
use chrono::Utc;

/// Longest instance name.
const MAX_NAME: usize = 64;

/// The location of an instance started without one.
pub const DEFAULT_LOCATION: &str = "default";

/// `name` if it is a usable instance name, else why not.
pub fn validate(name: &str) -> Result<String, String> {
    usable_name(name).map_err(|why| format!("--instance: {why}"))
}

/// `name` if it is a usable location name (the rules of instance names),
/// else why not.
pub fn validate_location(name: &str) -> Result<String, String> {
    usable_name(name).map_err(|why| format!("--location: {why}"))
}

/// Why `name` cannot name an instance or a location, if it cannot.
pub fn usable_name(name: &str) -> Result<String, String> {
    if name.is_empty() {
        return Err("the name is empty".into());
    }
    if name.len() > MAX_NAME {
        return Err(format!("{name:?} is longer than {MAX_NAME} characters"));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "{name:?} contains {bad:?}; use letters, digits, '-', '_' and '.'"
        ));
    }
    Ok(name.to_string())
}

/// The location of `m`: instances from before locations existed wrote none,
/// and were all in the one location there was.
pub fn location_of(m: &Member) -> &str {
    m.location.as_deref().unwrap_or(DEFAULT_LOCATION)
}

/// The default name: host name and 4 random hex digits (`probe-1-3fa2`).
pub fn default_name() -> String {
    let host = host_name()
        .map(|h| {
            h.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '-'
                    }
                })
                .take(MAX_NAME - 5)
                .collect::<String>()
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "wsprobe".into());
    format!("{host}-{:04x}", rand::random::<u16>())
}

/// This instance's heartbeat row, as of now.
pub fn member(name: String, location: String) -> Member {
    let now = Utc::now();
    Member {
        name,
        location: Some(location),
        version: env!("CARGO_PKG_VERSION").to_string(),
        started_at: now,
        heartbeat_at: now,
    }
}

fn host_name() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most
    // that many bytes and we stop at the first NUL (or the end).
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8(buf[..end].to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_the_default_is_usable() {
        assert_eq!(validate("probe-eu-1").unwrap(), "probe-eu-1");
        assert!(validate("").unwrap_err().contains("empty"));
        assert!(validate("a b").unwrap_err().contains("' '"));
        assert!(validate(&"x".repeat(65)).unwrap_err().contains("longer"));
        assert_eq!(validate_location("eu-west").unwrap(), "eu-west");
        assert_eq!(
            validate_location("eu west").unwrap_err(),
            "--location: \"eu west\" contains ' '; use letters, digits, '-', '_' and '.'"
        );
        let name = default_name();
        assert_eq!(validate(&name).unwrap(), name);
        let (_, suffix) = name.rsplit_once('-').expect("host-suffix");
        assert!(
            suffix.len() == 4 && suffix.chars().all(|c| c.is_ascii_hexdigit()),
            "{name}"
        );
    }
}
