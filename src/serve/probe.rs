//! `GET /probe?target=wss://…&module=NAME[&debug=true]`: one check on demand,
//! answered the way Prometheus' blackbox_exporter answers, so a Prometheus
//! job with the usual relabel config can point at wsprobe.
//!
//! Only allowed targets are checked ([`super::allow`]): anything else gets 403
//! with the reason. The target's length and the number of probes in flight are
//! bounded, and the check's timeout is capped by Prometheus' scrape timeout
//! (`X-Prometheus-Scrape-Timeout-Seconds`) so an answer arrives before the
//! scrape gives up.

use super::allow::{self, Allowed};
use super::metrics::seconds;
use super::{Surface, text_error};
use crate::check::spec::{CheckOptions, CheckSpec, Target};
use crate::check::{CheckReport, Class, Phase, run_check};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use serde::Deserialize;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

/// Most `/probe` checks in flight at once.
pub const MAX_CONCURRENT: usize = 4;
/// Longest accepted `target`.
pub const MAX_TARGET_LEN: usize = 2048;
/// How long a probe waits for a free slot before 503.
const SLOT_WAIT: Duration = Duration::from_secs(5);
/// Subtracted from Prometheus' scrape timeout, as blackbox_exporter does, to
/// leave time for the answer to travel.
const SCRAPE_TIMEOUT_OFFSET: Duration = Duration::from_millis(500);

/// The query string of `/probe`.
#[derive(Debug, Deserialize)]
pub struct ProbeQuery {
    /// The ws:// or wss:// URL to check.
    pub target: Option<String>,
    /// A module of `monitors.yaml` (named check options).
    pub module: Option<String>,
    /// `true` for the full transcript as text instead of metrics.
    pub debug: Option<String>,
}

/// Handle one `/probe` request.
pub async fn handle(
    State(s): State<Surface>,
    headers: HeaderMap,
    Query(q): Query<ProbeQuery>,
) -> Response {
    let spec = match prepare(&s, &headers, &q) {
        Ok(spec) => spec,
        Err((status, reason)) => return text_error(status, reason),
    };
    let permit = match tokio::time::timeout(SLOT_WAIT, s.probe_slots.clone().acquire_owned()).await
    {
        Ok(Ok(p)) => p,
        _ => {
            return text_error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("too many probes in flight (at most {MAX_CONCURRENT}); try again"),
            );
        }
    };
    let started = Instant::now();
    let report = run_check(&spec).await;
    let elapsed = started.elapsed();
    drop(permit);
    tracing::debug!(target = %report.url, ok = report.ok(), class = %report.decisive().class, "probe");
    let exposition = exposition(&report, elapsed);
    if q.debug.as_deref().is_some_and(|d| d == "true" || d == "1") {
        let mut body = crate::report::text::render(std::slice::from_ref(&report), true);
        body.push_str("\nMetrics that would have been returned:\n");
        body.push_str(&exposition);
        return ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response();
    }
    (
        [(header::CONTENT_TYPE, super::metrics::CONTENT_TYPE)],
        exposition,
    )
        .into_response()
}

