//! One attempt: the [`phase`]s in order, then the verdict. Every phase is
//! timed; the first failure ends the attempt and becomes its typed error, with
//! the evidence gathered up to that point.

use super::budget::Budget;
use super::error::CheckError;
use super::model::{Class, CloseInfo, Event, Phase, ResponseHead, Timings, TlsInfo, Warning};
use super::phase::{self, Attempt};
use super::spec::CheckSpec;
use super::timeline::{Timeline, round2};
use super::upgrade::RequestHead;
use crate::classify;
use crate::product::Product;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

/// Everything one attempt saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AttemptReport {
    /// 1-based attempt number.
    pub number: u32,
    /// Wall-clock start, RFC 3339.
    pub started_at: String,
    /// `ok` or the failure class.
    pub class: Class,
    /// The phase that failed.
    pub phase: Option<Phase>,
    /// One-line description of the failure.
    pub message: Option<String>,
    /// Likely causes, from real incidents.
    pub hint: Option<String>,
    /// The failure with its evidence.
    #[serde(default, deserialize_with = "super::wire::read_error")]
    pub error: Option<CheckError>,
    /// The address connected to (or last tried).
    pub address: Option<String>,
    /// The local address the connection left from, when a source address
    /// was set (`source_address`, `--source-address`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_address: Option<String>,
    /// Proxy used, without credentials.
    pub proxy: Option<String>,
    /// Phase durations.
    pub timings: Timings,
    /// The upgrade request, secrets redacted.
    pub request: Option<RequestHead>,
    /// The response head as received.
    pub response: Option<ResponseHead>,
    /// The subprotocol the server selected.
    pub subprotocol: Option<String>,
    /// TLS details (wss only).
    pub tls: Option<TlsInfo>,
    /// How the connection ended.
    pub close: Option<CloseInfo>,
    /// Bytes written on the connection (after TLS).
    pub bytes_sent: u64,
    /// Bytes read on the connection (after TLS).
    pub bytes_received: u64,
    /// Passing-but-look-at-this notes.
    pub warnings: Vec<Warning>,
    /// The timeline.
    pub events: Vec<Event>,
}

impl AttemptReport {
    /// An attempt that has not run a phase yet (passing, no evidence); the
    /// engine fills it in, and tests start from it with struct update syntax.
    pub fn new(number: u32) -> AttemptReport {
        AttemptReport {
            number,
            started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            class: Class::Ok,
            phase: None,
            message: None,
            hint: None,
            error: None,
            address: None,
            local_address: None,
            proxy: None,
            timings: Timings::default(),
            request: None,
            response: None,
            subprotocol: None,
            tls: None,
            close: None,
            bytes_sent: 0,
            bytes_received: 0,
            warnings: Vec::new(),
            events: Vec::new(),
        }
    }

    /// True when the attempt passed.
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }
}

/// Run one attempt of `spec`.
/// When `stop` is cancelled, a hold ends early and the attempt closes cleanly.
pub async fn run_attempt(spec: &CheckSpec, number: u32, stop: &CancellationToken) -> AttemptReport {
    let mut budget = Budget::start(spec.timeout);
    let mut log = Timeline::new(budget.origin());
    let mut report = AttemptReport::new(number);
    report.proxy = spec.proxy.as_ref().map(|p| p.display());
    let mut attempt = Attempt {
        spec,
        budget: &mut budget,
        log: &mut log,
        report: &mut report,
        stop,
    };
    let result = phase::run(&mut attempt).await;
    report.timings.total_ms = round2(budget.elapsed_ms());
    // Thresholds judge only an attempt that worked: a failure is slow anyway.
    let result = match (result, spec.thresholds.critical(&report.timings)) {
        (Ok(()), Some(slow)) => Err(slow),
        (result, _) => result,
    };
    if result.is_ok() {
        let slow = spec.thresholds.warnings(&report.timings);
        report.warnings.extend(slow);
    }
    if let Err(err) = result {
        // The answer to the upgrade names the product in front, whose own
        // settings explain what it does to the connection afterwards; a
        // client certificate the server asked for explains what follows.
        let front = report.response.as_ref().and_then(Product::in_answer);
        let client_cert = report
            .tls
            .as_ref()
            .map(|t| t.client_certificate)
            .unwrap_or_default();
        let verdict = classify::verdict(&err, front, client_cert);
        log.event(verdict.phase, format!("failed: {}", verdict.message));
        report.class = verdict.class;
        report.phase = Some(verdict.phase);
        report.message = Some(verdict.message);
        report.hint = Some(verdict.hint);
        report.error = Some(err);
    }
    report.events = log.into_events();
    report
}
