//! [`ProxyHop`]: which hop of a proxied connection failed — the proxy itself,
//! its policy, or the way from the proxy to the target — with the proxy's own
//! reply as evidence (the CONNECT status line, the SOCKS5 reply code).

use super::super::failure::addr::AddrFailure;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Which hop failed, decided from the proxy's typed reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "hop", rename_all = "snake_case")]
pub enum ProxyHop {
    /// No TCP connection to the proxy: it is down or unreachable.
    ProxyUnreachable {
        /// Every proxy address tried, with its error.
        failures: Vec<AddrFailure>,
    },
    /// The proxy refused the tunnel by policy or for want of credentials.
    RefusedByPolicy {
        /// The proxy's answer.
        reply: ProxyReply,
    },
    /// The proxy is up but could not reach the target.
    TargetUnreachable {
        /// The proxy's answer.
        reply: ProxyReply,
    },
    /// The proxy failed itself or answered something that is no tunnel reply.
    ProxyFailed {
        /// The proxy's answer.
        reply: ProxyReply,
    },
}

impl ProxyHop {
    /// The hop a reply blames. HTTP: 4xx is the proxy's decision (403 by
    /// ACL, 407 for credentials), 5xx its report on the upstream (squid 502/503
    /// for a refused or unreachable target, 504 when it timed out, tinyproxy
    /// 500), 400/501 and anything else mean the proxy could not do CONNECT.
    /// SOCKS5 by reply code (RFC 1928 §6).
    pub fn from_reply(reply: ProxyReply) -> ProxyHop {
        match &reply {
            ProxyReply::Http { status, .. } => match status {
                400 | 501 => ProxyHop::ProxyFailed { reply },
                401..=499 => ProxyHop::RefusedByPolicy { reply },
                500..=599 => ProxyHop::TargetUnreachable { reply },
                _ => ProxyHop::ProxyFailed { reply },
            },
            ProxyReply::Socks5 { reply: code } => match code {
                Socks5Reply::NotAllowed => ProxyHop::RefusedByPolicy { reply },
                Socks5Reply::NetworkUnreachable
                | Socks5Reply::HostUnreachable
                | Socks5Reply::ConnectionRefused
                | Socks5Reply::TtlExpired => ProxyHop::TargetUnreachable { reply },
                Socks5Reply::GeneralFailure
                | Socks5Reply::CommandNotSupported
                | Socks5Reply::AddressTypeNotSupported
                | Socks5Reply::Unassigned => ProxyHop::ProxyFailed { reply },
            },
            ProxyReply::Socks5Auth { .. } => ProxyHop::RefusedByPolicy { reply },
            ProxyReply::Malformed { .. } => ProxyHop::ProxyFailed { reply },
        }
    }
}

impl fmt::Display for ProxyHop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyHop::ProxyUnreachable { failures } => {
                let list: Vec<String> = failures.iter().map(ToString::to_string).collect();
                write!(f, "could not connect to the proxy: {}", list.join("; "))
            }
            ProxyHop::RefusedByPolicy { reply } => {
                write!(f, "the proxy refused the tunnel: {reply}")
            }
            ProxyHop::TargetUnreachable { reply } => {
                write!(f, "the proxy could not reach the target: {reply}")
            }
            ProxyHop::ProxyFailed { reply } => write!(f, "the proxy failed: {reply}"),
        }
    }
}

/// What the proxy answered, as evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "protocol", rename_all = "snake_case")]
pub enum ProxyReply {
    /// An HTTP CONNECT answer other than 2xx.
    Http {
        /// Its status.
        status: u16,
        /// Its status line, e.g. "HTTP/1.1 407 Proxy Authentication Required".
        status_line: String,
    },
    /// A SOCKS5 reply other than "succeeded".
    Socks5 {
        /// The reply code and its RFC 1928 meaning.
        #[serde(flatten)]
        reply: Socks5Reply,
    },
    /// SOCKS5 authentication failed (RFC 1928 §3, RFC 1929).
    Socks5Auth {
        /// What the proxy said.
        meaning: String,
    },
    /// No usable answer: the proxy closed, sent garbage or too much.
    Malformed {
        /// What was wrong.
        what: String,
    },
}

