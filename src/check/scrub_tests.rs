//! Tests of [`Scrub`](super::Scrub): every string of every failure kind.
use super::*;
use crate::check::client_cert::ClientCertRequest;
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
                cause: crate::check::error::AddrCause::Other,
                errno: s(),
                message: s(),
            }],
        },
        CheckError::Proxy {
            proxy: s(),
            hop: ProxyHop::RefusedByPolicy {
                reply: ProxyReply::Http {
                    status: 403,
                    status_line: s(),
                },
            },
        },
        CheckError::Proxy {
            proxy: s(),
            hop: ProxyHop::ProxyFailed {
                reply: ProxyReply::Malformed { what: s() },
            },
        },
        CheckError::Tls {
            kind: crate::check::tls_failure::TlsFailure::UnknownIssuer,
            reason: s(),
            certificate: Some(certificate()),
        },
        CheckError::Timeout {
            phase: Phase::Upgrade,
            awaited: Awaited::ExpectedMessage { pattern: s() },
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
            rule: ProtocolRule::InvalidFrame { detail: s() },
        },
        CheckError::Protocol {
            phase: Phase::Upgrade,
            rule: ProtocolRule::WrongAccept {
                received: s(),
                expected: s(),
            },
        },
        CheckError::EarlyFin {
            phase: Phase::Open,
            peer_end: None,
            close_frame: Some(CloseFrameInfo::new(Some(4001), s())),
            ms_after_101: None,
            idle_ms: None,
            while_held: false,
        },
        CheckError::UnexpectedMessage {
            expected: s(),
            received: s(),
            step: Some(crate::check::steps::StepRef {
                number: 1,
                description: s(),
            }),
            recent: vec![s()],
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
            client_certificate: ClientCertRequest::NoneConfigured,
        }),
        close: Some(CloseInfo {
            initiated_by: Closer::Server,
            server_frame: Some(CloseFrameInfo::new(Some(4001), s())),
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
            limits: Vec::new(),
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
