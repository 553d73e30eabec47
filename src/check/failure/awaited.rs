//! [`Awaited`]: what a timed-out step was waiting for. The timeout hint is
//! chosen from this value; its Display is only the words of the message.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What a step that ran out of time was waiting for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Awaited {
    /// The resolver's answer.
    NameResolved,
    /// The TCP handshake with the endpoint.
    TcpConnect,
    /// The TCP handshake with the proxy (the first hop).
    ProxyConnect {
        /// The proxy, without credentials.
        proxy: String,
    },
    /// The proxy's answer to CONNECT / the SOCKS5 request.
    ProxyTunnel {
        /// The proxy, without credentials.
        proxy: String,
    },
    /// The TLS handshake.
    TlsHandshake,
    /// The upgrade request to leave (the server does not read).
    RequestWritten,
    /// The response head to the upgrade request.
    ResponseHead,
    /// The pong to the ping of the open phase.
    Pong,
    /// A pong to one of the pings sent while holding.
    PongWhileHolding,
    /// The first message, to match `--expect`.
    ExpectedMessage {
        /// The `--expect` pattern.
        pattern: String,
    },
    /// The reply a step of the script waits for (`expect`, `expect_close`).
    StepReply {
        /// 1-based step number.
        number: u32,
        /// The step in words.
        description: String,
    },
    /// One of our frames to be written (the peer stopped reading).
    FrameWritten,
    /// The server's reply to our Close frame.
    CloseReply,
}

impl fmt::Display for Awaited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Awaited::NameResolved => write!(f, "the name to resolve"),
            Awaited::TcpConnect => write!(f, "the TCP connection"),
            Awaited::ProxyConnect { proxy } => write!(f, "the TCP connection to the proxy {proxy}"),
            Awaited::ProxyTunnel { proxy } => write!(f, "the proxy {proxy} to open the tunnel"),
            Awaited::TlsHandshake => write!(f, "the TLS handshake"),
            Awaited::RequestWritten => write!(f, "the request to be sent"),
            Awaited::ResponseHead => write!(f, "the 101 response"),
            Awaited::Pong => write!(f, "the pong to our ping"),
            Awaited::PongWhileHolding => write!(f, "a pong while holding"),
            Awaited::ExpectedMessage { pattern } => write!(f, "a message matching /{pattern}/"),
            Awaited::StepReply {
                number,
                description,
            } => write!(f, "step {number} ({description})"),
            Awaited::FrameWritten => write!(f, "our frame to be written"),
            Awaited::CloseReply => write!(f, "the server's Close frame"),
        }
    }
}
