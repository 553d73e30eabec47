//! What servers of other protocols send a client that expected HTTP, for the
//! fault server's [`Behavior::Foreign`](super::fault_server::Behavior::Foreign):
//! the first bytes as the real servers send them, and whether they send them
//! on connect or only after reading the request.
#![allow(dead_code)]

/// What to do after the banner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterBanner {
    /// Close (FIN), as a server does that gives up on a client it cannot read.
    Close,
    /// Keep the socket open and say nothing more, as an SSH server does
    /// while it waits for the client's identification string.
    Silent,
}

/// Another protocol's server.
#[derive(Clone, Copy, Debug)]
pub struct Foreign {
    /// The bytes it sends.
    pub banner: &'static [u8],
    /// It sends them on connect (SSH, SMTP, HTTP/2's SETTINGS), not in
    /// answer to the request (a TLS alert, a Redis error).
    pub speaks_first: bool,
    /// What it does next.
    pub after: AfterBanner,
}

/// OpenSSH's identification string (RFC 4253 §4.2), sent on connect; it then
/// waits for the client's.
pub const SSH: Foreign = Foreign {
    banner: b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n",
    speaks_first: true,
    after: AfterBanner::Silent,
};

/// Postfix's greeting (RFC 5321 §4.3.1), sent on connect.
pub const SMTP: Foreign = Foreign {
    banner: b"220 mx.example.com ESMTP Postfix (Debian/GNU)\r\n",
    speaks_first: true,
    after: AfterBanner::Close,
};

/// A fatal `protocol_version` alert record (RFC 8446 §5.1, §6), as a TLS
/// server answers a plaintext request.
pub const TLS_ALERT: Foreign = Foreign {
    banner: b"\x15\x03\x03\x00\x02\x02\x46",
    speaks_first: false,
    after: AfterBanner::Close,
};

/// The server connection preface of an HTTP/2-only (h2c prior knowledge)
/// server: a SETTINGS frame (RFC 9113 §3.4, §6.5) with
/// MAX_CONCURRENT_STREAMS 250 and INITIAL_WINDOW_SIZE 1 MiB, sent on connect.
pub const H2_SETTINGS: Foreign = Foreign {
    banner: &[
        0, 0, 12, 4, 0, 0, 0, 0, 0, // length 12, SETTINGS, no flags, stream 0
        0, 3, 0, 0, 0, 250, // SETTINGS_MAX_CONCURRENT_STREAMS
        0, 4, 0, 16, 0, 0, // SETTINGS_INITIAL_WINDOW_SIZE
    ],
    speaks_first: true,
    after: AfterBanner::Close,
};
