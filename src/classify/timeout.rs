//! `timeout`: a waiting step ran out of time; the hint follows what it awaited.

use crate::check::failure::Awaited;

/// The hint for a step that waited too long for `awaited`.
pub(super) fn hint(awaited: &Awaited, bytes_received: u64) -> String {
    match awaited {
        Awaited::NameResolved => "The resolver did not answer in time: check the DNS servers this host uses.".into(),
        Awaited::TcpConnect => "The SYN went unanswered: the server's listen backlog is full (it does not accept() fast enough), a firewall silently drops the packets, or the host is down.".into(),
        Awaited::ProxyConnect { proxy } => format!("The proxy {proxy} did not accept the TCP connection in time: the proxy is down, overloaded, or a firewall drops the packets to it. The target behind it was not tried."),
        Awaited::ProxyTunnel { proxy } => format!("The proxy {proxy} accepted TCP but did not open the tunnel in time: it is overloaded, or it is still trying to reach the target."),
        Awaited::TlsHandshake => "TCP connected but the TLS handshake stalled: a server stuck before TLS, or a middlebox dropping the handshake.".into(),
        Awaited::RequestWritten => "The server does not read the request: its worker is blocked or the connection is stuck in a proxy.".into(),
        Awaited::ResponseHead if bytes_received == 0 => "The server accepted the connection and read the upgrade request but never answered: a blocked or exhausted worker, or an application bug. The connection was accepted, so this is not a kernel backlog problem (tuning somaxconn will not help).".into(),
        Awaited::ResponseHead => "The server started to answer and stalled in the middle of the response head: a broken server or proxy.".into(),
        Awaited::FrameWritten => "The server stopped reading: our frame could not leave because its receive buffer is full. Its event loop is blocked, or it reads only when it has nothing to send.".into(),
        Awaited::PongWhileHolding => "A ping sent while holding was not answered in time: the server's event loop or a proxy stalled.".into(),
        Awaited::Pong => "The connection is open but the server did not answer our ping: its event loop is blocked, or a proxy does not pass control frames.".into(),
        Awaited::ExpectedMessage { .. } => "No message for --expect arrived in time: the server did not reply to --send, or replies later than the timeout.".into(),
        Awaited::StepReply { number, .. } => format!("No message arrived in time for step {number} of the script (--expect, steps:): the server did not reply to the message sent before it, replies later than the step's `within` (default: the timeout), or waits for something else first (a login, a subscription)."),
        Awaited::CloseReply => "The server did not answer our Close frame: its close handling is broken or its event loop is stuck. Servers like this accumulate CLOSE_WAIT sockets and leak connections.".into(),
    }
}
