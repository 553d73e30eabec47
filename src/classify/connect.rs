//! `connect_error`: no TCP connection, or no tunnel through the proxy. The
//! hint follows each address's cause and, through a proxy, the hop that failed.

use crate::check::error::{AddrCause, AddrFailure};
use crate::check::failure::{ProxyHop, ProxyReply};

/// The hint for a direct connection that failed at every address.
pub(super) fn hint(failures: &[AddrFailure]) -> String {
    let all = |cause: AddrCause| !failures.is_empty() && failures.iter().all(|f| f.cause == cause);
    let any = |cause: AddrCause| failures.iter().any(|f| f.cause == cause);
    if all(AddrCause::Refused) && failures.iter().all(is_loopback) {
        // "only on 127.0.0.1" would be no advice when the target is loopback.
        "Nothing accepts connections on this port on this host: the service is down, listens on another port, or listens on another address only (::1 instead of 127.0.0.1 or the reverse, a container's or a LAN interface).".into()
    } else if all(AddrCause::Refused) {
        "Nothing accepts connections on this port at that address: the service is down, listens on another port or only on 127.0.0.1, or a firewall rejects the connection.".into()
    } else if any(AddrCause::Unreachable) {
        "There is no route to the address: check routing, VPN and security groups; an IPv6 address on a host without IPv6 connectivity fails like this.".into()
    } else if any(AddrCause::Reset) {
        "The connection was reset while connecting: a firewall or load balancer rejecting it, or a server refusing new connections.".into()
    } else {
        "TCP could not be established; see the error for each address.".into()
    }
}

fn is_loopback(failure: &AddrFailure) -> bool {
    failure
        .addr
        .parse::<std::net::SocketAddr>()
        .is_ok_and(|a| a.ip().is_loopback())
}

/// The hint for a tunnel that failed at `hop` of `proxy`.
pub(super) fn proxy_hint(proxy: &str, hop: &ProxyHop) -> String {
    match hop {
        ProxyHop::ProxyUnreachable { failures } => format!(
            "The proxy {proxy} is down or unreachable from this host ({}): the check never got past it, so the target's state is unknown. Check that the proxy runs and that --proxy or HTTPS_PROXY/HTTP_PROXY name the right address.",
            first_hop_cause(failures)
        ),
        ProxyHop::RefusedByPolicy { reply } => format!(
            "The proxy {proxy} refused to open the tunnel ({reply}): {}",
            policy_advice(reply)
        ),
        ProxyHop::TargetUnreachable { reply } => format!(
            "The proxy {proxy} is up, but the target behind it refused the connection or was unreachable from the proxy ({reply}): check that the WebSocket server runs and that the proxy's network can reach it; the proxy itself is not to blame."
        ),
        ProxyHop::ProxyFailed { reply } => format!(
            "The proxy {proxy} failed or did not answer as a proxy ({reply}): check its logs, and that --proxy names an HTTP CONNECT or SOCKS5 proxy of the right kind."
        ),
    }
}

fn first_hop_cause(failures: &[AddrFailure]) -> &'static str {
    let all = |cause: AddrCause| !failures.is_empty() && failures.iter().all(|f| f.cause == cause);
    if all(AddrCause::Refused) {
        "nothing accepts connections on its port"
    } else if failures.iter().any(|f| f.cause == AddrCause::Unreachable) {
        "no route to it"
    } else {
        "see the error for each of its addresses"
    }
}

fn policy_advice(reply: &ProxyReply) -> &'static str {
    match reply {
        ProxyReply::Http { status: 407, .. } | ProxyReply::Socks5Auth { .. } => {
            "it wants credentials, or rejected these: put them in the proxy URL (http://user:pass@proxy:port)."
        }
        _ => {
            "its rules do not allow this client, host or port; check the proxy's access rules (many proxies allow CONNECT only to 443)."
        }
    }
}
