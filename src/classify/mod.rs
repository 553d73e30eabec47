//! Classification: from a typed failure to the hint an on-call engineer reads,
//! one or two honest sentences on its usual causes, drawn from real incidents.
//! Every decision reads a type (what was awaited, which rule broke, which hop
//! refused, which TLS check failed), never the words of a message, so
//! rewording a message cannot change a hint. Pure, so every rule is
//! table-tested; one file per class holds that class's hints:
//! [`dns`], [`connect`] (with the proxy hops), [`tls`] (with [`client_cert`]), [`timeout`],
//! [`missing_101`], [`protocol`], [`early_fin`] (with [`close_code`]), [`local`],
//! [`unexpected_message`], [`slow`].

mod client_cert;
mod close_code;
mod connect;
mod dns;
mod early_fin;
mod local;
mod missing_101;
mod protocol;
mod slow;
mod timeout;
mod tls;
mod unexpected_message;

use crate::check::CheckError;
use crate::check::client_cert::ClientCertRequest;
use crate::check::model::{Class, Phase};
use crate::product::Product;

/// What a failure means, for the report: its class, phase, message and hint.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The failure class.
    pub class: Class,
    /// The phase that failed.
    pub phase: Phase,
    /// One line on what happened (the error's Display).
    pub message: String,
    /// Likely causes.
    pub hint: String,
}

/// Class, phase, message and hint of a failure, all derived from its type;
/// `front` is the product the answer to the upgrade named, if any
/// ([`Product::in_answer`]), whose settings explain a later cut; and when the
/// server asked for a client certificate in the handshake, what became of
/// that request explains the failure that follows.
pub fn verdict(
    err: &CheckError,
    front: Option<Product>,
    client_cert: ClientCertRequest,
) -> Verdict {
    Verdict {
        class: err.class(),
        phase: err.phase(),
        message: err.to_string(),
        hint: client_cert::hint(err, client_cert).unwrap_or_else(|| hint(err, front)),
    }
}

/// The hint for a failure, naming the fix of the product in `front` where it
/// has its own. A refused upgrade names its product by its own answer.
pub fn hint(err: &CheckError, front: Option<Product>) -> String {
    match err {
        CheckError::Dns { .. } => dns::hint(),
        CheckError::Connect { failures } => connect::hint(failures),
        CheckError::Proxy { proxy, hop } => connect::proxy_hint(proxy, hop),
        CheckError::Tls { kind, .. } => tls::hint(*kind),
        CheckError::Timeout {
            awaited,
            bytes_received,
            ..
        } => timeout::hint(awaited, *bytes_received),
        CheckError::Missing101 { response } => missing_101::hint(response),
        CheckError::Protocol { rule, .. } => protocol::hint(rule),
        CheckError::MessageTooLarge { limit_bytes, .. } => protocol::too_large_hint(*limit_bytes),
        CheckError::ControlFlood {
            limit_per_second, ..
        } => protocol::flood_hint(*limit_per_second),
        CheckError::EarlyFin {
            phase,
            peer_end,
            close_frame,
            ms_after_101,
            idle_ms,
            while_held,
        } => early_fin::hint(
            close_frame.as_ref(),
            early_fin::EarlyEnd {
                phase: *phase,
                peer_end: *peer_end,
                ms_after_101: *ms_after_101,
                idle_ms: *idle_ms,
                while_held: *while_held,
                front,
            },
        ),
        CheckError::Local { resource, .. } => local::hint(*resource),
        CheckError::SourceAddress {
            source_address,
            problem,
        } => local::source_hint(source_address, problem),
        CheckError::UnexpectedMessage { .. } => unexpected_message::hint(),
        CheckError::Slow { over, .. } => slow::hint(*over),
    }
}

#[cfg(test)]
mod front_tests;
#[cfg(test)]
mod subkind_tests;
#[cfg(test)]
mod tests;
