//! [`Scrub`]: walk every string of a finished report and remove the check's
//! [`Secrets`] from it. Applied once, where the report is finalized, so every
//! consumer (renderers, alerts, the API, the page, the store) reads the same
//! scrubbed model. Each impl destructures its type completely, so a new field
//! fails to compile until someone decides whether it can carry a secret.

use super::CheckReport;
use super::attempt::AttemptReport;
use super::error::{AddrFailure, CheckError};
use super::model::{CertInfo, CloseFrameInfo, CloseInfo, Event, ResponseHead, TlsInfo, Warning};
use super::secrets::Secrets;
use super::upgrade::RequestHead;

/// Something that can hold evidence a server wrote back.
pub trait Scrub {
    /// Replace every known secret value in `self` with a mask.
    fn scrub(&mut self, secrets: &Secrets);
}

impl Scrub for String {
    fn scrub(&mut self, secrets: &Secrets) {
        secrets.scrub_str(self);
    }
}

impl<T: Scrub> Scrub for Option<T> {
    fn scrub(&mut self, secrets: &Secrets) {
        if let Some(v) = self {
            v.scrub(secrets);
        }
    }
}

impl<T: Scrub> Scrub for Vec<T> {
    fn scrub(&mut self, secrets: &Secrets) {
        for v in self {
            v.scrub(secrets);
        }
    }
}

impl<A: Scrub, B: Scrub> Scrub for (A, B) {
    fn scrub(&mut self, secrets: &Secrets) {
        self.0.scrub(secrets);
        self.1.scrub(secrets);
    }
}

impl Scrub for CheckReport {
    fn scrub(&mut self, secrets: &Secrets) {
        let CheckReport {
            url,
            pinned_address,
            attempts,
        } = self;
        url.scrub(secrets);
        pinned_address.scrub(secrets);
        attempts.scrub(secrets);
    }
}

impl Scrub for AttemptReport {
    fn scrub(&mut self, secrets: &Secrets) {
        let AttemptReport {
            number: _,
            started_at: _,
            class: _,
            phase: _,
            message,
            hint,
            error,
            address,
            proxy,
            timings: _,
            request,
            response,
            subprotocol,
            tls,
            close,
            bytes_sent: _,
            bytes_received: _,
            warnings,
            events,
        } = self;
        message.scrub(secrets);
        hint.scrub(secrets);
        error.scrub(secrets);
        address.scrub(secrets);
        proxy.scrub(secrets);
        request.scrub(secrets);
        response.scrub(secrets);
        subprotocol.scrub(secrets);
        tls.scrub(secrets);
        close.scrub(secrets);
        warnings.scrub(secrets);
        events.scrub(secrets);
    }
}

impl Scrub for CheckError {
    fn scrub(&mut self, secrets: &Secrets) {
        match self {
            CheckError::Dns { host, reason } => {
                host.scrub(secrets);
                reason.scrub(secrets);
            }
            CheckError::Connect { failures, detail } => {
                failures.scrub(secrets);
                detail.scrub(secrets);
            }
            CheckError::Tls {
                reason,
                certificate,
                ..
            } => {
                reason.scrub(secrets);
                certificate.scrub(secrets);
            }
            CheckError::Timeout {
                waiting_for,
                detail,
                ..
            } => {
                waiting_for.scrub(secrets);
                detail.scrub(secrets);
            }
            CheckError::Missing101 { response } => response.scrub(secrets),
            CheckError::Protocol { what, .. } | CheckError::MessageTooLarge { what, .. } => {
                what.scrub(secrets)
            }
            CheckError::EarlyFin { close_frame, .. } => close_frame.scrub(secrets),
            CheckError::UnexpectedMessage { expected, received } => {
                expected.scrub(secrets);
                received.scrub(secrets);
            }
            // Counts and durations only: nothing a peer could have echoed.
            CheckError::ControlFlood { .. } => {}
            // The operating system's own text: scrubbed all the same, it is free text.
            CheckError::Local { message, .. } => message.scrub(secrets),
        }
    }
}

impl Scrub for AddrFailure {
    fn scrub(&mut self, secrets: &Secrets) {
        let AddrFailure {
            addr,
            errno,
            message,
        } = self;
        addr.scrub(secrets);
        errno.scrub(secrets);
        message.scrub(secrets);
    }
}

impl Scrub for RequestHead {
    fn scrub(&mut self, secrets: &Secrets) {
        let RequestHead { line, headers } = self;
        line.scrub(secrets);
        headers.scrub(secrets);
    }
}

impl Scrub for ResponseHead {
    fn scrub(&mut self, secrets: &Secrets) {
        let ResponseHead {
            version,
            status: _,
            reason,
            headers,
            body_snippet,
        } = self;
        version.scrub(secrets);
        reason.scrub(secrets);
        headers.scrub(secrets);
        body_snippet.scrub(secrets);
    }
}

impl Scrub for TlsInfo {
    fn scrub(&mut self, secrets: &Secrets) {
        let TlsInfo {
            version,
            cipher,
            certificate,
            verification_disabled: _,
        } = self;
        version.scrub(secrets);
        cipher.scrub(secrets);
        certificate.scrub(secrets);
    }
}

