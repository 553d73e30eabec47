//! One attempt, phase by phase: dns → connect → tls → upgrade → open → close.
//! Every phase is timed; the first failure ends the attempt and becomes its
//! typed error, with the evidence gathered up to that point.

use super::budget::Budget;
use super::error::{AddrFailure, CheckError, addr_failure, errno_name, os_message};
use super::local::LocalResource;
use super::model::{Class, CloseInfo, Event, Phase, ResponseHead, Timings, TlsInfo, Warning};
use super::redact::redact_url;
use super::resolve::dial_plan;
use super::session::Session;
use super::spec::CheckSpec;
use super::stream::{AsyncIo, Tap};
use super::timeline::{Timeline, ms_between, round2};
use super::upgrade::{RequestHead, UpgradeFailure, build_request, new_key, upgrade};
use crate::classify;
use serde::Serialize;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;
use tungstenite::protocol::{Role, WebSocketConfig};

/// Most bytes of frames (auto-pongs, the Close) that may wait, beyond our own
/// message, for a peer that does not read.
const MAX_QUEUED_WRITE_BYTES: usize = 64 * 1024;

/// Everything one attempt saw.
#[derive(Debug, Clone, Serialize)]
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
    pub error: Option<CheckError>,
    /// The address connected to (or last tried).
    pub address: Option<String>,
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
    let result = phases(spec, &mut budget, &mut log, &mut report, stop).await;
    report.timings.total_ms = round2(budget.elapsed_ms());
    if let Err(err) = result {
        log.event(err.phase(), format!("failed: {err}"));
        report.class = err.class();
        report.phase = Some(err.phase());
        report.message = Some(err.to_string());
        report.hint = Some(classify::hint_through(&err, report.response.as_ref()));
        report.error = Some(err);
    }
    report.events = log.into_events();
    report
}

fn phase_ms(started: Instant) -> f64 {
    ms_between(started, Instant::now())
}

