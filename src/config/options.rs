//! Check options of a monitor, `defaults` or a module: [`RawOptions`] →
//! [`CheckOptions`], each value checked on its own so every bad one is
//! reported, then the [`CheckSpec`] built with a TLS setup shared between
//! monitors whose TLS options are the same.

use super::de::{At, Pairs};
use super::loader::Loader;
use super::node::Pos;
use super::raw::RawOptions;
use crate::check::protocol::Protocol;
use crate::check::proxy::{Proxy, ProxySetting};
use crate::check::spec::{
    CheckOptions, CheckSpec, ResolveOverride, SpecError, Target, parse_header,
};
use crate::check::thresholds::{Measured, Threshold, Thresholds, unknown_measure};
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

/// Convert options, recording every bad value. The struct literal is
/// exhaustive on purpose: a new check option fails to compile until the
/// config reads it.
pub(crate) fn check_options(l: &mut Loader, raw: &RawOptions) -> (CheckOptions, Origins) {
    let d = CheckOptions::default();
    // Expansions of earlier keys (channels, another monitor) are not this check's.
    l.take_sent_expansions();
    let options = CheckOptions {
        timeout: positive(l, "timeout", &raw.timeout).unwrap_or(d.timeout),
        connect_timeout: positive(l, "connect_timeout", &raw.connect_timeout),
        headers: headers(l, raw),
        origin: text(l, "origin", &raw.origin),
        subprotocols: subprotocols(l, raw),
        ping: raw.ping.as_ref().map_or(d.ping, |p| p.value),
        ping_every: positive(l, "ping_every", &raw.ping_every),
        hold: duration(l, "hold", &raw.hold),
        steps: super::steps::script(l, raw),
        protocol: raw.protocol.as_ref().and_then(|v| protocol(l, v)),
        thresholds: Thresholds {
            warning: thresholds(l, "warning_over", raw.warning_over.as_ref()),
            critical: thresholds(l, "critical_over", raw.critical_over.as_ref()),
        },
        tls: tls_options(l, raw),
        cert_expiry_warn: duration(l, "cert_expiry_warn", &raw.cert_expiry_warn)
            .unwrap_or(d.cert_expiry_warn),
        resolve: resolve(l, raw),
        proxy: raw
            .proxy
            .as_ref()
            .and_then(|v| proxy(l, v))
            .unwrap_or(d.proxy),
        retries: raw.retries.as_ref().map_or(d.retries, |r| r.value),
        retry_delay: duration(l, "retry_delay", &raw.retry_delay).unwrap_or(d.retry_delay),
        max_message_bytes: max_message_bytes(l, raw).unwrap_or(d.max_message_bytes),
        source_address: raw
            .source_address
            .as_ref()
            .and_then(|v| source_address(l, v)),
        // Last, so it holds the expansions of every field above.
        secret_values: l.take_sent_expansions(),
    };
    (options, origins(raw))
}

fn duration(l: &mut Loader, key: &str, v: &Option<At<String>>) -> Option<std::time::Duration> {
    v.as_ref().and_then(|v| l.duration(key, v))
}

fn positive(l: &mut Loader, key: &str, v: &Option<At<String>>) -> Option<std::time::Duration> {
    v.as_ref().and_then(|v| l.positive_duration(key, v))
}

fn text(l: &mut Loader, key: &str, v: &Option<At<String>>) -> Option<String> {
    v.as_ref().and_then(|v| l.text(key, v)).map(|t| t.value)
}

/// `{upgrade: 200ms, total: 1s}`: each key a phase or `total`, each value a duration.
fn thresholds(l: &mut Loader, key: &str, pairs: Option<&Pairs>) -> Vec<Threshold> {
    let mut out = Vec::new();
    for (word, limit) in pairs.iter().flat_map(|p| &p.0) {
        let Some(over) = Measured::parse(&word.value) else {
            l.key_error(word.pos, key, unknown_measure(&word.value));
            continue;
        };
        if let Some(limit) = l.positive_duration(key, limit) {
            out.push(Threshold { over, limit });
        }
    }
    out
}

fn protocol(l: &mut Loader, v: &At<String>) -> Option<Protocol> {
    Protocol::parse(&v.value)
        .map_err(|e| l.key_error(v.pos, "protocol", e))
        .ok()
}

fn max_message_bytes(l: &mut Loader, raw: &RawOptions) -> Option<usize> {
    let m = raw.max_message_bytes.as_ref()?;
    if m.value == 0 {
        l.key_error(m.pos, "max_message_bytes", "must be at least 1");
        return None;
    }
    Some(m.value)
}

fn source_address(l: &mut Loader, v: &At<String>) -> Option<std::net::IpAddr> {
    let text = l.text("source_address", v)?;
    match text.value.trim().parse() {
        Ok(ip) => Some(ip),
        Err(_) => {
            l.key_error(
                v.pos,
                "source_address",
                format!(
                    "invalid address {}: expected an IPv4 or IPv6 address of this host, like 10.0.0.5",
                    text.shown()
                ),
            );
            None
        }
    }
}

fn origins(raw: &RawOptions) -> Origins {
    let mut origins = Origins::default();
    for (key, v) in [
        ("timeout", &raw.timeout),
        ("ping_every", &raw.ping_every),
        ("origin", &raw.origin),
        ("proxy", &raw.proxy),
        ("ca_file", &raw.ca_file),
        ("cert", &raw.cert),
        ("key", &raw.key),
    ] {
        origins.note(key, v);
    }
    origins
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
        // Values that may be secret come back as "(value hidden)".
        SpecError::Option {
            option,
            value,
            reason,
        } if value.is_empty() || value == "(value hidden)" => (*option, reason.clone()),
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
