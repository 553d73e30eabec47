//! Hints: from a typed failure to one or two honest sentences on its usual
//! causes, drawn from real incidents. Pure, so every rule is table-tested.

use crate::check::CheckError;
use crate::check::local::LocalResource;
use crate::check::model::{PeerEnd, Phase, ResponseHead};
use crate::check::tls_failure::TlsFailure;
use crate::product::Product;
use crate::refusal::Refusal;

/// Below this, a close after the 101 counts as "at once".
const AT_ONCE_MS: f64 = 1000.0;

/// The hint for a failure.
pub fn hint(err: &CheckError) -> String {
    hint_through(err, None)
}

/// The hint for a failure, naming the product in front when the answer to the
/// upgrade (the refusal in a `missing_101`, else `upgrade_answer`, the 101)
/// identifies it.
pub fn hint_through(err: &CheckError, upgrade_answer: Option<&ResponseHead>) -> String {
    let front = match err {
        CheckError::Missing101 { response } => Some(response),
        _ => upgrade_answer,
    }
    .and_then(Product::in_answer);
    match err {
        CheckError::Dns { .. } => "The name does not resolve: check the spelling, the DNS record and the resolver this host uses (a new record may not have propagated yet).".into(),
        CheckError::Connect { failures, detail } => connect_hint(failures, detail.as_deref()),
        CheckError::Tls { kind, .. } => tls_hint(*kind),
        CheckError::Timeout { phase, waiting_for, bytes_received, .. } => {
            timeout_hint(*phase, waiting_for, *bytes_received)
        }
        CheckError::Missing101 { response } => {
            let mut h = refusal_hint(response, front);
            if response.version == "HTTP/1.0" {
                h.push_str(" The answer came as HTTP/1.0: an old proxy, or a proxy speaking HTTP/1.0 on the way, cannot carry a WebSocket upgrade.");
            }
            h
        }
        CheckError::Protocol { what, .. } => protocol_hint(what),
        CheckError::MessageTooLarge { limit_bytes, .. } => format!(
            "The server sent a message larger than wsprobe accepts ({}, --max-message-bytes): a runaway server, or an endpoint that streams bulk data (raise the limit if such messages are expected).",
            byte_size(*limit_bytes)
        ),
        CheckError::ControlFlood { limit_per_second, .. } => format!(
            "The server sends pings or pongs in a loop (over {limit_per_second} a second): a heartbeat timer firing without a delay, a bug replaying control frames, or a hostile peer. wsprobe stops answering rather than spend its timeout on them."
        ),
        CheckError::EarlyFin { phase, peer_end, close_frame, ms_after_101, idle_ms, while_held } => {
            if let Some(frame) = close_frame {
                return close_code_hint(frame.code);
            }
            early_fin_hint(*phase, *peer_end, *ms_after_101, *idle_ms, *while_held, front)
        }
        CheckError::Local { resource, .. } => local_hint(*resource),
        CheckError::UnexpectedMessage { .. } => "The endpoint answered, but not what --expect wants: the application returned an error, a different message format or protocol version. Compare the message with the pattern.".into(),
    }
}

fn local_hint(resource: LocalResource) -> String {
    let what = match resource {
        LocalResource::FileDescriptors => {
            "raise the open-files limit (ulimit -n, LimitNOFILE= in the systemd unit) or lower settings.concurrency; look for a process leaking sockets"
        }
        LocalResource::SocketBuffers => {
            "the kernel has no socket buffers left: too many connections in flight on this host, or net.core memory limits set too low"
        }
        LocalResource::Memory => {
            "the kernel could not allocate memory for the socket: this host is out of memory"
        }
        LocalResource::EphemeralPorts => {
            "every local port for outgoing connections is taken (often by TIME_WAIT sockets): widen net.ipv4.ip_local_port_range or open fewer short connections"
        }
    };
    format!("This is the monitor's own problem, not the endpoint's (its state is unknown): {what}.")
}

