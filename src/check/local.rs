//! Local resource exhaustion: the errors that say this host (the monitor) ran
//! out of something, not that the endpoint failed. They get their own class,
//! `local_error`, and the Nagios status UNKNOWN, so no alert blames a healthy
//! endpoint for a monitor that cannot open a socket.

use super::model::variant_array;
use serde::{Deserialize, Serialize};
use std::fmt;
use strum::VariantArray;

/// What the monitor's host ran out of.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
pub enum LocalResource {
    /// File descriptors: the process limit (EMFILE) or the system's (ENFILE).
    FileDescriptors,
    /// Kernel socket buffers (ENOBUFS).
    SocketBuffers,
    /// Kernel memory (ENOMEM).
    Memory,
    /// Ephemeral ports for outgoing connections (EADDRNOTAVAIL on connect).
    EphemeralPorts,
}

impl LocalResource {
    /// Every resource, for exhaustive tables (metrics, tests).
    pub const ALL: [LocalResource; LocalResource::VARIANTS.len()] =
        variant_array(LocalResource::VARIANTS);

    /// The resource an OS error from creating or connecting a socket says is
    /// exhausted; `None` for errors about the endpoint or the network.
    pub fn from_connect_error(err: &std::io::Error) -> Option<LocalResource> {
        // Linux errno values; connect(2) documents EADDRNOTAVAIL as "all
        // ports in the ephemeral range are in use" for an unbound socket.
        match err.raw_os_error()? {
            23 | 24 => Some(LocalResource::FileDescriptors),
            105 => Some(LocalResource::SocketBuffers),
            12 => Some(LocalResource::Memory),
            99 => Some(LocalResource::EphemeralPorts),
            _ => None,
        }
    }

    /// The snake_case name, used as the `kind` label in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            LocalResource::FileDescriptors => "file_descriptors",
            LocalResource::SocketBuffers => "socket_buffers",
            LocalResource::Memory => "memory",
            LocalResource::EphemeralPorts => "ephemeral_ports",
        }
    }
}

impl fmt::Display for LocalResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LocalResource::FileDescriptors => "file descriptors",
            LocalResource::SocketBuffers => "socket buffers",
            LocalResource::Memory => "kernel memory",
            LocalResource::EphemeralPorts => "ephemeral ports",
        })
    }
}

/// Fails, with the operating system's error, when this process cannot open
/// `count` more descriptors at once. Each is a socket (so a shortage of
/// socket buffers shows too) and all are closed again before returning.
pub fn descriptor_headroom(count: usize) -> std::io::Result<()> {
    let mut held = Vec::with_capacity(count);
    for _ in 0..count {
        held.push(std::net::UdpSocket::bind((
            std::net::Ipv4Addr::LOCALHOST,
            0,
        ))?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Error;

    #[test]
    fn exhaustion_errnos_name_the_resource_and_endpoint_errors_name_none() {
        for (errno, want) in [
            (24, Some(LocalResource::FileDescriptors)),
            (23, Some(LocalResource::FileDescriptors)),
            (105, Some(LocalResource::SocketBuffers)),
            (12, Some(LocalResource::Memory)),
            (99, Some(LocalResource::EphemeralPorts)),
            (111, None), // ECONNREFUSED: the endpoint's answer
            (113, None), // EHOSTUNREACH: the network's
        ] {
            let got = LocalResource::from_connect_error(&Error::from_raw_os_error(errno));
            assert_eq!(got, want, "errno {errno}");
        }
        let no_errno = Error::other("not an OS error");
        assert_eq!(LocalResource::from_connect_error(&no_errno), None);
    }
}
