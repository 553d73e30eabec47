//! `settings.base_path` and `settings.http`: where the HTTP surface lives
//! behind a reverse proxy, and who may use it when it is not on a private
//! network (credentials, and the `Host` names it answers to).
//!
//! ```yaml
//! settings:
//!   base_path: /wsprobe
//!   http:
//!     auth:
//!       bearer_token: ${WSPROBE_HTTP_TOKEN}
//!       basic: {user: ops, password: ${WSPROBE_HTTP_PASSWORD}}
//!     allowed_hosts: [status.example.com, "*.internal.example.com", localhost]
//! ```
//!
//! Secrets come from the environment only, as every secret of the file.

use super::de::At;
use super::loader::Loader;
use super::raw::{RawAuth, RawBasic, RawHttp};
use std::fmt;

/// `settings.http`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HttpSettings {
    /// Credentials every route but `/healthz` and `/readyz` asks for.
    pub auth: Option<HttpAuth>,
    /// The `Host` names requests may carry; empty = any.
    pub allowed_hosts: Vec<HostPattern>,
}

/// Accepted credentials: a bearer token (Prometheus' `authorization`,
/// scripts), HTTP basic (browsers), or both.
#[derive(Clone, PartialEq)]
pub struct HttpAuth {
    /// `Authorization: Bearer TOKEN`.
    pub bearer_token: Option<String>,
    /// `Authorization: Basic base64(user:password)`.
    pub basic: Option<BasicCredentials>,
}

/// One user and password for HTTP basic authentication.
#[derive(Clone, PartialEq)]
pub struct BasicCredentials {
    pub user: String,
    pub password: String,
}

/// Debug output names which kinds are set, never their values.
impl fmt::Debug for HttpAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpAuth")
            .field("bearer_token", &self.bearer_token.as_ref().map(|_| "<set>"))
            .field("basic", &self.basic.as_ref().map(|b| &b.user))
            .finish()
    }
}

/// An entry of `allowed_hosts`: a host name, an IP address, or
/// `*.example.com` (any name under example.com, not example.com itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    Exact(String),
    /// The suffix after `*`, e.g. `.example.com`.
    AnyUnder(String),
}

impl HttpSettings {
    /// May a request whose `Host` header names `host` (port removed, as
    /// written) be served? Names compare case-insensitively, a trailing dot
    /// ignored; with no `allowed_hosts`, any host may.
    pub fn allows_host(&self, host: &str) -> bool {
        let host = normalize_host(host);
        self.allowed_hosts.is_empty() || self.allowed_hosts.iter().any(|p| p.matches(&host))
    }
}

impl HostPattern {
    /// Does `host`, in [`normalize_host`]'s form, match?
    fn matches(&self, host: &str) -> bool {
        match self {
            HostPattern::Exact(name) => host == name,
            HostPattern::AnyUnder(suffix) => host.len() > suffix.len() && host.ends_with(suffix),
        }
    }
}

/// Lower case, no trailing dot, no IPv6 brackets: the form patterns keep.
fn normalize_host(host: &str) -> String {
    let host = host.trim().trim_end_matches('.');
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    host.to_ascii_lowercase()
}

/// Read `settings.http`; `None` when it holds an error (recorded).
pub(crate) fn http_settings(l: &mut Loader, raw: &RawHttp) -> Option<HttpSettings> {
    let before = l.error_count();
    let mut http = HttpSettings::default();
    if let Some(auth) = &raw.auth {
        http.auth = auth_settings(l, auth);
    }
    if let Some(hosts) = &raw.allowed_hosts {
        let entries = hosts.value.as_deref().unwrap_or_default();
        if entries.is_empty() {
            l.key_error(
                hosts.pos,
                "http.allowed_hosts",
                "is empty, which would refuse every request: list the names the page is reached by, or remove the key",
            );
        }
        for v in entries {
            match host_pattern(&v.value) {
                Ok(p) => http.allowed_hosts.push(p),
                Err(why) => l.key_error(v.pos, "http.allowed_hosts", why),
            }
        }
    }
    (l.error_count() == before).then_some(http)
}

