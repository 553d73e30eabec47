//! Alert channels: `channels:` → [`ChannelConfig`]s. The `type` key picks the
//! shape; secrets come from `${VAR}`s and never appear in messages.

use super::de::{At, Pairs};
use super::env::Text;
use super::keys::{fields_of, split};
use super::loader::Loader;
use super::node::{Kind, Node};
use super::oncall;
use super::raw::{CHANNEL_TYPES, RawEmail, RawFileChannel, RawSmtp, RawTemplates, RawWebhook};
use super::route::RawRoute;
use crate::alert::render::{BUILTIN_PREFIX, builtin_source, unknown_builtin};
use crate::alert::settings::{
    ChannelConfig, ChannelSettings, EmailSettings, FileSettings, SmtpSecurity, TemplateOverrides,
    WebhookSettings,
};
use crate::state::route::Route;
use std::path::PathBuf;
use std::time::Duration;

/// Timeout of SMTP and webhook deliveries unless set.
pub const DEFAULT_DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// All channels, and the names of all channels — also those with errors, so
/// a monitor naming a broken channel is not told that it does not exist.
pub(crate) fn channels(l: &mut Loader, node: Option<&Node>) -> (Vec<ChannelConfig>, Vec<String>) {
    let (mut out, mut names) = (Vec::new(), Vec::new());
    let Some(node) = node else {
        return (out, names);
    };
    let entries = match &node.kind {
        Kind::Map(entries) => entries,
        Kind::Null => return (out, names),
        _ => {
            l.key_error(
                node.pos,
                "channels",
                format!(
                    "expected a mapping of channel names to channels, found {}",
                    node.found()
                ),
            );
            return (out, names);
        }
    };
    for (key, value) in entries {
        let name = key.text().unwrap_or_default().to_string();
        names.push(name.clone());
        if let Some((settings, templates, route)) = channel(l, value) {
            out.push(ChannelConfig {
                name,
                settings,
                templates,
                route,
            });
        }
    }
    (out, names)
}

/// One channel: its type's own keys, and the routing keys every type takes.
fn channel(l: &mut Loader, node: &Node) -> Option<(ChannelSettings, TemplateOverrides, Route)> {
    let service = channel_type(l, node)?;
    let parts: [&[&str]; 2] = [type_fields(service), fields_of::<RawRoute>()];
    let (nodes, errors) = split(node, &parts).map_err(|e| l.de_error(e)).ok()?;
    for e in errors {
        l.de_error(e);
    }
    let [own, routing] = <[Node; 2]>::try_from(nodes).ok()?;
    let settings = settings(l, service, &own);
    let route = l
        .decode::<RawRoute>(&routing)
        .and_then(|raw| super::route::route(l, raw));
    let (settings, templates) = settings?;
    Some((settings, templates, route?))
}

/// The keys of channel type `service` (one of [`CHANNEL_TYPES`]).
fn type_fields(service: &str) -> &'static [&'static str] {
    match service {
        "email" => fields_of::<RawEmail>(),
        "webhook" => fields_of::<RawWebhook>(),
        "file" => fields_of::<RawFileChannel>(),
        other => oncall::fields(other),
    }
}

fn settings(
    l: &mut Loader,
    service: &str,
    node: &Node,
) -> Option<(ChannelSettings, TemplateOverrides)> {
    match service {
        "email" => {
            let raw = l.decode(node)?;
            email(l, raw)
        }
        "webhook" => {
            let raw = l.decode(node)?;
            webhook(l, raw)
        }
        "file" => {
            let raw = l.decode(node)?;
            file(l, raw)
        }
        service => oncall::channel(l, service, node),
    }
}

/// The channel's `type`, one of [`CHANNEL_TYPES`], or `None` (recorded).
fn channel_type<'n>(l: &mut Loader, node: &'n Node) -> Option<&'n str> {
    let Kind::Map(_) = node.kind else {
        l.error(
            node.pos,
            format!(
                "expected a channel (a mapping with `type`), found {}",
                node.found()
            ),
        );
        return None;
    };
    let kinds = CHANNEL_TYPES.join(", ");
    let Some(kind) = node.get("type") else {
        l.error(
            node.pos,
            format!("missing required key `type` (one of: {kinds})"),
        );
        return None;
    };
    match kind.text() {
        Some(service) if CHANNEL_TYPES.contains(&service) => Some(service),
        Some(other) => {
            l.key_error(
                kind.pos,
                "type",
                format!("unknown channel type {other:?} (expected one of: {kinds})"),
            );
            None
        }
        None => {
            l.key_error(
                kind.pos,
                "type",
                format!("expected one of: {kinds}, found {}", kind.found()),
            );
            None
        }
    }
}

