//! `protocol_error`: the response or the stream broke a rule, by the rule.

use crate::check::failure::{ForeignProtocol, ProtocolRule};

/// The hint for a broken rule.
pub(super) fn hint(rule: &ProtocolRule) -> String {
    use ProtocolRule as R;
    match rule {
        R::NotHttp {
            protocol, over_tls, ..
        } => return not_http_hint(*protocol, *over_tls),
        R::WrongAccept { .. } => "The 101 does not belong to this request: a caching proxy replayed an answer, or the server computes the accept key wrongly.",
        R::MissingAccept => "The server answered 101 but did not complete the WebSocket handshake (no Sec-WebSocket-Accept): it is not a WebSocket server, or a proxy dropped the header.",
        R::MalformedHead { .. } => "The response began as HTTP/1.x but its head could not be parsed: a broken server or proxy (see the first bytes).",
        R::HeadTooLarge { .. } => "The response head never ended within the size limit: a broken server or a non-HTTP service.",
        R::TooManyHeaders { .. } | R::IncompleteHead => "The response head could not be parsed (too many headers, or a truncated head): a broken server or proxy.",
        R::HeadCutShort { .. } => "The connection closed in the middle of the response head: the server or a proxy crashed or gave up while answering.",
        R::NoSubprotocolChosen { .. } => "The 101 has no Sec-WebSocket-Protocol although the client offered subprotocols: browsers fail this connection (Chrome: \"Sent non-empty 'Sec-WebSocket-Protocol' header but no response was received\"). The server supports none of those offered, or a proxy dropped the header.",
        R::UnrequestedSubprotocol { .. } | R::UnofferedSubprotocol { .. } | R::UnrequestedExtension { .. } => "The server negotiated something the client did not offer; strict clients (browsers) abort such connections.",
        R::WrongHttpVersion { .. } | R::MissingUpgrade | R::WrongUpgrade { .. } | R::MissingConnectionUpgrade => "A proxy altered the upgrade response (dropped Upgrade/Connection headers or changed the HTTP version): check how it forwards WebSocket upgrades.",
        R::InvalidCloseReason { .. } => "The server's Close frame carries a reason that is not UTF-8, which RFC 6455 forbids: a server that cuts its reason mid-character or puts binary there; strict clients (browsers) fail the connection instead of reading the code.",
        R::ReadFailed { .. } | R::InvalidFrame { .. } | R::InvalidUtf8 { .. } | R::ConnectionFailed { .. } => "The server broke the WebSocket protocol: a server bug, or a proxy mangling frames.",
    }
    .into()
}

/// The hint for an answer that is not HTTP, by the protocol that spoke
/// instead and whether it spoke inside TLS.
fn not_http_hint(protocol: Option<ForeignProtocol>, over_tls: bool) -> String {
    use ForeignProtocol as P;
    let Some(protocol) = protocol else {
        return "Something other than an HTTP server answered (see the first bytes): a wrong port, or a service that speaks another protocol on it.".into();
    };
    match protocol {
        P::Tls if over_tls => "TLS came back inside TLS: a proxy that ends TLS forwards plaintext to a backend port that expects TLS (for instance proxy_pass http:// to an https backend).".into(),
        P::Tls => "This port expects TLS: use wss:// (the server read the plaintext request as a broken TLS record and answered with a TLS alert).".into(),
        P::Http2 => "This port speaks only HTTP/2 (h2c with prior knowledge): a WebSocket over HTTP/1.1 needs a listener or port that speaks HTTP/1.1, or a proxy in front configured to accept HTTP/1.1 upgrades.".into(),
        P::Ssh | P::Smtp | P::Ftp | P::Greeting220 | P::Pop3 | P::Imap | P::Redis | P::Mysql | P::Postgres | P::Amqp => format!(
            "This port speaks {protocol}: wrong port? Check the port in the URL, and which service the port or the proxy's upstream points at."
        ),
    }
}

/// The hint for a message over `--max-message-bytes`.
pub(super) fn too_large_hint(limit_bytes: usize) -> String {
    format!(
        "The server sent a message larger than wsprobe accepts ({}, --max-message-bytes; max_message_bytes in monitors.yaml): a runaway server, or an endpoint that streams bulk data (raise the limit if such messages are expected).",
        byte_size(limit_bytes)
    )
}

/// The hint for a control-frame flood.
pub(super) fn flood_hint(limit_per_second: u32) -> String {
    format!(
        "The server sends pings or pongs in a loop (over {limit_per_second} a second): a heartbeat timer firing without a delay, a bug replaying control frames, or a hostile peer. wsprobe stops answering rather than spend its timeout on them."
    )
}

/// A byte count as a person would write it: "1 MiB", "64 KiB", "3000 bytes".
fn byte_size(n: usize) -> String {
    const KIB: usize = 1024;
    if n >= KIB * KIB && n.is_multiple_of(KIB * KIB) {
        format!("{} MiB", n / (KIB * KIB))
    } else if n >= KIB && n.is_multiple_of(KIB) {
        format!("{} KiB", n / KIB)
    } else {
        format!("{n} bytes")
    }
}
