//! `local_error`: the monitor's own host ran out of a resource.

use crate::check::local::LocalResource;

/// The hint for a resource this host ran out of.
pub(super) fn hint(resource: LocalResource) -> String {
    let what = match resource {
        LocalResource::FileDescriptors => {
            "raise the open-files limit (ulimit -n, LimitNOFILE= in the systemd unit) or lower settings.concurrency; look for a process leaking sockets"
        }
        LocalResource::SocketBuffers => {
            "the kernel has no socket buffers left: too many connections in flight on this host, or net.core memory limits set too low"
        }
        LocalResource::Memory => {
            "the kernel could not allocate memory for the socket: this host is out of memory"
        }
        LocalResource::EphemeralPorts => {
            "every local port for outgoing connections is taken (often by TIME_WAIT sockets): widen net.ipv4.ip_local_port_range or open fewer short connections"
        }
    };
    format!("This is the monitor's own problem, not the endpoint's (its state is unknown): {what}.")
}
