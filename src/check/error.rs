//! `CheckError`: why an attempt failed, as a value that carries its evidence.
//! Each variant maps to exactly one [`Class`]; the phase is part of the value.

pub use super::failure::addr::{AddrCause, AddrFailure, addr_failure, errno_name, os_message};
use super::failure::{Awaited, ProtocolRule, ProxyHop};
use super::local::LocalResource;
use super::model::{CertInfo, Class, CloseFrameInfo, PeerEnd, Phase, ResponseHead};
use super::source::SourceProblem;
use super::steps::StepRef;
use super::thresholds::Measured;
use super::tls_failure::TlsFailure;
use serde::{Deserialize, Serialize};

/// Why one attempt failed. Display gives a one-line summary; the fields are the evidence.
#[derive(
    Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(tag = "class", rename_all = "snake_case")]
pub enum CheckError {
    /// The host name did not resolve.
    #[serde(rename = "dns_error")]
    #[error("{host} did not resolve: {reason}")]
    Dns {
        /// The name looked up.
        host: String,
        /// The resolver's error.
        reason: String,
    },
    /// No TCP connection could be made, to any address.
    #[serde(rename = "connect_error")]
    #[error("could not connect: {}", join(failures))]
    Connect {
        /// Every address tried, in order, with its error.
        failures: Vec<AddrFailure>,
    },
    /// The tunnel through the proxy could not be opened; `hop` says where.
    // Shares its class with `Connect` on the wire; see `check::wire`.
    #[serde(rename(serialize = "connect_error", deserialize = "proxy_error"))]
    #[error("via proxy {proxy}: {hop}")]
    Proxy {
        /// The proxy, without credentials.
        proxy: String,
        /// Which hop failed, with the proxy's reply.
        #[serde(flatten)]
        hop: ProxyHop,
    },
    /// The TLS handshake failed.
    #[serde(rename = "tls_error")]
    #[error("TLS handshake failed: {reason}")]
    Tls {
        /// What went wrong, decided from rustls' typed error.
        kind: TlsFailure,
        /// rustls' reason, in words.
        reason: String,
        /// The certificate the server presented, when it got that far.
        certificate: Option<CertInfo>,
    },
    /// A waiting step ran out of time.
    #[serde(rename = "timeout")]
    #[error("{phase}: {awaited} took longer than {}{}", limit_text(*limit_ms), detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Timeout {
        /// Where it happened.
        phase: Phase,
        /// What we were waiting for.
        awaited: Awaited,
        /// The limit that ran out, in ms.
        limit_ms: u64,
        /// Bytes written on this connection so far.
        bytes_sent: u64,
        /// Bytes read on this connection so far.
        bytes_received: u64,
        /// Extra evidence (addresses tried, partial response).
        detail: Option<String>,
    },
    /// The server answered the upgrade with something other than 101.
    #[serde(rename = "missing_101")]
    #[error("expected 101 Switching Protocols, got {}", response.status_line())]
    Missing101 {
        /// The response as received.
        response: ResponseHead,
    },
    /// The response or the stream broke the protocol.
    #[serde(rename = "protocol_error")]
    #[error("{phase}: {rule}")]
    Protocol {
        /// Where it happened.
        phase: Phase,
        /// The rule that was broken, with its evidence.
        #[serde(flatten)]
        rule: ProtocolRule,
    },
    /// The server sent a message or frame over `--max-message-bytes`.
    // Shares its class with `Protocol` on the wire; the distinct name on the
    // way in lets `report::evidence` tell the two apart by their fields.
    #[serde(rename(serialize = "protocol_error", deserialize = "message_too_large"))]
    #[error("{phase}: {what}")]
    MessageTooLarge {
        /// Where it happened.
        phase: Phase,
        /// What was wrong, with tungstenite's account of the size.
        what: String,
        /// The limit in force (`--max-message-bytes`).
        limit_bytes: usize,
    },
    /// The server sent more control frames than
    /// [`MAX_CONTROL_FRAMES_PER_SECOND`](super::flood::MAX_CONTROL_FRAMES_PER_SECOND):
    /// a protocol error, with the count as evidence.
    #[serde(rename(serialize = "protocol_error", deserialize = "control_flood"))]
    #[error(
        "{phase}: control-frame flood: the server sent {frames} control frames within {within_ms:.1} ms ({pings} pings and {pongs} pongs since the upgrade), over the limit of {limit_per_second} a second"
    )]
    ControlFlood {
        /// Where it happened.
        phase: Phase,
        /// Control frames in the one-second window that broke the limit.
        frames: u32,
        /// How long that window had lasted, in ms.
        within_ms: f64,
        /// Pings received since the upgrade.
        pings: u64,
        /// Pongs received since the upgrade.
        pongs: u64,
        /// The limit, control frames per second.
        limit_per_second: u32,
    },
    /// The server ended the connection before the check finished.
    #[serde(rename = "early_fin")]
    #[error("{}", early_fin_summary(*phase, *peer_end, close_frame.as_ref(), *ms_after_101, idle_ms.filter(|_| *while_held)))]
    EarlyFin {
        /// Where it happened.
        phase: Phase,
        /// FIN, RST, or `None` when only a Close frame came.
        peer_end: Option<PeerEnd>,
        /// The server's Close frame, if it sent one first.
        close_frame: Option<CloseFrameInfo>,
        /// Milliseconds after the 101 was received, when there was one.
        ms_after_101: Option<f64>,
        /// Milliseconds without any frame in either direction before the close.
        idle_ms: Option<f64>,
        /// True when the server closed while `--hold` kept the connection open.
        while_held: bool,
    },
    /// Every phase passed, but one (or the total) took longer than its
    /// `critical_over` threshold.
    #[serde(rename = "slow")]
    #[error("{over} took {took_ms:.1} ms, over the critical threshold of {threshold_ms} ms")]
    Slow {
        /// The phase reported: the measured one, or for `total` the slowest.
        phase: Phase,
        /// What the threshold measures.
        over: Measured,
        /// How long it took, in ms.
        took_ms: f64,
        /// The threshold, in ms.
        threshold_ms: f64,
    },
    /// The monitor's host ran out of a resource before the endpoint was reached.
    #[serde(rename = "local_error")]
    #[error(
        "{phase}: this host ran out of {resource} ({errno}: {message}); the endpoint was not reached"
    )]
    Local {
        /// Where it happened.
        phase: Phase,
        /// What ran out.
        resource: LocalResource,
        /// Symbolic errno, e.g. "EMFILE".
        errno: String,
        /// The operating system's text.
        message: String,
    },
    /// The check's socket could not use the configured source address.
    // Shares its class with `Local` on the wire; see `check::wire`.
    #[serde(rename(serialize = "local_error", deserialize = "source_address_error"))]
    #[error(
        "connect: cannot use source address {source_address}: {problem}; the endpoint was not reached"
    )]
    SourceAddress {
        /// The address the socket was to be bound to.
        source_address: String,
        /// Why it could not be used.
        #[serde(flatten)]
        problem: SourceProblem,
    },
    /// A message did not match an expectation of the script (`--expect`,
    /// `steps:`), or the server sent something else than the Close an
    /// `expect_close` wanted.
    #[serde(rename = "unexpected_message")]
    #[error("{}", unexpected_summary(expected, received, step.as_ref()))]
    UnexpectedMessage {
        /// What the step wanted: `/regex/`, JSON conditions, a binary prefix, a Close code.
        expected: String,
        /// The message received (truncated to 512 bytes).
        received: String,
        /// The step that failed (absent from reports stored before scripts).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<StepRef>,
        /// The last messages received, oldest first, each cut to 256 bytes.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        recent: Vec<String>,
    },
}

