//! The server's Close frame as it came off the wire. tungstenite hands a
//! Close over only after decoding its reason as UTF-8, reports a reason that
//! is not UTF-8 with the same `Error::Utf8` as a bad text message, and
//! replaces a code that must not be sent (1005, 1006, 1015, unassigned) with
//! its own 1002 before we see it. So the evidence comes from here: a watcher
//! that follows the frame headers of the bytes read after the 101 and keeps
//! the payload of the latest Close frame.

/// RFC 6455 §5.5: a control frame's payload is at most 125 bytes.
const MAX_CONTROL_PAYLOAD: u64 = 125;
/// The Close opcode (RFC 6455 §5.2).
const OPCODE_CLOSE: u8 = 0x8;

/// Follows server frames to keep the latest Close frame's payload.
#[derive(Debug, Default)]
pub struct CloseWatch {
    /// The bytes of the header being read.
    header: Vec<u8>,
    /// Payload bytes of the current frame still to come.
    payload_left: u64,
    /// The current frame's payload, when it is a Close worth keeping.
    collecting: Option<Vec<u8>>,
    /// The payload of the latest complete Close frame.
    last_close: Option<Vec<u8>>,
}

/// A server Close frame exactly as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawClose {
    /// The status code; `None` for an empty Close frame.
    pub code: Option<u16>,
    /// The reason bytes, not necessarily UTF-8.
    pub reason: Vec<u8>,
}

impl CloseWatch {
    /// Follow `bytes`, the next bytes the server sent after the 101.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.payload_left > 0 {
                let n = bytes.len().min(self.payload_left as usize);
                if let Some(payload) = &mut self.collecting {
                    payload.extend_from_slice(&bytes[..n]);
                }
                self.payload_left -= n as u64;
                bytes = &bytes[n..];
                if self.payload_left == 0 {
                    self.frame_done();
                }
                continue;
            }
            self.header.push(bytes[0]);
            bytes = &bytes[1..];
            if let Some((opcode, masked, len)) = self.header_complete() {
                self.header.clear();
                self.payload_left = len;
                // A masked server frame is refused by tungstenite; its
                // payload would need unmasking to mean anything.
                let keep = opcode == OPCODE_CLOSE && !masked && len <= MAX_CONTROL_PAYLOAD;
                self.collecting = keep.then(Vec::new);
                if len == 0 {
                    self.frame_done();
                }
            }
        }
    }

    /// The latest Close frame the server sent, once it arrived whole.
    pub fn last_close(&self) -> Option<RawClose> {
        let payload = self.last_close.as_ref()?;
        Some(match payload.as_slice() {
            [hi, lo, reason @ ..] => RawClose {
                code: Some(u16::from_be_bytes([*hi, *lo])),
                reason: reason.to_vec(),
            },
            // One byte is no code; tungstenite refuses it as a protocol error.
            _ => RawClose {
                code: None,
                reason: Vec::new(),
            },
        })
    }

    fn frame_done(&mut self) {
        if let Some(payload) = self.collecting.take() {
            self.last_close = Some(payload);
        }
    }

    /// Opcode, mask bit and payload length, once the header is whole.
    fn header_complete(&self) -> Option<(u8, bool, u64)> {
        let h = &self.header;
        if h.len() < 2 {
            return None;
        }
        let masked = h[1] & 0x80 != 0;
        let (len_bytes, short) = match h[1] & 0x7f {
            126 => (2, None),
            127 => (8, None),
            n => (0, Some(u64::from(n))),
        };
        let mask_bytes = if masked { 4 } else { 0 };
        if h.len() < 2 + len_bytes + mask_bytes {
            return None;
        }
        let len = short.unwrap_or_else(|| {
            h[2..2 + len_bytes]
                .iter()
                .fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
        });
        Some((h[0] & 0x0f, masked, len))
    }
}

/// Bytes as printable ASCII, everything else escaped (`\xff`), for evidence.
pub fn escape_bytes(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close_frame(code: u16, reason: &[u8]) -> Vec<u8> {
        let mut f = vec![0x88, (2 + reason.len()) as u8];
        f.extend_from_slice(&code.to_be_bytes());
        f.extend_from_slice(reason);
        f
    }

    #[test]
    fn a_close_after_a_long_text_frame_is_kept_even_when_fed_a_byte_at_a_time() {
        let mut wire = vec![0x81, 126, 0x01, 0x00];
        wire.extend(std::iter::repeat_n(b'a', 256));
        wire.extend(close_frame(1015, b"bad \xff"));
        let mut watch = CloseWatch::default();
        for b in &wire {
            watch.feed(std::slice::from_ref(b));
        }
        assert_eq!(
            watch.last_close(),
            Some(RawClose {
                code: Some(1015),
                reason: b"bad \xff".to_vec()
            })
        );
    }

    #[test]
    fn an_empty_close_has_no_code_and_a_partial_one_is_not_reported() {
        let mut watch = CloseWatch::default();
        watch.feed(&[0x89, 0x00, 0x88, 0x00]);
        assert_eq!(watch.last_close().unwrap().code, None);
        let mut partial = CloseWatch::default();
        partial.feed(&close_frame(1001, b"bye")[..4]);
        assert_eq!(partial.last_close(), None);
    }

    #[test]
    fn escaped_bytes_keep_ascii_and_show_the_rest_as_hex() {
        assert_eq!(escape_bytes(b"caf\xc3("), "caf\\xc3(");
    }
}
