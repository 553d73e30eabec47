//! The vocabulary of a check: phases, outcome classes and the evidence an
//! attempt records. These types are the stable contract behind the JSON output,
//! the alerts and the metrics, so renaming a variant is a breaking change.

use super::client_cert::ClientCertRequest;
use super::close_code::CloseCategory;
use serde::{Deserialize, Serialize};
use std::fmt;
use strum::VariantArray;

/// `T::VARIANTS` (derived by strum from the enum itself, so no hand-kept
/// list can miss a variant) as an array, for `const ALL` lists that iterate
/// by value.
pub(crate) const fn variant_array<T: Copy, const N: usize>(variants: &[T]) -> [T; N] {
    assert!(variants.len() == N);
    let mut out = [variants[0]; N];
    let mut i = 0;
    while i < N {
        out[i] = variants[i];
        i += 1;
    }
    out
}

/// One step of a check, in the order they run.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    PartialOrd,
    Ord,
    schemars::JsonSchema,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Name resolution (skipped for IP literals, `--resolve` and proxies).
    Dns,
    /// TCP connect, including a proxy tunnel when one is used.
    Connect,
    /// TLS handshake (`wss://` only).
    Tls,
    /// Upgrade request written, response head read and validated.
    Upgrade,
    /// After the 101: ping/pong, send/expect and the optional hold.
    Open,
    /// Our Close frame, the server's Close frame and its FIN.
    Close,
}

impl Phase {
    /// Every phase, in running order.
    pub const ALL: [Phase; Phase::VARIANTS.len()] = variant_array(Phase::VARIANTS);

    /// The lower-case name used in every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Dns => "dns",
            Phase::Connect => "connect",
            Phase::Tls => "tls",
            Phase::Upgrade => "upgrade",
            Phase::Open => "open",
            Phase::Close => "close",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome class of a check: `ok` or one failure class.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Every phase passed.
    Ok,
    /// The name did not resolve.
    DnsError,
    /// TCP could not be established.
    ConnectError,
    /// The TLS handshake failed.
    TlsError,
    /// A waiting step ran out of time.
    Timeout,
    /// The server answered, but not with 101.
    // snake_case alone would give "missing101"; every output says "missing_101".
    #[serde(rename = "missing_101")]
    Missing101,
    /// A 101 that is not a valid WebSocket upgrade, or bytes that are not the protocol.
    ProtocolError,
    /// The server closed before the check finished.
    EarlyFin,
    /// A step of the script did not get what it expects.
    UnexpectedMessage,
    /// The check passed but a phase (or the total) took longer than its
    /// `critical_over` threshold.
    Slow,
    /// The monitor's own host ran out of a resource (file descriptors, ports,
    /// buffers): the endpoint was not reached, so nothing is known about it.
    LocalError,
}

impl Class {
    /// Every class, for exhaustive tables (metrics, docs, tests).
    pub const ALL: [Class; Class::VARIANTS.len()] = variant_array(Class::VARIANTS);

    /// The snake_case name used in every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Ok => "ok",
            Class::DnsError => "dns_error",
            Class::ConnectError => "connect_error",
            Class::TlsError => "tls_error",
            Class::Timeout => "timeout",
            Class::Missing101 => "missing_101",
            Class::ProtocolError => "protocol_error",
            Class::EarlyFin => "early_fin",
            Class::UnexpectedMessage => "unexpected_message",
            Class::Slow => "slow",
            Class::LocalError => "local_error",
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Overall status, in Nagios terms.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Healthy.
    Ok,
    /// Healthy, with something to look at soon (e.g. an expiring certificate).
    Warning,
    /// Failed.
    Critical,
    /// Nothing known about the endpoint: the monitor itself failed (a
    /// `local_error`). Worst, as in Nagios: the check could not be made.
    Unknown,
}

impl Status {
    /// The Nagios plugin exit code for this status.
    pub fn exit_code(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Warning => 1,
            Status::Critical => 2,
            Status::Unknown => 3,
        }
    }

    /// Upper-case word used by Nagios output.
    pub fn nagios_word(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
            Status::Unknown => "UNKNOWN",
        }
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Critical => "critical",
            Status::Unknown => "unknown",
        }
    }
}

/// How the peer ended the TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PeerEnd {
    /// An orderly FIN (read returned 0 bytes).
    Fin,
    /// A reset (ECONNRESET / EPIPE).
    Rst,
}

impl fmt::Display for PeerEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PeerEnd::Fin => "FIN",
            PeerEnd::Rst => "RST",
        })
    }
}

/// Which side started the WebSocket closing handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Closer {
    /// wsprobe sent the first Close frame (the normal end of a check).
    Client,
    /// The server sent a Close frame or ended TCP first.
    Server,
}

/// A Close frame as received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CloseFrameInfo {
    /// The status code (1000 normal, 1001 going away, …); `None` for an empty Close frame.
    pub code: Option<u16>,
    /// The reason text, possibly empty.
    pub reason: String,
    /// What the code means (RFC 6455 §7.4, IANA registry); `None` without a code.
    #[serde(default)]
    pub category: Option<CloseCategory>,
    /// The code's registered name, e.g. "Going Away"; `None` where the
    /// registry names none (library and application codes).
    #[serde(default)]
    pub name: Option<String>,
}

