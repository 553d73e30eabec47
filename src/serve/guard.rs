//! Who may use the surface when it is not on a private network
//! (`settings.http`): requests must name an allowed `Host` (so a page on
//! another site cannot reach the surface through DNS rebinding) and carry
//! the configured credentials. `/healthz` and `/readyz` stay open: they say
//! nothing but "alive" and "ready", and orchestrators probe them without
//! credentials and by IP address.
//!
//! Credentials are compared in constant time. A refused request is answered
//! at once (421 for a foreign host, 401 with the accepted schemes), and its
//! credentials are never logged.

use super::{Surface, text_error};
use crate::config::http::{BasicCredentials, HttpAuth, HttpSettings};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;

/// Routes open to anyone who can connect.
const OPEN: [&str; 2] = ["/healthz", "/readyz"];

/// Refuse what `settings.http` does not allow; pass the rest on.
pub async fn check(State(s): State<Surface>, req: Request, next: Next) -> Response {
    if OPEN.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    let config = s.shared.config();
    if let Some(refusal) = refuse(&config.settings.http, req.headers()) {
        return refusal;
    }
    drop(config);
    next.run(req).await
}

/// The answer to a request `http` does not allow, or `None`.
fn refuse(http: &HttpSettings, headers: &HeaderMap) -> Option<Response> {
    if !http.allowed_hosts.is_empty() {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(host_part);
        if !host.is_some_and(|h| http.allows_host(h)) {
            tracing::debug!(host = ?host, "request refused: Host not in settings.http.allowed_hosts");
            return Some(text_error(
                StatusCode::MISDIRECTED_REQUEST,
                "this host name is not served here: it is not in settings.http.allowed_hosts",
            ));
        }
    }
    let auth = http.auth.as_ref()?;
    if authorized(auth, headers) {
        return None;
    }
    let mut refusal = text_error(
        StatusCode::UNAUTHORIZED,
        "credentials required (settings.http.auth)",
    );
    let challenges = refusal.headers_mut();
    if auth.basic.is_some() {
        challenges.append(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"wsprobe\", charset=\"UTF-8\""),
        );
    }
    if auth.bearer_token.is_some() {
        challenges.append(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"wsprobe\""),
        );
    }
    Some(refusal)
}

/// `example.com` of `example.com:9108`, `[::1]` of `[::1]:9108`.
fn host_part(host: &str) -> &str {
    match host.rfind(':') {
        Some(i) if !host[i..].contains(']') => &host[..i],
        _ => host,
    }
}

/// Does the `Authorization` header carry credentials `auth` accepts?
fn authorized(auth: &HttpAuth, headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let (scheme, credentials) = value.trim().split_once(' ').unwrap_or((value, ""));
    let credentials = credentials.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return auth
            .bearer_token
            .as_ref()
            .is_some_and(|token| same(token.as_bytes(), credentials.as_bytes()));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        return auth
            .basic
            .as_ref()
            .is_some_and(|basic| basic_matches(basic, credentials));
    }
    false
}

fn basic_matches(expected: &BasicCredentials, credentials: &str) -> bool {
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(credentials) else {
        return false;
    };
    let Some(colon) = decoded.iter().position(|b| *b == b':') else {
        return false;
    };
    let (user, password) = (&decoded[..colon], &decoded[colon + 1..]);
    // Both compared, so the time taken does not tell a right user name.
    let user_ok = same(expected.user.as_bytes(), user);
    let password_ok = same(expected.password.as_bytes(), password);
    user_ok & password_ok
}

/// Equal bytes, in time that depends only on the lengths.
fn same(expected: &[u8], given: &[u8]) -> bool {
    if expected.len() != given.len() {
        return false;
    }
    expected
        .iter()
        .zip(given)
        .fold(0u8, |diff, (a, b)| diff | (a ^ b))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_comes_off_the_host_header_but_not_an_ipv6_address() {
        assert_eq!(host_part("example.com:9108"), "example.com");
        assert_eq!(host_part("example.com"), "example.com");
        assert_eq!(host_part("[::1]:9108"), "[::1]");
        assert_eq!(host_part("[::1]"), "[::1]");
    }

    #[test]
    fn credentials_must_match_exactly() {
        let auth = HttpAuth {
            bearer_token: Some("s3cret".into()),
            basic: Some(BasicCredentials {
                user: "ops".into(),
                password: "pa:ss".into(),
            }),
        };
        let with = |value: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, value.parse().unwrap());
            authorized(&auth, &h)
        };
        assert!(with("Bearer s3cret"));
        assert!(with("bearer s3cret"));
        assert!(!with("Bearer s3cre"));
        assert!(!with("Bearer s3cretx"));
        let basic = |s: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(s)
            )
        };
        assert!(with(&basic("ops:pa:ss")));
        assert!(!with(&basic("ops:pa")));
        assert!(!with(&basic("Ops:pa:ss")));
        assert!(!with("Basic not-base64!"));
        assert!(!authorized(&auth, &HeaderMap::new()));
    }
}
