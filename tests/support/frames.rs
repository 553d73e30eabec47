//! Minimal server-side RFC 6455 codec for the fault server.
//!
//! tungstenite answers pings and close frames on its own, which is exactly what
//! the misbehaving servers (no pong, no close reply, oversized message) must not
//! do, so those behaviours speak the wire format through this module instead.
//! It also holds the HTTP-head helpers used to hand-craft 101 responses.
#![allow(dead_code)]

use std::io;

use base64::Engine as _;
use sha1::{Digest, Sha1};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest request (or response) head [`read_head`] accepts.
pub const MAX_HEAD: usize = 16 * 1024;
/// Largest client frame payload [`read_frame`] accepts; the fixture never
/// needs more and the cap keeps a hostile peer from exhausting memory.
pub const MAX_PAYLOAD: u64 = 1024 * 1024;

/// GUID appended to the client key before hashing (RFC 6455 §1.3).
const WS_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Frame opcodes (RFC 6455 §5.2).
pub mod opcode {
    /// Continuation of a fragmented message.
    pub const CONTINUATION: u8 = 0x0;
    /// UTF-8 text data.
    pub const TEXT: u8 = 0x1;
    /// Binary data.
    pub const BINARY: u8 = 0x2;
    /// Close control frame.
    pub const CLOSE: u8 = 0x8;
    /// Ping control frame.
    pub const PING: u8 = 0x9;
    /// Pong control frame.
    pub const PONG: u8 = 0xA;
}

/// One frame received from the client, already unmasked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// FIN bit: last fragment of a message.
    pub fin: bool,
    /// Opcode, see [`opcode`].
    pub opcode: u8,
    /// Unmasked payload.
    pub payload: Vec<u8>,
}

impl Frame {
    /// Status code carried by a close frame, if it has one.
    pub fn close_code(&self) -> Option<u16> {
        if self.opcode == opcode::CLOSE && self.payload.len() >= 2 {
            Some(u16::from_be_bytes([self.payload[0], self.payload[1]]))
        } else {
            None
        }
    }
}

/// `Sec-WebSocket-Accept` value for a given `Sec-WebSocket-Key`.
pub fn accept_key(sec_websocket_key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(sec_websocket_key.trim().as_bytes());
    sha.update(WS_GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}

/// Reads an HTTP head up to and including the blank line.
///
/// Reads one byte at a time on purpose: nothing past the head is consumed, so
/// the caller can hand the untouched stream to tungstenite or [`read_frame`]
/// without juggling leftover bytes. The head is at most [`MAX_HEAD`] bytes, so
/// the per-byte cost does not matter in tests.
pub async fn read_head<R: AsyncRead + Unpin>(r: &mut R) -> io::Result<String> {
    let mut head = Vec::with_capacity(512);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("HTTP head exceeds {MAX_HEAD} bytes"),
            ));
        }
        if r.read(&mut byte).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("EOF after {} bytes of HTTP head", head.len()),
            ));
        }
        head.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

/// Value of the first header called `name` (case-insensitive) in an HTTP head.
pub fn header_value<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").skip(1).find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Whether a comma-separated header (e.g. `Connection`) contains `token`,
/// compared case-insensitively.
pub fn header_has_token(head: &str, name: &str, token: &str) -> bool {
    header_value(head, name)
        .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
}

/// The request's `Sec-WebSocket-Key`, if present.
pub fn sec_websocket_key(head: &str) -> Option<&str> {
    header_value(head, "Sec-WebSocket-Key")
}

/// Reads one client frame.
///
/// Returns `Ok(None)` on EOF at a frame boundary (the peer closed TCP), an
/// `InvalidData` error for unmasked frames (clients must mask, RFC 6455 §5.1)
/// or payloads above [`MAX_PAYLOAD`], and `UnexpectedEof` for a truncated frame.
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> io::Result<Option<Frame>> {
    let mut hdr = [0u8; 2];
    // Read the first byte alone so a clean EOF between frames is
    // distinguishable from a frame cut short.
    if r.read(&mut hdr[..1]).await? == 0 {
        return Ok(None);
    }
    r.read_exact(&mut hdr[1..]).await?;
    let fin = hdr[0] & 0x80 != 0;
    let op = hdr[0] & 0x0F;
    let masked = hdr[1] & 0x80 != 0;
    let len = match hdr[1] & 0x7F {
        126 => u64::from(r.read_u16().await?),
        127 => r.read_u64().await?,
        n => u64::from(n),
    };
    if !masked {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "unmasked client frame",
        ));
    }
    if len > MAX_PAYLOAD {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("client frame of {len} bytes exceeds the {MAX_PAYLOAD}-byte cap"),
        ));
    }
    let mut mask = [0u8; 4];
    r.read_exact(&mut mask).await?;
    // Bounded by MAX_PAYLOAD above, so the cast cannot truncate.
    let mut payload = vec![0u8; len as usize];
    r.read_exact(&mut payload).await?;
    for (i, b) in payload.iter_mut().enumerate() {
        *b ^= mask[i % 4];
    }
    Ok(Some(Frame {
        fin,
        opcode: op,
        payload,
    }))
}

/// Writes the header of an unmasked, final server frame announcing `len`
/// payload bytes; the caller streams the payload itself. Used directly for
/// frames too large to buffer.
pub async fn write_frame_header<W: AsyncWrite + Unpin>(
    w: &mut W,
    op: u8,
    len: u64,
) -> io::Result<()> {
    let mut hdr = Vec::with_capacity(10);
    hdr.push(0x80 | (op & 0x0F));
    // Pick the shortest length encoding, as RFC 6455 §5.2 requires.
    if len < 126 {
        hdr.push(len as u8);
    } else if let Ok(short) = u16::try_from(len) {
        hdr.push(126);
        hdr.extend_from_slice(&short.to_be_bytes());
    } else {
        hdr.push(127);
        hdr.extend_from_slice(&len.to_be_bytes());
    }
    w.write_all(&hdr).await
}

/// Writes one complete unmasked server frame and flushes it.
pub async fn write_frame<W: AsyncWrite + Unpin>(
    w: &mut W,
    op: u8,
    payload: &[u8],
) -> io::Result<()> {
    write_frame_header(w, op, payload.len() as u64).await?;
    w.write_all(payload).await?;
    w.flush().await
}

/// Writes a text frame.
pub async fn write_text<W: AsyncWrite + Unpin>(w: &mut W, text: &str) -> io::Result<()> {
    write_frame(w, opcode::TEXT, text.as_bytes()).await
}

/// Writes a binary frame.
pub async fn write_binary<W: AsyncWrite + Unpin>(w: &mut W, data: &[u8]) -> io::Result<()> {
    write_frame(w, opcode::BINARY, data).await
}

/// Writes a pong echoing a ping's payload.
pub async fn write_pong<W: AsyncWrite + Unpin>(w: &mut W, payload: &[u8]) -> io::Result<()> {
    write_frame(w, opcode::PONG, payload).await
}

/// Writes a close frame with a status code and reason.
pub async fn write_close<W: AsyncWrite + Unpin>(
    w: &mut W,
    code: u16,
    reason: &str,
) -> io::Result<()> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason.as_bytes());
    write_frame(w, opcode::CLOSE, &payload).await
}
