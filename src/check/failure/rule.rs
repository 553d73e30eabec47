//! [`ProtocolRule`]: which rule the peer broke, with its data. The protocol
//! hint is chosen from the variant; Display is only the words of the message.
//! New detections add a variant here (and the compiler asks for its hint).

use super::foreign::ForeignProtocol;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A rule of HTTP/1.1 or RFC 6455 that the response or the stream broke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum ProtocolRule {
    /// The first bytes of the answer cannot begin an HTTP/1.x status line:
    /// another protocol answered (known as soon as they arrive).
    NotHttp {
        /// The first bytes, printable ASCII kept and everything else escaped.
        first_bytes: String,
        /// The protocol they belong to, when it is recognisable.
        protocol: Option<ForeignProtocol>,
        /// They came inside TLS (`wss://`), after a completed handshake.
        over_tls: bool,
    },
    /// The answer began as HTTP/1.x but its head does not parse.
    MalformedHead {
        /// The parser's account.
        parser_error: String,
        /// The first bytes, printable.
        first_bytes: String,
    },
    /// The head ended but did not parse completely.
    IncompleteHead,
    /// More headers than wsprobe reads.
    TooManyHeaders {
        /// The limit.
        limit: usize,
    },
    /// The head grew past the size limit without ending.
    HeadTooLarge {
        /// The limit, bytes.
        limit_bytes: usize,
    },
    /// The connection closed in the middle of the response head.
    HeadCutShort {
        /// What had arrived, printable.
        partial: String,
    },
    /// Reading the response failed without the peer closing.
    ReadFailed {
        /// The operating system's text.
        message: String,
    },
    /// A 101 over another HTTP version than 1.1.
    WrongHttpVersion {
        /// The version the 101 came with.
        version: String,
    },
    /// A 101 without an Upgrade header.
    MissingUpgrade,
    /// A 101 upgrading to something other than websocket.
    WrongUpgrade {
        /// The Upgrade header's value.
        value: String,
    },
    /// A 101 without `Connection: Upgrade`.
    MissingConnectionUpgrade,
    /// A 101 without Sec-WebSocket-Accept: the handshake was not completed.
    MissingAccept,
    /// A Sec-WebSocket-Accept that does not belong to our key.
    WrongAccept {
        /// The value received.
        received: String,
        /// The value our key calls for.
        expected: String,
    },
    /// A subprotocol chosen although none was offered.
    UnrequestedSubprotocol {
        /// What the server chose.
        chosen: String,
    },
    /// Subprotocols offered and none chosen: RFC 6455 lets a server do that,
    /// but the WHATWG WebSocket standard (what browsers follow) fails it.
    NoSubprotocolChosen {
        /// What we offered.
        offered: Vec<String>,
    },
    /// A subprotocol chosen that is not among those offered.
    UnofferedSubprotocol {
        /// What the server chose.
        chosen: String,
        /// What we offered.
        offered: Vec<String>,
    },
    /// An extension enabled although none was requested.
    UnrequestedExtension {
        /// The Sec-WebSocket-Extensions value.
        extension: String,
    },
    /// A frame RFC 6455 forbids (tungstenite's account).
    InvalidFrame {
        /// What was wrong.
        detail: String,
    },
    /// A text message that is not UTF-8.
    InvalidUtf8 {
        /// The decoder's account.
        detail: String,
    },
    /// A Close frame whose reason is not UTF-8 (RFC 6455 §5.5.1 requires it).
    InvalidCloseReason {
        /// The Close frame's status code.
        code: u16,
        /// The reason bytes, non-ASCII escaped (`\xff`).
        reason_bytes: String,
    },
    /// The connection failed in a way that is neither a FIN nor a reset.
    ConnectionFailed {
        /// The operating system's text.
        message: String,
    },
}

impl fmt::Display for ProtocolRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ProtocolRule as R;
        match self {
            R::NotHttp {
                first_bytes,
                protocol: Some(protocol),
                ..
            } => write!(
                f,
                "not an HTTP/1.x response: the server speaks {protocol}; first bytes: {first_bytes}"
            ),
            R::NotHttp {
                first_bytes,
                protocol: None,
                ..
            } => write!(f, "not an HTTP/1.x response; first bytes: {first_bytes}"),
            R::MalformedHead {
                parser_error,
                first_bytes,
            } => write!(
                f,
                "malformed HTTP/1.x response head ({parser_error}); first bytes: {first_bytes}"
            ),
            R::IncompleteHead => write!(f, "incomplete HTTP response head"),
            R::TooManyHeaders { limit } => write!(f, "more than {limit} response headers"),
            R::HeadTooLarge { limit_bytes } => write!(
                f,
                "response head exceeds {} KiB without ending",
                limit_bytes / 1024
            ),
            R::HeadCutShort { partial } => write!(
                f,
                "connection closed in the middle of the response head: {partial}"
            ),
            R::ReadFailed { message } => write!(f, "read failed: {message}"),
            R::WrongHttpVersion { version } => {
                write!(f, "101 over {version} (WebSocket needs HTTP/1.1)")
            }
            R::MissingUpgrade => write!(f, "101 without an Upgrade header"),
            R::WrongUpgrade { value } => {
                write!(f, "101 with 'Upgrade: {value}' instead of websocket")
            }
            R::MissingConnectionUpgrade => write!(f, "101 without 'Connection: Upgrade'"),
            R::MissingAccept => write!(f, "101 without Sec-WebSocket-Accept"),
            R::WrongAccept { received, expected } => write!(
                f,
                "wrong Sec-WebSocket-Accept {received:?} (expected {expected:?}): the answer does not belong to this request"
            ),
            R::UnrequestedSubprotocol { chosen } => write!(
                f,
                "server chose subprotocol {chosen:?} although none was requested"
            ),
            R::NoSubprotocolChosen { offered } => write!(
                f,
                "server chose no subprotocol although {offered:?} were offered (Sec-WebSocket-Protocol missing from the 101)"
            ),
            R::UnofferedSubprotocol { chosen, offered } => write!(
                f,
                "server chose subprotocol {chosen:?}, not one of the offered {offered:?}"
            ),
            R::UnrequestedExtension { extension } => write!(
                f,
                "server enabled extension {extension:?} that was not requested"
            ),
            R::InvalidFrame { detail } => write!(f, "invalid WebSocket data: {detail}"),
            R::InvalidUtf8 { detail } => write!(f, "text frame is not valid UTF-8: {detail}"),
            R::InvalidCloseReason { code, reason_bytes } => write!(
                f,
                "Close reason is not valid UTF-8 (Close {code}, reason bytes \"{reason_bytes}\")"
            ),
            R::ConnectionFailed { message } => write!(f, "connection error: {message}"),
        }
    }
}
