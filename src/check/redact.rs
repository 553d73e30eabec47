//! Secret hygiene by name: header values that can carry credentials, URL
//! userinfo and credential query parameters are replaced where they are
//! recorded. Values are scrubbed wherever else they turn up by
//! [`super::secrets::Secrets`]; this module decides which names are secret.

use super::challenge::{challenge_for_evidence, is_challenge_header};

/// What a credential header's value is replaced with.
pub const REDACTED: &str = "[redacted]";
/// What a secret in a URL (userinfo, credential parameter) or in free text is
/// replaced with.
pub const MASK: &str = "***";

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

/// Words that mark a query parameter as a credential when they are its whole
/// name or one of its `_`/`-`/camelCase components (`access_token`,
/// `X-Amz-Signature`, `apiKey`). Components, not substrings: `monkey` and
/// `authorName` are not credentials, `key` and `auth_code` are.
const SECRET_PARAM_WORDS: [&str; 16] = [
    "token",
    "key",
    "secret",
    "sig",
    "signature",
    "password",
    "passwd",
    "pwd",
    "auth",
    "authorization",
    "session",
    "jwt",
    "code",
    "credential",
    "credentials",
    "apikey",
];

/// True for header names whose values are credentials or session material.
/// Runs on every header of every check, so it does not allocate.
pub fn is_secret_header(name: &str) -> bool {
    SECRET_NAMES.iter().any(|n| name.eq_ignore_ascii_case(n))
        || SECRET_WORDS
            .iter()
            .any(|w| contains_ignore_ascii_case(name, w))
}

/// True for query parameter names whose values are credentials.
pub fn is_secret_param(name: &str) -> bool {
    name_components(name).any(|c| SECRET_PARAM_WORDS.iter().any(|w| c.eq_ignore_ascii_case(w)))
}

/// The name itself, then its parts split at `_`, `-`, `.` and lower→upper
/// case changes (`accessToken` → `access`, `Token`).
fn name_components(name: &str) -> impl Iterator<Item = &str> {
    let mut parts = Vec::new();
    for piece in name.split(['_', '-', '.']) {
        let mut start = 0;
        let bytes = piece.as_bytes();
        for i in 1..bytes.len() {
            if bytes[i - 1].is_ascii_lowercase() && bytes[i].is_ascii_uppercase() {
                parts.push(&piece[start..i]);
                start = i;
            }
        }
        parts.push(&piece[start..]);
    }
    std::iter::once(name).chain(parts)
}