fn connect_hint(failures: &[crate::check::error::AddrFailure], detail: Option<&str>) -> String {
    if detail.is_some_and(|d| d.starts_with("via proxy"))
        && failures.iter().any(|f| f.errno == "EPROTO")
    {
        return "The proxy refused to open the tunnel: check the proxy credentials and whether it allows CONNECT to this port (many proxies allow only 443).".into();
    }
    let all = |errno: &str| !failures.is_empty() && failures.iter().all(|f| f.errno == errno);
    if all("ECONNREFUSED") {
        "Nothing accepts connections on this port at that address: the service is down, listens on another port or only on 127.0.0.1, or a firewall rejects the connection.".into()
    } else if failures.iter().any(|f| {
        matches!(
            f.errno.as_str(),
            "ENETUNREACH" | "EHOSTUNREACH" | "EADDRNOTAVAIL"
        )
    }) {
        "There is no route to the address: check routing, VPN and security groups; an IPv6 address on a host without IPv6 connectivity fails like this.".into()
    } else if failures.iter().any(|f| f.errno == "ECONNRESET") {
        "The connection was reset while connecting: a firewall or load balancer rejecting it, or a server refusing new connections.".into()
    } else {
        "TCP could not be established; see the error for each address.".into()
    }
}

fn tls_hint(kind: TlsFailure) -> String {
    match kind {
        TlsFailure::Expired => "The server certificate has expired: renew it, and check that the renewal job also reloads the server.",
        TlsFailure::NotValidYet => "The certificate is not valid yet: a clock is wrong on this host or on the CA that issued it.",
        TlsFailure::WrongHost => "The certificate does not cover this host name: the server presents the wrong certificate (SNI or virtual host mismatch), or the URL uses a name that is not in it.",
        TlsFailure::UnknownIssuer => "The chain does not lead to a trusted root: the server may not send its intermediate certificates, or it uses a private CA (pass it with --ca-file).",
        TlsFailure::CaUsedAsServerCertificate => "A self-signed certificate made as a CA is not a server certificate, even in --ca-file: issue the server a leaf certificate from a CA and trust that CA with --ca-file (mkcert or step-ca make both), or use --insecure only to confirm this is the only problem.",
        TlsFailure::BadCertificate => "The server's certificate was rejected: see the reason above (revoked, wrong key usage, unsupported signature algorithm).",
        TlsFailure::NotTls => "This port does not speak TLS: use ws:// if the service is plain, or check that the port is the TLS listener.",
        TlsFailure::Refused => "The server refused the handshake: it may require a client certificate (--cert/--key), or there is no TLS version or cipher in common.",
        TlsFailure::NoAlpn => "The server offers no HTTP/1.1 over TLS (ALPN): it may serve only HTTP/2 here, which cannot carry this WebSocket upgrade.",
        TlsFailure::InvalidServerName => "The host in the URL cannot be used as a TLS server name: check the URL.",
        TlsFailure::Other => "The TLS handshake failed; the reason above comes from rustls.",
    }
    .into()
}

fn timeout_hint(phase: Phase, waiting_for: &str, bytes_received: u64) -> String {
    match phase {
        Phase::Dns => "The resolver did not answer in time: check the DNS servers this host uses.".into(),
        Phase::Connect if waiting_for.contains("proxy") => "The proxy accepted TCP but did not open the tunnel in time.".into(),
        Phase::Connect => "The SYN went unanswered: the server's listen backlog is full (it does not accept() fast enough), a firewall silently drops the packets, or the host is down.".into(),
        Phase::Tls => "TCP connected but the TLS handshake stalled: a server stuck before TLS, or a middlebox dropping the handshake.".into(),
        Phase::Upgrade if waiting_for.contains("sent") => "The server does not read the request: its worker is blocked or the connection is stuck in a proxy.".into(),
        Phase::Upgrade if bytes_received == 0 => "The server accepted the connection and read the upgrade request but never answered: a blocked or exhausted worker, or an application bug. The connection was accepted, so this is not a kernel backlog problem (tuning somaxconn will not help).".into(),
        Phase::Upgrade => "The server started to answer and stalled in the middle of the response head: a broken server or proxy.".into(),
        Phase::Open | Phase::Close if waiting_for.contains("written") => "The server stopped reading: our frame could not leave because its receive buffer is full. Its event loop is blocked, or it reads only when it has nothing to send.".into(),
        Phase::Open if waiting_for.contains("holding") => "A ping sent while holding was not answered in time: the server's event loop or a proxy stalled.".into(),
        Phase::Open if waiting_for.contains("pong") => "The connection is open but the server did not answer our ping: its event loop is blocked, or a proxy does not pass control frames.".into(),
        Phase::Open => "No message arrived in time: the server did not reply to --send, or replies later than the timeout.".into(),
        Phase::Close => "The server did not answer our Close frame: its close handling is broken or its event loop is stuck. Servers like this accumulate CLOSE_WAIT sockets and leak connections.".into(),
    }
}

