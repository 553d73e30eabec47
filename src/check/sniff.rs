//! The first bytes of an answer that is not HTTP: how soon that is certain
//! ([`may_be_http`]), and which protocol spoke instead ([`recognize`]). A port
//! that speaks SSH, SMTP or TLS never sends the blank line an HTTP head ends
//! with, so without this a wrong port looks like a server that hangs for the
//! whole timeout. Pure and total: any bytes, any length, no panic.

use super::failure::ForeignProtocol;

/// How every HTTP/1.x status line begins (RFC 9112 §4: `HTTP-name` is
/// case-sensitive).
const STATUS_LINE_START: &[u8] = b"HTTP/1.";
/// How much of the answer the recogniser looks at: greetings and first
/// frames are short, and a long answer should not cost a long scan.
const SNIFF_BYTES: usize = 512;
/// The largest TLS record a server may send: 2^14 bytes of plaintext plus
/// the expansion RFC 8446 §5.2 allows (TLS 1.2 allows 2048).
const MAX_TLS_RECORD: u16 = 16_384 + 2_048;
/// The frame size an HTTP/2 peer may use before our SETTINGS (RFC 9113 §4.2).
const H2_DEFAULT_MAX_FRAME: u32 = 16_384;

/// False as soon as `received` cannot be the start of an HTTP/1.x response;
/// true while it still may be (nothing yet, `HT`, a whole head…). Empty
/// lines before the status line are skipped, as RFC 9112 §2.2 lets a client do.
pub fn may_be_http(received: &[u8]) -> bool {
    let start = received
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(received.len());
    let rest = &received[start..];
    let n = rest.len().min(STATUS_LINE_START.len());
    rest[..n] == STATUS_LINE_START[..n]
}

/// The protocol `received` (the first bytes of an answer that is not HTTP)
/// belongs to, when it is recognisable.
pub fn recognize(received: &[u8]) -> Option<ForeignProtocol> {
    let head = &received[..received.len().min(SNIFF_BYTES)];
    recognize_text(head).or_else(|| recognize_binary(head))
}

/// Protocols whose servers greet or answer in lines of text.
fn recognize_text(head: &[u8]) -> Option<ForeignProtocol> {
    let text = String::from_utf8_lossy(head);
    // RFC 4253 §4.2: other lines MAY come before the identification string.
    if text.lines().any(is_ssh_identification) {
        return Some(ForeignProtocol::Ssh);
    }
    if let Some(protocol) = reply_code_greeting(&text) {
        return Some(protocol);
    }
    if text.starts_with("+OK") {
        return Some(ForeignProtocol::Pop3);
    }
    if ["* OK", "* PREAUTH", "* BYE"]
        .iter()
        .any(|g| text.starts_with(g))
    {
        return Some(ForeignProtocol::Imap);
    }
    is_redis_error(head).then_some(ForeignProtocol::Redis)
}

/// Protocols whose servers send binary records, frames or packets.
fn recognize_binary(head: &[u8]) -> Option<ForeignProtocol> {
    if is_tls_record(head) {
        Some(ForeignProtocol::Tls)
    } else if is_http2_frame(head) {
        Some(ForeignProtocol::Http2)
    } else if is_mysql_packet(head) {
        Some(ForeignProtocol::Mysql)
    } else if is_postgres_error(head) {
        Some(ForeignProtocol::Postgres)
    } else if is_amqp_header(head) {
        Some(ForeignProtocol::Amqp)
    } else {
        None
    }
}

/// `SSH-protoversion-softwareversion` (RFC 4253 §4.2), protoversion being
/// digits, a dot and digits: "2.0", "1.99" (§5.1) or an old "1.5".
fn is_ssh_identification(line: &str) -> bool {
    let Some((version, _software)) = line
        .strip_prefix("SSH-")
        .and_then(|rest| rest.split_once('-'))
    else {
        return false;
    };
    let Some((major, minor)) = version.split_once('.') else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(major) && digits(minor)
}

/// A greeting in the reply-code style SMTP (RFC 5321 §4.2) and FTP (RFC 959
/// §4.2) share: three digits and a space or hyphen. 220 is "ready"; 421 and
/// 554 are how either refuses service at once. Which of the two it is comes
/// from the words of the greeting, host names left out (an SMTP relay may
/// well be called ftp.example.com).
fn reply_code_greeting(text: &str) -> Option<ForeignProtocol> {
    let code = text.get(..3)?;
    let separator = text.as_bytes().get(3)?;
    if !matches!(code, "220" | "421" | "554") || !matches!(separator, b' ' | b'-') {
        return None;
    }
    let named = text
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '.')
        .filter(|w| !w.contains('.'))
        .find_map(|w| greeting_word(&w.to_ascii_uppercase()));
    match named {
        Some(protocol) => Some(protocol),
        None if code == "220" => Some(ForeignProtocol::Greeting220),
        None => None,
    }
}

