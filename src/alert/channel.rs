//! The one alert trait, the errors of the alert domain, and the factory that
//! turns a configured channel into a ready-to-use [`AlertChannel`]. Channels
//! render with their own [`Renderer`] and deliver; deciding *when* to alert
//! (thresholds, reminders, the outbox) belongs to `state`.

use super::delivery_id::DeliveryId;
use super::email::EmailChannel;
use super::file::FileChannel;
use super::oncall::OnCallChannel;
use super::render::Renderer;
use super::settings::{ChannelConfig, ChannelSettings};
use super::webhook::WebhookChannel;
use crate::notification::Notification;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// A place alerts go: renders a notification with its templates, then sends it.
pub trait AlertChannel: Send + Sync {
    /// The channel's configured name.
    fn name(&self) -> &str;

    /// Render `n` and deliver it, carrying `id` so the receiver can drop a
    /// repeated delivery; `Ok` only once the receiver accepted it. Every
    /// network step is bounded by the channel's own `timeout`.
    fn deliver<'a>(
        &'a self,
        n: &'a Notification,
        id: &'a DeliveryId,
    ) -> Pin<Box<dyn Future<Output = Result<(), DeliveryError>> + Send + 'a>>;

    /// The longest one delivery can take when every step uses its whole
    /// timeout; the dispatcher abandons an attempt that outlives it.
    fn time_limit(&self) -> Duration;

    /// Whether several monitors' alerts may reach it as one grouped
    /// notification (`settings.group_window`). True for channels people
    /// read; false for those that track each incident themselves and must
    /// resolve it on its own RECOVERED (PagerDuty, Opsgenie, Alertmanager).
    fn groups(&self) -> bool {
        true
    }
}

/// Deliver `n` through `channel` under `id`, abandoning the attempt once it
/// outlives the channel's [`AlertChannel::time_limit`]: each channel bounds
/// its own steps, and this bound holds even for a step that forgot to.
pub async fn deliver_within(
    channel: &dyn AlertChannel,
    n: &Notification,
    id: &DeliveryId,
) -> Result<(), DeliveryError> {
    let limit = channel.time_limit();
    match tokio::time::timeout(limit, channel.deliver(n, id)).await {
        Ok(result) => result,
        Err(_) => Err(DeliveryError::Timeout {
            peer: format!("channel {}", channel.name()),
            step: "the whole delivery",
            limit,
        }),
    }
}

/// Build the channel `cfg` describes: templates read and tried, addresses and
/// URLs parsed, clients built — so configuration problems show at startup.
pub fn build_channel(cfg: &ChannelConfig) -> Result<Arc<dyn AlertChannel>, AlertError> {
    let named = |source: AlertError| AlertError::Channel {
        channel: cfg.name.clone(),
        source: Box::new(source),
    };
    let renderer = Renderer::new(&cfg.templates)
        .map_err(named)?
        .for_channel(&cfg.name);
    let channel: Arc<dyn AlertChannel> = match &cfg.settings {
        ChannelSettings::Email(s) => {
            Arc::new(EmailChannel::new(&cfg.name, s, renderer).map_err(named)?)
        }
        ChannelSettings::Webhook(s) => {
            Arc::new(WebhookChannel::new(&cfg.name, s, renderer).map_err(named)?)
        }
        ChannelSettings::File(s) => Arc::new(FileChannel::new(&cfg.name, s, renderer)),
        ChannelSettings::OnCall(s) => Arc::new(OnCallChannel::new(&cfg.name, s).map_err(named)?),
    };
    Ok(channel)
}

