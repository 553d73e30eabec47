//! The `dns` phase: which addresses to connect to. IP literals, `--resolve` and
//! `--all-addresses` pins skip DNS; with a proxy, the proxy's name is resolved
//! and the target's name is left to the proxy.

use super::{Attempt, phase_ms};
use crate::check::error::{CheckError, errno_name, os_message};
use crate::check::failure::Awaited;
use crate::check::local::{LocalResource, descriptor_headroom};
use crate::check::model::Phase;
use crate::check::spec::CheckSpec;
use std::net::SocketAddr;
use std::time::Instant;

/// Descriptors a lookup may hold at once (nsswitch.conf, /etc/hosts,
/// resolv.conf, the query's socket): the headroom checked before a failed
/// lookup is blamed on the name.
const LOOKUP_DESCRIPTORS: usize = 4;

/// What the connect phase should dial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dial {
    /// Addresses to try in order (the proxy's, when there is one).
    pub addrs: Vec<SocketAddr>,
    /// True when a DNS lookup was made (so the phase gets a timing).
    pub looked_up: bool,
}

/// Run the `dns` phase: the addresses to dial, timed when a lookup was made.
pub(super) async fn run(a: &mut Attempt<'_>) -> Result<Dial, CheckError> {
    let started = Instant::now();
    let limit = a.budget.step(a.spec.timeout);
    let dial = match tokio::time::timeout(limit, dial_plan(a.spec)).await {
        Err(_) => {
            a.report.timings.set(Phase::Dns, phase_ms(started));
            return Err(CheckError::timed_out(
                Phase::Dns,
                Awaited::NameResolved,
                limit,
            ));
        }
        Ok(result) => {
            if result.as_ref().is_ok_and(|d| d.looked_up) || result.is_err() {
                a.report.timings.set(Phase::Dns, phase_ms(started));
            }
            result?
        }
    };
    if dial.looked_up {
        let list: Vec<String> = dial.addrs.iter().map(|a| a.ip().to_string()).collect();
        a.log
            .event(Phase::Dns, format!("resolved to {}", list.join(", ")));
    }
    Ok(dial)
}

/// Resolve a host name to every address, v4 and v6, in the resolver's order.
pub async fn lookup(host: &str, port: u16) -> Result<Vec<SocketAddr>, CheckError> {
    match tokio::net::lookup_host((host, port)).await {
        Ok(addrs) => {
            let mut out: Vec<SocketAddr> = Vec::new();
            for a in addrs {
                if !out.contains(&a) {
                    out.push(a);
                }
            }
            if out.is_empty() {
                Err(CheckError::Dns {
                    host: host.to_string(),
                    reason: "no addresses".into(),
                })
            } else {
                Ok(out)
            }
        }
        Err(e) => Err(local_shortage().unwrap_or_else(|| CheckError::Dns {
            host: host.to_string(),
            reason: os_message(&e),
        })),
    }
}

/// Out of descriptors, glibc's getaddrinfo cannot read /etc/hosts or open
/// its socket and answers "Name or service not known", blaming the name. So
/// a failed lookup is the endpoint's only if this host can still open the
/// descriptors a lookup needs; otherwise it is the monitor's own problem.
fn local_shortage() -> Option<CheckError> {
    let e = descriptor_headroom(LOOKUP_DESCRIPTORS).err()?;
    LocalResource::from_connect_error(&e).map(|resource| CheckError::Local {
        phase: Phase::Dns,
        resource,
        errno: errno_name(&e),
        message: os_message(&e),
    })
}

/// Work out what to dial for `spec`. The caller bounds this in time.
pub async fn dial_plan(spec: &CheckSpec) -> Result<Dial, CheckError> {
    if let Some(proxy) = &spec.proxy {
        if let Ok(ip) = proxy.host.parse() {
            return Ok(Dial {
                addrs: vec![SocketAddr::new(ip, proxy.port)],
                looked_up: false,
            });
        }
        return Ok(Dial {
            addrs: lookup(&proxy.host, proxy.port).await?,
            looked_up: true,
        });
    }
    if let Some(addr) = spec.pinned_socket() {
        return Ok(Dial {
            addrs: vec![addr],
            looked_up: false,
        });
    }
    Ok(Dial {
        addrs: lookup(&spec.target.host, spec.target.port).await?,
        looked_up: true,
    })
}