async fn phases(
    spec: &CheckSpec,
    budget: &mut Budget,
    log: &mut Timeline,
    report: &mut AttemptReport,
    stop: &CancellationToken,
) -> Result<(), CheckError> {
    // dns
    let started = Instant::now();
    let limit = budget.step(spec.timeout);
    let dial = match tokio::time::timeout(limit, dial_plan(spec)).await {
        Err(_) => {
            report.timings.set(Phase::Dns, phase_ms(started));
            return Err(CheckError::Timeout {
                phase: Phase::Dns,
                waiting_for: "the name to resolve".into(),
                limit_ms: limit.as_millis() as u64,
                bytes_sent: 0,
                bytes_received: 0,
                detail: None,
            });
        }
        Ok(result) => {
            if result.as_ref().is_ok_and(|d| d.looked_up) || result.is_err() {
                report.timings.set(Phase::Dns, phase_ms(started));
            }
            result?
        }
    };
    if dial.looked_up {
        let list: Vec<String> = dial.addrs.iter().map(|a| a.ip().to_string()).collect();
        log.event(Phase::Dns, format!("resolved to {}", list.join(", ")));
    }

    // connect
    let started = Instant::now();
    let connected = connect(&dial.addrs, spec, budget, log, report).await;
    let tcp = match connected {
        Ok(tcp) => tcp,
        Err(e) => {
            report.timings.set(Phase::Connect, phase_ms(started));
            return Err(e);
        }
    };
    let tcp = match &spec.proxy {
        None => tcp,
        Some(proxy) => {
            let limit = budget.step(spec.timeout);
            let tunnel = proxy.tunnel(tcp, &spec.target.host, spec.target.port);
            match tokio::time::timeout(limit, tunnel).await {
                Ok(Ok(tcp)) => {
                    log.event(
                        Phase::Connect,
                        format!("tunnel open through {}", proxy.display()),
                    );
                    tcp
                }
                Ok(Err(e)) => {
                    report.timings.set(Phase::Connect, phase_ms(started));
                    return Err(e);
                }
                Err(_) => {
                    report.timings.set(Phase::Connect, phase_ms(started));
                    return Err(CheckError::Timeout {
                        phase: Phase::Connect,
                        waiting_for: format!("the proxy {} to open the tunnel", proxy.display()),
                        limit_ms: limit.as_millis() as u64,
                        bytes_sent: 0,
                        bytes_received: 0,
                        detail: None,
                    });
                }
            }
        }
    };
    report.timings.set(Phase::Connect, phase_ms(started));

    // tls
    let io: Box<dyn AsyncIo> = match &spec.tls {
        None => Box::new(tcp),
        Some(tls) => {
            let started = Instant::now();
            let limit = budget.step(spec.timeout);
            let mut info = TlsInfo::default();
            let handshake = tls.handshake(&spec.target.host, tcp, &mut info);
            let outcome = tokio::time::timeout(limit, handshake).await;
            report.timings.set(Phase::Tls, phase_ms(started));
            let stream = match outcome {
                Err(_) => {
                    report.tls = Some(info);
                    return Err(CheckError::Timeout {
                        phase: Phase::Tls,
                        waiting_for: "the TLS handshake".into(),
                        limit_ms: limit.as_millis() as u64,
                        bytes_sent: 0,
                        bytes_received: 0,
                        detail: None,
                    });
                }
                Ok(result) => {
                    report.tls = Some(info.clone());
                    result?
                }
            };
            log.event(
                Phase::Tls,
                format!(
                    "{} {} established",
                    info.version.as_deref().unwrap_or("TLS"),
                    info.cipher.as_deref().unwrap_or("")
                ),
            );
            if tls.insecure() {
                report.warnings.push(Warning::InsecureTls);
            }
            if let Some(cert) = &info.certificate {
                let warn_days = spec.cert_expiry_warn.as_secs() as i64 / 86_400;
                if cert.days_left < warn_days {
                    report.warnings.push(Warning::CertExpiring {
                        days_left: cert.days_left,
                        not_after: cert.not_after.clone(),
                    });
                }
            }
            Box::new(stream)
        }
    };
    let mut tap = Tap::new(io, budget.origin());

    // upgrade
    let started = Instant::now();
    let key = new_key();
    let (raw_request, record) = build_request(spec, &key);
    report.request = Some(record);
    let limit = budget.step(spec.timeout);
    // The query may carry a token (?access_token=…): the timeline shows it redacted.
    log.event(
        Phase::Upgrade,
        format!("GET {} sent", redact_url(&spec.target.resource)),
    );
    let outcome = upgrade(
        &mut tap,
        &raw_request,
        &key,
        spec,
        limit,
        &mut report.response,
    )
    .await;
    report.timings.set(Phase::Upgrade, phase_ms(started));
    report.bytes_sent = tap.sent();
    report.bytes_received = tap.received();
    if let Some(head) = &report.response {
        log.event(Phase::Upgrade, format!("{} received", head.status_line()));
    }
    let upgraded = match outcome {
        Ok(u) => u,
        Err(UpgradeFailure::Failed(mut e)) => {
            if let CheckError::Tls { certificate, .. } = &mut e {
                *certificate = report.tls.as_ref().and_then(|t| t.certificate.clone());
            }
            return Err(e);
        }
        Err(UpgradeFailure::TimedOut(what, detail)) => {
            return Err(CheckError::Timeout {
                phase: Phase::Upgrade,
                waiting_for: what.to_string(),
                limit_ms: limit.as_millis() as u64,
                bytes_sent: tap.sent(),
                bytes_received: tap.received(),
                detail,
            });
        }
    };
    report.subprotocol = upgraded.subprotocol.clone();
    let config = session_config(spec);
    let ws =
        WebSocketStream::from_partially_read(tap, upgraded.leftover, Role::Client, Some(config))
            .await;
    let mut session = Session::new(ws, spec);

    // open
    let started = Instant::now();
    let opened = session.open(budget, log, stop).await;
    report.timings.set(Phase::Open, phase_ms(started));
    if let Err(e) = opened {
        if matches!(
            e,
            CheckError::UnexpectedMessage { .. } | CheckError::Timeout { .. }
        ) {
            session.close_politely().await;
        }
        finish_session(&mut session, report);
        return Err(e);
    }

    // close
    let started = Instant::now();
    let closed = session.close(budget, log).await;
    report.timings.set(Phase::Close, phase_ms(started));
    finish_session(&mut session, report);
    closed
}

