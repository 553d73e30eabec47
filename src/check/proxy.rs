//! Proxies corporate networks put in the way: HTTP CONNECT and SOCKS5, chosen
//! explicitly (`--proxy`) or from the usual environment variables.

use super::error::{CheckError, os_message};
use super::failure::{ProxyHop, ProxyReply, Socks5Reply};
use super::head::{HeadReadError, parse_head, printable_snippet, read_response_head};
use super::spec::{SpecError, Target};
use base64::Engine;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Where the proxy comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ProxySetting {
    /// Never use a proxy.
    None,
    /// `HTTPS_PROXY` (wss), `HTTP_PROXY` (ws), `ALL_PROXY`, minus `NO_PROXY`.
    /// Loopback targets never go through an environment proxy.
    #[default]
    FromEnv,
    /// This proxy URL, for every target.
    Explicit(String),
}

/// The kind of proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    /// HTTP CONNECT tunnel.
    HttpConnect,
    /// SOCKS5 (the proxy resolves the target name).
    Socks5,
}

/// A proxy to tunnel through.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    /// CONNECT or SOCKS5.
    pub kind: ProxyKind,
    /// Proxy host.
    pub host: String,
    /// Proxy port.
    pub port: u16,
    /// user, password — kept out of Debug and every report.
    credentials: Option<(String, String)>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.display())
    }
}

impl Proxy {
    /// Parse `http://[user:pass@]host:port` or `socks5://…` / `socks5h://…`.
    pub fn parse(raw: &str, source: &'static str) -> Result<Proxy, SpecError> {
        let bad = |reason: &str| SpecError::Option {
            option: source,
            value: crate::check::redact::redact_url(&strip_userinfo(raw)),
            reason: reason.to_string(),
        };
        let with_scheme = if raw.contains("://") {
            raw.to_string()
        } else {
            format!("http://{raw}")
        };
        let url = url::Url::parse(&with_scheme).map_err(|e| bad(&e.to_string()))?;
        let (kind, default_port) = match url.scheme() {
            "http" => (ProxyKind::HttpConnect, 80),
            "socks5" | "socks5h" => (ProxyKind::Socks5, 1080),
            "https" => return Err(bad("TLS to the proxy itself is not supported; use http://")),
            other => return Err(bad(&format!("unsupported proxy scheme {other:?}"))),
        };
        let host = url
            .host_str()
            .ok_or_else(|| bad("missing host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let credentials = if url.username().is_empty() {
            None
        } else {
            Some((
                super::percent::decode(url.username()),
                super::percent::decode(url.password().unwrap_or("")),
            ))
        };
        Ok(Proxy {
            kind,
            host,
            port: url.port().unwrap_or(default_port),
            credentials,
        })
    }

    /// The user and password sent to the proxy, so evidence can be scrubbed of them.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.credentials
            .as_ref()
            .map(|(user, pass)| (user.as_str(), pass.as_str()))
    }

    /// "http://proxy:3128" without credentials, for evidence.
    pub fn display(&self) -> String {
        let scheme = match self.kind {
            ProxyKind::HttpConnect => "http",
            ProxyKind::Socks5 => "socks5",
        };
        format!("{scheme}://{}:{}", self.host, self.port)
    }

    /// Open a tunnel to `host:port` over `tcp`, a connection to the proxy.
    /// The caller bounds this in time. A failure names the hop that failed.
    pub async fn tunnel(
        &self,
        tcp: TcpStream,
        host: &str,
        port: u16,
    ) -> Result<TcpStream, CheckError> {
        let opened = match self.kind {
            ProxyKind::HttpConnect => self.http_connect(tcp, host, port).await,
            ProxyKind::Socks5 => self.socks5_connect(tcp, host, port).await,
        };
        opened.map_err(|reply| CheckError::Proxy {
            proxy: self.display(),
            hop: ProxyHop::from_reply(reply),
        })
    }

    async fn http_connect(
        &self,
        mut tcp: TcpStream,
        host: &str,
        port: u16,
    ) -> Result<TcpStream, ProxyReply> {
        let malformed = |what: String| ProxyReply::Malformed { what };
        let authority = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let mut req = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
        if let Some((user, pass)) = &self.credentials {
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
            req.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
        }
        req.push_str("\r\n");
        tcp.write_all(req.as_bytes())
            .await
            .map_err(|e| malformed(format!("writing CONNECT failed: {}", os_message(&e))))?;
        let mut buf = Vec::new();
        let end = match read_response_head(&mut tcp, &mut buf).await {
            Ok(end) => end,
            Err(HeadReadError::Eof) => {
                return Err(malformed(
                    "the proxy closed the connection without answering CONNECT".into(),
                ));
            }
            Err(HeadReadError::TooLarge) => {
                return Err(malformed("the proxy's answer head is too large".into()));
            }
            Err(HeadReadError::NotHttp) => {
                return Err(malformed(format!(
                    "the proxy answered CONNECT with bytes that are not HTTP: {}",
                    printable_snippet(&buf, 64)
                )));
            }
            Err(HeadReadError::Io(e)) => {
                return Err(malformed(format!(
                    "reading the proxy's answer failed: {}",
                    os_message(&e)
                )));
            }
        };
        let head = parse_head(&buf[..end])
            .map_err(|rule| malformed(format!("the proxy's answer: {rule}")))?;
        if !(200..300).contains(&head.status) {
            return Err(ProxyReply::Http {
                status: head.status,
                status_line: head.status_line(),
            });
        }
        Ok(tcp)
    }