/// Validate the request into a check, or the status and reason to answer.
fn prepare(
    s: &Surface,
    headers: &HeaderMap,
    q: &ProbeQuery,
) -> Result<CheckSpec, (StatusCode, String)> {
    let bad = |msg: String| (StatusCode::BAD_REQUEST, msg);
    let raw = match q.target.as_deref().map(str::trim) {
        None | Some("") => return Err(bad("missing the target parameter".into())),
        Some(t) if t.len() > MAX_TARGET_LEN => {
            return Err(bad(format!(
                "target is longer than {MAX_TARGET_LEN} characters"
            )));
        }
        Some(t) => t,
    };
    let target = Target::parse(raw).map_err(|e| bad(e.to_string()))?;
    let config = s.shared.config();
    let Some(allowed) = allow::authorize(&config, &target) else {
        return Err((StatusCode::FORBIDDEN, allow::refusal(&config)));
    };
    let mut spec = match (&q.module, allowed) {
        (Some(name), _) => {
            let Some(opts) = config.modules.get(name) else {
                let known: Vec<&str> = config.modules.keys().map(String::as_str).collect();
                return Err(bad(format!(
                    "unknown module {name:?} (configured: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )));
            };
            build(target, opts).map_err(bad)?
        }
        // A monitor's URL is checked with the monitor's own options (its
        // headers, TLS settings), exactly as the schedule checks it.
        (None, Allowed::Monitor(i)) => config.monitors[i].spec.as_ref().clone(),
        (None, Allowed::Pattern(_)) => build(target, &CheckOptions::default()).map_err(bad)?,
    };
    if let Some(limit) = scrape_timeout(headers) {
        spec.timeout = spec.timeout.min(limit);
        spec.connect_timeout = spec.connect_timeout.min(limit);
    }
    Ok(spec)
}

fn build(target: Target, opts: &CheckOptions) -> Result<CheckSpec, String> {
    CheckSpec::build(&target.url, opts).map_err(|e| e.to_string())
}

/// Prometheus' scrape timeout less the offset, when the header is there.
fn scrape_timeout(headers: &HeaderMap) -> Option<Duration> {
    let secs: f64 = headers
        .get("x-prometheus-scrape-timeout-seconds")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let limit = Duration::try_from_secs_f64(secs).ok()?;
    Some(
        limit
            .saturating_sub(SCRAPE_TIMEOUT_OFFSET)
            .max(Duration::from_millis(100)),
    )
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabel {
    phase: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClassLabel {
    class: &'static str,
}

type GaugeF64 = Gauge<f64, AtomicU64>;

fn gauge_f64(v: f64) -> GaugeF64 {
    let g = GaugeF64::default();
    g.set(v);
    g
}

fn gauge(v: i64) -> Gauge {
    let g = Gauge::default();
    g.set(v);
    g
}

/// The blackbox-style metrics of one probe.
pub fn exposition(report: &CheckReport, elapsed: Duration) -> String {
    let last = report.decisive();
    let mut r = Registry::default();
    r.register(
        "probe_success",
        "Whether the probe succeeded",
        gauge(i64::from(report.ok())),
    );
    r.register_with_unit(
        "probe_duration",
        "How long the probe took to complete",
        Unit::Seconds,
        gauge_f64(elapsed.as_secs_f64()),
    );
    if let Some(ms) = last.timings.get(Phase::Dns) {
        r.register_with_unit(
            "probe_dns_lookup_time",
            "How long the DNS lookup took",
            Unit::Seconds,
            gauge_f64(seconds(ms)),
        );
    }
    let phases = Family::<PhaseLabel, GaugeF64>::default();
    for phase in Phase::ALL {
        if let Some(ms) = last.timings.get(phase) {
            phases
                .get_or_create(&PhaseLabel {
                    phase: phase.as_str(),
                })
                .set(seconds(ms));
        }
    }
    r.register_with_unit(
        "probe_wsprobe_phase_duration",
        "Duration of each check phase of the decisive attempt",
        Unit::Seconds,
        phases,
    );
    r.register(
        "probe_http_status_code",
        "Status code of the response to the upgrade request (0 without a response)",
        gauge(last.response.as_ref().map_or(0, |h| i64::from(h.status))),
    );
    let cert = report.certificate();
    if let Some(cert) = cert {
        r.register(
            "probe_ssl_earliest_cert_expiry",
            "Expiry (Unix time) of the server's certificate",
            gauge(cert.not_after_unix),
        );
    }
    r.register(
        "probe_wsprobe_attempts",
        "Attempts made, retries included",
        gauge(report.attempts.len() as i64),
    );
    let failure = Family::<ClassLabel, Gauge>::default();
    for class in Class::ALL.into_iter().filter(|c| *c != Class::Ok) {
        failure
            .get_or_create(&ClassLabel {
                class: class.as_str(),
            })
            .set(i64::from(!report.ok() && last.class == class));
    }
    r.register(
        "probe_wsprobe_failure",
        "1 for the failure class of the probe, 0 for the others",
        failure,
    );
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = encode(&mut out, &r);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_scrape_timeout_header_caps_the_check_less_an_offset() {
        let cases = [
            (None, None),
            (Some("10"), Some(Duration::from_millis(9500))),
            (Some("2.5"), Some(Duration::from_secs(2))),
            (Some("0.2"), Some(Duration::from_millis(100))),
            (Some("soon"), None),
            (Some("-1"), None),
        ];
        for (value, expected) in cases {
            let mut headers = HeaderMap::new();
            if let Some(v) = value {
                headers.insert(
                    "X-Prometheus-Scrape-Timeout-Seconds",
                    HeaderValue::from_static(v),
                );
            }
            assert_eq!(scrape_timeout(&headers), expected, "{value:?}");
        }
    }
}