/// A limit in words, rounded to what a human set: "2 s", "500 ms".
fn limit_text(ms: u64) -> String {
    // Limits are the remaining budget, a hair under the configured value.
    let rounded = ((ms as f64) / 10.0).round() * 10.0;
    if rounded >= 1000.0 {
        format!("{} s", rounded / 1000.0)
    } else {
        format!("{rounded} ms")
    }
}

/// A step names what it wanted itself: "step 2 (expect /^ok/): received …".
fn unexpected_summary(expected: &str, received: &str, step: Option<&StepRef>) -> String {
    match step {
        Some(step) => format!("{step}: received {received:?}"),
        None => format!("message did not match {expected}: {received:?}"),
    }
}

fn join(failures: &[AddrFailure]) -> String {
    failures
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// " 0.4 ms after the 101" reads as zero below a tenth of a millisecond:
/// microseconds there, and "at once" below one.
fn after_101(ms: f64) -> String {
    let micros = (ms * 1000.0).round();
    if micros < 1.0 {
        " at once after the 101".to_string()
    } else if ms < 1.0 {
        format!(" {micros:.0} µs after the 101")
    } else {
        format!(" {ms:.1} ms after the 101")
    }
}

fn early_fin_summary(
    phase: Phase,
    peer_end: Option<PeerEnd>,
    frame: Option<&CloseFrameInfo>,
    ms_after_101: Option<f64>,
    idle_ms: Option<f64>,
) -> String {
    let how = match (frame, peer_end) {
        (Some(f), _) => format!(
            "sent Close {}{}",
            f.code.map_or("(no code)".to_string(), |c| c.to_string()),
            if f.reason.is_empty() {
                String::new()
            } else {
                format!(" {:?}", f.reason)
            }
        ),
        (None, Some(end)) => format!("closed TCP ({end}) without a Close frame"),
        (None, None) => "closed the connection".to_string(),
    };
    let mut s = format!("{phase}: the server {how}");
    if let Some(ms) = ms_after_101 {
        s.push_str(&after_101(ms));
    } else {
        s.push_str(" before answering the upgrade");
    }
    if let Some(idle) = idle_ms {
        s.push_str(&format!(
            " while held, after {:.1} s without traffic",
            idle / 1000.0
        ));
    }
    s
}

impl CheckError {
    /// A step before the upgrade that ran out of `limit`: nothing was sent
    /// or received on the connection yet, and there is no other evidence.
    pub fn timed_out(phase: Phase, awaited: Awaited, limit: std::time::Duration) -> CheckError {
        CheckError::Timeout {
            phase,
            awaited,
            limit_ms: limit.as_millis() as u64,
            bytes_sent: 0,
            bytes_received: 0,
            detail: None,
        }
    }

    /// The failure class of this error.
    pub fn class(&self) -> Class {
        match self {
            CheckError::Dns { .. } => Class::DnsError,
            CheckError::Connect { .. } | CheckError::Proxy { .. } => Class::ConnectError,
            CheckError::Tls { .. } => Class::TlsError,
            CheckError::Timeout { .. } => Class::Timeout,
            CheckError::Missing101 { .. } => Class::Missing101,
            CheckError::Protocol { .. }
            | CheckError::MessageTooLarge { .. }
            | CheckError::ControlFlood { .. } => Class::ProtocolError,
            CheckError::EarlyFin { .. } => Class::EarlyFin,
            CheckError::UnexpectedMessage { .. } => Class::UnexpectedMessage,
            CheckError::Local { .. } | CheckError::SourceAddress { .. } => Class::LocalError,
            CheckError::Slow { .. } => Class::Slow,
        }
    }

    /// The phase in which it happened.
    pub fn phase(&self) -> Phase {
        match self {
            CheckError::Dns { .. } => Phase::Dns,
            CheckError::Connect { .. }
            | CheckError::Proxy { .. }
            | CheckError::SourceAddress { .. } => Phase::Connect,
            CheckError::Tls { .. } => Phase::Tls,
            CheckError::Missing101 { .. } => Phase::Upgrade,
            CheckError::UnexpectedMessage { .. } => Phase::Open,
            CheckError::Timeout { phase, .. }
            | CheckError::Protocol { phase, .. }
            | CheckError::ControlFlood { phase, .. }
            | CheckError::MessageTooLarge { phase, .. }
            | CheckError::Local { phase, .. }
            | CheckError::Slow { phase, .. }
            | CheckError::EarlyFin { phase, .. } => *phase,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::model::{CloseFrameInfo, ResponseHead};

    fn one_of_each() -> Vec<CheckError> {
        vec![
            CheckError::Dns {
                host: "h".into(),
                reason: "r".into(),
            },
            CheckError::Connect { failures: vec![] },
            CheckError::Proxy {
                proxy: "http://p:3128".into(),
                hop: ProxyHop::from_reply(crate::check::failure::ProxyReply::Http {
                    status: 403,
                    status_line: "HTTP/1.1 403 Forbidden".into(),
                }),
            },
            CheckError::Tls {
                kind: TlsFailure::Other,
                reason: "r".into(),
                certificate: None,
            },
            CheckError::Timeout {
                phase: Phase::Upgrade,
                awaited: Awaited::ResponseHead,
                limit_ms: 1,
                bytes_sent: 0,
                bytes_received: 0,
                detail: None,
            },
            CheckError::Missing101 {
                response: ResponseHead {
                    version: "HTTP/1.1".into(),
                    status: 504,
                    reason: String::new(),
                    headers: vec![],
                    body_snippet: None,
                },
            },
            CheckError::Protocol {
                phase: Phase::Upgrade,
                rule: ProtocolRule::MissingAccept,
            },
            CheckError::MessageTooLarge {
                phase: Phase::Open,
                what: "w".into(),
                limit_bytes: 10,
            },
            CheckError::ControlFlood {
                phase: Phase::Open,
                frames: 101,
                within_ms: 3.0,
                pings: 101,
                pongs: 0,
                limit_per_second: 100,
            },
            CheckError::EarlyFin {
                phase: Phase::Open,
                peer_end: None,
                close_frame: Some(CloseFrameInfo::new(Some(1001), String::new())),
                ms_after_101: Some(1.0),
                idle_ms: None,
                while_held: false,
            },
            CheckError::UnexpectedMessage {
                expected: "e".into(),
                received: "r".into(),
                step: None,
                recent: vec![],
            },
            CheckError::Slow {
                phase: Phase::Upgrade,
                over: Measured::Phase(Phase::Upgrade),
                took_ms: 250.0,
                threshold_ms: 200.0,
            },
            CheckError::Local {
                phase: Phase::Connect,
                resource: LocalResource::FileDescriptors,
                errno: "EMFILE".into(),
                message: "Too many open files".into(),
            },
            CheckError::SourceAddress {
                source_address: "192.0.2.1".into(),
                problem: SourceProblem::NotAssigned,
            },
        ]
    }

    #[test]
    fn the_time_after_the_101_never_reads_as_zero_ms() {
        for (ms, want) in [
            (0.0, " at once after the 101"),
            (0.0004, " at once after the 101"),
            (0.04, " 40 µs after the 101"),
            (0.46, " 460 µs after the 101"),
            (3.0, " 3.0 ms after the 101"),
        ] {
            assert_eq!(after_101(ms), want, "{ms}");
        }
    }

    #[test]
    fn the_evidence_tag_and_the_class_name_are_the_same_word() {
        for err in one_of_each() {
            let json = serde_json::to_value(&err).unwrap();
            let class_json = serde_json::to_value(err.class()).unwrap();
            assert_eq!(json["class"], class_json, "{err:?}");
            assert_eq!(class_json, err.class().as_str(), "{err:?}");
        }
    }
}
