//! `slow`: every phase passed, but one (or the total) took longer than its
//! `critical_over` threshold; the hint follows what was measured.

use crate::check::model::Phase;
use crate::check::thresholds::Measured;

/// The hint for a check slower than its critical threshold over `over`.
pub(super) fn hint(over: Measured) -> String {
    let cause = match over {
        Measured::Phase(Phase::Dns) => {
            "name resolution is slow: the resolver is overloaded, far away, or retries over a lossy path"
        }
        Measured::Phase(Phase::Connect) => {
            "the TCP handshake is slow: the server's accept queue is backing up, the network path is congested, or a proxy is slow to open the tunnel"
        }
        Measured::Phase(Phase::Tls) => {
            "the TLS handshake is slow: the server is CPU-bound on key exchange, an OCSP or certificate fetch stalls it, or session resumption is off"
        }
        Measured::Phase(Phase::Upgrade) => {
            "the 101 is slow: the application (or its authentication behind the proxy) takes long to accept the upgrade, or the worker pool is saturated"
        }
        Measured::Phase(Phase::Open) => {
            "the conversation after the upgrade is slow: the ping or a step's reply waits on a busy event loop or a slow backend"
        }
        Measured::Phase(Phase::Close) => {
            "the closing handshake is slow: the server delays its Close or its FIN (a lingering close, a slow shutdown path)"
        }
        Measured::Total => "the whole check is slow: the timings show which phase took the time",
    };
    format!(
        "The endpoint works but is slower than its critical_over threshold: {cause}. Compare with the usual timings before raising the threshold."
    )
}