/// Every buffer on the connection bounded. Reads: 4 KiB at a time, messages
/// and frames up to `--max-message-bytes`. Writes: frames go to the socket as
/// they are made (no write buffer), and at most [`MAX_QUEUED_WRITE_BYTES`]
/// beyond our own message may wait for a peer that does not read. Past that,
/// tungstenite keeps a single pending pong and replaces it with the newest,
/// so a ping flood from a peer that never reads costs no memory.
fn session_config(spec: &CheckSpec) -> WebSocketConfig {
    // Our largest frame (the --send text) must fit, or it could never be queued.
    let own_frame = spec.send.as_ref().map_or(0, String::len) + 14;
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .max_message_size(Some(spec.max_message_bytes))
        .max_frame_size(Some(spec.max_message_bytes))
        .write_buffer_size(0)
        .max_write_buffer_size(own_frame + MAX_QUEUED_WRITE_BYTES)
}

fn finish_session(session: &mut Session<'_>, report: &mut AttemptReport) {
    let (sent, received) = session.bytes();
    report.bytes_sent = sent;
    report.bytes_received = received;
    report.close = session.close.take();
}

/// TCP connect, trying every address in order; each failure is kept.
async fn connect(
    addrs: &[SocketAddr],
    spec: &CheckSpec,
    budget: &Budget,
    log: &mut Timeline,
    report: &mut AttemptReport,
) -> Result<TcpStream, CheckError> {
    let mut failures: Vec<AddrFailure> = Vec::new();
    let mut timed_out = false;
    let mut last_limit = Duration::ZERO;
    for &addr in addrs {
        report.address = Some(addr.to_string());
        let limit = budget.step(spec.connect_timeout);
        last_limit = limit;
        if limit.is_zero() {
            timed_out = true;
            failures.push(AddrFailure {
                addr: addr.to_string(),
                errno: "not tried".into(),
                message: "no time left in the attempt".into(),
            });
            continue;
        }
        match tokio::time::timeout(limit, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                // Small frames (ping, close) should leave at once, not wait for Nagle.
                let _ = stream.set_nodelay(true);
                log.event(Phase::Connect, format!("connected to {addr}"));
                return Ok(stream);
            }
            Ok(Err(e)) => {
                // The socket could not even be made: no other address will fare
                // better, and the endpoint is not to blame.
                if let Some(resource) = LocalResource::from_connect_error(&e) {
                    log.event(Phase::Connect, format!("this host ran out of {resource}"));
                    return Err(CheckError::Local {
                        phase: Phase::Connect,
                        resource,
                        errno: errno_name(&e),
                        message: os_message(&e),
                    });
                }
                let failure = addr_failure(addr, &e);
                log.event(Phase::Connect, failure.to_string());
                failures.push(failure);
            }
            Err(_) => {
                timed_out = true;
                let failure = AddrFailure {
                    addr: addr.to_string(),
                    errno: "timeout".into(),
                    message: format!(
                        "no answer to SYN within {}",
                        humantime::format_duration(limit)
                    ),
                };
                log.event(Phase::Connect, failure.to_string());
                failures.push(failure);
            }
        }
    }
    let detail = spec
        .proxy
        .as_ref()
        .map(|p| format!("via proxy {}", p.display()));
    if timed_out {
        let list: Vec<String> = failures.iter().map(ToString::to_string).collect();
        return Err(CheckError::Timeout {
            phase: Phase::Connect,
            waiting_for: "the TCP connection".into(),
            limit_ms: last_limit
                .max(spec.connect_timeout.min(spec.timeout))
                .as_millis() as u64,
            bytes_sent: 0,
            bytes_received: 0,
            detail: Some(list.join("; ")),
        });
    }
    Err(CheckError::Connect { failures, detail })
}
