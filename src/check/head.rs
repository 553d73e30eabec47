//! Reading and parsing an HTTP/1.x head from an untrusted peer: bounded in
//! size (the caller bounds it in time), a response given up on as soon as it
//! cannot be HTTP, never panicking on any input.

use super::failure::ProtocolRule;
use super::model::ResponseHead;
use super::redact::header_value_for_evidence;
use super::sniff::may_be_http;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Largest response head accepted.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Most headers accepted in one response.
pub const MAX_HEADERS: usize = 100;

/// Why no complete head could be read.
#[derive(Debug)]
pub enum HeadReadError {
    /// The peer ended the connection first; how many bytes came before.
    Eof,
    /// The head grew past [`MAX_HEAD_BYTES`].
    TooLarge,
    /// What arrived cannot begin an HTTP/1.x response: another protocol
    /// answered, and no blank line need be waited for.
    NotHttp,
    /// A read failed.
    Io(std::io::Error),
}

/// Read a request head until the blank line ending it. `buf` keeps what
/// arrived; returns the length of the head (including the blank line), and
/// bytes after it in `buf` belong to the next layer.
pub async fn read_head<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
) -> Result<usize, HeadReadError> {
    read_until_head_end(stream, buf, |_| true).await
}

/// Read a response head like [`read_head`], but stop as soon as what arrived
/// cannot begin an HTTP/1.x response ([`HeadReadError::NotHttp`]). `buf`
/// keeps what arrived, so a caller that times out can still report the
/// partial response.
pub async fn read_response_head<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
) -> Result<usize, HeadReadError> {
    read_until_head_end(stream, buf, may_be_http).await
}

async fn read_until_head_end<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    may_be_head: fn(&[u8]) -> bool,
) -> Result<usize, HeadReadError> {
    let mut chunk = [0u8; 2048];
    loop {
        if let Some(end) = find_head_end(buf) {
            return Ok(end);
        }
        if buf.len() >= MAX_HEAD_BYTES {
            return Err(HeadReadError::TooLarge);
        }
        let want = chunk.len().min(MAX_HEAD_BYTES + 4 - buf.len());
        match stream.read(&mut chunk[..want]).await {
            Ok(0) => return Err(HeadReadError::Eof),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(HeadReadError::Io(e)),
        }
        if !may_be_head(buf) {
            return Err(HeadReadError::NotHttp);
        }
    }
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Parse a complete head. Secret-bearing header values are redacted here.
pub fn parse_head(bytes: &[u8]) -> Result<ResponseHead, ProtocolRule> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(bytes) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(ProtocolRule::IncompleteHead),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(ProtocolRule::TooManyHeaders { limit: MAX_HEADERS });
        }
        Err(e) => {
            return Err(ProtocolRule::MalformedHead {
                parser_error: e.to_string(),
                first_bytes: printable_snippet(bytes, 64),
            });
        }
    }
    let version = match response.version {
        Some(0) => "HTTP/1.0",
        _ => "HTTP/1.1",
    };
    Ok(ResponseHead {
        version: version.to_string(),
        status: response.code.unwrap_or(0),
        reason: response.reason.unwrap_or("").to_string(),
        headers: response
            .headers
            .iter()
            .map(|h| {
                let value = String::from_utf8_lossy(h.value);
                (
                    h.name.to_string(),
                    header_value_for_evidence(h.name, value.trim()),
                )
            })
            .collect(),
        body_snippet: None,
    })
}