/// What the answer says for itself, else what its product's status means,
/// else what the status usually means.
fn refusal_hint(response: &ResponseHead, front: Option<Product>) -> String {
    if let Some(refusal) = Refusal::read(response) {
        return refusal.hint();
    }
    match front.and_then(|p| p.status_meaning(response.status)) {
        Some(meaning) => meaning.into(),
        None => status_hint(response.status, response.header("location"), front),
    }
}

fn status_hint(status: u16, location: Option<&str>, front: Option<Product>) -> String {
    match status {
        502 => "The proxy could not reach the upstream WebSocket server (refused or reset): check that the backend runs and the proxy's upstream address.".into(),
        504 => "The proxy got no answer from the upstream in time. If some requests pass and others wait for the proxy timeout (nginx: 60 s), look for requests downgraded to HTTP/1.0 on the way, for instance by a load balancer.".into(),
        503 => "The service is unavailable: no healthy backend, maintenance, or rate limiting.".into(),
        400 | 426 | 200 => upgrade_not_passed_hint(front),
        401 | 403 => "The server refused this client: check the credentials (--header 'Authorization: …'), the Origin allow-list (--origin) and IP restrictions.".into(),
        404 => "There is no WebSocket endpoint at this path: check the URL path and the proxy's location rules.".into(),
        429 => "The server is rate limiting: the check runs too often, or the service is overloaded.".into(),
        301 | 302 | 303 | 307 | 308 => format!(
            "The server redirects{}; WebSocket clients do not follow redirects: use the final URL (often ws:// → wss://).",
            location.map(|l| format!(" to {l}")).unwrap_or_default()
        ),
        500..=599 => "The server failed while handling the upgrade: see its error log.".into(),
        _ => "The server answered with something other than 101 Switching Protocols: it does not treat this request as a WebSocket upgrade.".into(),
    }
}

/// A refusal that means the backend never saw the upgrade: the fix of the
/// product in front, or of the common proxies when none is named.
fn upgrade_not_passed_hint(front: Option<Product>) -> String {
    let Some(product) = front else {
        let fixes: Vec<String> = Product::COMMON_PROXIES
            .iter()
            .filter_map(|p| p.upgrade_fix().map(|fix| format!("{}: {fix}", p.name())))
            .collect();
        return format!(
            "The upgrade was not understood: a proxy in between does not forward the Upgrade and Connection headers ({}), or a plain HTTP handler serves this path.",
            fixes.join("; ")
        );
    };
    match product.upgrade_fix() {
        Some(fix) => format!(
            "The upgrade was not understood: {} in front does not forward the Upgrade and Connection headers; it needs {fix}. Or a plain HTTP handler serves this path.",
            product.name()
        ),
        None => format!(
            "The upgrade was refused behind {}, which forwards WebSocket upgrades by itself: the backend does not serve a WebSocket at this path, or a hop behind it drops the Upgrade and Connection headers.",
            product.name()
        ),
    }
}

/// The idle timeout that likely cut a held connection.
fn idle_cut_cause(front: Option<Product>) -> String {
    if let Some(product) = front
        && let Some(cut) = product.idle_cut()
    {
        return format!("the idle timeout of {} in front: {cut}", product.name());
    }
    let usual: Vec<String> = [
        Product::Nginx,
        Product::Haproxy,
        Product::AwsElb,
        Product::Cloudflare,
    ]
    .into_iter()
    .filter_map(|p| p.idle_cut().map(|cut| format!("{}: {cut}", p.name())))
    .collect();
    format!(
        "an idle timeout on a proxy or load balancer ({})",
        usual.join("; ")
    )
}

fn protocol_hint(what: &str) -> String {
    if what.contains("Sec-WebSocket-Accept") {
        "The 101 does not belong to this request: a caching proxy replayed an answer, or the server computes the accept key wrongly.".into()
    } else if what.contains("not an HTTP") {
        "Something other than an HTTP server answered: a wrong port, another protocol, or a TLS port reached with ws:// (try wss://).".into()
    } else if what.contains("exceeds") {
        "The response head never ended within the size limit: a broken server or a non-HTTP service.".into()
    } else if what.contains("subprotocol") || what.contains("extension") {
        "The server negotiated something the client did not offer; strict clients (browsers) abort such connections.".into()
    } else if what.contains("Upgrade") || what.contains("Connection") || what.contains("HTTP/1.0") {
        "A proxy altered the upgrade response (dropped Upgrade/Connection headers or changed the HTTP version): check how it forwards WebSocket upgrades.".into()
    } else {
        "The server broke the WebSocket protocol: a server bug, or a proxy mangling frames.".into()
    }
}