fn auth_settings(l: &mut Loader, raw: &At<Option<RawAuth>>) -> Option<HttpAuth> {
    let given = raw
        .value
        .as_ref()
        .filter(|a| a.bearer_token.is_some() || a.basic.is_some());
    let Some(auth) = given else {
        // An empty block must not quietly leave the surface open.
        l.key_error(
            raw.pos,
            "http.auth",
            "names no credentials: give bearer_token, basic (user and password), or both",
        );
        return None;
    };
    let bearer_token = auth
        .bearer_token
        .as_ref()
        .and_then(|v| l.secret("http.auth.bearer_token", v));
    let basic = auth.basic.as_ref().and_then(|b| basic(l, b));
    Some(HttpAuth {
        bearer_token,
        basic,
    })
}

fn basic(l: &mut Loader, raw: &RawBasic) -> Option<BasicCredentials> {
    let user = l.text("http.auth.basic.user", &raw.user)?.value;
    if user.is_empty() || user.contains(':') {
        l.key_error(
            raw.user.pos,
            "http.auth.basic.user",
            "must be non-empty and without `:` (basic authentication joins user and password with it)",
        );
        return None;
    }
    let password = l.secret("http.auth.basic.password", &raw.password)?;
    Some(BasicCredentials { user, password })
}

/// One `allowed_hosts` entry, or why it cannot be one.
fn host_pattern(text: &str) -> Result<HostPattern, String> {
    let written = text.trim();
    let host = normalize_host(written);
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Ok(HostPattern::Exact(host));
    }
    if host.contains(':') {
        return Err(format!(
            "{written:?} has a port: list host names only (any port is accepted)"
        ));
    }
    let is_name = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    };
    match host.strip_prefix("*.") {
        Some(suffix) if is_name(suffix) => Ok(HostPattern::AnyUnder(format!(".{suffix}"))),
        None if is_name(&host) => Ok(HostPattern::Exact(host)),
        _ => Err(format!(
            "{written:?} is not a host name, an IP address or *.domain"
        )),
    }
}

/// `settings.base_path`: `/` plus segments of URL-safe characters, kept
/// without a trailing slash; `/` alone means none.
pub(crate) fn base_path(l: &mut Loader, v: &At<String>) -> Option<String> {
    match parse_base_path(&v.value) {
        Ok(path) => Some(path),
        Err(why) => {
            l.key_error(v.pos, "base_path", why);
            None
        }
    }
}

/// A path prefix such as `/wsprobe` or `/ops/wsprobe/`, normalized to
/// `/wsprobe` (`""` for `/`). Also used on `X-Forwarded-Prefix`, so it
/// accepts only what can go into a link unescaped.
pub fn parse_base_path(text: &str) -> Result<String, String> {
    let path = text.trim();
    if !path.starts_with('/') {
        return Err(format!("must start with /, e.g. /wsprobe, found {path:?}"));
    }
    let trimmed = path.trim_end_matches('/');
    for segment in trimmed.split('/').skip(1) {
        let safe = segment
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~'));
        if segment.is_empty() || segment == "." || segment == ".." || !safe {
            return Err(format!(
                "{path:?} is not a plain path: segments of letters, digits and -._~, \
                 no empty, . or .. segment"
            ));
        }
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_paths_are_normalized_and_unsafe_ones_refused() {
        assert_eq!(parse_base_path("/wsprobe/").unwrap(), "/wsprobe");
        assert_eq!(parse_base_path("/ops/ws-probe").unwrap(), "/ops/ws-probe");
        assert_eq!(parse_base_path("/").unwrap(), "");
        for bad in [
            "wsprobe",
            "//evil.test",
            "/a//b",
            "/../x",
            "/a b",
            "/a?b",
            "/\"x",
        ] {
            assert!(parse_base_path(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn host_patterns_match_names_case_insensitively_and_wildcards_only_below() {
        let allowing = |pattern: &str| HttpSettings {
            auth: None,
            allowed_hosts: vec![host_pattern(pattern).unwrap()],
        };
        let exact = allowing("Status.Example.com");
        assert!(exact.allows_host("status.example.com"));
        assert!(exact.allows_host("STATUS.example.com."));
        assert!(!exact.allows_host("status.example.com.evil.test"));
        let under = allowing("*.example.com");
        assert!(under.allows_host("a.b.example.com"));
        assert!(!under.allows_host("example.com"));
        assert!(!under.allows_host("evilexample.com"));
        let v6 = allowing("::1");
        assert!(v6.allows_host("[::1]"));
        assert!(allowing("[::1]").allows_host("[::1]"));
        assert!(allowing("127.0.0.1").allows_host("127.0.0.1"));
        assert!(host_pattern("localhost:9108").is_err());
        assert!(host_pattern("*.").is_err());
        assert!(host_pattern("a/b").is_err());
    }
}
