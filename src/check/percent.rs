//! Percent-encoding as URLs carry it: decoding userinfo and query values into
//! the bytes that were meant, and encoding a value the way a server may echo it
//! (so a secret is recognised in either form).

/// Decode `%XX` escapes; a `%` not followed by two hex digits stays as is.
/// Invalid UTF-8 after decoding is replaced, never an error: this reads
/// evidence and credentials, where a lossy value beats a refused one.
pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Encode every byte outside RFC 3986's unreserved set as `%XX` (upper-case hex).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_undoes_encoding_and_keeps_stray_percents() {
        for raw in ["p@ss:w/rd", "plain", "100% sure", "ünï"] {
            assert_eq!(decode(&encode(raw)), raw, "{raw}");
        }
        assert_eq!(decode("a%2"), "a%2");
        assert_eq!(decode("%zz"), "%zz");
        assert_eq!(encode("a b/c"), "a%20b%2Fc");
    }
}