/// How the connection ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CloseInfo {
    /// Who started closing.
    pub initiated_by: Closer,
    /// The server's Close frame, when one came.
    pub server_frame: Option<CloseFrameInfo>,
    /// How the server ended TCP, when it did.
    pub peer_end: Option<PeerEnd>,
    /// Milliseconds from the start of the attempt to the server's FIN or RST.
    pub peer_end_at_ms: Option<f64>,
    /// True when the closing handshake completed: both Close frames, then the server's FIN.
    pub clean: bool,
}

/// The parsed head of the HTTP response to the upgrade request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ResponseHead {
    /// "HTTP/1.1" or "HTTP/1.0".
    pub version: String,
    /// The status code.
    pub status: u16,
    /// The reason phrase as sent.
    pub reason: String,
    /// Headers in the order sent, names as sent. Secret-bearing values are redacted.
    pub headers: Vec<(String, String)>,
    /// First bytes (at most 512) of the body when the status is not 101, lossily decoded.
    pub body_snippet: Option<String>,
}

impl ResponseHead {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// "HTTP/1.1 101 Switching Protocols".
    pub fn status_line(&self) -> String {
        format!("{} {} {}", self.version, self.status, self.reason)
            .trim_end()
            .to_string()
    }
}

/// What the TLS handshake showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default, Deserialize, schemars::JsonSchema)]
pub struct TlsInfo {
    /// e.g. "TLSv1.3"; `None` when the handshake did not finish.
    pub version: Option<String>,
    /// e.g. "TLS13_AES_128_GCM_SHA256".
    pub cipher: Option<String>,
    /// The end-entity certificate, when the server presented one.
    pub certificate: Option<CertInfo>,
    /// True when `--insecure` turned verification off.
    pub verification_disabled: bool,
    /// Whether the server asked for a client certificate, and if one was sent
    /// (absent from reports stored before it was recorded: not requested).
    #[serde(default)]
    pub client_certificate: ClientCertRequest,
}

/// The parts of a certificate an engineer needs to see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CertInfo {
    /// Subject distinguished name.
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// DNS and IP names the certificate is valid for.
    pub names: Vec<String>,
    /// Start of validity, RFC 3339.
    pub not_before: String,
    /// End of validity, RFC 3339.
    pub not_after: String,
    /// Unix timestamp of `not_after` (for metrics).
    pub not_after_unix: i64,
    /// Whole days until `not_after` (negative once expired).
    pub days_left: i64,
}

/// One line of an attempt's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Event {
    /// Milliseconds since the attempt started.
    pub at_ms: f64,
    /// The phase it belongs to.
    pub phase: Phase,
    /// What happened, in words.
    pub what: String,
}

/// Duration of each phase that ran, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Timings {
    /// Name resolution.
    pub dns_ms: Option<f64>,
    /// TCP connect (and proxy tunnel).
    pub connect_ms: Option<f64>,
    /// TLS handshake.
    pub tls_ms: Option<f64>,
    /// Request written to response head validated.
    pub upgrade_ms: Option<f64>,
    /// Ping/pong, send/expect and hold.
    pub open_ms: Option<f64>,
    /// Close handshake and FIN.
    pub close_ms: Option<f64>,
    /// The whole attempt.
    pub total_ms: f64,
    /// Each step of the script that finished, within `open_ms`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<super::steps::StepTiming>,
}

impl Timings {
    /// The duration of one phase, if it ran.
    pub fn get(&self, phase: Phase) -> Option<f64> {
        match phase {
            Phase::Dns => self.dns_ms,
            Phase::Connect => self.connect_ms,
            Phase::Tls => self.tls_ms,
            Phase::Upgrade => self.upgrade_ms,
            Phase::Open => self.open_ms,
            Phase::Close => self.close_ms,
        }
    }

    /// Record the duration of one phase.
    pub fn set(&mut self, phase: Phase, ms: f64) {
        let slot = match phase {
            Phase::Dns => &mut self.dns_ms,
            Phase::Connect => &mut self.connect_ms,
            Phase::Tls => &mut self.tls_ms,
            Phase::Upgrade => &mut self.upgrade_ms,
            Phase::Open => &mut self.open_ms,
            Phase::Close => &mut self.close_ms,
        };
        *slot = Some(ms);
    }
}

/// Something worth attention on a passing check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Warning {
    /// The server certificate expires within the warning window.
    CertExpiring {
        /// Days until expiry.
        days_left: i64,
        /// Expiry, RFC 3339.
        not_after: String,
    },
    /// `--insecure`: the certificate was not verified.
    InsecureTls,
    /// A phase (or the total) took longer than its `warning_over` threshold.
    Slow {
        /// What was measured.
        over: super::thresholds::Measured,
        /// How long it took, in ms.
        took_ms: f64,
        /// The threshold, in ms.
        threshold_ms: f64,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::CertExpiring {
                days_left,
                not_after,
            } => write!(
                f,
                "cert_expiring: certificate expires in {days_left} days ({not_after})"
            ),
            Warning::InsecureTls => f.write_str("insecure: TLS certificate was not verified"),
            Warning::Slow {
                over,
                took_ms,
                threshold_ms,
            } => write!(
                f,
                "slow: {over} took {took_ms:.1} ms, over the warning threshold of {threshold_ms} ms"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_serializes_to_its_documented_name() {
        for class in Class::ALL {
            let json = serde_json::to_value(class).unwrap();
            assert_eq!(json, class.as_str(), "{class:?}");
            let back: Class = serde_json::from_value(json).unwrap();
            assert_eq!(back, class);
        }
    }

    #[test]
    fn every_phase_serializes_to_its_documented_name() {
        for phase in Phase::ALL {
            assert_eq!(serde_json::to_value(phase).unwrap(), phase.as_str());
        }
    }
}