impl Scrub for CertInfo {
    fn scrub(&mut self, secrets: &Secrets) {
        let CertInfo {
            subject,
            issuer,
            names,
            not_before: _,
            not_after: _,
            not_after_unix: _,
            days_left: _,
        } = self;
        subject.scrub(secrets);
        issuer.scrub(secrets);
        names.scrub(secrets);
    }
}

impl Scrub for CloseInfo {
    fn scrub(&mut self, secrets: &Secrets) {
        let CloseInfo {
            initiated_by: _,
            server_frame,
            peer_end: _,
            peer_end_at_ms: _,
            clean: _,
        } = self;
        server_frame.scrub(secrets);
    }
}

impl Scrub for CloseFrameInfo {
    fn scrub(&mut self, secrets: &Secrets) {
        let CloseFrameInfo { code: _, reason } = self;
        // The server fits its reason into 123 bytes: it may cut a secret.
        secrets.scrub_capped(reason);
    }
}

impl Scrub for Event {
    fn scrub(&mut self, secrets: &Secrets) {
        let Event {
            at_ms: _,
            phase: _,
            what,
        } = self;
        what.scrub(secrets);
    }
}

impl Scrub for Warning {
    fn scrub(&mut self, _secrets: &Secrets) {
        // Certificate dates and day counts only: nothing a server chose to echo.
        match self {
            Warning::CertExpiring { .. } | Warning::InsecureTls => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::model::{Closer, Phase};

    const SECRET: &str = "S3CRET-VALUE";

    fn s() -> String {
        format!("before {SECRET} after")
    }

    fn response() -> ResponseHead {
        ResponseHead {
            version: s(),
            status: 400,
            reason: s(),
            headers: vec![(s(), s())],
            body_snippet: Some(s()),
        }
    }

    fn certificate() -> CertInfo {
        CertInfo {
            subject: s(),
            issuer: s(),
            names: vec![s()],
            not_before: "2026-01-01T00:00:00Z".into(),
            not_after: "2027-01-01T00:00:00Z".into(),
            not_after_unix: 0,
            days_left: 1,
        }
    }

    fn one_error_of_each_kind() -> Vec<CheckError> {
        vec![
            CheckError::Dns {
                host: s(),
                reason: s(),
            },
            CheckError::Connect {
                failures: vec![AddrFailure {
                    addr: s(),
                    errno: s(),
                    message: s(),
                }],
                detail: Some(s()),
            },
            CheckError::Tls {
                kind: crate::check::tls_failure::TlsFailure::UnknownIssuer,
                reason: s(),
                certificate: Some(certificate()),
            },
            CheckError::Timeout {
                phase: Phase::Upgrade,
                waiting_for: s(),
                limit_ms: 1,
                bytes_sent: 0,
                bytes_received: 0,
                detail: Some(s()),
            },
            CheckError::Missing101 {
                response: response(),
            },
            CheckError::Protocol {
                phase: Phase::Open,
                what: s(),
            },
            CheckError::EarlyFin {
                phase: Phase::Open,
                peer_end: None,
                close_frame: Some(CloseFrameInfo {
                    code: Some(4001),
                    reason: s(),
                }),
                ms_after_101: None,
                idle_ms: None,
                while_held: false,
            },
            CheckError::UnexpectedMessage {
                expected: s(),
                received: s(),
            },
        ]
    }

    fn attempt_with(error: CheckError) -> AttemptReport {
        AttemptReport {
            message: Some(s()),
            hint: Some(s()),
            error: Some(error),
            address: Some(s()),
            proxy: Some(s()),
            request: Some(RequestHead {
                line: s(),
                headers: vec![(s(), s())],
            }),
            response: Some(response()),
            subprotocol: Some(s()),
            tls: Some(TlsInfo {
                version: Some(s()),
                cipher: Some(s()),
                certificate: Some(certificate()),
                verification_disabled: false,
            }),
            close: Some(CloseInfo {
                initiated_by: Closer::Server,
                server_frame: Some(CloseFrameInfo {
                    code: Some(4001),
                    reason: s(),
                }),
                peer_end: None,
                peer_end_at_ms: None,
                clean: false,
            }),
            events: vec![Event {
                at_ms: 1.0,
                phase: Phase::Open,
                what: s(),
            }],
            ..AttemptReport::new(1)
        }
    }

    #[test]
    fn every_string_of_a_report_is_scrubbed_whatever_the_failure() {
        let mut secrets = Secrets::default();
        secrets.add(SECRET);
        for error in one_error_of_each_kind() {
            let mut report = CheckReport {
                url: s(),
                pinned_address: Some(s()),
                attempts: vec![attempt_with(error)],
            };
            let before = serde_json::to_string(&report).unwrap();
            report.scrub(&secrets);
            let after = serde_json::to_string(&report).unwrap();
            assert!(before.contains(SECRET));
            assert!(!after.contains(SECRET), "{after}");
            assert_eq!(
                after.matches("before *** after").count(),
                before.matches(SECRET).count(),
                "every field kept its evidence around the mask: {after}"
            );
        }
    }
}
