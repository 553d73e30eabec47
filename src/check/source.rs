//! `source_address` / `--source-address`: the local address a check's TCP
//! socket is bound to before it connects (like curl's `--interface`), for
//! multi-homed hosts and for checks that must leave from a given address.
//! A source address that cannot be used is the monitor's problem, not the
//! endpoint's: a [`SourceProblem`], reported as `local_error`.

use super::error::{errno_name, os_message};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use tokio::net::TcpSocket;

/// Why the configured source address could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum SourceProblem {
    /// Every address to connect to is of the other IP family: an IPv4
    /// source cannot reach an IPv6 address, nor the reverse.
    FamilyMismatch {
        /// The addresses there were to connect to (the proxy's, through one).
        addresses: Vec<String>,
    },
    /// No interface of this host has the address (EADDRNOTAVAIL on bind).
    NotAssigned,
    /// The kernel refused the bind for another reason.
    BindFailed {
        /// Symbolic errno, e.g. "EACCES".
        errno: String,
        /// The operating system's text.
        message: String,
    },
}

impl fmt::Display for SourceProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceProblem::FamilyMismatch { addresses } => write!(
                f,
                "it is of another IP family than every address to connect to ({})",
                addresses.join(", ")
            ),
            SourceProblem::NotAssigned => f.write_str("no interface of this host has it"),
            SourceProblem::BindFailed { errno, message } => {
                write!(f, "bind failed: {message} ({errno})")
            }
        }
    }
}

/// The addresses of `addrs` a socket bound to `source` can reach: those of
/// its IP family, in order. None of them is a [`SourceProblem::FamilyMismatch`].
pub fn reachable_from(
    source: IpAddr,
    addrs: &[SocketAddr],
) -> Result<Vec<SocketAddr>, SourceProblem> {
    let same: Vec<SocketAddr> = addrs
        .iter()
        .copied()
        .filter(|a| a.is_ipv4() == source.is_ipv4())
        .collect();
    if same.is_empty() {
        return Err(SourceProblem::FamilyMismatch {
            addresses: addrs.iter().map(ToString::to_string).collect(),
        });
    }
    Ok(same)
}

/// Why a socket for `target` could not be made ready to connect.
#[derive(Debug)]
pub enum SocketFailure {
    /// Creating the socket failed: the host's resources (the caller decides).
    Create(std::io::Error),
    /// Binding it to the source address failed.
    Bind(SourceProblem),
}

/// A TCP socket for `target`, bound to `source` (port 0: the kernel picks
/// one) when there is one.
pub fn socket_for(target: SocketAddr, source: Option<IpAddr>) -> Result<TcpSocket, SocketFailure> {
    let socket = if target.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(SocketFailure::Create)?;
    if let Some(source) = source {
        socket
            .bind(SocketAddr::new(source, 0))
            .map_err(|e| SocketFailure::Bind(bind_problem(&e)))?;
    }
    Ok(socket)
}

fn bind_problem(err: &std::io::Error) -> SourceProblem {
    match err.kind() {
        std::io::ErrorKind::AddrNotAvailable => SourceProblem::NotAssigned,
        _ => SourceProblem::BindFailed {
            errno: errno_name(err),
            message: os_message(err),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_addresses_of_the_source_family_are_dialled() {
        let both = [addr("[::1]:80"), addr("127.0.0.1:80"), addr("[::2]:80")];
        let v4: IpAddr = "127.0.0.2".parse().unwrap();
        let v6: IpAddr = "::1".parse().unwrap();
        assert_eq!(reachable_from(v4, &both).unwrap(), [addr("127.0.0.1:80")]);
        assert_eq!(
            reachable_from(v6, &both).unwrap(),
            [addr("[::1]:80"), addr("[::2]:80")]
        );
    }

    #[test]
    fn a_source_of_the_other_family_names_every_address() {
        let v6_only = [addr("[::1]:443")];
        let v4: IpAddr = "10.0.0.5".parse().unwrap();
        let problem = reachable_from(v4, &v6_only).unwrap_err();
        assert_eq!(
            problem,
            SourceProblem::FamilyMismatch {
                addresses: vec!["[::1]:443".into()]
            }
        );
        assert!(problem.to_string().contains("[::1]:443"), "{problem}");
    }

    #[tokio::test]
    async fn an_address_no_interface_has_is_not_assigned() {
        // TEST-NET-1 (RFC 5737): never configured on a test host.
        let source: IpAddr = "192.0.2.1".parse().unwrap();
        match socket_for(addr("127.0.0.1:80"), Some(source)) {
            Err(SocketFailure::Bind(SourceProblem::NotAssigned)) => {}
            other => panic!("expected NotAssigned, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_loopback_source_binds_and_keeps_its_address() {
        let source: IpAddr = "127.0.0.3".parse().unwrap();
        let socket = socket_for(addr("127.0.0.1:80"), Some(source)).unwrap();
        assert_eq!(socket.local_addr().unwrap().ip(), source);
    }
}
