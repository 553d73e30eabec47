//! The `upgrade` phase: write the HTTP/1.1 upgrade request, read the raw
//! response head (bounded), and validate a 101 ourselves. Doing this instead of
//! tungstenite's client handshake keeps the evidence (an HTTP/1.0 error page is
//! a `missing_101` with its status, not a `WrongHttpVersion`).

use super::error::CheckError;
use super::failure::{Awaited, ProtocolRule};
use super::head::{HeadReadError, parse_head, printable_snippet, read_response_head};
use super::model::{Phase, ResponseHead};
use super::redact::header_value_for_evidence;
use super::sniff::recognize;
use super::spec::CheckSpec;
use super::stream::Tap;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The GUID RFC 6455 appends to the key.
const WS_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// How much of a non-101 body is kept as evidence.
pub const BODY_SNIPPET_BYTES: usize = 512;
/// How many of the first bytes of an answer that is not HTTP are shown:
/// enough for a banner or greeting line, or a few frame headers.
const FIRST_BYTES_SHOWN: usize = 64;

/// The request as sent, with secrets redacted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RequestHead {
    /// "GET /path HTTP/1.1".
    pub line: String,
    /// Headers in order; credential values replaced.
    pub headers: Vec<(String, String)>,
}

/// A validated upgrade.
#[derive(Debug)]
pub struct Upgraded {
    /// Bytes that arrived after the head: the first WebSocket frames.
    pub leftover: Vec<u8>,
    /// The subprotocol the server chose.
    pub subprotocol: Option<String>,
}