/// A byte count as a person would write it: "1 MiB", "64 KiB", "3000 bytes".
fn byte_size(n: usize) -> String {
    const KIB: usize = 1024;
    if n >= KIB * KIB && n.is_multiple_of(KIB * KIB) {
        format!("{} MiB", n / (KIB * KIB))
    } else if n >= KIB && n.is_multiple_of(KIB) {
        format!("{} KiB", n / KIB)
    } else {
        format!("{n} bytes")
    }
}

fn close_code_hint(code: Option<u16>) -> String {
    match code {
        Some(1000) => "The server ended the session normally, earlier than the check expected: it closes idle or unauthenticated clients.".into(),
        Some(1001) => "The server is going away: a restart, deploy or scale-in drained this connection.".into(),
        Some(1008) => "The server closed for a policy violation: authentication, origin or message checks failed after the upgrade.".into(),
        Some(1009) => "The server closed because a message was too big for it.".into(),
        Some(1011) => "The server hit an internal error: see its logs.".into(),
        Some(1012) => "The server is restarting.".into(),
        Some(1013) => "The server is overloaded and asks clients to try again later.".into(),
        Some(c) => format!("The server closed the session with code {c}: see the reason and the application's close codes."),
        None => "The server sent an empty Close frame: it ended the session deliberately but gave no code.".into(),
    }
}

