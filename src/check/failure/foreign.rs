//! [`ForeignProtocol`]: the protocol that answered instead of HTTP, as the
//! sniffer ([`crate::check::sniff`]) recognised it from the first bytes. The
//! hint for each is chosen in the classification; Display is only its name.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A protocol recognised from the first bytes a server sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ForeignProtocol {
    /// An SSH identification string (`SSH-2.0-…`, RFC 4253 §4.2).
    Ssh,
    /// An SMTP greeting (`220 mx.example.com ESMTP …`, RFC 5321 §4.3.1).
    Smtp,
    /// An FTP greeting (`220 (vsFTPd 3.0.3)`, RFC 959 §4.2).
    Ftp,
    /// A `220` greeting that names neither SMTP nor FTP: one of the two.
    Greeting220,
    /// A POP3 greeting (`+OK`, RFC 1939 §4).
    Pop3,
    /// An IMAP greeting (`* OK`, `* PREAUTH`, `* BYE`, RFC 9051 §7.1).
    Imap,
    /// A TLS record (RFC 8446 §5.1): a TLS server read our plaintext request.
    Tls,
    /// HTTP/2: the server's SETTINGS or a GOAWAY frame (RFC 9113 §3.4, §6.5, §6.8).
    Http2,
    /// A Redis (RESP) error reply, e.g. to our `GET` read as a Redis command.
    Redis,
    /// A MySQL or MariaDB initial handshake or error packet.
    Mysql,
    /// A PostgreSQL (or pooler) ErrorResponse to a startup it cannot read.
    Postgres,
    /// An AMQP 0-9-1 protocol header: a broker refusing our protocol.
    Amqp,
}

impl fmt::Display for ForeignProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ForeignProtocol::Ssh => "SSH",
            ForeignProtocol::Smtp => "SMTP",
            ForeignProtocol::Ftp => "FTP",
            ForeignProtocol::Greeting220 => "SMTP or FTP",
            ForeignProtocol::Pop3 => "POP3",
            ForeignProtocol::Imap => "IMAP",
            ForeignProtocol::Tls => "TLS",
            ForeignProtocol::Http2 => "HTTP/2",
            ForeignProtocol::Redis => "Redis",
            ForeignProtocol::Mysql => "MySQL",
            ForeignProtocol::Postgres => "PostgreSQL",
            ForeignProtocol::Amqp => "AMQP",
        })
    }
}
