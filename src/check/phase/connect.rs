//! The `connect` phase: TCP to each address in order, keeping every failure;
//! through a proxy, then the tunnel. A failure names the hop: the proxy
//! unreachable, or (from the tunnel) its refusal or the target unreachable.

use super::dns::Dial;
use super::{Attempt, phase_ms};
use crate::check::attempt::AttemptReport;
use crate::check::budget::Budget;
use crate::check::error::{
    AddrCause, AddrFailure, CheckError, addr_failure, errno_name, os_message,
};
use crate::check::failure::{Awaited, ProxyHop};
use crate::check::local::LocalResource;
use crate::check::model::Phase;
use crate::check::source::{SocketFailure, SourceProblem, reachable_from, socket_for};
use crate::check::spec::CheckSpec;
use crate::check::timeline::Timeline;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// Run the `connect` phase: a TCP stream to the target, or a tunnel to it.
pub(super) async fn run(a: &mut Attempt<'_>, dial: &Dial) -> Result<TcpStream, CheckError> {
    let started = Instant::now();
    let connected = match connect(&dial.addrs, a.spec, a.budget, a.log, a.report).await {
        Ok(tcp) => tunnel(a, tcp).await,
        Err(e) => Err(e),
    };
    a.report.timings.set(Phase::Connect, phase_ms(started));
    connected
}

/// Through the proxy, if there is one: the tunnel to the target.
async fn tunnel(a: &mut Attempt<'_>, tcp: TcpStream) -> Result<TcpStream, CheckError> {
    let Some(proxy) = &a.spec.proxy else {
        return Ok(tcp);
    };
    let limit = a.budget.step(a.spec.timeout);
    let tunnel = proxy.tunnel(tcp, &a.spec.target.host, a.spec.target.port);
    match tokio::time::timeout(limit, tunnel).await {
        Ok(Ok(tcp)) => {
            a.log.event(
                Phase::Connect,
                format!("tunnel open through {}", proxy.display()),
            );
            Ok(tcp)
        }
        Ok(Err(e)) => Err(e),
        Err(_) => Err(CheckError::timed_out(
            Phase::Connect,
            Awaited::ProxyTunnel {
                proxy: proxy.display(),
            },
            limit,
        )),
    }
}

/// TCP connect, trying every address in order; each failure is kept. With a
/// source address, only the addresses of its family are tried, each from a
/// socket bound to it.
async fn connect(
    addrs: &[SocketAddr],
    spec: &CheckSpec,
    budget: &Budget,
    log: &mut Timeline,
    report: &mut AttemptReport,
) -> Result<TcpStream, CheckError> {
    let addrs = match spec.source_address {
        Some(source) => reachable_from(source, addrs).map_err(|p| source_error(source, p))?,
        None => addrs.to_vec(),
    };
    let mut failures: Vec<AddrFailure> = Vec::new();
    let mut timed_out = false;
    let mut last_limit = Duration::ZERO;
    for addr in addrs {
        report.address = Some(addr.to_string());
        let limit = budget.step(spec.connect_timeout);
        last_limit = limit;
        if limit.is_zero() {
            timed_out = true;
            failures.push(AddrFailure {
                addr: addr.to_string(),
                cause: AddrCause::NotTried,
                errno: "not tried".into(),
                message: "no time left in the attempt".into(),
            });
            continue;
        }
        match tokio::time::timeout(limit, dial(addr, spec.source_address)).await {
            Ok(Ok(stream)) => {
                // Small frames (ping, close) should leave at once, not wait for Nagle.
                let _ = stream.set_nodelay(true);
                connected(&stream, addr, spec, log, report);
                return Ok(stream);
            }
            Ok(Err(Dialled::Source(problem))) => {
                // The same source fails the same way for every address.
                let source = spec
                    .source_address
                    .expect("only a bound socket fails to bind");
                return Err(source_error(source, problem));
            }
            Ok(Err(Dialled::Os(e))) => {
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
                    cause: AddrCause::TimedOut,
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
    // Through a proxy, every address tried is the proxy's: the first hop failed.
    let proxy = spec.proxy.as_ref().map(|p| p.display());
    if timed_out {
        let list: Vec<String> = failures.iter().map(ToString::to_string).collect();
        let awaited = match proxy {
            Some(proxy) => Awaited::ProxyConnect { proxy },
            None => Awaited::TcpConnect,
        };
        return Err(CheckError::Timeout {
            phase: Phase::Connect,
            awaited,
            limit_ms: last_limit
                .max(spec.connect_timeout.min(spec.timeout))
                .as_millis() as u64,
            bytes_sent: 0,
            bytes_received: 0,
            detail: Some(list.join("; ")),
        });
    }
    Err(match proxy {
        Some(proxy) => CheckError::Proxy {
            proxy,
            hop: ProxyHop::ProxyUnreachable { failures },
        },
        None => CheckError::Connect { failures },
    })
}

/// Why one dial failed: the source address, or the OS on this address.
enum Dialled {
    Source(SourceProblem),
    Os(std::io::Error),
}

/// One TCP connect to `addr`, from `source` when there is one.
async fn dial(addr: SocketAddr, source: Option<IpAddr>) -> Result<TcpStream, Dialled> {
    let socket = socket_for(addr, source).map_err(|f| match f {
        SocketFailure::Create(e) => Dialled::Os(e),
        SocketFailure::Bind(problem) => Dialled::Source(problem),
    })?;
    socket.connect(addr).await.map_err(Dialled::Os)
}

/// Note the connection in the timeline, and where it left from when the
/// source was chosen (the evidence that it was).
fn connected(
    stream: &TcpStream,
    addr: SocketAddr,
    spec: &CheckSpec,
    log: &mut Timeline,
    report: &mut AttemptReport,
) {
    let local = spec.source_address.and_then(|_| stream.local_addr().ok());
    match local {
        Some(local) => {
            log.event(Phase::Connect, format!("connected to {addr} from {local}"));
            report.local_address = Some(local.to_string());
        }
        None => log.event(Phase::Connect, format!("connected to {addr}")),
    }
}

fn source_error(source: IpAddr, problem: SourceProblem) -> CheckError {
    CheckError::SourceAddress {
        source_address: source.to_string(),
        problem,
    }
}
