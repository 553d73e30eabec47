//! Every sub-kind of a class — each awaited step, each broken rule, each
//! connect cause and proxy hop — has a hint, asserted by a word. The word
//! functions match exhaustively, so a new variant does not compile until its
//! hint is decided.

use super::tests::timeout;
use super::*;
use crate::check::error::{AddrCause, AddrFailure};
use crate::check::failure::{
    Awaited, ForeignProtocol, ProtocolRule, ProxyHop, ProxyReply, Socks5Reply,
};

/// Asserts that every hint of `cases` contains its word, and that no two
/// distinct sub-kinds share a hint.
fn assert_each_has_its_own_hint<T: std::fmt::Debug>(cases: Vec<(T, String, &str)>) {
    let mut seen: Vec<(String, String)> = Vec::new();
    for (kind, hint, word) in cases {
        assert!(
            hint.contains(word),
            "hint for {kind:?} should mention {word:?}: {hint}"
        );
        if let Some((other, _)) = seen.iter().find(|(_, h)| *h == hint) {
            panic!("{kind:?} and {other} share the hint {hint:?}");
        }
        seen.push((format!("{kind:?}"), hint));
    }
}

/// The word the hint for `awaited` must contain. The match is exhaustive: a
/// new awaited step does not compile until its hint is decided here.
fn awaited_word(awaited: &Awaited) -> &'static str {
    match awaited {
        Awaited::NameResolved => "resolver",
        Awaited::TcpConnect => "SYN went unanswered",
        Awaited::ProxyConnect { .. } => "The proxy http://p:3128 did not accept",
        Awaited::ProxyTunnel { .. } => "did not open the tunnel",
        Awaited::TlsHandshake => "TLS handshake stalled",
        Awaited::RequestWritten => "does not read the request",
        Awaited::ResponseHead => "never answered",
        Awaited::Pong => "did not answer our ping",
        Awaited::PongWhileHolding => "while holding",
        Awaited::ExpectedMessage { .. } => "--expect",
        Awaited::StepReply { .. } => "step 2 of the script",
        Awaited::FrameWritten => "stopped reading",
        Awaited::CloseReply => "CLOSE_WAIT",
    }
}

fn every_awaited() -> Vec<Awaited> {
    let proxy = || "http://p:3128".to_string();
    vec![
        Awaited::NameResolved,
        Awaited::TcpConnect,
        Awaited::ProxyConnect { proxy: proxy() },
        Awaited::ProxyTunnel { proxy: proxy() },
        Awaited::TlsHandshake,
        Awaited::RequestWritten,
        Awaited::ResponseHead,
        Awaited::Pong,
        Awaited::PongWhileHolding,
        Awaited::ExpectedMessage {
            pattern: "pong".into(),
        },
        Awaited::StepReply {
            number: 2,
            description: "expect /pong/".into(),
        },
        Awaited::FrameWritten,
        Awaited::CloseReply,
    ]
}

#[test]
fn every_awaited_step_has_its_own_timeout_hint() {
    let cases = every_awaited()
        .into_iter()
        .map(|a| {
            let hint = hint(&timeout(Phase::Open, a.clone(), 0), None);
            let word = awaited_word(&a);
            (a, hint, word)
        })
        .collect();
    assert_each_has_its_own_hint(cases);
}

#[test]
fn an_expect_pattern_that_mentions_pong_still_gets_the_expect_hint() {
    for pattern in ["pong", "no pong", "ping|pong"] {
        let err = timeout(
            Phase::Open,
            Awaited::ExpectedMessage {
                pattern: pattern.into(),
            },
            0,
        );
        let h = hint(&err, None);
        assert!(
            h.contains("--expect") && !h.contains("ping"),
            "{pattern}: {h}"
        );
    }
}

