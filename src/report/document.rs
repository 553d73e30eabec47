//! [`ReportDocument`]: the check report as one typed, versioned document — the
//! `--format json` output, the `report` of a notification and of a stored
//! run, and what alerts, the status page and the API read. Its JSON Schema is
//! generated from these types ([`schema`]) and checked in as
//! `docs/report.schema.json`.
//!
//! The top level summarises the decisive attempt; `attempt_details` keeps
//! every attempt's full evidence.

use crate::check::client_cert::ClientCertRequest;
use crate::check::model::{
    CloseInfo, Closer, Event, PeerEnd, ResponseHead, Timings, TlsInfo, Warning,
};
use crate::check::{AttemptReport, CheckError, CheckReport, Class, Phase, Status};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The version of the document's shape. Raise it when a field is removed,
/// renamed or changes meaning (adding an optional field is compatible).
pub const SCHEMA_VERSION: u32 = 1;

/// One checked endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReportDocument {
    /// The version of this shape ([`SCHEMA_VERSION`]). Documents written
    /// before the field existed had the same shape as version 1 and load as it.
    #[serde(default = "unversioned")]
    pub schema_version: u32,
    /// The URL checked, with userinfo and credential query parameters masked.
    pub url: String,
    /// The address pinned (`--all-addresses`) or connected to.
    pub address: Option<String>,
    /// The local address the decisive attempt left from, when the check has
    /// a source address (`source_address`, `--source-address`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_address: Option<String>,
    /// True when the check passed (possibly with warnings).
    pub ok: bool,
    /// Nagios-style status.
    pub status: Status,
    /// `ok` or the failure class of the decisive attempt.
    pub class: Class,
    /// The phase that failed.
    pub phase: Option<Phase>,
    /// One-line description of the failure.
    pub message: Option<String>,
    /// Likely causes (from `classify`).
    pub hint: Option<String>,
    /// How many attempts ran.
    pub attempts: usize,
    /// Phase durations of the decisive attempt.
    pub timings: Timings,
    /// The response head to the upgrade request.
    pub response: Option<ResponseHead>,
    /// How the connection ended.
    pub close: Option<CloseSummary>,
    /// TLS details (wss only).
    pub tls: Option<TlsSummary>,
    /// The subprotocol the server selected.
    pub subprotocol: Option<String>,
    /// Bytes written on the connection (after TLS).
    pub bytes_sent: u64,
    /// Bytes read on the connection (after TLS).
    pub bytes_received: u64,
    /// Passing-but-look-at-this notes.
    pub warnings: Vec<Warning>,
    /// The failure with its evidence, tagged by its class.
    #[serde(default, deserialize_with = "crate::check::wire::read_error")]
    pub evidence: Option<CheckError>,
    /// The decisive attempt's timeline.
    pub events: Vec<Event>,
    /// Every attempt, in order, with its full evidence. Always present in
    /// `--format json`; the history keeps it for failed runs only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempt_details: Vec<AttemptReport>,
}

fn unversioned() -> u32 {
    1
}

/// How the connection ended, flattened for readers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CloseSummary {
    /// The status code of the server's Close frame.
    pub code: Option<u16>,
    /// The reason text of the server's Close frame.
    pub reason: Option<String>,
    /// Who started closing.
    pub initiated_by: Closer,
    /// True when the server sent a Close frame.
    pub close_frame_received: bool,
    /// How the server ended TCP, when it did.
    pub peer_end: Option<PeerEnd>,
    /// Milliseconds from the start of the attempt to the server's FIN or RST.
    pub peer_end_at_ms: Option<f64>,
    /// True when the closing handshake completed.
    pub clean: bool,
}

impl CloseSummary {
    fn new(c: &CloseInfo) -> CloseSummary {
        CloseSummary {
            code: c.server_frame.as_ref().and_then(|f| f.code),
            reason: c.server_frame.as_ref().map(|f| f.reason.clone()),
            initiated_by: c.initiated_by,
            close_frame_received: c.server_frame.is_some(),
            peer_end: c.peer_end,
            peer_end_at_ms: c.peer_end_at_ms,
            clean: c.clean,
        }
    }
}

