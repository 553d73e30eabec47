//! Every class, every sub-kind: each gets its own hint, asserted by a word.

use super::*;
use crate::check::close_code::CloseCategory;
use crate::check::error::{AddrCause, AddrFailure};
use crate::check::failure::{Awaited, ProtocolRule};
use crate::check::local::LocalResource;
use crate::check::model::{CloseFrameInfo, PeerEnd, ResponseHead};
use crate::check::tls_failure::TlsFailure;

/// A bare answer with a Location; shared with the product tests.
pub(super) fn response(version: &str, status: u16) -> ResponseHead {
    ResponseHead {
        version: version.into(),
        status,
        reason: String::new(),
        headers: vec![("Location".into(), "wss://new/".into())],
        body_snippet: None,
    }
}

/// An early end without a Close frame; shared with the product tests.
pub(super) fn early(
    phase: Phase,
    end: Option<PeerEnd>,
    after: Option<f64>,
    held: bool,
) -> CheckError {
    CheckError::EarlyFin {
        phase,
        peer_end: end,
        close_frame: None,
        ms_after_101: after,
        idle_ms: Some(30_000.0),
        while_held: held,
    }
}

/// A timeout awaiting `awaited` after `received` bytes; shared with the sub-kind tests.
pub(super) fn timeout(phase: Phase, awaited: Awaited, received: u64) -> CheckError {
    CheckError::Timeout {
        phase,
        awaited,
        limit_ms: 1000,
        bytes_sent: 100,
        bytes_received: received,
        detail: None,
    }
}

#[test]
fn every_classic_incident_gets_its_hint() {
    let refused = CheckError::Connect {
        failures: vec![AddrFailure {
            addr: "127.0.0.1:1".into(),
            cause: AddrCause::Refused,
            errno: "ECONNREFUSED".into(),
            message: "refused".into(),
        }],
    };
    let cases: Vec<(CheckError, &str)> = vec![
        (
            early(Phase::Open, Some(PeerEnd::Fin), Some(3.0), false),
            "proxy_http_version 1.1",
        ),
        (
            early(Phase::Open, Some(PeerEnd::Rst), Some(3.0), false),
            "reset the connection right after the 101",
        ),
        (
            early(Phase::Open, Some(PeerEnd::Fin), Some(31_000.0), true),
            "cut after 30.0 s without traffic",
        ),
        (
            early(Phase::Close, Some(PeerEnd::Fin), Some(50.0), false),
            "1006",
        ),
        (
            early(Phase::Upgrade, Some(PeerEnd::Fin), None, false),
            "without answering the upgrade",
        ),
        (
            timeout(Phase::Upgrade, Awaited::ResponseHead, 0),
            "not a kernel backlog problem",
        ),
        (
            timeout(Phase::Upgrade, Awaited::ResponseHead, 40),
            "stalled in the middle",
        ),
        (
            timeout(Phase::Connect, Awaited::TcpConnect, 0),
            "listen backlog is full",
        ),
        (
            timeout(Phase::Open, Awaited::Pong, 0),
            "did not answer our ping",
        ),
        (
            timeout(Phase::Open, Awaited::PongWhileHolding, 0),
            "while holding",
        ),
        (timeout(Phase::Close, Awaited::CloseReply, 0), "CLOSE_WAIT"),
        (
            CheckError::Missing101 {
                response: response("HTTP/1.1", 504),
            },
            "downgraded to HTTP/1.0",
        ),
        (
            CheckError::Missing101 {
                response: response("HTTP/1.1", 502),
            },
            "could not reach the upstream",
        ),
        (
            CheckError::Missing101 {
                response: response("HTTP/1.1", 426),
            },
            "Upgrade and Connection headers",
        ),
        (
            CheckError::Missing101 {
                response: response("HTTP/1.0", 200),
            },
            "HTTP/1.0",
        ),
        (
            CheckError::Missing101 {
                response: response("HTTP/1.1", 301),
            },
            "redirects to wss://new/",
        ),
        (refused, "Nothing accepts connections"),
        (
            CheckError::Tls {
                kind: TlsFailure::Expired,
                reason: "certificate has expired".into(),
                certificate: None,
            },
            "renew",
        ),
        (
            CheckError::Tls {
                kind: TlsFailure::WrongHost,
                reason: "certificate is not valid for \"x\" (wrong host name)".into(),
                certificate: None,
            },
            "SNI",
        ),
        (
            CheckError::Tls {
                kind: TlsFailure::UnknownIssuer,
                reason: "certificate is signed by an unknown authority".into(),
                certificate: None,
            },
            "--ca-file",
        ),
        (
            CheckError::Protocol {
                phase: Phase::Upgrade,
                rule: ProtocolRule::WrongAccept {
                    received: "x".into(),
                    expected: "y".into(),
                },
            },
            "caching proxy",
        ),
        (
            CheckError::Protocol {
                phase: Phase::Upgrade,
                rule: ProtocolRule::NotHttp {
                    first_bytes: "\\x15\\x03\\x03\\x00\\x02\\x02\\x32".into(),
                    protocol: Some(crate::check::failure::ForeignProtocol::Tls),
                    over_tls: false,
                },
            },
            "wss://",
        ),
    ];
    for (err, want) in cases {
        let h = hint(&err, None);
        assert!(
            h.contains(want),
            "hint for {err:?}\n  was: {h}\n  wanted: {want}"
        );
    }
}