/// Bytes shown to a human: printable ASCII kept, everything else escaped.
pub fn printable_snippet(bytes: &[u8], max: usize) -> String {
    let mut out = String::new();
    for &b in bytes.iter().take(max) {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    if bytes.len() > max {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_an_http10_error_page_head() {
        let head = parse_head(
            b"HTTP/1.0 504 Gateway Time-out\r\nServer: nginx\r\nContent-Length: 10\r\n\r\n",
        )
        .unwrap();
        assert_eq!(head.version, "HTTP/1.0");
        assert_eq!(head.status, 504);
        assert_eq!(head.reason, "Gateway Time-out");
        assert_eq!(head.header("server"), Some("nginx"));
    }

    #[test]
    fn redacts_set_cookie_from_the_response() {
        let head = parse_head(b"HTTP/1.1 200 OK\r\nSet-Cookie: sid=abc\r\n\r\n").unwrap();
        assert_eq!(head.header("set-cookie"), Some("[redacted]"));
    }

    #[test]
    fn a_malformed_head_is_reported_with_escaped_first_bytes() {
        let e = parse_head(b"HTTP/1.1 101 \x00\xff\r\n\r\n").unwrap_err();
        assert!(
            matches!(&e, ProtocolRule::MalformedHead { first_bytes, .. } if first_bytes.contains("101 \\x00\\xff")),
            "{e}"
        );
    }

    #[tokio::test]
    async fn reading_stops_at_the_cap_for_an_endless_head() {
        let endless = vec![b'a'; MAX_HEAD_BYTES * 2];
        let mut buf = Vec::new();
        let r = read_head(&mut &endless[..], &mut buf).await;
        assert!(matches!(r, Err(HeadReadError::TooLarge)));
        assert!(buf.len() <= MAX_HEAD_BYTES + 4);
    }

    #[tokio::test]
    async fn reading_stops_at_the_first_bytes_that_cannot_be_http() {
        // A banner and then silence: the reader must not wait for more.
        let (mut server, mut client) = tokio::io::duplex(64);
        tokio::io::AsyncWriteExt::write_all(&mut server, b"SSH-2.0-OpenSSH_9.2\r\n")
            .await
            .unwrap();
        let mut buf = Vec::new();
        let within = std::time::Duration::from_secs(10);
        let r = tokio::time::timeout(within, read_response_head(&mut client, &mut buf))
            .await
            .expect("the reader waited for more after a banner");
        assert!(matches!(r, Err(HeadReadError::NotHttp)), "{r:?}");
        assert_eq!(buf, b"SSH-2.0-OpenSSH_9.2\r\n");
        drop(server);
    }

    #[tokio::test]
    async fn bytes_after_the_head_are_left_for_the_next_layer() {
        let data = b"HTTP/1.1 101 Switching Protocols\r\n\r\n\x81\x02hi";
        let mut buf = Vec::new();
        let end = read_head(&mut &data[..], &mut buf).await.unwrap();
        assert_eq!(&buf[end..], b"\x81\x02hi");
    }

    proptest! {
        #[test]
        fn parsing_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse_head(&bytes);
            let _ = printable_snippet(&bytes, 64);
        }

        #[test]
        fn parsing_never_panics_on_head_like_input(
            version in "HTTP/1\\.[0-9]",
            status in "[0-9]{0,4}",
            reason in "[ -~]{0,40}",
            headers in proptest::collection::vec(("[!-9;-~]{0,20}", "[ -~\\x80-\\xff]{0,40}"), 0..120),
        ) {
            let mut s = format!("{version} {status} {reason}\r\n");
            for (k, v) in headers { s.push_str(&format!("{k}: {v}\r\n")); }
            s.push_str("\r\n");
            let _ = parse_head(s.as_bytes());
        }

        #[test]
        fn a_well_formed_head_parses_to_exactly_what_was_sent(
            minor in 0u8..=1,
            status in 100u16..1000,
            reason in "([!-~]([ -~]{0,30}[!-~])?)?",
            // Names that are never secret, so their values are kept as sent.
            headers in proptest::collection::vec(("X-Probe-[0-9]{1,4}", "([!-~]([ -~]{0,30}[!-~])?)?"), 0..40),
        ) {
            let mut s = format!("HTTP/1.{minor} {status} {reason}\r\n");
            for (k, v) in &headers { s.push_str(&format!("{k}: {v}\r\n")); }
            s.push_str("\r\n");
            let head = parse_head(s.as_bytes()).expect("a well-formed head");
            prop_assert_eq!(head.version, format!("HTTP/1.{minor}"));
            prop_assert_eq!(head.status, status);
            prop_assert_eq!(head.reason, reason);
            prop_assert_eq!(head.headers, headers);
        }
    }
}
