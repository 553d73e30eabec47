//! Secret hygiene: header values that can carry credentials are replaced before
//! they are stored in any report, so no renderer, log or alert can leak them.

/// What a redacted value is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Header names that carry credentials whatever else they say.
const SECRET_NAMES: [&str; 5] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
];
/// Words that mark a header name as secret-bearing (X-Auth-Token, X-Session-Id…).
const SECRET_WORDS: [&str; 8] = [
    "token", "secret", "password", "passwd", "api-key", "apikey", "session", "auth",
];

/// True for header names whose values are credentials or session material.
/// Runs on every header of every check, so it does not allocate.
pub fn is_secret_header(name: &str) -> bool {
    SECRET_NAMES.iter().any(|n| name.eq_ignore_ascii_case(n))
        || SECRET_WORDS
            .iter()
            .any(|w| contains_ignore_ascii_case(name, w))
}

fn contains_ignore_ascii_case(haystack: &str, needle: &str) -> bool {
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// The value to record for a header: itself, or [`REDACTED`].
pub fn header_value_for_evidence(name: &str, value: &str) -> String {
    if is_secret_header(name) {
        REDACTED.to_string()
    } else {
        value.to_string()
    }
}

/// Remove credentials from a URL's query string (`?token=…`, `?access_token=…`).
pub fn redact_url(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let parts: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if is_secret_header(k) || k.eq_ignore_ascii_case("key") => {
                format!("{k}={REDACTED}")
            }
            _ => pair.to_string(),
        })
        .collect();
    format!("{base}?{}", parts.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_headers_are_redacted_whatever_their_case() {
        for name in [
            "Authorization",
            "cookie",
            "Set-Cookie",
            "X-Auth-Token",
            "X-Api-Key",
            "Proxy-Authorization",
            "X-Session-Id",
        ] {
            assert_eq!(
                header_value_for_evidence(name, "s3cret"),
                REDACTED,
                "{name}"
            );
        }
    }

    #[test]
    fn ordinary_headers_are_kept() {
        for name in ["Origin", "User-Agent", "Sec-WebSocket-Accept", "Server"] {
            assert_eq!(header_value_for_evidence(name, "v"), "v", "{name}");
        }
    }

    #[test]
    fn token_query_parameters_are_redacted_and_others_kept() {
        assert_eq!(
            redact_url("wss://h/ws?room=1&access_token=abc&key=k"),
            "wss://h/ws?room=1&access_token=[redacted]&key=[redacted]"
        );
        assert_eq!(redact_url("ws://h/"), "ws://h/");
    }
}
