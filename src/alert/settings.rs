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
    /// Which of its monitors' alerts it receives, and when (`when:`,
    /// `escalate_after:`).
    pub route: crate::state::route::Route,
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
    /// An on-call service's own API (PagerDuty, Opsgenie, Slack, …).
    OnCall(OnCallSettings),
}

/// Settings of an on-call channel: which service, where its API is, and the
/// bound of one delivery.
#[derive(Clone, PartialEq)]
pub struct OnCallSettings {
    /// The service and its credentials.
    pub service: OnCallService,
    /// The API's base URL (PagerDuty, Opsgenie, Telegram, Alertmanager: the
    /// documented path is appended) or the webhook URL itself (Slack, Teams,
    /// Discord). The service's default unless `url` was configured.
    pub url: String,
    /// Bound of one delivery, connect to the last byte of the answer.
    pub timeout: Duration,
}

/// The on-call services, each with what it needs besides the URL. Keys and
/// tokens come from the environment and never reach a log.
#[derive(Clone, PartialEq)]
pub enum OnCallService {
    /// PagerDuty Events API v2.
    PagerDuty {
        /// The integration's routing key.
        routing_key: String,
    },
    /// Opsgenie Alert API.
    Opsgenie {
        /// The API integration's key (`Authorization: GenieKey …`).
        api_key: String,
        /// P1 (highest) to P5.
        priority: String,
    },
    /// Slack incoming webhook (Block Kit).
    Slack,
    /// Microsoft Teams Workflows webhook (Adaptive Card).
    Teams,
    /// Discord webhook (embeds).
    Discord,
    /// Telegram Bot API `sendMessage`.
    Telegram {
        /// The bot's token from @BotFather.
        bot_token: String,
        /// The chat, group or channel (`-100…` or `@name`).
        chat_id: String,
    },
    /// Alertmanager v2 API.
    Alertmanager,
}

impl OnCallService {
    /// The `type:` of this service in monitors.yaml.
    pub fn type_name(&self) -> &'static str {
        match self {
            OnCallService::PagerDuty { .. } => "pagerduty",
            OnCallService::Opsgenie { .. } => "opsgenie",
            OnCallService::Slack => "slack",
            OnCallService::Teams => "teams",
            OnCallService::Discord => "discord",
            OnCallService::Telegram { .. } => "telegram",
            OnCallService::Alertmanager => "alertmanager",
        }
    }
}

impl std::fmt::Debug for OnCallSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL of a webhook service is its credential: show the host only.
        let host = url::Url::parse(&self.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string));
        f.debug_struct("OnCallSettings")
            .field("service", &self.service.type_name())
            .field("host", &host)
            .field("timeout", &self.timeout)
            .finish()
    }
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