fn email(l: &mut Loader, raw: RawEmail) -> Option<(ChannelSettings, TemplateOverrides)> {
    let before = l.error_count();
    let smtp = smtp(l, &raw.smtp);
    let from = mailbox(l, "from", &raw.from);
    if raw.to.value.is_empty() {
        l.key_error(raw.to.pos, "to", "at least one recipient is required");
    }
    let to: Vec<String> = raw
        .to
        .value
        .iter()
        .filter_map(|t| mailbox(l, "to", t))
        .collect();
    let templates = templates(l, raw.templates.as_ref(), None);
    let (host, port, security, username, password, timeout, ca_file) = smtp?;
    let settings = EmailSettings {
        host,
        port,
        security,
        username,
        password,
        from: from?,
        to,
        timeout,
        ca_file,
    };
    (l.error_count() == before).then_some((ChannelSettings::Email(settings), templates))
}

type Smtp = (
    String,
    u16,
    SmtpSecurity,
    Option<String>,
    Option<String>,
    Duration,
    Option<PathBuf>,
);

fn smtp(l: &mut Loader, raw: &RawSmtp) -> Option<Smtp> {
    let host = l.text("host", &raw.host).map(|t| t.value);
    if host.as_deref().is_some_and(|h| h.trim().is_empty()) {
        l.key_error(raw.host.pos, "host", "must not be empty");
    }
    let security = match raw.security.as_ref().map(|s| s.value.as_str()) {
        None | Some("starttls") => SmtpSecurity::StartTls,
        Some("tls") => SmtpSecurity::Tls,
        Some("none") => SmtpSecurity::None,
        Some(other) => {
            let pos = raw.security.as_ref().map(|s| s.pos).unwrap_or(raw.host.pos);
            l.key_error(
                pos,
                "security",
                format!("expected starttls, tls or none, found {other:?}"),
            );
            SmtpSecurity::StartTls
        }
    };
    let port = raw
        .port
        .as_ref()
        .map(|p| p.value)
        .unwrap_or(match security {
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        });
    let username = raw.username.as_ref().and_then(|u| l.text("username", u));
    let password = raw.password.as_ref().and_then(|p| l.text("password", p));
    match (&raw.username, &raw.password) {
        (Some(u), None) => l.key_error(u.pos, "username", "needs `password`"),
        (None, Some(p)) => l.key_error(p.pos, "password", "needs `username`"),
        _ => {}
    }
    let timeout = match &raw.timeout {
        Some(t) => l.positive_duration("timeout", t)?,
        None => DEFAULT_DELIVERY_TIMEOUT,
    };
    let ca_file = raw
        .ca_file
        .as_ref()
        .and_then(|v| l.readable_file("ca_file", v, "CA file"));
    if let (Some(v), SmtpSecurity::None) = (&raw.ca_file, security) {
        l.key_error(v.pos, "ca_file", "needs `security: starttls` or `tls`");
    }
    Some((
        host?,
        port,
        security,
        username.map(|t| t.value),
        password.map(|t| t.value),
        timeout,
        ca_file,
    ))
}

fn mailbox(l: &mut Loader, key: &str, v: &At<String>) -> Option<String> {
    let text = l.text(key, v)?;
    match text.value.parse::<lettre::message::Mailbox>() {
        Ok(_) => Some(text.value),
        Err(e) => {
            let reason = e.to_string().to_lowercase();
            l.key_error(
                v.pos,
                key,
                format!(
                    "invalid address {}: {reason} (expected alerts@example.com or \"wsprobe <alerts@example.com>\")",
                    text.shown()
                ),
            );
            None
        }
    }
}