fn early_fin_hint(
    phase: Phase,
    peer_end: Option<PeerEnd>,
    ms_after_101: Option<f64>,
    idle_ms: Option<f64>,
    while_held: bool,
    front: Option<Product>,
) -> String {
    let Some(after) = ms_after_101 else {
        return "The server closed the connection without answering the upgrade: a proxy or server dropping the request, a TLS/plain port mismatch, or a crash while handling it.".into();
    };
    if phase == Phase::Close {
        return "The server dropped TCP instead of answering our Close frame: its close handling is broken (its logs will show 1006, abnormal closure).".into();
    }
    if while_held {
        let idle_s = idle_ms.unwrap_or(after) / 1000.0;
        return format!(
            "The connection was cut after {idle_s:.1} s without traffic: {}, or the server's heartbeat setting. Send pings more often than every {idle_s:.0} s (--ping-every), or raise that idle timeout.",
            idle_cut_cause(front)
        );
    }
    if after < AT_ONCE_MS {
        if peer_end == Some(PeerEnd::Rst) {
            return "The server reset the connection right after the 101: a handler that crashes, or a proxy that kills upgraded connections.".into();
        }
        return "The server closed the connection right after the 101. Classic cause: a proxy speaking HTTP/1.0 to the backend (nginx needs proxy_http_version 1.1 plus the Upgrade and Connection headers), or a server that closes non-keep-alive requests; browsers show \"connected\" and then reconnect in a loop.".into();
    }
    format!(
        "The server closed the connection {:.1} s after the 101, before the check finished: a crash, a restart, or a timeout on the server or a proxy.",
        after / 1000.0
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Class;
    use crate::check::error::AddrFailure;
    use crate::check::model::{CloseFrameInfo, ResponseHead};

    fn response(version: &str, status: u16) -> ResponseHead {
        ResponseHead {
            version: version.into(),
            status,
            reason: String::new(),
            headers: vec![("Location".into(), "wss://new/".into())],
            body_snippet: None,
        }
    }

    fn early(phase: Phase, end: Option<PeerEnd>, after: Option<f64>, held: bool) -> CheckError {
        CheckError::EarlyFin {
            phase,
            peer_end: end,
            close_frame: None,
            ms_after_101: after,
            idle_ms: Some(30_000.0),
            while_held: held,
        }
    }

    fn timeout(phase: Phase, waiting_for: &str, received: u64) -> CheckError {
        CheckError::Timeout {
            phase,
            waiting_for: waiting_for.into(),
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
                errno: "ECONNREFUSED".into(),
                message: "refused".into(),
            }],
            detail: None,
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
                timeout(Phase::Upgrade, "the 101 response", 0),
                "not a kernel backlog problem",
            ),
            (
                timeout(Phase::Upgrade, "the 101 response", 40),
                "stalled in the middle",
            ),
            (
                timeout(Phase::Connect, "the TCP connection", 0),
                "listen backlog is full",
            ),
            (
                timeout(Phase::Open, "the pong to our ping", 0),
                "did not answer our ping",
            ),
            (
                timeout(Phase::Open, "a pong while holding", 0),
                "while holding",
            ),
            (
                timeout(Phase::Close, "the server's Close frame", 0),
                "CLOSE_WAIT",
            ),
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
                    what: "wrong Sec-WebSocket-Accept".into(),
                },
                "caching proxy",
            ),
            (
                CheckError::Protocol {
                    phase: Phase::Upgrade,
                    what: "not an HTTP/1.x response".into(),
                },
                "wss://",
            ),
        ];
        for (err, want) in cases {
            let h = hint(&err);
            assert!(
                h.contains(want),
                "hint for {err:?}\n  was: {h}\n  wanted: {want}"
            );
        }
    }

    #[test]
    fn the_product_in_front_chooses_the_fix_and_an_unnamed_one_lists_the_common_ones() {
        let answer_from = |server: &str| ResponseHead {
            headers: vec![("Server".into(), server.into())],
            ..response("HTTP/1.1", 101)
        };
        let idle = early(Phase::Open, Some(PeerEnd::Fin), Some(31_000.0), true);
        let nginx = hint_through(&idle, Some(&answer_from("nginx/1.22.1")));
        assert!(nginx.contains("proxy_read_timeout"), "{nginx}");
        assert!(!nginx.contains("timeout tunnel"), "{nginx}");
        let unnamed = hint_through(&idle, Some(&answer_from("Python/3.11 websockets/10.4")));
        for word in [
            "proxy_read_timeout",
            "timeout tunnel",
            "idle_timeout.timeout_seconds",
        ] {
            assert!(unnamed.contains(word), "{word}: {unnamed}");
        }
        let refused = |server: &str| CheckError::Missing101 {
            response: ResponseHead {
                headers: vec![("Server".into(), server.into())],
                ..response("HTTP/1.1", 426)
            },
        };
        let behind_caddy = hint(&refused("Caddy"));
        assert!(behind_caddy.contains("behind Caddy"), "{behind_caddy}");
        let unnamed = hint(&refused("Python/3.11 websockets/10.4"));
        assert!(unnamed.contains("upgrade=websocket"), "{unnamed}");
        assert!(unnamed.contains("proxy_http_version 1.1"), "{unnamed}");
    }

    #[test]
    fn a_server_close_frame_is_explained_by_its_code() {
        for (code, want) in [
            (Some(1001), "going away"),
            (Some(1008), "policy"),
            (Some(4000), "code 4000"),
            (None, "empty Close"),
        ] {
            let err = CheckError::EarlyFin {
                phase: Phase::Open,
                peer_end: Some(PeerEnd::Fin),
                close_frame: Some(CloseFrameInfo {
                    code,
                    reason: String::new(),
                }),
                ms_after_101: Some(5.0),
                idle_ms: None,
                while_held: true,
            };
            assert!(hint(&err).contains(want), "{code:?}: {}", hint(&err));
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
            Class::ConnectError => (
                CheckError::Connect {
                    failures: vec![],
                    detail: None,
                },
                "TCP",
            ),
            Class::TlsError => (
                CheckError::Tls {
                    kind: TlsFailure::CaUsedAsServerCertificate,
                    reason: "r".into(),
                    certificate: None,
                },
                "self-signed",
            ),
            Class::Timeout => (timeout(Phase::Tls, "the TLS handshake", 0), "TLS handshake"),
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
                },
                "--expect",
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
            let h = hint(&err);
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
        let local: Vec<String> = LocalResource::ALL.into_iter().map(local_hint).collect();
        let tls: Vec<String> = TlsFailure::ALL.into_iter().map(tls_hint).collect();
        for hints in [local, tls] {
            for (i, h) in hints.iter().enumerate() {
                assert!(h.len() > 40, "{h}");
                assert!(!hints[..i].contains(h), "shared hint {h:?}");
            }
        }
    }
}
