//! [`AddrFailure`]: one address that could not be connected to, with the
//! cause as a type (refused, unreachable, reset, …) beside the errno and the
//! operating system's words.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::SocketAddr;

/// One address that could not be connected to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AddrFailure {
    /// The address tried (for a proxy, the proxy's address).
    pub addr: String,
    /// Why, as a type: what hints decide from.
    pub cause: AddrCause,
    /// Symbolic errno, e.g. "ECONNREFUSED", or "timeout".
    pub errno: String,
    /// The operating system's text.
    pub message: String,
}

impl fmt::Display for AddrFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.addr, self.message, self.errno)
    }
}

/// Why one address could not be connected to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AddrCause {
    /// Nothing listens there, or a firewall rejects (RST to the SYN).
    Refused,
    /// No route to the address (network or host unreachable, no such local address).
    Unreachable,
    /// Reset or aborted while connecting.
    Reset,
    /// No answer to the SYN in time.
    TimedOut,
    /// Not tried: no time was left in the attempt.
    NotTried,
    /// Any other error.
    Other,
}

impl AddrCause {
    /// The cause of a failed connect, from the error's kind.
    pub fn of(err: &std::io::Error) -> AddrCause {
        use std::io::ErrorKind as K;
        match err.kind() {
            K::ConnectionRefused => AddrCause::Refused,
            K::HostUnreachable | K::NetworkUnreachable | K::NetworkDown | K::AddrNotAvailable => {
                AddrCause::Unreachable
            }
            K::ConnectionReset | K::ConnectionAborted => AddrCause::Reset,
            K::TimedOut => AddrCause::TimedOut,
            _ => AddrCause::Other,
        }
    }
}

/// Symbolic name of an OS error, for evidence that survives translation.
pub fn errno_name(err: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    let by_code = err.raw_os_error().and_then(|code| {
        Some(match code {
            1 => "EPERM",
            12 => "ENOMEM",
            23 => "ENFILE",
            24 => "EMFILE",
            105 => "ENOBUFS",
            11 => "EAGAIN",
            13 => "EACCES",
            22 => "EINVAL",
            32 => "EPIPE",
            97 => "EAFNOSUPPORT",
            98 => "EADDRINUSE",
            99 => "EADDRNOTAVAIL",
            100 => "ENETDOWN",
            101 => "ENETUNREACH",
            103 => "ECONNABORTED",
            104 => "ECONNRESET",
            110 => "ETIMEDOUT",
            111 => "ECONNREFUSED",
            112 => "EHOSTDOWN",
            113 => "EHOSTUNREACH",
            _ => return None,
        })
    });
    if let Some(name) = by_code {
        return name.to_string();
    }
    match err.kind() {
        K::ConnectionRefused => "ECONNREFUSED",
        K::ConnectionReset => "ECONNRESET",
        K::ConnectionAborted => "ECONNABORTED",
        K::TimedOut => "ETIMEDOUT",
        K::UnexpectedEof => "EOF",
        _ => "EIO",
    }
    .to_string()
}

/// Build an [`AddrFailure`] from an I/O error.
pub fn addr_failure(addr: SocketAddr, err: &std::io::Error) -> AddrFailure {
    AddrFailure {
        addr: addr.to_string(),
        cause: AddrCause::of(err),
        errno: errno_name(err),
        message: os_message(err),
    }
}

/// The OS text without Rust's " (os error N)" suffix.
pub fn os_message(err: &std::io::Error) -> String {
    let s = err.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}