/// What the hint for a code of `category` must say, for a sample code of it.
fn close_code_expectation(category: CloseCategory) -> (u16, &'static str) {
    use CloseCategory as C;
    match category {
        C::Normal => (1000, "normally (1000)"),
        C::GoingAway => (1001, "going away (1001): a deploy, restart"),
        C::ProtocolError => (1002, "broke the protocol (1002)"),
        C::UnsupportedData => (1003, "kind of data"),
        C::InvalidPayload => (1007, "does not fit its type (1007)"),
        C::PolicyViolation => (1008, "policy violation (1008): authentication, origin"),
        C::MessageTooBig => (1009, "too big"),
        C::MandatoryExtension => (1010, "extension"),
        C::InternalError => (1011, "internal error (1011)"),
        C::ServiceRestart => (1012, "restarting (1012)"),
        C::TryAgainLater => (1013, "try again later (1013)"),
        C::BadGateway => (1014, "upstream (1014)"),
        C::MustNotBeSent => (1006, "code 1006, which RFC 6455 reserves"),
        C::Reserved => (2000, "code 2000, reserved"),
        C::Library => (3001, "code 3001, in the range registered for libraries"),
        C::Application => (4001, "application-defined code 4001"),
        C::OutOfRange => (999, "999, which is not a close code"),
    }
}

#[test]
fn a_server_close_frame_is_explained_by_its_code_category() {
    let cases = CloseCategory::ALL
        .into_iter()
        .map(|category| {
            let (code, want) = close_code_expectation(category);
            assert_eq!(CloseCategory::of(code), category, "sample code {code}");
            (Some(code), want)
        })
        .chain([(None, "empty Close")]);
    for (code, want) in cases {
        let err = CheckError::EarlyFin {
            phase: Phase::Open,
            peer_end: Some(PeerEnd::Fin),
            close_frame: Some(CloseFrameInfo::new(code, String::new())),
            ms_after_101: Some(5.0),
            idle_ms: None,
            while_held: true,
        };
        assert!(
            hint(&err, None).contains(want),
            "{code:?}: {}",
            hint(&err, None)
        );
    }
}