/// The protocol a word of a greeting names: the protocol itself (ESMTP,
/// vsFTPd, ProFTPD, Pure-FTPd) or a well-known server of it.
fn greeting_word(upper: &str) -> Option<ForeignProtocol> {
    if upper.contains("SMTP") || ["POSTFIX", "EXIM", "SENDMAIL"].contains(&upper) {
        Some(ForeignProtocol::Smtp)
    } else if upper.contains("FTP") || upper == "FILEZILLA" {
        Some(ForeignProtocol::Ftp)
    } else {
        None
    }
}

/// `-`, an upper-case error word and a space: a RESP error reply, which is
/// what Redis answers when it reads our `GET / HTTP/1.1` as a command
/// (`-ERR wrong number of arguments…`) or refuses us (`-DENIED`, `-NOAUTH`).
fn is_redis_error(b: &[u8]) -> bool {
    let Some(rest) = b.strip_prefix(b"-") else {
        return false;
    };
    let word = rest.iter().take_while(|c| c.is_ascii_uppercase()).count();
    word >= 3 && rest.get(word) == Some(&b' ')
}

/// A TLS record header (RFC 8446 §5.1): content type alert (21) or
/// handshake (22), legacy version 3.0 to 3.3, and a length a record may have.
/// A TLS server that reads our plaintext request answers with an alert.
fn is_tls_record(b: &[u8]) -> bool {
    let [21 | 22, 3, 0..=3, l0, l1, ..] = *b else {
        return false;
    };
    (1..=MAX_TLS_RECORD).contains(&u16::from_be_bytes([l0, l1]))
}

/// An HTTP/2 frame header (RFC 9113 §4.1) on stream 0 of a SETTINGS frame
/// (§6.5: a multiple of 6 bytes, flags only ACK), the server's connection
/// preface (§3.4), or of a GOAWAY (§6.8: at least 8 bytes, no flags), the
/// answer to a client preface that is not one.
fn is_http2_frame(b: &[u8]) -> bool {
    let [l0, l1, l2, kind, flags, s0, s1, s2, s3, ..] = *b else {
        return false;
    };
    let length = u32::from_be_bytes([0, l0, l1, l2]);
    let stream = u32::from_be_bytes([s0 & 0x7f, s1, s2, s3]);
    stream == 0
        && length <= H2_DEFAULT_MAX_FRAME
        && match (kind, flags) {
            (4, 0) => length.is_multiple_of(6),
            (4, 1) => length == 0,
            (7, 0) => length >= 8,
            _ => false,
        }
}

/// A MySQL packet with sequence id 0, as the server sends on connect: a
/// protocol-10 `Handshake` (a NUL-terminated version string such as
/// "8.0.36" or "5.5.5-10.11.6-MariaDB") or an `ERR_Packet` (0xff, an error
/// code, a message) such as 1130 "Host … is not allowed to connect".
fn is_mysql_packet(b: &[u8]) -> bool {
    let [l0, l1, l2, 0, first, ref rest @ ..] = *b else {
        return false;
    };
    let length = u32::from_le_bytes([l0, l1, l2, 0]);
    if !(3..=1024).contains(&length) {
        return false;
    }
    match (first, rest) {
        (0x0a, _) => {
            let version_len = rest.iter().take_while(|&&c| c != 0).count();
            version_len > 0
                && version_len < rest.len()
                && rest[0].is_ascii_digit()
                && rest[..version_len].iter().all(u8::is_ascii_graphic)
        }
        // Server error codes start at 1000; the message is text.
        (0xff, [c0, c1, message, ..]) => {
            u16::from_le_bytes([*c0, *c1]) >= 1000 && message.is_ascii_graphic()
        }
        _ => false,
    }
}

/// A PostgreSQL `ErrorResponse` (`E`, a length, then fields), as a server
/// or pooler answers a startup packet it cannot use. The first field is the
/// severity: `S` (localized, so any text) or `V` (never localized), ended by
/// a NUL.
fn is_postgres_error(b: &[u8]) -> bool {
    let [b'E', l0, l1, l2, l3, b'S' | b'V', ref fields @ ..] = *b else {
        return false;
    };
    if !(8..=8192).contains(&u32::from_be_bytes([l0, l1, l2, l3])) {
        return false;
    }
    let severity_len = fields.iter().take_while(|&&c| c != 0).count();
    (1..=32).contains(&severity_len)
        && severity_len < fields.len()
        && fields[..severity_len].iter().all(|&c| c >= 0x20)
}

/// The AMQP protocol header a broker sends back before closing when it does
/// not speak the client's protocol (AMQP 0-9-1 §4.2.2): `AMQP`, then a
/// protocol id (0 for 0-9-1 and 1.0, 1 for 0-9, 2 or 3 for AMQP 1.0's TLS
/// and SASL layers) and three version bytes.
fn is_amqp_header(b: &[u8]) -> bool {
    matches!(b, [b'A', b'M', b'Q', b'P', 0..=3, _, _, _, ..])
}

#[cfg(test)]
#[path = "sniff_tests.rs"]
mod tests;