/// The word the hint for `rule` must contain; exhaustive like [`awaited_word`].
fn rule_word(rule: &ProtocolRule) -> &'static str {
    use ProtocolRule as R;
    match rule {
        R::NotHttp { protocol: None, .. } => "Something other than an HTTP server answered",
        R::NotHttp {
            protocol: Some(protocol),
            over_tls,
            ..
        } => foreign_word(*protocol, *over_tls),
        R::IncompleteHead | R::TooManyHeaders { .. } | R::MalformedHead { .. } => {
            "could not be parsed"
        }
        R::HeadTooLarge { .. } => "size limit",
        R::HeadCutShort { .. } => "in the middle of the response head",
        R::WrongHttpVersion { .. }
        | R::MissingUpgrade
        | R::WrongUpgrade { .. }
        | R::MissingConnectionUpgrade => "proxy altered the upgrade response",
        R::MissingAccept => "did not complete the WebSocket handshake",
        R::WrongAccept { .. } => "caching proxy",
        R::NoSubprotocolChosen { .. } => "browsers fail this connection",
        R::UnrequestedSubprotocol { .. }
        | R::UnofferedSubprotocol { .. }
        | R::UnrequestedExtension { .. } => "did not offer",
        R::InvalidCloseReason { .. } => "reason that is not UTF-8",
        R::ReadFailed { .. }
        | R::InvalidFrame { .. }
        | R::InvalidUtf8 { .. }
        | R::ConnectionFailed { .. } => "broke the WebSocket protocol",
    }
}

/// The words the hint for an answer in `protocol` must contain; exhaustive,
/// so a new protocol does not compile until its hint is decided.
fn foreign_word(protocol: ForeignProtocol, over_tls: bool) -> &'static str {
    use ForeignProtocol as P;
    match protocol {
        P::Ssh => "This port speaks SSH: wrong port?",
        P::Smtp => "This port speaks SMTP: wrong port?",
        P::Ftp => "This port speaks FTP: wrong port?",
        P::Greeting220 => "This port speaks SMTP or FTP: wrong port?",
        P::Pop3 => "This port speaks POP3: wrong port?",
        P::Imap => "This port speaks IMAP: wrong port?",
        P::Redis => "This port speaks Redis: wrong port?",
        P::Mysql => "This port speaks MySQL: wrong port?",
        P::Postgres => "This port speaks PostgreSQL: wrong port?",
        P::Amqp => "This port speaks AMQP: wrong port?",
        P::Tls if over_tls => "backend port that expects TLS",
        P::Tls => "use wss://",
        P::Http2 => "only HTTP/2 (h2c with prior knowledge)",
    }
}

/// Every protocol, in a chain the compiler checks: each variant names the
/// next, so a new one cannot be left out of [`every_rule`].
fn every_foreign_protocol() -> Vec<ForeignProtocol> {
    use ForeignProtocol as P;
    let next = |p: P| match p {
        P::Ssh => Some(P::Smtp),
        P::Smtp => Some(P::Ftp),
        P::Ftp => Some(P::Greeting220),
        P::Greeting220 => Some(P::Pop3),
        P::Pop3 => Some(P::Imap),
        P::Imap => Some(P::Tls),
        P::Tls => Some(P::Http2),
        P::Http2 => Some(P::Redis),
        P::Redis => Some(P::Mysql),
        P::Mysql => Some(P::Postgres),
        P::Postgres => Some(P::Amqp),
        P::Amqp => None,
    };
    std::iter::successors(Some(P::Ssh), |&p| next(p)).collect()
}

fn every_rule() -> Vec<ProtocolRule> {
    use ProtocolRule as R;
    let t = || "x".to_string();
    let not_http = |protocol, over_tls| R::NotHttp {
        first_bytes: t(),
        protocol,
        over_tls,
    };
    let mut rules: Vec<ProtocolRule> = every_foreign_protocol()
        .into_iter()
        .flat_map(|p| [not_http(Some(p), false), not_http(Some(p), true)])
        .collect();
    rules.extend([not_http(None, false), not_http(None, true)]);
    rules.extend([
        R::MalformedHead {
            parser_error: t(),
            first_bytes: t(),
        },
        R::IncompleteHead,
        R::TooManyHeaders { limit: 100 },
        R::HeadTooLarge { limit_bytes: 16384 },
        R::HeadCutShort { partial: t() },
        R::ReadFailed { message: t() },
        R::WrongHttpVersion { version: t() },
        R::MissingUpgrade,
        R::WrongUpgrade { value: t() },
        R::MissingConnectionUpgrade,
        R::MissingAccept,
        R::WrongAccept {
            received: t(),
            expected: t(),
        },
        R::UnrequestedSubprotocol { chosen: t() },
        R::NoSubprotocolChosen { offered: vec![t()] },
        R::UnofferedSubprotocol {
            chosen: t(),
            offered: vec![t()],
        },
        R::UnrequestedExtension { extension: t() },
        R::InvalidFrame { detail: t() },
        R::InvalidUtf8 { detail: t() },
        R::InvalidCloseReason {
            code: 1000,
            reason_bytes: t(),
        },
        R::ConnectionFailed { message: t() },
    ]);
    rules
}