/// A fresh random Sec-WebSocket-Key.
pub fn new_key() -> String {
    let bytes: [u8; 16] = rand::random();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The Sec-WebSocket-Accept a correct server derives from `key`.
pub fn accept_for(key: &str) -> String {
    let mut h = Sha1::new();
    h.update(key.as_bytes());
    h.update(WS_GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

/// Build the request bytes and their redacted record.
pub fn build_request(spec: &CheckSpec, key: &str) -> (String, RequestHead) {
    let line = format!("GET {} HTTP/1.1", spec.target.resource);
    let mut headers: Vec<(String, String)> = vec![
        ("Host".into(), spec.target.host_header.clone()),
        ("Upgrade".into(), "websocket".into()),
        ("Connection".into(), "Upgrade".into()),
        ("Sec-WebSocket-Key".into(), key.into()),
        ("Sec-WebSocket-Version".into(), "13".into()),
    ];
    if !spec.subprotocols.is_empty() {
        headers.push((
            "Sec-WebSocket-Protocol".into(),
            spec.subprotocols.join(", "),
        ));
    }
    let has_user_agent = spec
        .headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("user-agent"));
    if !has_user_agent {
        headers.push((
            "User-Agent".into(),
            concat!("wsprobe/", env!("CARGO_PKG_VERSION")).into(),
        ));
    }
    headers.extend(spec.headers.iter().cloned());
    let mut raw = String::with_capacity(256);
    raw.push_str(&line);
    raw.push_str("\r\n");
    for (k, v) in &headers {
        raw.push_str(k);
        raw.push_str(": ");
        raw.push_str(v);
        raw.push_str("\r\n");
    }
    raw.push_str("\r\n");
    let record = RequestHead {
        // The wire carries the query as given; the record hides tokens in it.
        line: format!(
            "GET {} HTTP/1.1",
            super::redact::redact_url(&spec.target.resource)
        ),
        headers: headers
            .into_iter()
            .map(|(k, v)| {
                let v = header_value_for_evidence(&k, &v);
                (k, v)
            })
            .collect(),
    };
    (raw, record)
}

/// How the upgrade went wrong, before it is turned into a [`CheckError`] with
/// the byte counts the caller knows.
#[derive(Debug)]
pub enum UpgradeFailure {
    /// A limit ran out: what we were waiting for, and the partial response.
    TimedOut(Awaited, Option<String>),
    /// The check failed with this error.
    Failed(CheckError),
}

/// Send the request and read and validate the response. Sets `response` as soon
/// as a head is parsed, so evidence survives a later failure.
pub async fn upgrade(
    io: &mut Tap,
    request: &str,
    key: &str,
    spec: &CheckSpec,
    limit: Duration,
    response: &mut Option<ResponseHead>,
) -> Result<Upgraded, UpgradeFailure> {
    let deadline = tokio::time::Instant::now() + limit;
    let write = tokio::time::timeout_at(deadline, io.write_all(request.as_bytes())).await;
    match write {
        Err(_) => return Err(UpgradeFailure::TimedOut(Awaited::RequestWritten, None)),
        Ok(Err(e)) => {
            return Err(UpgradeFailure::Failed(closed_before_answer(
                io,
                Some(e),
                spec,
            )));
        }
        Ok(Ok(())) => {}
    }
    let mut buf = Vec::with_capacity(1024);
    let end = match tokio::time::timeout_at(deadline, read_response_head(io, &mut buf)).await {
        Err(_) => {
            let detail = (!buf.is_empty())
                .then(|| format!("partial response: {}", printable_snippet(&buf, 120)));
            return Err(UpgradeFailure::TimedOut(Awaited::ResponseHead, detail));
        }
        Ok(Ok(end)) => end,
        Ok(Err(e)) => return Err(UpgradeFailure::Failed(head_failure(e, &buf, io, spec))),
    };
    let head = parse_head(&buf[..end]).map_err(|rule| {
        UpgradeFailure::Failed(CheckError::Protocol {
            phase: Phase::Upgrade,
            rule,
        })
    })?;
    let leftover = buf[end..].to_vec();
    if head.status != 101 {
        let mut head = head;
        head.body_snippet = Some(read_body_snippet(io, leftover, deadline).await);
        *response = Some(head.clone());
        return Err(UpgradeFailure::Failed(CheckError::Missing101 {
            response: head,
        }));
    }
    // Validate in place: the head is kept as evidence either way, without a copy.
    let head = response.insert(head);
    let subprotocol = validate_101(head, key, spec).map_err(|rule| {
        UpgradeFailure::Failed(CheckError::Protocol {
            phase: Phase::Upgrade,
            rule,
        })
    })?;
    Ok(Upgraded {
        leftover,
        subprotocol,
    })
}

/// The failure for a head that could not be read, from what had arrived.
fn head_failure(err: HeadReadError, received: &[u8], io: &Tap, spec: &CheckSpec) -> CheckError {
    let rule = match err {
        HeadReadError::TooLarge => ProtocolRule::HeadTooLarge {
            limit_bytes: super::head::MAX_HEAD_BYTES,
        },
        HeadReadError::NotHttp => ProtocolRule::NotHttp {
            first_bytes: printable_snippet(received, FIRST_BYTES_SHOWN),
            protocol: recognize(received),
            over_tls: spec.target.secure,
        },
        HeadReadError::Eof if !received.is_empty() => ProtocolRule::HeadCutShort {
            partial: printable_snippet(received, 120),
        },
        HeadReadError::Eof => return closed_before_answer(io, None, spec),
        HeadReadError::Io(e) => return closed_before_answer(io, Some(e), spec),
    };
    CheckError::Protocol {
        phase: Phase::Upgrade,
        rule,
    }
}

fn closed_before_answer(io: &Tap, err: Option<std::io::Error>, spec: &CheckSpec) -> CheckError {
    // A TLS alert here means the server refused the session it had just
    // accepted (TLS 1.3 client certificate checks): a TLS failure, not a
    // protocol one. The caller adds the certificate seen in the handshake.
    if let Some((kind, reason)) = err
        .as_ref()
        .and_then(|e| super::tls::late_handshake_failure(e, &spec.target.host))
    {
        return CheckError::Tls {
            kind,
            reason,
            certificate: None,
        };
    }
    let peer_end = io.peer_end().map(|(end, _)| end).or_else(|| {
        err.as_ref()
            .filter(|e| {
                matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                )
            })
            .map(|_| super::model::PeerEnd::Rst)
    });
    match (peer_end, err) {
        (None, Some(e)) => CheckError::Protocol {
            phase: Phase::Upgrade,
            rule: ProtocolRule::ReadFailed {
                message: super::error::os_message(&e),
            },
        },
        (peer_end, _) => CheckError::EarlyFin {
            phase: Phase::Upgrade,
            peer_end,
            close_frame: None,
            ms_after_101: None,
            idle_ms: None,
            while_held: false,
        },
    }
}

/// Keep up to [`BODY_SNIPPET_BYTES`] of the body, waiting at most a short
/// while: the status is the verdict, the body only helps to explain it.
async fn read_body_snippet(
    io: &mut Tap,
    mut body: Vec<u8>,
    deadline: tokio::time::Instant,
) -> String {
    let short = tokio::time::Instant::now() + Duration::from_millis(300);
    let until = deadline.min(short);
    let mut chunk = [0u8; 512];
    while body.len() < BODY_SNIPPET_BYTES {
        match tokio::time::timeout_at(until, io.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => body.extend_from_slice(&chunk[..n]),
            _ => break,
        }
    }
    body.truncate(BODY_SNIPPET_BYTES);
    String::from_utf8_lossy(&body).into_owned()
}

/// RFC 6455 §4.2.2 from the client's side. Returns the chosen subprotocol.
pub fn validate_101(
    head: &ResponseHead,
    key: &str,
    spec: &CheckSpec,
) -> Result<Option<String>, ProtocolRule> {
    if head.version != "HTTP/1.1" {
        return Err(ProtocolRule::WrongHttpVersion {
            version: head.version.clone(),
        });
    }
    match head.header("upgrade") {
        Some(v) if v.eq_ignore_ascii_case("websocket") => {}
        Some(v) => return Err(ProtocolRule::WrongUpgrade { value: v.into() }),
        None => return Err(ProtocolRule::MissingUpgrade),
    }
    let connection_ok = head
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("connection"))
        .flat_map(|(_, v)| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
    if !connection_ok {
        return Err(ProtocolRule::MissingConnectionUpgrade);
    }
    let expected = accept_for(key);
    match head.header("sec-websocket-accept") {
        Some(v) if v == expected => {}
        Some(v) => {
            return Err(ProtocolRule::WrongAccept {
                received: v.into(),
                expected,
            });
        }
        None => return Err(ProtocolRule::MissingAccept),
    }
    let subprotocol = chosen_subprotocol(head, &spec.subprotocols)?;
    if let Some(ext) = head.header("sec-websocket-extensions") {
        return Err(ProtocolRule::UnrequestedExtension {
            extension: ext.into(),
        });
    }
    Ok(subprotocol)
}

/// The subprotocol the 101 chose, checked against those `offered` (RFC 6455
/// §4.1: one not offered fails the connection). Choosing none when some were
/// offered is allowed by RFC 6455 but fails in browsers (WHATWG WebSockets,
/// "establish a WebSocket connection": a missing or empty header fails when
/// protocols were requested), so a monitor standing in for them fails too.
fn chosen_subprotocol(
    head: &ResponseHead,
    offered: &[String],
) -> Result<Option<String>, ProtocolRule> {
    let chosen = head
        .header("sec-websocket-protocol")
        .map(str::trim)
        .filter(|p| !p.is_empty());
    match chosen {
        None if offered.is_empty() => Ok(None),
        None => Err(ProtocolRule::NoSubprotocolChosen {
            offered: offered.to_vec(),
        }),
        Some(p) if offered.iter().any(|o| o == p) => Ok(Some(p.to_string())),
        Some(p) if offered.is_empty() => {
            Err(ProtocolRule::UnrequestedSubprotocol { chosen: p.into() })
        }
        Some(p) => Err(ProtocolRule::UnofferedSubprotocol {
            chosen: p.into(),
            offered: offered.to_vec(),
        }),
    }
}

#[cfg(test)]
#[path = "upgrade_tests.rs"]
mod tests;
