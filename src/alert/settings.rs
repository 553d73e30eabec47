//! Validated settings of alert channels, as `config` produces them and the
//! channel implementations consume them. Secrets are already resolved from the
//! environment here and must never be logged (Debug hides them).

use std::path::PathBuf;
use std::time::Duration;

/// A named channel.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelConfig {
    /// The name monitors refer to in `alert: [...]`.
    pub name: String,
    /// Where and how to deliver.
    pub settings: ChannelSettings,
    /// Template overrides for this channel (paths to files).
    pub templates: TemplateOverrides,
}

/// The kinds of channel.
#[derive(Debug, Clone, PartialEq)]
pub enum ChannelSettings {
    /// Email over SMTP.
    Email(EmailSettings),
    /// HTTP POST.
    Webhook(WebhookSettings),
    /// Append rendered alerts to a local file (demo, tests, log shippers).
    File(FileSettings),
}

/// How to talk to the SMTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS: only sensible to a relay on localhost.
    None,
}

/// Email channel settings.
#[derive(Clone, PartialEq)]
pub struct EmailSettings {
    /// SMTP host.
    pub host: String,
    /// SMTP port.
    pub port: u16,
    /// TLS mode.
    pub security: SmtpSecurity,
    /// Login, if the server needs one.
    pub username: Option<String>,
    /// Password (from the environment).
    pub password: Option<String>,
    /// From address, e.g. "wsprobe <alerts@example.com>".
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
    /// Bound of every network step: connect, TLS, each command and reply,
    /// the message.
    pub timeout: Duration,
    /// PEM roots trusted for the server's certificate besides the system's
    /// (a private CA).
    pub ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for EmailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("from", &self.from)
            .field("to", &self.to)
            .field("timeout", &self.timeout)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// Webhook channel settings.
#[derive(Clone, PartialEq)]
pub struct WebhookSettings {
    /// Where to POST.
    pub url: String,
    /// Extra headers (values may be secrets: never logged).
    pub headers: Vec<(String, String)>,
    /// HMAC-SHA256 key; when set, the body is signed in `X-Wsprobe-Signature: sha256=<hex>`.
    pub secret: Option<String>,
    /// Request timeout.
    pub timeout: Duration,
}

impl std::fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("url", &crate::check::redact::redact_url(&self.url))
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// File channel settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSettings {
    /// File to append to; "-" for standard output.
    pub path: PathBuf,
}

/// Per-channel template files replacing the built-in ones from `templates/`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateOverrides {
    /// Email subject (one line).
    pub subject: Option<PathBuf>,
    /// Plain-text body (email, file).
    pub text: Option<PathBuf>,
    /// HTML body (email).
    pub html: Option<PathBuf>,
    /// Request body (webhook), e.g. templates/slack.json.j2.
    pub body: Option<PathBuf>,
}