fn webhook(l: &mut Loader, raw: RawWebhook) -> Option<(ChannelSettings, TemplateOverrides)> {
    let before = l.error_count();
    let url = l
        .text("url", &raw.url)
        .and_then(|url| match http_url(&url) {
            Ok(()) => Some(url.value),
            Err(reason) => {
                l.key_error(
                    raw.url.pos,
                    "url",
                    format!("invalid URL{}: {reason}", url.source_note()),
                );
                None
            }
        });
    let headers = http_headers(l, raw.headers.as_ref());
    let secret = raw
        .secret
        .as_ref()
        .and_then(|s| l.text("secret", s))
        .map(|t| t.value);
    let timeout = match &raw.timeout {
        Some(t) => l.positive_duration("timeout", t),
        None => Some(DEFAULT_DELIVERY_TIMEOUT),
    };
    if let (Some(t), Some(b)) = (
        &raw.template,
        raw.templates.as_ref().and_then(|t| t.body.as_ref()),
    ) {
        l.key_error(
            t.pos,
            "template",
            format!(
                "set either `template` or `templates.body` (line {}), not both",
                b.pos.line
            ),
        );
    }
    let templates = templates(l, raw.templates.as_ref(), raw.template.as_ref());
    let settings = WebhookSettings {
        url: url?,
        headers,
        secret,
        timeout: timeout?,
    };
    (l.error_count() == before).then_some((ChannelSettings::Webhook(settings), templates))
}

/// An http:// or https:// URL with a host, or why not.
pub(crate) fn http_url(url: &Text) -> Result<(), String> {
    let parsed = url::Url::parse(&url.value).map_err(|e| e.to_string())?;
    match parsed.scheme() {
        "http" | "https" if parsed.host().is_some() => Ok(()),
        "http" | "https" => Err("missing host".into()),
        other => Err(format!("scheme {other}:// is not http:// or https://")),
    }
}

fn http_headers(l: &mut Loader, pairs: Option<&Pairs>) -> Vec<(String, String)> {
    use reqwest::header::{HeaderName, HeaderValue};
    let mut out = Vec::new();
    for (name, value) in pairs.iter().flat_map(|p| &p.0) {
        if HeaderName::from_bytes(name.value.as_bytes()).is_err() {
            l.key_error(
                name.pos,
                "headers",
                format!(
                    "invalid header {:?}: header name must be an HTTP token",
                    name.value
                ),
            );
            continue;
        }
        let Some(text) = l.text("headers", value) else {
            continue;
        };
        if HeaderValue::from_str(&text.value).is_err() {
            l.key_error(
                value.pos,
                "headers",
                format!(
                    "invalid header {:?}: {} contains characters not allowed in a header value",
                    name.value,
                    if text.uses_env() {
                        text.shown()
                    } else {
                        "the value".into()
                    }
                ),
            );
            continue;
        }
        out.push((name.value.clone(), text.value));
    }
    out
}

fn file(l: &mut Loader, raw: RawFileChannel) -> Option<(ChannelSettings, TemplateOverrides)> {
    let before = l.error_count();
    let path = l
        .text("path", &raw.path)
        .and_then(|p| match p.value.as_str() {
            "" => {
                l.key_error(
                    raw.path.pos,
                    "path",
                    "must not be empty (use \"-\" for standard output)",
                );
                None
            }
            "-" => Some(PathBuf::from("-")),
            other => Some(l.path(other)),
        });
    let templates = templates(l, raw.templates.as_ref(), None);
    let settings = FileSettings { path: path? };
    (l.error_count() == before).then_some((ChannelSettings::File(settings), templates))
}

/// Template overrides; every file must be readable now, not at the first
/// alert. `builtin:NAME` names a template compiled into the binary: kept as
/// written (never joined to the config's directory), its name checked here.
fn templates(
    l: &mut Loader,
    raw: Option<&RawTemplates>,
    body: Option<&At<String>>,
) -> TemplateOverrides {
    let none = RawTemplates::default();
    let raw = raw.unwrap_or(&none);
    let mut file = |key: &str, v: &Option<At<String>>| {
        let v = v.as_ref()?;
        match v.value.strip_prefix(BUILTIN_PREFIX) {
            Some(name) if builtin_source(name).is_some() => Some(PathBuf::from(&v.value)),
            Some(name) => {
                l.key_error(v.pos, key, unknown_builtin(name));
                None
            }
            None => l.readable_file(key, v, "template"),
        }
    };
    TemplateOverrides {
        subject: file("subject", &raw.subject),
        text: file("text", &raw.text),
        html: file("html", &raw.html),
        body: match body {
            Some(b) => file("template", &Some(b.clone())),
            None => file("body", &raw.body),
        },
    }
}
