//! Searching outputs for secrets: every form a secret may take on the way out
//! (raw, percent-encoded with either hex case, HTML- and JSON-escaped,
//! base64 as in Basic auth), and
//! an assertion that names the output, the secret and the form it found.
#![allow(dead_code)]

use base64::Engine;

/// One secret value and the forms it is searched for.
pub struct Secret {
    /// What it is, for the failure message.
    pub label: &'static str,
    /// The value as sent.
    pub value: String,
}

impl Secret {
    /// A secret value, searched raw and percent-encoded.
    pub fn new(label: &'static str, value: impl Into<String>) -> Secret {
        Secret {
            label,
            value: value.into(),
        }
    }

    /// `user:password`, searched raw, encoded and as its base64 (Basic auth).
    pub fn basic(label: &'static str, user: &str, password: &str) -> [Secret; 2] {
        let pair = format!("{user}:{password}");
        let b64 = base64::engine::general_purpose::STANDARD.encode(&pair);
        [Secret::new(label, pair), Secret::new(label, b64)]
    }

    fn forms(&self) -> Vec<String> {
        let upper = encode(&self.value);
        let lower = lower_hex(&upper);
        let json = serde_json::to_string(&self.value).expect("a string encodes");
        let mut forms = vec![
            self.value.clone(),
            upper,
            lower,
            json.trim_matches('"').to_string(),
        ];
        forms.extend(html_forms(&self.value));
        forms.sort();
        forms.dedup();
        forms
    }
}

/// Every HTML spelling of `value` an error page may print: each of `&<>"'`
/// escaped by name, in decimal or in hex, or left alone (quotes).
fn html_forms(value: &str) -> Vec<String> {
    let mut forms = vec![String::new()];
    for c in value.chars() {
        let spellings: Vec<String> = match c {
            '&' | '<' | '>' | '"' | '\'' => {
                let named = match c {
                    '&' => "&amp;",
                    '<' => "&lt;",
                    '>' => "&gt;",
                    '"' => "&quot;",
                    _ => "&apos;",
                };
                let mut s = vec![
                    named.to_string(),
                    format!("&#{};", c as u32),
                    format!("&#x{:x};", c as u32),
                ];
                if matches!(c, '"' | '\'') {
                    s.push(c.to_string());
                }
                s
            }
            _ => vec![c.to_string()],
        };
        // Bounded: test secrets hold a handful of such characters.
        forms = forms
            .iter()
            .flat_map(|f| spellings.iter().map(move |s| format!("{f}{s}")))
            .collect();
    }
    forms
}

/// Fails naming `output`, the secret and the form when any form of any
/// secret occurs in `text`.
pub fn assert_no_secret(output: &str, text: &str, secrets: &[Secret]) {
    for secret in secrets {
        for form in secret.forms() {
            assert!(
                !text.contains(&form),
                "{output} leaks {} ({form:?}):\n{text}",
                secret.label
            );
        }
    }
}

/// Fails naming `output` when `text` lacks a piece of evidence that must
/// survive the scrub (so "no secret" cannot pass by showing nothing).
pub fn assert_shows(output: &str, text: &str, evidence: &[&str]) {
    for e in evidence {
        assert!(
            text.contains(e),
            "{output} lost the evidence {e:?}:\n{text}"
        );
    }
}

/// Percent-encoding by another implementation than wsprobe's (the `url`
/// crate's form encoding), so the search does not share the scrubber's bugs.
fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn lower_hex(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '%' {
            out.extend(chars.by_ref().take(2).map(|h| h.to_ascii_lowercase()));
        }
    }
    out
}
