//! The `tls` phase (wss only): the handshake within the budget, the
//! certificate as evidence, and the warnings a passing handshake can carry.

use super::{Attempt, phase_ms};
use crate::check::error::CheckError;
use crate::check::failure::Awaited;
use crate::check::model::{Phase, TlsInfo, Warning};
use crate::check::stream::AsyncIo;
use std::time::Instant;
use tokio::net::TcpStream;

/// Run the `tls` phase over `tcp`; plain ws:// passes the stream through untimed.
pub(super) async fn run(
    a: &mut Attempt<'_>,
    tcp: TcpStream,
) -> Result<Box<dyn AsyncIo>, CheckError> {
    let Some(tls) = &a.spec.tls else {
        return Ok(Box::new(tcp));
    };
    let started = Instant::now();
    let limit = a.budget.step(a.spec.timeout);
    let mut info = TlsInfo::default();
    let handshake = tls.handshake(&a.spec.target.host, tcp, &mut info);
    let outcome = tokio::time::timeout(limit, handshake).await;
    a.report.timings.set(Phase::Tls, phase_ms(started));
    let stream = match outcome {
        Err(_) => {
            a.report.tls = Some(info);
            return Err(CheckError::timed_out(
                Phase::Tls,
                Awaited::TlsHandshake,
                limit,
            ));
        }
        Ok(result) => {
            a.report.tls = Some(info.clone());
            result?
        }
    };
    a.log.event(
        Phase::Tls,
        format!(
            "{} {} established",
            info.version.as_deref().unwrap_or("TLS"),
            info.cipher.as_deref().unwrap_or("")
        ),
    );
    if tls.insecure() {
        a.report.warnings.push(Warning::InsecureTls);
    }
    if let Some(cert) = &info.certificate {
        let warn_days = a.spec.cert_expiry_warn.as_secs() as i64 / 86_400;
        if cert.days_left < warn_days {
            a.report.warnings.push(Warning::CertExpiring {
                days_left: cert.days_left,
                not_after: cert.not_after.clone(),
            });
        }
    }
    Ok(Box::new(stream))
}