fn contains_ignore_ascii_case(haystack: &str, needle: &str) -> bool {
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// The value to record for a header: itself, or [`REDACTED`]; a challenge
/// (`WWW-Authenticate`) keeps its scheme and realm, which are no secret.
pub fn header_value_for_evidence(name: &str, value: &str) -> String {
    if is_challenge_header(name) {
        challenge_for_evidence(value)
    } else if is_secret_header(name) {
        REDACTED.to_string()
    } else {
        value.to_string()
    }
}

/// A URL (or a request target such as `/ws?x=1`) fit for evidence: userinfo
/// becomes `user:***@` (or `***@` when there is no password, since a lone
/// user is often a token) and credential query parameters `name=***`.
/// Works on text, so it also redacts URLs that did not parse.
pub fn redact_url(url: &str) -> String {
    let (before_query, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut out = redact_userinfo(before_query);
    if let Some(query) = query {
        let (query, fragment) = match query.split_once('#') {
            Some((q, f)) => (q, Some(f)),
            None => (query, None),
        };
        out.push('?');
        out.push_str(&redact_query(query));
        if let Some(f) = fragment {
            out.push('#');
            out.push_str(f);
        }
    }
    out
}

fn redact_userinfo(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let authority_end = url[scheme_end..]
        .find(['/', '#'])
        .map_or(url.len(), |i| scheme_end + i);
    let Some(at) = url[scheme_end..authority_end].rfind('@') else {
        return url.to_string();
    };
    let userinfo = &url[scheme_end..scheme_end + at];
    let shown = match userinfo.split_once(':') {
        Some((user, _)) if !user.is_empty() => format!("{user}:{MASK}"),
        _ => MASK.to_string(),
    };
    format!("{}{shown}{}", &url[..scheme_end], &url[scheme_end + at..])
}

fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if is_secret_param(&super::percent::decode(k)) => format!("{k}={MASK}"),
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The values of credential query parameters in a request target, raw (as
/// written) — for [`super::secrets::Secrets`] to scrub in every form.
pub fn secret_param_values(resource: &str) -> impl Iterator<Item = &str> {
    resource
        .split_once('?')
        .map(|(_, q)| q.split('#').next().unwrap_or(q))
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter_map(|pair| pair.split_once('='))
        .filter(|(k, _)| is_secret_param(&super::percent::decode(k)))
        .map(|(_, v)| v)
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
    fn a_challenge_keeps_its_scheme_and_realm() {
        assert_eq!(
            header_value_for_evidence("WWW-Authenticate", "Basic realm=\"ops\""),
            "Basic realm=\"ops\""
        );
        assert_eq!(
            header_value_for_evidence("proxy-authenticate", "Digest realm=\"p\", nonce=\"abc\""),
            "Digest realm=\"p\", nonce=***"
        );
    }

    #[test]
    fn ordinary_headers_are_kept() {
        for name in ["Origin", "User-Agent", "Sec-WebSocket-Accept", "Server"] {
            assert_eq!(header_value_for_evidence(name, "v"), "v", "{name}");
        }
    }

    #[test]
    fn param_names_are_credentials_as_a_whole_name_or_a_component() {
        let table = [
            ("token", true),
            ("access_token", true),
            ("ACCESS-TOKEN", true),
            ("api_key", true),
            ("apiKey", true),
            ("apikey", true),
            ("key", true),
            ("X-Amz-Signature", true),
            ("X-Amz-Credential", true),
            ("sig", true),
            ("signature", true),
            ("client_secret", true),
            ("password", true),
            ("passwd", true),
            ("pwd", true),
            ("auth", true),
            ("authorization", true),
            ("session", true),
            ("session_id", true),
            ("jwt", true),
            ("code", true),
            ("auth_code", true),
            ("Credential", true),
            ("room", false),
            ("monkey", false),
            ("authorName", false),
            ("signal", false),
            ("keyboard", false),
            ("codec", false),
            ("v", false),
            ("", false),
        ];
        for (name, secret) in table {
            assert_eq!(is_secret_param(name), secret, "{name:?}");
        }
    }

    #[test]
    fn credential_query_parameters_are_masked_and_others_kept() {
        assert_eq!(
            redact_url("wss://h/ws?room=1&access_token=abc&key=k&X-Amz-Signature=f00#top"),
            "wss://h/ws?room=1&access_token=***&key=***&X-Amz-Signature=***#top"
        );
        assert_eq!(redact_url("/ws?api%5Fkey=z&n=2"), "/ws?api%5Fkey=***&n=2");
        assert_eq!(redact_url("ws://h/"), "ws://h/");
    }

    #[test]
    fn userinfo_is_always_masked_keeping_the_user_name() {
        assert_eq!(
            redact_url("ws://alice:pa55@h:80/p?x=1"),
            "ws://alice:***@h:80/p?x=1"
        );
        assert_eq!(redact_url("ws://t0k3n@h/"), "ws://***@h/");
        assert_eq!(redact_url("ws://:pw@h/"), "ws://***@h/");
        assert_eq!(redact_url("ws://h/p@q"), "ws://h/p@q");
        assert_eq!(redact_url("ws://a:b@[::1/"), "ws://a:***@[::1/");
    }

    #[test]
    fn secret_param_values_are_listed_raw() {
        let values: Vec<&str> =
            secret_param_values("/ws?room=1&access_token=a%2Bb&sig=s#f").collect();
        assert_eq!(values, ["a%2Bb", "s"]);
    }
}