/// A typical failure of `class` and a word its hint must contain; the
/// match is exhaustive, so a new class cannot be added without one.
fn sample(class: Class) -> Option<(CheckError, &'static str)> {
    Some(match class {
        Class::Ok => return None,
        Class::DnsError => (
            CheckError::Dns {
                host: "x".into(),
                reason: "nx".into(),
            },
            "resolver",
        ),
        Class::ConnectError => (CheckError::Connect { failures: vec![] }, "TCP"),
        Class::TlsError => (
            CheckError::Tls {
                kind: TlsFailure::CaUsedAsServerCertificate,
                reason: "r".into(),
                certificate: None,
            },
            "self-signed",
        ),
        Class::Timeout => (
            timeout(Phase::Tls, Awaited::TlsHandshake, 0),
            "TLS handshake",
        ),
        Class::Missing101 => (
            CheckError::Missing101 {
                response: response("HTTP/1.1", 404),
            },
            "path",
        ),
        Class::ProtocolError => (
            CheckError::MessageTooLarge {
                phase: Phase::Open,
                what: "w".into(),
                limit_bytes: 64 * 1024,
            },
            "64 KiB",
        ),
        Class::EarlyFin => (
            early(Phase::Open, Some(PeerEnd::Rst), Some(3.0), false),
            "reset",
        ),
        Class::UnexpectedMessage => (
            CheckError::UnexpectedMessage {
                expected: "a".into(),
                received: "b".into(),
                step: None,
                recent: vec![],
            },
            "--expect",
        ),
        Class::Slow => (
            CheckError::Slow {
                phase: Phase::Tls,
                over: crate::check::thresholds::Measured::Phase(Phase::Tls),
                took_ms: 900.0,
                threshold_ms: 500.0,
            },
            "TLS handshake",
        ),
        Class::LocalError => (
            CheckError::Local {
                phase: Phase::Connect,
                resource: LocalResource::EphemeralPorts,
                errno: "EADDRNOTAVAIL".into(),
                message: "Cannot assign requested address".into(),
            },
            "ip_local_port_range",
        ),
    })
}

#[test]
fn every_failure_class_has_its_own_specific_hint() {
    let mut seen: Vec<(Class, String)> = Vec::new();
    for class in Class::ALL {
        let Some((err, word)) = sample(class) else {
            continue;
        };
        assert_eq!(
            err.class(),
            class,
            "the sample for {class} is of another class"
        );
        let h = hint(&err, None);
        assert!(
            h.contains(word),
            "hint for {class} should mention {word:?}: {h}"
        );
        if let Some((other, _)) = seen.iter().find(|(_, seen)| *seen == h) {
            panic!("{class} and {other} share the hint {h:?}");
        }
        seen.push((class, h));
    }
    assert_eq!(seen.len(), Class::ALL.len() - 1, "every class but ok");
}

#[test]
fn every_local_resource_and_tls_failure_kind_has_a_distinct_hint() {
    let local: Vec<String> = LocalResource::ALL.into_iter().map(local::hint).collect();
    let tls: Vec<String> = TlsFailure::ALL.into_iter().map(tls::hint).collect();
    for hints in [local, tls] {
        for (i, h) in hints.iter().enumerate() {
            assert!(h.len() > 40, "{h}");
            assert!(!hints[..i].contains(h), "shared hint {h:?}");
        }
    }
}

#[test]
fn a_refused_loopback_target_is_not_told_it_may_listen_only_on_loopback() {
    let refused_at = |addr: &str| CheckError::Connect {
        failures: vec![AddrFailure {
            addr: addr.into(),
            cause: AddrCause::Refused,
            errno: "ECONNREFUSED".into(),
            message: "refused".into(),
        }],
    };
    for loopback in ["127.0.0.1:9", "[::1]:9"] {
        let h = hint(&refused_at(loopback), None);
        assert!(!h.contains("only on 127.0.0.1"), "{loopback}: {h}");
        assert!(h.contains("on this host"), "{loopback}: {h}");
    }
    let h = hint(&refused_at("10.0.0.7:9"), None);
    assert!(h.contains("only on 127.0.0.1"), "{h}");
}
