//! Check options of a monitor, `defaults` or a module: [`RawOptions`] →
//! [`CheckOptions`], each value checked on its own so every bad one is
//! reported, then the [`CheckSpec`] built with a TLS setup shared between
//! monitors whose TLS options are the same.

use super::de::At;
use super::loader::Loader;
use super::node::Pos;
use super::raw::RawOptions;
use crate::check::proxy::{Proxy, ProxySetting};
use crate::check::spec::{
    CheckOptions, CheckSpec, ResolveOverride, SpecError, Target, parse_header,
};
use crate::check::tls::{TlsOptions, TlsSetup};
use std::collections::HashMap;
use std::sync::Arc;

/// Where each option that was set came from (monitor or `defaults`), so an
/// error found while building the spec points at the right line.
#[derive(Debug, Default)]
pub(crate) struct Origins(HashMap<&'static str, Pos>);

impl Origins {
    fn note<T>(&mut self, key: &'static str, v: &Option<At<T>>) {
        if let Some(v) = v {
            self.0.insert(key, v.pos);
        }
    }

    fn get(&self, key: &str) -> Option<Pos> {
        self.0.get(key).copied()
    }
}

/// Convert options, recording every bad value.
pub(crate) fn check_options(l: &mut Loader, raw: &RawOptions) -> (CheckOptions, Origins) {
    let mut o = CheckOptions::default();
    let mut origins = Origins::default();
    if let Some(d) = raw
        .timeout
        .as_ref()
        .and_then(|v| l.positive_duration("timeout", v))
    {
        o.timeout = d;
    }
    o.connect_timeout = raw
        .connect_timeout
        .as_ref()
        .and_then(|v| l.positive_duration("connect_timeout", v));
    o.headers = headers(l, raw);
    o.origin = raw
        .origin
        .as_ref()
        .and_then(|v| l.text("origin", v))
        .map(|t| t.value);
    o.subprotocols = subprotocols(l, raw);
    if let Some(ping) = &raw.ping {
        o.ping = ping.value;
    }
    o.ping_every = raw
        .ping_every
        .as_ref()
        .and_then(|v| l.positive_duration("ping_every", v));
    o.hold = raw.hold.as_ref().and_then(|v| l.duration("hold", v));
    o.send = raw
        .send
        .as_ref()
        .and_then(|v| l.text("send", v))
        .map(|t| t.value);
    o.expect = raw.expect.as_ref().and_then(|v| expect(l, v));
    o.tls = tls_options(l, raw);
    if let Some(d) = raw
        .cert_expiry_warn
        .as_ref()
        .and_then(|v| l.duration("cert_expiry_warn", v))
    {
        o.cert_expiry_warn = d;
    }
    o.resolve = resolve(l, raw);
    if let Some(p) = raw.proxy.as_ref().and_then(|v| proxy(l, v)) {
        o.proxy = p;
    }
    if let Some(r) = &raw.retries {
        o.retries = r.value;
    }
    if let Some(d) = raw
        .retry_delay
        .as_ref()
        .and_then(|v| l.duration("retry_delay", v))
    {
        o.retry_delay = d;
    }
    if let Some(m) = &raw.max_message_bytes {
        if m.value == 0 {
            l.key_error(m.pos, "max_message_bytes", "must be at least 1");
        } else {
            o.max_message_bytes = m.value;
        }
    }
    for (key, v) in [
        ("timeout", &raw.timeout),
        ("ping_every", &raw.ping_every),
        ("origin", &raw.origin),
        ("expect", &raw.expect),
        ("proxy", &raw.proxy),
        ("ca_file", &raw.ca_file),
        ("cert", &raw.cert),
        ("key", &raw.key),
    ] {
        origins.note(key, v);
    }
    (o, origins)
}

fn subprotocols(l: &mut Loader, raw: &RawOptions) -> Vec<String> {
    let is_token = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    let mut out = Vec::new();
    for p in raw.subprotocols.iter().flatten() {
        if is_token(&p.value) {
            out.push(p.value.clone());
        } else {
            l.key_error(
                p.pos,
                "subprotocols",
                format!(
                    "invalid value {:?}: must be an HTTP token (letters, digits, !#$%&'*+-.^_`|~)",
                    p.value
                ),
            );
        }
    }
    out
}

fn headers(l: &mut Loader, raw: &RawOptions) -> Vec<String> {
    let mut out = Vec::new();
    for (name, value) in raw.headers.iter().flat_map(|h| &h.0) {
        let Some(text) = l.text("headers", value) else {
            continue;
        };
        let line = format!("{}: {}", name.value, text.value);
        match parse_header(&line) {
            // A ':' in the name would move the split point: the name must come back whole.
            Ok((parsed, _)) if parsed == name.value.trim() => out.push(line),
            Ok(_) => l.key_error(
                name.pos,
                "headers",
                format!(
                    "invalid header {:?}: header name must be an HTTP token",
                    name.value
                ),
            ),
            Err(SpecError::Option { reason, .. }) => l.key_error(
                name.pos,
                "headers",
                format!("invalid header {:?}: {reason}", name.value),
            ),
            Err(e) => l.key_error(name.pos, "headers", e),
        }
    }
    out
}

fn expect(l: &mut Loader, v: &At<String>) -> Option<String> {
    let text = l.text("expect", v)?;
    match regex::Regex::new(&text.value) {
        Ok(_) => Some(text.value),
        Err(e) => {
            // regex's message is multi-line (pattern, caret, "error: …"):
            // the last line says what is wrong.
            let full = e.to_string();
            let reason = full.lines().last().unwrap_or_default();
            let reason = reason.strip_prefix("error: ").unwrap_or(reason);
            l.key_error(
                v.pos,
                "expect",
                format!("invalid regular expression {}: {reason}", text.shown()),
            );
            None
        }
    }
}

fn tls_options(l: &mut Loader, raw: &RawOptions) -> TlsOptions {
    let ca_file = raw
        .ca_file
        .as_ref()
        .and_then(|v| l.readable_file("ca_file", v, "CA file"));
    let client_cert = raw
        .cert
        .as_ref()
        .and_then(|v| l.readable_file("cert", v, "certificate"));
    let client_key = raw
        .key
        .as_ref()
        .and_then(|v| l.readable_file("key", v, "private key"));
    match (&raw.cert, &raw.key) {
        (Some(cert), None) => l.key_error(
            cert.pos,
            "cert",
            "needs `key`, the certificate's private key",
        ),
        (None, Some(key)) => l.key_error(key.pos, "key", "needs `cert`, the client certificate"),
        _ => {}
    }
    TlsOptions {
        ca_file,
        system_roots: raw.system_roots.as_ref().is_some_and(|b| b.value),
        client_cert,
        client_key,
        insecure: raw.insecure.as_ref().is_some_and(|b| b.value),
    }
}

fn resolve(l: &mut Loader, raw: &RawOptions) -> Vec<String> {
    let mut out = Vec::new();
    for entry in raw.resolve.iter().flatten() {
        match ResolveOverride::parse(&entry.value) {
            Ok(_) => out.push(entry.value.clone()),
            Err(SpecError::Option { reason, .. }) => l.key_error(
                entry.pos,
                "resolve",
                format!("invalid entry {:?}: {reason}", entry.value),
            ),
            Err(e) => l.key_error(entry.pos, "resolve", e),
        }
    }
    out
}

fn proxy(l: &mut Loader, v: &At<String>) -> Option<ProxySetting> {
    let text = l.text("proxy", v)?;
    if text.value.eq_ignore_ascii_case("none") {
        return Some(ProxySetting::None);
    }
    match Proxy::parse(&text.value, "proxy") {
        Ok(_) => Some(ProxySetting::Explicit(text.value)),
        Err(e) => {
            let reason = match e {
                SpecError::Option { reason, .. } => reason,
                other => other.to_string(),
            };
            // The parser strips credentials from the value it reports; a value
            // from the environment is named instead of shown.
            let shown = if text.uses_env() {
                text.shown()
            } else {
                format!("{:?}", crate::check::redact::redact_url(&text.value))
            };
            l.key_error(
                v.pos,
                "proxy",
                format!("invalid proxy {shown}: {reason} (expected a URL like http://proxy:3128, or none)"),
            );
            None
        }
    }
}

/// TLS setups already built, keyed by their options: loading roots is the
/// costly part, so monitors with the same options share one.
#[derive(Default)]
pub(crate) struct TlsCache(Vec<(TlsOptions, Result<Arc<TlsSetup>, SpecError>)>);

impl TlsCache {
    fn get(&mut self, opts: &TlsOptions) -> Result<Arc<TlsSetup>, SpecError> {
        if let Some((_, built)) = self.0.iter().find(|(o, _)| o == opts) {
            return built.clone();
        }
        let built = TlsSetup::build(opts).map(Arc::new);
        self.0.push((opts.clone(), built.clone()));
        built
    }
}

/// Build the spec of a monitor whose options were all valid on their own.
pub(crate) fn build_spec(
    l: &mut Loader,
    target: Target,
    opts: &CheckOptions,
    origins: &Origins,
    url_pos: Pos,
    tls: &mut TlsCache,
) -> Option<CheckSpec> {
    let setup = if target.secure {
        match tls.get(&opts.tls) {
            Ok(setup) => Some(setup),
            Err(e) => {
                spec_error(l, e, origins, url_pos);
                return None;
            }
        }
    } else {
        None
    };
    CheckSpec::build_with_tls(target, opts, setup)
        .map_err(|e| spec_error(l, e, origins, url_pos))
        .ok()
}

/// The config key behind a `wsprobe check` flag named in a [`SpecError`].
fn option_key(flag: &str) -> Option<&'static str> {
    Some(match flag {
        "--timeout" => "timeout",
        "--ping-every" => "ping_every",
        "--header" => "headers",
        "--origin" => "origin",
        "--subprotocol" => "subprotocols",
        "--expect" => "expect",
        "--resolve" => "resolve",
        "--proxy" | "proxy" => "proxy",
        "--ca-file" => "ca_file",
        "--cert" => "cert",
        "--key" => "key",
        _ => return None,
    })
}

fn spec_error(l: &mut Loader, e: SpecError, origins: &Origins, url_pos: Pos) {
    let (flag, message) = match &e {
        SpecError::Url { reason, .. } => {
            l.key_error(url_pos, "url", format!("invalid URL: {reason}"));
            return;
        }
        SpecError::Option {
            option,
            value,
            reason,
        } if value.is_empty() => (*option, reason.clone()),
        SpecError::Option {
            option,
            value,
            reason,
        } => (*option, format!("invalid value {value:?}: {reason}")),
        SpecError::File {
            option,
            path,
            reason,
        } => (*option, format!("cannot use {}: {reason}", path.display())),
    };
    match option_key(flag) {
        Some(key) => l.key_error(origins.get(key).unwrap_or(url_pos), key, message),
        // e.g. a malformed HTTPS_PROXY in the daemon's environment.
        None => l.key_error(url_pos, "url", e),
    }
}
