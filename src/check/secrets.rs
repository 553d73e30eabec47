//! The secret values one check sends, and the scrubber that removes them from
//! evidence. A server that reflects the request (an error page echoing the
//! head, a Close reason quoting the Authorization header, an echoed message)
//! would otherwise put credentials into every report, alert and store; wsprobe
//! knows what it sent, so it removes exactly that, in every form a server is
//! likely to echo: raw, percent-encoded (either hex case, `+` for a space as
//! forms write it), HTML-escaped as error pages print it, JSON-escaped as
//! debug endpoints return it, and base64 as in `Basic` auth.

use super::percent;
use super::proxy::Proxy;
use super::redact::{MASK, is_secret_header, is_secret_param, secret_param_values};
use super::spec::Target;
use base64::Engine;

/// Values shorter than this are not scrubbed from free text: replacing
/// "abc" everywhere would mangle the evidence and protect nothing. The
/// password of URL userinfo is the exception, scrubbed whatever its length.
pub const MIN_SCRUB_CHARS: usize = 4;

/// Every form of every secret value of one check, longest first (so a value
/// that contains another is replaced whole).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    forms: Vec<String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} forms)", self.forms.len())
    }
}

impl Secrets {
    /// Everything one check sends that is secret: credential headers (the
    /// URL's userinfo is among them as Basic auth), the userinfo itself,
    /// credential query parameters, credential subprotocols, the proxy's
    /// credentials and the `extra` values a config expanded from `${VAR}`.
    pub fn of_check(
        target: &Target,
        headers: &[(String, String)],
        subprotocols: &[String],
        proxy: Option<&Proxy>,
        extra: &[String],
    ) -> Secrets {
        let mut s = Secrets::default();
        if let Some(c) = &target.credentials {
            s.add_credentials(&c.user, &c.password);
        }
        for (name, value) in headers {
            s.add_header(name, value);
        }
        s.add_query(&target.resource);
        for p in subprotocols {
            s.add_subprotocol(p);
        }
        if let Some((user, password)) = proxy.and_then(Proxy::credentials) {
            s.add_credentials(user, password);
        }
        for value in extra {
            s.add(value);
        }
        s
    }

    /// Add a value (and its encoded forms) when it is long enough to scrub safely.
    pub fn add(&mut self, value: &str) {
        if value.chars().count() >= MIN_SCRUB_CHARS {
            self.add_always(value);
        }
    }

    /// Add a value whatever its length (a password the user put in the URL).
    pub fn add_always(&mut self, value: &str) {
        if value.is_empty() {
            return;
        }
        let encoded = percent::encode(value);
        let mut forms = vec![
            value.to_string(),
            lower_hex_escapes(&encoded),
            encoded.replace("%20", "+"),
            encoded,
        ];
        forms.extend(html_escapes(value));
        forms.extend(json_escapes(value));
        for form in forms {
            if !form.is_empty() && !self.forms.contains(&form) {
                self.forms.push(form);
            }
        }
        self.forms
            .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    }

    /// Add the user and password of `Basic` auth: the password, and
    /// `user:pass` raw and base64-encoded, as a reflected header would show it.
    /// The user name stays visible (URLs show `user:***@`) unless there is no
    /// password: then the "user" is the credential (`wss://TOKEN@host`).
    pub fn add_credentials(&mut self, user: &str, password: &str) {
        if password.is_empty() {
            self.add_always(user);
        } else {
            self.add_always(password);
        }
        let pair = format!("{user}:{password}");
        self.add(&pair);
        self.add(&base64::engine::general_purpose::STANDARD.encode(&pair));
    }

    /// Add the value of a header that was sent: all of a credential header
    /// (and its token, without the auth scheme), nothing of an ordinary one.
    pub fn add_header(&mut self, name: &str, value: &str) {
        if !is_secret_header(name) {
            return;
        }
        self.add(value);
        if let Some((scheme, token)) = value.split_once(' ') {
            self.add(token.trim());
            if scheme.eq_ignore_ascii_case("basic")
                && let Some((user, pass)) = decode_basic(token.trim())
            {
                self.add_credentials(&user, &pass);
            }
        }
        if name.eq_ignore_ascii_case("cookie") {
            for pair in value.split(';') {
                if let Some((_, v)) = pair.split_once('=') {
                    self.add(v.trim());
                }
            }
        }
    }

    /// Add the values of the credential query parameters of a request target,
    /// as written and percent-decoded.
    pub fn add_query(&mut self, resource: &str) {
        for value in secret_param_values(resource) {
            self.add(value);
            self.add(&percent::decode(value));
        }
    }