/// A channel could not be built, or an alert could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    /// A problem with one named channel.
    #[error("channel {channel}: {source}")]
    Channel {
        /// The channel's name.
        channel: String,
        /// What went wrong.
        source: Box<AlertError>,
    },
    /// A template override could not be read or compiled.
    #[error("template {path}: {reason}")]
    TemplateFile {
        /// The override's path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A template failed to compile or render.
    #[error("template {name}: {reason}")]
    Template {
        /// The override's path, or the built-in template's name.
        name: String,
        /// minijinja's message, with the line.
        reason: String,
    },
    /// A webhook body template produced something that is not JSON.
    #[error("template {name} did not produce valid JSON: {reason}")]
    InvalidJson {
        /// The override's path, or the built-in template's name.
        name: String,
        /// The parser's message.
        reason: String,
    },
    /// An email address did not parse.
    #[error("invalid {field} address {value:?}: {reason}")]
    Address {
        /// "from" or "to".
        field: &'static str,
        /// The address as configured.
        value: String,
        /// Why it is invalid.
        reason: String,
    },
    /// The email could not be assembled from its rendered parts.
    #[error("could not build the email: {reason}")]
    Message {
        /// lettre's reason.
        reason: String,
    },
    /// An SMTP setting is unusable.
    #[error("SMTP server {host}: {reason}")]
    Smtp {
        /// The configured host.
        host: String,
        /// Why.
        reason: String,
    },
    /// A webhook setting is unusable. Never echoes the URL or a header value:
    /// both can be credentials.
    #[error("webhook: {reason}")]
    Webhook {
        /// Why.
        reason: String,
    },
    /// An HTTP channel's client or endpoint is unusable. Never echoes the
    /// URL or a key.
    #[error("{peer}: {reason}")]
    Http {
        /// The service, e.g. "PagerDuty".
        peer: &'static str,
        /// Why.
        reason: String,
    },
}

/// An alert was not delivered. Carries the receiver's answer, never a secret.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The notification could not be rendered.
    #[error("could not render the alert: {0}")]
    Render(#[from] AlertError),
    /// The SMTP server refused the message.
    #[error("SMTP server {server} answered {code}: {message}")]
    SmtpRejected {
        /// host:port.
        server: String,
        /// The reply code, e.g. 550.
        code: u16,
        /// The server's reply text.
        message: String,
    },
    /// The SMTP exchange failed before an answer: connection, TLS, timeout.
    #[error("SMTP server {server}: {reason}")]
    Smtp {
        /// host:port.
        server: String,
        /// What failed, e.g. "Connection error: Connection refused (os error 111)".
        reason: String,
    },
    /// A step of the exchange got no answer within the channel's `timeout`.
    #[error("{peer}: no answer within {} to {step}", humantime::format_duration(*limit))]
    Timeout {
        /// Who was silent, e.g. "SMTP server mail.example.com:587" or
        /// "webhook" (never the URL, which may hold a token).
        peer: String,
        /// What was awaited, e.g. "the end of the message".
        step: &'static str,
        /// The channel's timeout.
        limit: Duration,
    },
    /// An HTTP channel answered with a non-2xx status.
    #[error("{peer} answered HTTP {status}: {body}")]
    HttpStatus {
        /// Who answered: "webhook", "PagerDuty", … (never the URL).
        peer: &'static str,
        /// The status code.
        status: u16,
        /// The first 512 bytes of the response body, lossily decoded, the
        /// channel's secrets cut out.
        body: String,
        /// When the receiver asked to be tried again (`Retry-After`, or the
        /// service's own field), e.g. with a 429.
        retry_after: Option<Duration>,
    },
    /// The HTTP request failed before a response: connection, TLS, timeout.
    #[error("{peer} request failed: {reason}")]
    Http {
        /// Who was called: "webhook", "PagerDuty", …
        peer: &'static str,
        /// What failed (without the URL, which may hold a token).
        reason: String,
    },
    /// The file channel could not write.
    #[error("cannot write alerts to {path}: {reason}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        reason: String,
    },
}

impl DeliveryError {
    /// How long the receiver asked us to wait before trying again, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            DeliveryError::HttpStatus { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// An error and its sources on one line, skipping a source whose text the
/// previous level already included.
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        let text = inner.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = inner.source();
    }
    out
}