/// What the TLS handshake showed, with the certificate's fields inline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TlsSummary {
    /// e.g. "TLSv1.3"; `None` when the handshake did not finish.
    pub version: Option<String>,
    /// e.g. "TLS13_AES_128_GCM_SHA256".
    pub cipher: Option<String>,
    /// Subject distinguished name of the server certificate.
    pub subject: Option<String>,
    /// Issuer distinguished name.
    pub issuer: Option<String>,
    /// DNS and IP names the certificate is valid for.
    pub names: Option<Vec<String>>,
    /// End of validity, RFC 3339.
    pub not_after: Option<String>,
    /// Whole days until `not_after` (negative once expired).
    pub days_left: Option<i64>,
    /// True when `--insecure` turned verification off.
    pub verification_disabled: bool,
    /// Whether the server asked for a client certificate, and whether one
    /// was sent (`not_requested`, `sent`, `none_configured`).
    #[serde(default)]
    pub client_certificate: ClientCertRequest,
}

impl TlsSummary {
    fn new(t: &TlsInfo) -> TlsSummary {
        let cert = t.certificate.as_ref();
        TlsSummary {
            version: t.version.clone(),
            cipher: t.cipher.clone(),
            subject: cert.map(|c| c.subject.clone()),
            issuer: cert.map(|c| c.issuer.clone()),
            names: cert.map(|c| c.names.clone()),
            not_after: cert.map(|c| c.not_after.clone()),
            days_left: cert.map(|c| c.days_left),
            verification_disabled: t.verification_disabled,
            client_certificate: t.client_certificate,
        }
    }
}

impl ReportDocument {
    /// The document for one report.
    pub fn new(r: &CheckReport) -> ReportDocument {
        let last: &AttemptReport = r.decisive();
        ReportDocument {
            schema_version: SCHEMA_VERSION,
            url: r.url.clone(),
            address: r.pinned_address.clone().or_else(|| last.address.clone()),
            local_address: last.local_address.clone(),
            ok: r.ok(),
            status: r.status(),
            class: last.class,
            phase: last.phase,
            message: last.message.clone(),
            hint: last.hint.clone(),
            attempts: r.attempts.len(),
            timings: last.timings.clone(),
            response: last.response.clone(),
            close: last.close.as_ref().map(CloseSummary::new),
            tls: last.tls.as_ref().map(TlsSummary::new),
            subprotocol: last.subprotocol.clone(),
            bytes_sent: last.bytes_sent,
            bytes_received: last.bytes_received,
            warnings: last.warnings.clone(),
            evidence: last.error.clone(),
            events: last.events.clone(),
            attempt_details: r.attempts.clone(),
        }
    }

    /// The same document without `attempt_details` (what the history keeps
    /// of a passing run: its top level already is the decisive attempt).
    pub fn without_attempt_details(&self) -> ReportDocument {
        ReportDocument {
            attempt_details: Vec::new(),
            ..self.clone()
        }
    }
}

/// The JSON Schema of [`ReportDocument`] as written (the serialize side).
pub fn schema() -> schemars::Schema {
    let mut schema = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<ReportDocument>();
    // Several `CheckError` variants share the class `protocol_error`, so a
    // `ControlFlood` document also fits the looser `Protocol` branch: the
    // branches are alternatives, not mutually exclusive ones.
    if let Some(check_error) = schema
        .get_mut("$defs")
        .and_then(|defs| defs.get_mut("CheckError"))
        .and_then(|def| def.as_object_mut())
        && let Some(branches) = check_error.remove("oneOf")
    {
        check_error.insert("anyOf".into(), branches);
    }
    schema
}

/// [`schema`] as the pretty JSON checked in as `docs/report.schema.json`.
pub fn schema_json() -> String {
    let mut text = serde_json::to_string_pretty(&schema()).unwrap_or_default();
    text.push('\n');
    text
}

/// A small document of `class` with `attempts` attempts and no evidence, for
/// tests and tables that need a report without running a check.
pub fn sample_document(class: Class, attempts: u32) -> ReportDocument {
    let report = CheckReport {
        url: "wss://example.test/ws".into(),
        pinned_address: None,
        limits: Vec::new(),
        attempts: (1..=attempts.max(1))
            .map(|number| AttemptReport {
                class,
                // Fixed, so two samples of one class are equal.
                started_at: "2026-05-01T10:00:00.000Z".into(),
                ..AttemptReport::new(number)
            })
            .collect(),
    };
    let ok = class == Class::Ok;
    ReportDocument {
        ok,
        status: if ok { Status::Ok } else { Status::Critical },
        ..ReportDocument::new(&report)
    }
}