    /// Add a subprotocol offered, when it carries a credential (e.g.
    /// `base64url.bearer.authorization.k8s.io.<token>`): the whole value and
    /// its last dot-separated part. `chat` or `graphql-ws` are not secrets.
    pub fn add_subprotocol(&mut self, protocol: &str) {
        let credential = protocol
            .split('.')
            .any(|p| is_secret_param(p) || p.eq_ignore_ascii_case("bearer"));
        if credential {
            self.add(protocol);
            if let Some(last) = protocol.rsplit('.').next() {
                self.add(last);
            }
        }
    }

    /// True when nothing is to be scrubbed.
    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    /// Replace every known secret in `text` with [`MASK`]. Where wsprobe cut
    /// evidence (it marks the cut with `…`: a body snippet, a received
    /// message, quoted again in the error text), a secret's beginning just
    /// before the mark is masked too.
    pub fn scrub_str(&self, text: &mut String) {
        self.replace_whole(text);
        let cuts: Vec<usize> = text.match_indices('…').map(|(i, _)| i).collect();
        // Back to front, so masking one cut leaves the earlier indices valid.
        for &cut in cuts.iter().rev() {
            self.mask_cut_tail(text, cut);
        }
    }

    /// [`Secrets::scrub_str`] for text the server may have cut itself (a
    /// Close reason, at most 123 bytes): a secret's beginning at its end is
    /// masked whether or not it ends in `…`.
    pub fn scrub_capped(&self, text: &mut String) {
        self.scrub_str(text);
        let len = text.len();
        self.mask_cut_tail(text, len);
    }

    fn replace_whole(&self, text: &mut String) {
        for form in &self.forms {
            if text.contains(form.as_str()) {
                *text = text.replace(form.as_str(), MASK);
            }
        }
    }

    /// Mask the longest beginning (at least [`MIN_SCRUB_CHARS`] long) of a
    /// secret that `text[..end]` ends with.
    fn mask_cut_tail(&self, text: &mut String, end: usize) {
        let body = &text[..end];
        let cut = self.forms.iter().find_map(|form| {
            (MIN_SCRUB_CHARS..form.len())
                .rev()
                .filter(|&k| form.is_char_boundary(k))
                .find(|&k| body.ends_with(&form[..k]))
        });
        if let Some(k) = cut {
            text.replace_range(end - k..end, MASK);
        }
    }
}

/// `%2f` as well as `%2F`: servers differ in the case of the hex digits they echo.
fn lower_hex_escapes(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut rest = encoded;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let escape = rest.get(i..i + 3).unwrap_or(&rest[i..]);
        out.push_str(&escape.to_ascii_lowercase());
        rest = &rest[i + escape.len()..];
    }
    out.push_str(rest);
    out
}

/// `value` as HTML error pages print it: `&`, `<` and `>` always escaped,
/// quotes left alone, named (`&quot;`, `&#x27;`: Python's `html.escape`) or
/// numeric (`&#34;`, `&#39;`: Go's `html.EscapeString`).
fn html_escapes(value: &str) -> [String; 3] {
    let base = value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let quoted = |dq: &str, sq: &str| base.replace('"', dq).replace('\'', sq);
    [
        base.clone(),
        quoted("&quot;", "&#x27;"),
        quoted("&#34;", "&#39;"),
    ]
}

/// `value` inside a JSON string, as serde and most encoders write it, and
/// with `/` escaped as PHP's `json_encode` does.
fn json_escapes(value: &str) -> [String; 2] {
    let quoted = serde_json::to_string(value).unwrap_or_default();
    let inner = quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or_default()
        .to_string();
    let slashed = inner.replace('/', "\\/");
    [inner, slashed]
}

