//! Authentication challenges (`WWW-Authenticate`, `Proxy-Authenticate`,
//! RFC 9110 §11.6): what a server asks for is evidence an engineer needs (the
//! scheme and realm say which credentials to send), unlike what a client
//! sends. A challenge carries no credential of ours, but some of its
//! parameters are the server's one-time material (Digest `nonce`, `opaque`,
//! Negotiate's token), so only parameters known to describe the request for
//! credentials are kept and the others are masked.

use super::redact::MASK;

/// Parameters that describe what the server wants, never a token.
const DESCRIPTIVE_PARAMS: [&str; 9] = [
    "realm",
    "charset",
    "scope",
    "error",
    "error_description",
    "error_uri",
    "algorithm",
    "qop",
    "stale",
];

/// True for the response headers that carry challenges.
pub fn is_challenge_header(name: &str) -> bool {
    name.eq_ignore_ascii_case("www-authenticate") || name.eq_ignore_ascii_case("proxy-authenticate")
}

/// One challenge: the scheme and its realm, if it names one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// "Basic", "Bearer", "Digest", "Negotiate"…, as sent.
    pub scheme: String,
    /// The protection space, unquoted.
    pub realm: Option<String>,
}

/// Every challenge in a header value, in order (a server may offer several,
/// comma-separated, e.g. `Negotiate, Basic realm="corp"`).
pub fn challenges(value: &str) -> Vec<Challenge> {
    let mut found: Vec<Challenge> = Vec::new();
    for item in items(value) {
        match item {
            Item::Scheme(scheme) => found.push(Challenge {
                scheme: scheme.to_string(),
                realm: None,
            }),
            Item::Param(name, value) if name.eq_ignore_ascii_case("realm") => {
                if let Some(last) = found.last_mut() {
                    last.realm = Some(unquote(value));
                }
            }
            Item::Param(..) | Item::Token68 => {}
        }
    }
    found
}

/// The header value fit for evidence: schemes and descriptive parameters
/// kept, every other parameter value and any token68 masked.
pub fn challenge_for_evidence(value: &str) -> String {
    let mut out = String::new();
    let mut after_scheme = false;
    for item in items(value) {
        match item {
            Item::Scheme(scheme) => {
                if !out.is_empty() {
                    out.push_str(", ");
                }
                out.push_str(scheme);
                after_scheme = true;
                continue;
            }
            Item::Param(name, value) => {
                out.push_str(if after_scheme { " " } else { ", " });
                let shown = if DESCRIPTIVE_PARAMS
                    .iter()
                    .any(|p| name.eq_ignore_ascii_case(p))
                {
                    value
                } else {
                    MASK
                };
                out.push_str(&format!("{name}={shown}"));
            }
            Item::Token68 => {
                out.push_str(if after_scheme { " " } else { ", " });
                out.push_str(MASK);
            }
        }
        after_scheme = false;
    }
    out
}

/// A lexical piece of a challenge list.
enum Item<'a> {
    /// An auth-scheme, starting a challenge.
    Scheme(&'a str),
    /// `name=value`, the value as sent (quoted or not).
    Param(&'a str, &'a str),
    /// An opaque token after a scheme (`Negotiate YII…`).
    Token68,
}

/// Splits at commas outside quoted strings, then reads each element as
/// `scheme [param | token68]` or a further `param` of the last challenge.
fn items(value: &str) -> Vec<Item<'_>> {
    let mut out = Vec::new();
    for element in split_outside_quotes(value) {
        let element = element.trim();
        if element.is_empty() {
            continue;
        }
        match param(element) {
            Some((name, value)) => out.push(Item::Param(name, value)),
            None => {
                let (scheme, rest) = element
                    .split_once(char::is_whitespace)
                    .map_or((element, ""), |(s, r)| (s, r.trim()));
                out.push(Item::Scheme(scheme));
                if let Some((name, value)) = param(rest) {
                    out.push(Item::Param(name, value));
                } else if !rest.is_empty() {
                    out.push(Item::Token68);
                }
            }
        }
    }
    out
}

/// `name=value` when `element` is an auth-param: a token, `=`, then a value
/// (a token68 such as `abc==` has nothing after its `=`s).
fn param(element: &str) -> Option<(&str, &str)> {
    let (name, value) = element.split_once('=')?;
    let name = name.trim();
    let value = value.trim();
    let is_token = !name.is_empty() && !name.contains(char::is_whitespace);
    (is_token && !value.is_empty() && !value.starts_with('=')).then_some((name, value))
}

fn split_outside_quotes(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts
}

fn unquote(value: &str) -> String {
    let inner = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    inner.replace("\\\"", "\"").replace("\\\\", "\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scheme and realm of each challenge, as expected.
    type Wanted = Vec<(&'static str, Option<&'static str>)>;

    #[test]
    fn challenges_give_their_scheme_and_realm() {
        let table: [(&str, Wanted); 5] = [
            (
                "Basic realm=\"admin area\"",
                vec![("Basic", Some("admin area"))],
            ),
            (
                "Bearer realm=\"api\", error=\"invalid_token\"",
                vec![("Bearer", Some("api"))],
            ),
            (
                "Negotiate, Basic realm=\"corp, inc\"",
                vec![("Negotiate", None), ("Basic", Some("corp, inc"))],
            ),
            (
                "Digest realm=\"r\", nonce=\"n0\", qop=\"auth\"",
                vec![("Digest", Some("r"))],
            ),
            ("Bearer", vec![("Bearer", None)]),
        ];
        for (value, want) in table {
            let got: Vec<(String, Option<String>)> = challenges(value)
                .into_iter()
                .map(|c| (c.scheme, c.realm))
                .collect();
            let want: Vec<(String, Option<String>)> = want
                .into_iter()
                .map(|(s, r)| (s.to_string(), r.map(str::to_string)))
                .collect();
            assert_eq!(got, want, "{value}");
        }
    }

    #[test]
    fn evidence_keeps_scheme_and_realm_and_masks_one_time_material() {
        let table = [
            ("Basic realm=\"admin\"", "Basic realm=\"admin\""),
            (
                "Digest realm=\"r\", nonce=\"dcd98b7102dd2f0e\", opaque=\"5ccc069c\", qop=\"auth\"",
                "Digest realm=\"r\", nonce=***, opaque=***, qop=\"auth\"",
            ),
            (
                "Negotiate YIIGhgYJKoZIhvcSAQICAQBuggZ1MIIG==",
                "Negotiate ***",
            ),
            (
                "Bearer realm=\"api\", error=\"invalid_token\"",
                "Bearer realm=\"api\", error=\"invalid_token\"",
            ),
            (
                "Negotiate, Basic realm=\"corp\"",
                "Negotiate, Basic realm=\"corp\"",
            ),
        ];
        for (value, want) in table {
            assert_eq!(challenge_for_evidence(value), want, "{value}");
            // Evidence is redacted again by consumers: the form must be stable.
            assert_eq!(challenge_for_evidence(want), want, "{want}");
        }
    }
}
