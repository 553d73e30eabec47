//! The endpoint a check talks to: a ws:// or wss:// URL parsed into host,
//! port, request target and Host header, with the credentials its userinfo
//! carries (sent as `Authorization: Basic`, never shown).

use super::spec::SpecError;
use base64::Engine;
use std::net::IpAddr;

/// The user and password of a URL's userinfo, percent-decoded; sent as
/// `Authorization: Basic`, as curl and Python's websockets do.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub user: String,
    /// The password (empty when the URL had none).
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(***)")
    }
}

/// The endpoint, parsed from the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The URL as given (it may hold credentials: show it through
    /// [`super::redact::redact_url`]).
    pub url: String,
    /// The URL's userinfo, if any.
    pub credentials: Option<Credentials>,
    /// wss://
    pub secure: bool,
    /// Host name or IP literal, without brackets.
    pub host: String,
    /// Port, explicit or the scheme's default.
    pub port: u16,
    /// Path and query for the request line.
    pub resource: String,
    /// Value of the Host header.
    pub host_header: String,
}

impl Target {
    /// Parse and check a ws:// or wss:// URL.
    pub fn parse(raw: &str) -> Result<Target, SpecError> {
        // The URL may hold a password or a token: errors show it masked.
        let bad = |reason: &str| SpecError::Url {
            url: super::redact::redact_url(raw),
            reason: reason.to_string(),
        };
        // `host:port/path` parses as scheme `host` or as a relative URL;
        // either way the user left the scheme out, as curl lets them.
        if !raw.contains("://") {
            // Userinfo is only recognised after a scheme: redact with one.
            let suggestion = super::redact::redact_url(&format!("ws://{raw}"));
            return Err(SpecError::Url {
                url: suggestion["ws://".len()..].to_string(),
                reason: format!("no scheme: did you mean {suggestion}? (wss:// for TLS)"),
            });
        }
        let url = url::Url::parse(raw).map_err(|e| bad(&e.to_string()))?;
        let secure = match url.scheme() {
            "ws" => false,
            "wss" => true,
            "http" | "https" => {
                return Err(bad(&format!(
                    "scheme {}:// is not a WebSocket URL (use {}://)",
                    url.scheme(),
                    if url.scheme() == "https" { "wss" } else { "ws" }
                )));
            }
            other => {
                return Err(bad(&format!(
                    "unsupported scheme {other:?} (use ws:// or wss://)"
                )));
            }
        };
        if url.fragment().is_some() {
            return Err(bad("WebSocket URLs cannot have a #fragment"));
        }
        let credentials =
            (!url.username().is_empty() || url.password().is_some()).then(|| Credentials {
                user: super::percent::decode(url.username()),
                password: super::percent::decode(url.password().unwrap_or("")),
            });
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.to_string(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => return Err(bad("missing host")),
        };
        let default_port = if secure { 443 } else { 80 };
        let port = url.port().unwrap_or(default_port);
        let mut resource = url.path().to_string();
        if resource.is_empty() {
            resource.push('/');
        }
        if let Some(q) = url.query() {
            resource.push('?');
            resource.push_str(q);
        }
        let host_in_header = match url.host() {
            Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
            _ => host.clone(),
        };
        let host_header = if port == default_port {
            host_in_header
        } else {
            format!("{host_in_header}:{port}")
        };
        Ok(Target {
            url: raw.to_string(),
            credentials,
            secure,
            host,
            port,
            resource,
            host_header,
        })
    }

    /// The host as an IP address, when the URL names one.
    pub fn ip_literal(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// The `Authorization: Basic` header for the URL's userinfo, to send
    /// besides `headers`. An explicit Authorization header as well is
    /// ambiguous, so it is an error.
    pub fn basic_auth(
        &self,
        headers: &[(String, String)],
    ) -> Result<Option<(String, String)>, SpecError> {
        let Some(c) = &self.credentials else {
            return Ok(None);
        };
        if headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        {
            return Err(SpecError::Url {
                url: super::redact::redact_url(&self.url),
                reason: "the URL has credentials and an Authorization header is given too; use one"
                    .into(),
            });
        }
        let token =
            base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", c.user, c.password));
        Ok(Some(("Authorization".into(), format!("Basic {token}"))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::proxy::ProxySetting;
    use crate::check::spec::{CheckOptions, CheckSpec};

    #[test]
    fn ws_url_gets_port_80_and_a_root_resource() {
        let t = Target::parse("ws://example.com").unwrap();
        assert_eq!((t.port, t.resource.as_str(), t.secure), (80, "/", false));
        assert_eq!(t.host_header, "example.com");
    }

    #[test]
    fn wss_url_keeps_path_query_and_explicit_port() {
        let t = Target::parse("wss://example.com:8443/ws?room=1").unwrap();
        assert_eq!((t.port, t.resource.as_str()), (8443, "/ws?room=1"));
        assert_eq!(t.host_header, "example.com:8443");
    }

    #[test]
    fn ipv6_literal_is_bracketed_in_the_host_header_only() {
        let t = Target::parse("ws://[::1]:9000/").unwrap();
        assert_eq!(t.host, "::1");
        assert_eq!(t.host_header, "[::1]:9000");
        assert!(t.ip_literal().is_some());
    }

    #[test]
    fn a_url_without_a_scheme_suggests_ws_without_showing_a_password() {
        for (raw, want) in [
            ("localhost:8080/ws", "did you mean ws://localhost:8080/ws?"),
            ("example.com/feed", "did you mean ws://example.com/feed?"),
            ("127.0.0.1:9/ws", "did you mean ws://127.0.0.1:9/ws?"),
        ] {
            let e = Target::parse(raw).unwrap_err().to_string();
            assert!(e.contains(want), "{raw}: {e}");
        }
        let e = Target::parse("bob:hunter2@example.com/ws")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn http_scheme_is_refused_with_the_right_suggestion() {
        let e = Target::parse("https://example.com/").unwrap_err();
        assert!(e.to_string().contains("use wss://"), "{e}");
    }

    #[test]
    fn credentials_in_the_url_are_sent_as_basic_auth() {
        let opts = CheckOptions {
            proxy: ProxySetting::None,
            ..CheckOptions::default()
        };
        let spec = CheckSpec::build("ws://al%20ice:p%40ss@example.com/", &opts).unwrap();
        assert_eq!(
            spec.headers,
            [("Authorization".into(), "Basic YWwgaWNlOnBAc3M=".into())]
        );
        let both = CheckOptions {
            headers: vec!["Authorization: Bearer x".into()],
            ..opts
        };
        let e = CheckSpec::build("ws://u:pw@example.com/", &both).unwrap_err();
        assert!(e.to_string().contains("u:***@"), "{e}");
        assert!(!e.to_string().contains("pw@"), "{e}");
    }

    #[test]
    fn an_unusable_url_is_echoed_with_its_secrets_masked() {
        let e = Target::parse("http://user:pa55@host/?access_token=T0K3N").unwrap_err();
        let shown = e.to_string();
        assert!(shown.contains("user:***@host/?access_token=***"), "{shown}");
        assert!(
            !shown.contains("pa55") && !shown.contains("T0K3N"),
            "{shown}"
        );
    }
}