fn decode_basic(token: &str) -> Option<(String, String)> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_string(), pass.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrubbed(secrets: &Secrets, text: &str) -> String {
        let mut s = text.to_string();
        secrets.scrub_str(&mut s);
        s
    }

    #[test]
    fn a_check_collects_the_secrets_of_every_source_and_nothing_else() {
        let target = Target::parse("ws://alice:url-pw-1@h/ws?room=lobby&sig=sig-val-2").unwrap();
        let headers = [
            ("Authorization".to_string(), "Bearer hdr-tok-3".to_string()),
            ("X-Tenant".to_string(), "tenant-acme".to_string()),
        ];
        let protocols = ["chat".to_string(), "x.bearer.proto-tok-4".to_string()];
        let proxy = Proxy::parse("http://bob:proxy-pw-5@p:3128", "--proxy").unwrap();
        let extra = ["env-val-6".to_string()];
        let s = Secrets::of_check(&target, &headers, &protocols, Some(&proxy), &extra);
        assert_eq!(
            scrubbed(
                &s,
                "url-pw-1 sig-val-2 hdr-tok-3 proto-tok-4 proxy-pw-5 env-val-6 \
                 alice bob lobby chat tenant-acme"
            ),
            "*** *** *** *** *** *** alice bob lobby chat tenant-acme"
        );
    }

    #[test]
    fn a_credential_header_is_scrubbed_whole_and_as_its_token() {
        let mut s = Secrets::default();
        s.add_header("Authorization", "Bearer t0k3n-xyz");
        s.add_header("X-Request-Id", "req-12345");
        assert_eq!(
            scrubbed(&s, "got Bearer t0k3n-xyz; then t0k3n-xyz; id req-12345"),
            "got ***; then ***; id req-12345"
        );
    }

    #[test]
    fn basic_auth_is_scrubbed_encoded_and_decoded() {
        let mut s = Secrets::default();
        s.add_credentials("alice", "p@ss word");
        let b64 = base64::engine::general_purpose::STANDARD.encode("alice:p@ss word");
        let text = format!("Basic {b64} alice:p@ss word p%40ss%20word p%40ss%20word p@ss word");
        assert_eq!(scrubbed(&s, &text), "Basic *** *** *** *** ***");
        let mut token_as_user = Secrets::default();
        token_as_user.add_credentials("tk", "");
        assert_eq!(scrubbed(&token_as_user, "user tk"), "user ***");
        let mut header = Secrets::default();
        header.add_header("Authorization", &format!("Basic {b64}"));
        assert_eq!(scrubbed(&header, "pw is p@ss word"), "pw is ***");
    }

    #[test]
    fn a_secret_cut_by_truncation_is_masked_at_the_end_of_the_text() {
        let mut s = Secrets::default();
        s.add("tok-0123456789");
        assert_eq!(
            scrubbed(&s, "Authorization: tok-0123…"),
            "Authorization: ***…"
        );
        assert_eq!(scrubbed(&s, "quoted: \"tok-0123…\""), "quoted: \"***…\"");
        assert_eq!(scrubbed(&s, "not cut: tok-01"), "not cut: tok-01");
        let mut reason = "rejected tok-01".to_string();
        s.scrub_capped(&mut reason);
        assert_eq!(reason, "rejected ***");
        let mut reason = "ends with tok".to_string();
        s.scrub_capped(&mut reason);
        assert_eq!(reason, "ends with tok");
    }

    #[test]
    fn a_secret_is_scrubbed_html_escaped_json_escaped_and_form_encoded() {
        let mut secrets = Secrets::default();
        secrets.add(r#"t&k<"8>'/ q"#);
        for echoed in [
            "page: t&amp;k&lt;\"8&gt;'/ q",
            "page: t&amp;k&lt;&quot;8&gt;&#x27;/ q",
            "page: t&amp;k&lt;&#34;8&gt;&#39;/ q",
            r#"{"auth":"t&k<\"8>'/ q"}"#,
            r#"{"auth":"t&k<\"8>'\/ q"}"#,
            "next=t%26k%3C%228%3E%27%2F+q",
            "next=t%26k%3c%228%3e%27%2f%20q",
        ] {
            let got = scrubbed(&secrets, echoed);
            assert!(
                got.contains(MASK) && !got.contains("8"),
                "{echoed} -> {got}"
            );
        }
    }

    #[test]
    fn short_values_are_ignored_except_a_url_password() {
        let mut s = Secrets::default();
        s.add("abc");
        assert!(s.is_empty());
        s.add_always("pw");
        assert_eq!(scrubbed(&s, "pw=pw abc"), "***=*** abc");
    }

    #[test]
    fn credential_query_values_are_scrubbed_raw_and_decoded() {
        let mut s = Secrets::default();
        s.add_query("/ws?room=lobby1&api_key=a%2Bb%2Fc&sig=f00d");
        assert_eq!(
            scrubbed(&s, "a%2Bb%2Fc a+b/c a%2bb%2fc f00d lobby1"),
            "*** *** *** *** lobby1"
        );
    }

    #[test]
    fn cookie_values_and_credential_subprotocols_are_secrets() {
        let mut s = Secrets::default();
        s.add_header("Cookie", "sid=s3ss10n; lang=en");
        s.add_subprotocol("base64url.bearer.authorization.k8s.io.dG9rZW4");
        s.add_subprotocol("graphql-ws");
        assert_eq!(
            scrubbed(&s, "s3ss10n en dG9rZW4 graphql-ws"),
            "*** en *** graphql-ws"
        );
    }
}