    async fn socks5_connect(
        &self,
        tcp: TcpStream,
        host: &str,
        port: u16,
    ) -> Result<TcpStream, ProxyReply> {
        let target = (host, port);
        let stream = match &self.credentials {
            Some((user, pass)) => {
                tokio_socks::tcp::Socks5Stream::connect_with_password_and_socket(
                    tcp, target, user, pass,
                )
                .await
            }
            None => tokio_socks::tcp::Socks5Stream::connect_with_socket(tcp, target).await,
        };
        stream.map(|s| s.into_inner()).map_err(socks5_reply)
    }
}

/// The typed SOCKS5 answer behind a tokio-socks error.
fn socks5_reply(err: tokio_socks::Error) -> ProxyReply {
    use tokio_socks::Error as E;
    let code = |reply: Socks5Reply| ProxyReply::Socks5 { reply };
    match err {
        E::GeneralSocksServerFailure => code(Socks5Reply::GeneralFailure),
        E::ConnectionNotAllowedByRuleset => code(Socks5Reply::NotAllowed),
        E::NetworkUnreachable => code(Socks5Reply::NetworkUnreachable),
        E::HostUnreachable => code(Socks5Reply::HostUnreachable),
        E::ConnectionRefused => code(Socks5Reply::ConnectionRefused),
        E::TtlExpired => code(Socks5Reply::TtlExpired),
        E::CommandNotSupported => code(Socks5Reply::CommandNotSupported),
        E::AddressTypeNotSupported => code(Socks5Reply::AddressTypeNotSupported),
        E::UnknownError => code(Socks5Reply::Unassigned),
        E::NoAcceptableAuthMethods => ProxyReply::Socks5Auth {
            meaning: "no acceptable authentication method (X'FF')".into(),
        },
        E::PasswordAuthFailure(status) => ProxyReply::Socks5Auth {
            meaning: format!("username/password rejected (status {status})"),
        },
        E::AuthorizationRequired => ProxyReply::Socks5Auth {
            meaning: "the proxy requires a username and password".into(),
        },
        E::Io(e) => ProxyReply::Malformed {
            what: format!("SOCKS5 exchange failed: {}", os_message(&e)),
        },
        other => ProxyReply::Malformed {
            what: format!("SOCKS5 proxy: {other}"),
        },
    }
}

fn strip_userinfo(raw: &str) -> String {
    match (raw.find("://"), raw.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}{}", &raw[..s + 3], &raw[at + 1..]),
        (None, Some(at)) => raw[at + 1..].to_string(),
        _ => raw.to_string(),
    }
}

impl ProxySetting {
    /// The proxy to use for `target`, if any.
    pub fn select(&self, target: &Target) -> Result<Option<Proxy>, SpecError> {
        self.select_with(target, &|name| std::env::var(name).ok())
    }

    /// [`select`](Self::select) with an injectable environment, for tests.
    pub fn select_with(
        &self,
        target: &Target,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Proxy>, SpecError> {
        match self {
            ProxySetting::None => Ok(None),
            ProxySetting::Explicit(url) => Proxy::parse(url, "--proxy").map(Some),
            ProxySetting::FromEnv => {
                let is_loopback = target.host.eq_ignore_ascii_case("localhost")
                    || target.ip_literal().is_some_and(|ip| ip.is_loopback());
                if is_loopback || no_proxy_matches(target, env) {
                    return Ok(None);
                }
                let names: &[&'static str] = if target.secure {
                    &["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
                } else {
                    &["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
                };
                for name in names {
                    if let Some(v) = env(name).filter(|v| !v.trim().is_empty()) {
                        return Proxy::parse(v.trim(), name).map(Some);
                    }
                }
                Ok(None)
            }
        }
    }
}

fn no_proxy_matches(target: &Target, env: &dyn Fn(&str) -> Option<String>) -> bool {
    let Some(list) = env("NO_PROXY").or_else(|| env("no_proxy")) else {
        return false;
    };
    let host = target.host.to_ascii_lowercase();
    list.split(',')
        .map(|entry| entry.trim().to_ascii_lowercase())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let suffix = entry.trim_start_matches("*.").trim_start_matches('.');
            !suffix.is_empty() && (host == suffix || host.ends_with(&format!(".{suffix}")))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn wss_uses_https_proxy_and_ws_uses_http_proxy() {
        let env = env_of(&[
            ("HTTPS_PROXY", "http://p1:3128"),
            ("HTTP_PROXY", "socks5://p2"),
        ]);
        let wss = Target::parse("wss://svc.example/").unwrap();
        let ws = Target::parse("ws://svc.example/").unwrap();
        let p = ProxySetting::FromEnv
            .select_with(&wss, &env)
            .unwrap()
            .unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, p.kind),
            ("p1", 3128, ProxyKind::HttpConnect)
        );
        let p = ProxySetting::FromEnv
            .select_with(&ws, &env)
            .unwrap()
            .unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, p.kind),
            ("p2", 1080, ProxyKind::Socks5)
        );
    }

    #[test]
    fn no_proxy_and_loopback_bypass_the_environment_proxy() {
        let env = env_of(&[
            ("HTTPS_PROXY", "http://p:3128"),
            ("NO_PROXY", "internal.example,.corp"),
        ]);
        for url in [
            "wss://a.internal.example/",
            "wss://x.corp/",
            "wss://127.0.0.1/",
            "wss://localhost/",
        ] {
            let t = Target::parse(url).unwrap();
            assert_eq!(
                ProxySetting::FromEnv.select_with(&t, &env).unwrap(),
                None,
                "{url}"
            );
        }
        let t = Target::parse("wss://public.example/").unwrap();
        assert!(
            ProxySetting::FromEnv
                .select_with(&t, &env)
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn proxy_credentials_never_appear_in_debug_or_errors() {
        let p = Proxy::parse("http://user:hunter2@proxy:8080", "--proxy").unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
        let e = Proxy::parse("ftp://user:hunter2@proxy", "--proxy").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
}
