//! The check engine: one WebSocket endpoint, checked phase by phase, with retries.
//!
//! * [`spec`]: options → validated [`CheckSpec`] (all input errors happen here);
//!   [`target`]: the URL → host, port, request target and credentials
//! * [`attempt`]: one attempt through every phase → [`AttemptReport`]
//! * [`phase`]: the phases, a file each — dns, connect, tls, upgrade, open,
//!   close — and the short sequence that runs them
//! * [`proxy`], [`tls`], [`upgrade`], [`session`]: the mechanics the phases use
//!   (proxy tunnels, the TLS client, the upgrade request and 101 validation,
//!   the live WebSocket); [`tls_failure`]: the typed reasons a handshake fails
//! * [`model`], [`error`], [`local`], [`source`]: the vocabulary and the typed
//!   failures (the host's own: resources, the source address to bind);
//!   [`failure`]: their typed sub-kinds (what was awaited, which rule broke,
//!   which proxy hop failed) from which the classification decides
//! * [`stream`], [`head`], [`sniff`], [`budget`], [`timeline`], [`flood`]: the plumbing that keeps
//!   reads bounded and evidence honest
//! * [`redact`], [`challenge`], [`secrets`], [`scrub`], [`percent`]: secrets out — which names
//!   are credentials (an auth challenge's scheme and realm are not), the values one check sent, and the pass that removes them
//!   from the finished report before anyone reads it
//! * [`thresholds`]: latency thresholds (`warning_over`/`critical_over`, class `slow`)
//! * [`protocol`]: protocol presets (a module each), run as steps
//! * [`steps`]: scripted conversations (send, expect, expect_close, wait, captures)
//! * [`wire`]: reading a stored [`CheckError`] back from its JSON

pub mod attempt;
pub mod budget;
pub mod challenge;
pub mod client_cert;
pub mod close_code;
pub mod close_watch;
pub mod error;
pub mod failure;
pub mod flood;
pub mod head;
pub mod local;
pub mod model;
pub mod percent;
pub mod phase;
pub mod protocol;
pub mod proxy;
pub mod redact;
pub mod scrub;
pub mod secrets;
pub mod session;
pub mod sniff;
pub mod source;
pub mod spec;
pub mod steps;
pub mod stream;
pub mod target;
pub mod thresholds;
pub mod timeline;
pub mod tls;
pub mod tls_failure;
pub(crate) mod tls_verifiers;
pub mod upgrade;
pub mod wire;

pub use attempt::{AttemptReport, run_attempt};
pub use error::CheckError;
pub use model::{Class, Phase, Status};
pub use spec::{CheckOptions, CheckSpec, SpecError};

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

/// The result of checking one endpoint (one address, with `--all-addresses`).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CheckReport {
    /// The URL checked, with userinfo and credential query parameters masked.
    pub url: String,
    /// The address this report is pinned to (`--all-addresses`).
    pub pinned_address: Option<String>,
    /// Every attempt, in order; the last one decides.
    pub attempts: Vec<AttemptReport>,
    /// The latency thresholds the check was held to (absent when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub limits: Vec<thresholds::Limit>,
}

impl CheckReport {
    /// The attempt that decided the verdict.
    pub fn decisive(&self) -> &AttemptReport {
        self.attempts
            .last()
            .expect("a check report always has at least one attempt")
    }

    /// The server certificate seen by the latest attempt that got one.
    pub fn certificate(&self) -> Option<&model::CertInfo> {
        self.attempts
            .iter()
            .rev()
            .find_map(|a| a.tls.as_ref()?.certificate.as_ref())
    }

    /// True when the check passed (possibly with warnings).
    pub fn ok(&self) -> bool {
        self.decisive().ok()
    }

    /// Nagios-style status.
    pub fn status(&self) -> Status {
        let last = self.decisive();
        if last.class == Class::LocalError {
            Status::Unknown
        } else if !last.ok() {
            Status::Critical
        } else if !last.warnings.is_empty() {
            Status::Warning
        } else {
            Status::Ok
        }
    }

    /// A label for humans: the URL, plus the pinned address if any.
    pub fn label(&self) -> String {
        match &self.pinned_address {
            Some(a) => format!("{} @ {a}", self.url),
            None => self.url.clone(),
        }
    }
}

/// Check `spec`, retrying after failures; stops at the first passing attempt.
pub async fn run_check(spec: &CheckSpec) -> CheckReport {
    run_check_until(spec, &CancellationToken::new()).await
}

/// [`run_check`] that winds down when `stop` is cancelled: a hold ends early
/// and the connection still gets its clean closing handshake (so the server
/// does not log a 1006 when wsprobe shuts down), and no further retry starts.
pub async fn run_check_until(spec: &CheckSpec, stop: &CancellationToken) -> CheckReport {
    let mut attempts = Vec::with_capacity(1 + spec.retries as usize);
    for number in 1..=spec.retries.saturating_add(1) {
        if number > 1 {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(spec.retry_delay) => {}
            }
        }
        let attempt = run_attempt(spec, number, stop).await;
        let passed = attempt.ok();
        attempts.push(attempt);
        if passed {
            break;
        }
    }
    finalize(
        CheckReport {
            url: spec.shown_url(),
            pinned_address: None,
            attempts,
            limits: spec.thresholds.limits(),
        },
        spec,
    )
}

/// The one point a report leaves the engine: every secret value the check
/// sent is scrubbed from all of its evidence, so no consumer can leak one.
fn finalize(mut report: CheckReport, spec: &CheckSpec) -> CheckReport {
    use scrub::Scrub;
    if !spec.secrets.is_empty() {
        report.scrub(&spec.secrets);
    }
    report
}

/// Check every address the name resolves to, each on its own, concurrently.
/// If resolution fails, the single report says so.
pub async fn run_check_all_addresses(spec: &CheckSpec) -> Vec<CheckReport> {
    run_check_all_addresses_until(spec, &CancellationToken::new()).await
}

/// [`run_check_all_addresses`] that winds down when `stop` is cancelled, as
/// [`run_check_until`] does.
pub async fn run_check_all_addresses_until(
    spec: &CheckSpec,
    stop: &CancellationToken,
) -> Vec<CheckReport> {
    if spec.pinned_addr.is_some() || spec.proxy.is_some() {
        return vec![run_check_until(spec, stop).await];
    }
    let lookup = tokio::time::timeout(
        spec.timeout,
        phase::dns::lookup(&spec.target.host, spec.target.port),
    )
    .await;
    let Ok(Ok(addrs)) = lookup else {
        return vec![run_check_until(spec, stop).await];
    };
    let checks = addrs.iter().map(|addr| {
        let pinned = spec.pinned_to(addr.ip());
        async move {
            let mut report = run_check_until(&pinned, stop).await;
            report.pinned_address = Some(addr.ip().to_string());
            report
        }
    });
    futures_util::future::join_all(checks).await
}