impl fmt::Display for ProxyReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyReply::Http { status_line, .. } => write!(f, "{status_line}"),
            ProxyReply::Socks5 { reply } => match reply.code() {
                Some(code) => write!(f, "SOCKS5 reply {code:#04x} ({})", reply.meaning()),
                None => write!(f, "SOCKS5 reply with an {}", reply.meaning()),
            },
            ProxyReply::Socks5Auth { meaning } => write!(f, "SOCKS5 authentication: {meaning}"),
            ProxyReply::Malformed { what } => write!(f, "{what}"),
        }
    }
}

/// A SOCKS5 reply code (RFC 1928 §6), serialized as code and meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "Socks5Wire", from = "Socks5Wire")]
pub enum Socks5Reply {
    /// X'01'.
    GeneralFailure,
    /// X'02'.
    NotAllowed,
    /// X'03'.
    NetworkUnreachable,
    /// X'04'.
    HostUnreachable,
    /// X'05'.
    ConnectionRefused,
    /// X'06'.
    TtlExpired,
    /// X'07'.
    CommandNotSupported,
    /// X'08'.
    AddressTypeNotSupported,
    /// X'09' to X'FF': the client library does not keep which.
    Unassigned,
}

impl Socks5Reply {
    /// Every reply code, for exhaustive tests.
    pub const ALL: [Socks5Reply; 9] = [
        Socks5Reply::GeneralFailure,
        Socks5Reply::NotAllowed,
        Socks5Reply::NetworkUnreachable,
        Socks5Reply::HostUnreachable,
        Socks5Reply::ConnectionRefused,
        Socks5Reply::TtlExpired,
        Socks5Reply::CommandNotSupported,
        Socks5Reply::AddressTypeNotSupported,
        Socks5Reply::Unassigned,
    ];

    /// The code on the wire; `None` for an unassigned one, whose value the
    /// client library does not keep.
    pub fn code(self) -> Option<u8> {
        Some(match self {
            Socks5Reply::GeneralFailure => 0x01,
            Socks5Reply::NotAllowed => 0x02,
            Socks5Reply::NetworkUnreachable => 0x03,
            Socks5Reply::HostUnreachable => 0x04,
            Socks5Reply::ConnectionRefused => 0x05,
            Socks5Reply::TtlExpired => 0x06,
            Socks5Reply::CommandNotSupported => 0x07,
            Socks5Reply::AddressTypeNotSupported => 0x08,
            Socks5Reply::Unassigned => return None,
        })
    }

    /// RFC 1928's words for the code.
    pub fn meaning(self) -> &'static str {
        match self {
            Socks5Reply::GeneralFailure => "general SOCKS server failure",
            Socks5Reply::NotAllowed => "connection not allowed by ruleset",
            Socks5Reply::NetworkUnreachable => "Network unreachable",
            Socks5Reply::HostUnreachable => "Host unreachable",
            Socks5Reply::ConnectionRefused => "Connection refused",
            Socks5Reply::TtlExpired => "TTL expired",
            Socks5Reply::CommandNotSupported => "Command not supported",
            Socks5Reply::AddressTypeNotSupported => "Address type not supported",
            Socks5Reply::Unassigned => "unassigned reply code",
        }
    }
}

/// How a [`Socks5Reply`] is written: its code (null when unassigned) and
/// meaning. Reading it back goes by the code alone.
#[derive(Serialize, Deserialize, schemars::JsonSchema)]
struct Socks5Wire {
    /// The reply code, X'01' to X'08'; null for an unassigned one.
    code: Option<u8>,
    /// RFC 1928's words for it.
    meaning: String,
}

impl From<Socks5Reply> for Socks5Wire {
    fn from(reply: Socks5Reply) -> Socks5Wire {
        Socks5Wire {
            code: reply.code(),
            meaning: reply.meaning().to_string(),
        }
    }
}

impl From<Socks5Wire> for Socks5Reply {
    fn from(wire: Socks5Wire) -> Socks5Reply {
        Socks5Reply::ALL
            .into_iter()
            .find(|r| r.code().is_some() && r.code() == wire.code)
            .unwrap_or(Socks5Reply::Unassigned)
    }
}

impl schemars::JsonSchema for Socks5Reply {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Socks5Reply".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        Socks5Wire::json_schema(generator)
    }
}
