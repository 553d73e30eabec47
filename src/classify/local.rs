//! `local_error`: the monitor's own host ran out of a resource, or cannot
//! use the source address the check is pinned to.

use crate::check::local::LocalResource;
use crate::check::source::SourceProblem;

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

/// The hint for a source address (`source_address`, `--source-address`)
/// the check could not connect from.
pub(super) fn source_hint(source: &str, problem: &SourceProblem) -> String {
    let what = match problem {
        SourceProblem::FamilyMismatch { .. } => format!(
            "{source} is of one IP family and every address to connect to of the other: set a source address of the target's family (or pin the target with --resolve)"
        ),
        SourceProblem::NotAssigned => format!(
            "no interface of this host has {source} (check `ip -br addr`): the address was removed or moved, or the config names another host's address"
        ),
        SourceProblem::BindFailed { errno, .. } => format!(
            "the kernel refused to bind a socket to {source} ({errno}): check the address is usable for outgoing connections on this host"
        ),
    };
    format!("This is the monitor's own problem, not the endpoint's (its state is unknown): {what}.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_problem_has_its_own_hint_naming_the_address() {
        let problems = [
            SourceProblem::FamilyMismatch {
                addresses: vec!["[::1]:80".into()],
            },
            SourceProblem::NotAssigned,
            SourceProblem::BindFailed {
                errno: "EACCES".into(),
                message: "Permission denied".into(),
            },
        ];
        let hints: Vec<String> = problems
            .iter()
            .map(|p| source_hint("10.0.0.5", p))
            .collect();
        for (i, h) in hints.iter().enumerate() {
            assert!(h.contains("10.0.0.5"), "{h}");
            assert!(!hints[..i].contains(h), "shared hint {h:?}");
        }
    }
}
