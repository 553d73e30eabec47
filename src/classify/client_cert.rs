//! The server asked for a client certificate: when none was configured, the
//! failure that follows — a TLS alert, a reset or EOF before the 101, an
//! HTTP 400 or 403 (nginx: "No required SSL certificate was sent") — is
//! explained by that request, whatever its surface; when one was sent and
//! the server then refused the TLS session, by the certificate. Decided from
//! the recorded request ([`ClientCertRequest`]) and the failure's type.

use crate::check::CheckError;
use crate::check::client_cert::ClientCertRequest;
use crate::check::failure::ProtocolRule;
use crate::check::model::Phase;
use crate::check::tls_failure::TlsFailure;

/// Statuses servers answer a missing or refused client certificate with:
/// 400 (nginx, after its internal 495/496), 401, 403, and nginx's 495/496
/// when a site maps them to themselves.
const CERTIFICATE_STATUSES: [u16; 5] = [400, 401, 403, 495, 496];

/// The hint when the request for a client certificate explains `err`.
pub(super) fn hint(err: &CheckError, request: ClientCertRequest) -> Option<String> {
    match request {
        ClientCertRequest::NotRequested => None,
        ClientCertRequest::NoneConfigured => follows_the_request(err).then(|| {
            "The server requires a client certificate and none was configured: pass one with --cert and --key (PEM), issued by a CA the server trusts (its ssl_client_certificate / ca file).".to_string()
        }),
        // Past a handshake that took the certificate, a 401 or 403 is the
        // application's own authorization: only a TLS refusal blames it.
        ClientCertRequest::Sent => (matches!(err, CheckError::Tls { .. }) && follows_the_request(err)).then(|| {
            "The server asked for a client certificate and refused the one sent (--cert): it is not issued by a CA the server trusts, has expired, or lacks the clientAuth usage.".to_string()
        }),
    }
}

/// True for the failures a server produces when a client certificate is
/// missing or not accepted, but not for our own verification of the
/// server's certificate, which is its own problem whatever was asked.
fn follows_the_request(err: &CheckError) -> bool {
    match err {
        CheckError::Tls { kind, .. } => matches!(
            kind,
            TlsFailure::Refused | TlsFailure::NotTls | TlsFailure::Other
        ),
        CheckError::Missing101 { response } => CERTIFICATE_STATUSES.contains(&response.status),
        CheckError::EarlyFin {
            phase: Phase::Upgrade,
            ms_after_101: None,
            ..
        } => true,
        CheckError::Protocol {
            phase: Phase::Upgrade,
            rule:
                ProtocolRule::HeadCutShort { .. }
                | ProtocolRule::ReadFailed { .. }
                | ProtocolRule::ConnectionFailed { .. },
        } => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::model::{PeerEnd, ResponseHead};

    fn tls(kind: TlsFailure) -> CheckError {
        CheckError::Tls {
            kind,
            reason: "r".into(),
            certificate: None,
        }
    }

    fn status(status: u16) -> CheckError {
        CheckError::Missing101 {
            response: ResponseHead {
                version: "HTTP/1.1".into(),
                status,
                reason: String::new(),
                headers: vec![],
                body_snippet: None,
            },
        }
    }

    fn closed(phase: Phase, ms_after_101: Option<f64>) -> CheckError {
        CheckError::EarlyFin {
            phase,
            peer_end: Some(PeerEnd::Rst),
            close_frame: None,
            ms_after_101,
            idle_ms: None,
            while_held: false,
        }
    }

    /// Every failure a missing certificate can surface as, and the server
    /// certificate problems it must not be blamed for.
    fn cases() -> Vec<(CheckError, bool)> {
        let mut cases: Vec<(CheckError, bool)> = TlsFailure::ALL
            .into_iter()
            .map(|kind| {
                let explained = matches!(
                    kind,
                    TlsFailure::Refused | TlsFailure::NotTls | TlsFailure::Other
                );
                (tls(kind), explained)
            })
            .collect();
        cases.extend([
            (status(400), true),
            (status(403), true),
            (status(496), true),
            (status(404), false),
            (status(502), false),
            (closed(Phase::Upgrade, None), true),
            (closed(Phase::Open, Some(5.0)), false),
            (
                CheckError::Protocol {
                    phase: Phase::Upgrade,
                    rule: ProtocolRule::HeadCutShort {
                        partial: "HTTP/1.1 4".into(),
                    },
                },
                true,
            ),
            (
                CheckError::Protocol {
                    phase: Phase::Upgrade,
                    rule: ProtocolRule::MissingAccept,
                },
                false,
            ),
        ]);
        cases
    }

    #[test]
    fn a_missing_certificate_explains_the_servers_refusals_whatever_their_surface() {
        for (err, explained) in cases() {
            let h = hint(&err, ClientCertRequest::NoneConfigured);
            assert_eq!(h.is_some(), explained, "{err:?}: {h:?}");
            if let Some(h) = h {
                assert!(h.contains("requires a client certificate") && h.contains("--cert"));
            }
        }
    }

    #[test]
    fn a_refused_certificate_is_named_and_no_request_leaves_the_hint_alone() {
        for (err, explained) in cases() {
            let sent = hint(&err, ClientCertRequest::Sent);
            let refused_in_tls = explained && matches!(err, CheckError::Tls { .. });
            assert_eq!(sent.is_some(), refused_in_tls, "{err:?}");
            assert!(sent.is_none_or(|h| h.contains("refused the one sent")));
            assert_eq!(hint(&err, ClientCertRequest::NotRequested), None);
        }
    }
}