#[test]
fn every_protocol_rule_has_a_hint_and_a_101_without_accept_is_no_replayed_answer() {
    for rule in every_rule() {
        let err = CheckError::Protocol {
            phase: Phase::Upgrade,
            rule: rule.clone(),
        };
        let h = hint(&err, None);
        let word = rule_word(&rule);
        assert!(
            h.contains(word),
            "hint for {rule:?} should mention {word:?}: {h}"
        );
        if rule == ProtocolRule::MissingAccept {
            assert!(!h.contains("replayed"), "{h}");
        }
    }
}

fn addr(cause: AddrCause) -> AddrFailure {
    AddrFailure {
        addr: "127.0.0.1:3128".into(),
        cause,
        errno: "E".into(),
        message: "m".into(),
    }
}

#[test]
fn every_connect_cause_has_a_hint() {
    let cases = [
        (AddrCause::Refused, "Nothing accepts connections"),
        (AddrCause::Unreachable, "no route"),
        (AddrCause::Reset, "reset while connecting"),
        (AddrCause::TimedOut, "see the error for each address"),
        (AddrCause::NotTried, "see the error for each address"),
        (AddrCause::Other, "see the error for each address"),
    ];
    for (cause, word) in cases {
        let err = CheckError::Connect {
            failures: vec![addr(cause)],
        };
        let h = hint(&err, None);
        assert!(h.contains(word), "{cause:?}: {h}");
    }
}

/// The hop an HTTP status blames, and the words its hint must contain.
#[test]
fn every_proxy_hop_names_the_hop_and_the_proxy() {
    let http = |status: u16| ProxyReply::Http {
        status,
        status_line: format!("HTTP/1.1 {status} X"),
    };
    let socks = |reply: Socks5Reply| ProxyReply::Socks5 { reply };
    let mut cases: Vec<(ProxyReply, &str)> = vec![
        (http(403), "refused to open the tunnel"),
        (http(407), "credentials"),
        (http(500), "target behind it refused"),
        (http(502), "target behind it refused"),
        (http(503), "target behind it refused"),
        (http(504), "target behind it refused"),
        (http(501), "did not answer as a proxy"),
        (
            ProxyReply::Socks5Auth {
                meaning: "rejected".into(),
            },
            "credentials",
        ),
        (
            ProxyReply::Malformed {
                what: "closed".into(),
            },
            "did not answer as a proxy",
        ),
    ];
    for reply in Socks5Reply::ALL {
        let word = match reply {
            Socks5Reply::NotAllowed => "refused to open the tunnel",
            Socks5Reply::NetworkUnreachable
            | Socks5Reply::HostUnreachable
            | Socks5Reply::ConnectionRefused
            | Socks5Reply::TtlExpired => "target behind it refused",
            Socks5Reply::GeneralFailure
            | Socks5Reply::CommandNotSupported
            | Socks5Reply::AddressTypeNotSupported
            | Socks5Reply::Unassigned => "did not answer as a proxy",
        };
        cases.push((socks(reply), word));
    }
    for (reply, word) in cases {
        let err = CheckError::Proxy {
            proxy: "http://p:3128".into(),
            hop: ProxyHop::from_reply(reply.clone()),
        };
        let h = hint(&err, None);
        assert!(h.contains(word), "{reply:?}: {h}");
        assert!(
            h.contains("http://p:3128") && h.contains(&reply.to_string()),
            "{h}"
        );
    }
    let down = CheckError::Proxy {
        proxy: "http://p:3128".into(),
        hop: ProxyHop::ProxyUnreachable {
            failures: vec![addr(AddrCause::Refused)],
        },
    };
    let h = hint(&down, None);
    assert!(h.contains("The proxy http://p:3128 is down"), "{h}");
}
