//! The webhook channel: POST the rendered JSON body, optionally signed with
//! HMAC-SHA256 so the receiver can tell it came from us, with the delivery's
//! idempotency key in two headers and the body. The HTTP client, the URL and
//! the headers are built once, when the channel is built; the channel's
//! `timeout` bounds the whole exchange, connect to the last byte of the answer.

use super::channel::{AlertChannel, AlertError, DeliveryError};
use super::delivery_id::DeliveryId;
use super::http::HttpPoster;
use super::render::{ChannelKind, Renderer};
use super::settings::WebhookSettings;
use crate::notification::Notification;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use sha2::Sha256;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub use super::http::BODY_SNIPPET_BYTES;
/// The signature header: `sha256=<hex>`.
pub const SIGNATURE_HEADER: &str = "X-Wsprobe-Signature";
/// When the request was signed, Unix seconds.
pub const TIMESTAMP_HEADER: &str = "X-Wsprobe-Timestamp";
/// The delivery's key, under the name payment and chat APIs dedup on.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";
/// The same key under wsprobe's own name.
pub const DELIVERY_HEADER: &str = "X-Wsprobe-Delivery";

/// Delivers alerts by HTTP POST.
pub struct WebhookChannel {
    name: String,
    renderer: Renderer,
    poster: HttpPoster,
    url: reqwest::Url,
    headers: HeaderMap,
    secret: Option<String>,
}

impl WebhookChannel {
    /// Parse the URL and headers and build the HTTP client for `settings`.
    pub fn new(
        name: &str,
        settings: &WebhookSettings,
        renderer: Renderer,
    ) -> Result<WebhookChannel, AlertError> {
        let url = reqwest::Url::parse(&settings.url).map_err(|e| AlertError::Webhook {
            reason: format!("invalid URL: {e}"),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(AlertError::Webhook {
                reason: format!("the URL must be http or https, not {}", url.scheme()),
            });
        }
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (key, value) in &settings.headers {
            let header =
                HeaderName::from_bytes(key.as_bytes()).map_err(|_| AlertError::Webhook {
                    reason: format!("invalid header name {key:?}"),
                })?;
            let mut value = HeaderValue::from_str(value).map_err(|_| AlertError::Webhook {
                reason: format!("invalid value for header {key:?}"),
            })?;
            // Configured values are often tokens: keep them out of Debug output.
            value.set_sensitive(true);
            headers.insert(header, value);
        }
        // A receiver echoing a header value, the signing key or its own URL
        // (Slack-style tokens sit in the path) keeps it out of the error.
        let secrets = settings
            .headers
            .iter()
            .map(|(_, v)| v.clone())
            .chain(settings.secret.clone())
            .chain([settings.url.clone(), url.path().to_string()])
            .collect();
        let poster = HttpPoster::new("webhook", settings.timeout, secrets)?;
        Ok(WebhookChannel {
            name: name.to_string(),
            renderer,
            poster,
            url,
            headers,
            secret: settings.secret.clone(),
        })
    }

    async fn send(&self, n: &Notification, id: &DeliveryId) -> Result<(), DeliveryError> {
        let body = self
            .renderer
            .render_delivery(ChannelKind::Webhook, n, Some(id))?
            .body;
        let mut request = self
            .poster
            .post(self.url.clone())
            .headers(self.headers.clone())
            .header(IDEMPOTENCY_HEADER, id.as_str())
            .header(DELIVERY_HEADER, id.as_str());
        if let Some(secret) = &self.secret {
            let timestamp = chrono::Utc::now().timestamp().to_string();
            request = request
                .header(SIGNATURE_HEADER, signature(secret, body.as_bytes()))
                .header(TIMESTAMP_HEADER, timestamp);
        }
        self.poster.send(request.body(body)).await
    }
}

impl AlertChannel for WebhookChannel {
    fn name(&self) -> &str {
        &self.name
    }

    fn deliver<'a>(
        &'a self,
        n: &'a Notification,
        id: &'a DeliveryId,
    ) -> Pin<Box<dyn Future<Output = Result<(), DeliveryError>> + Send + 'a>> {
        Box::pin(self.send(n, id))
    }

    fn time_limit(&self) -> Duration {
        self.poster.time_limit()
    }
}

/// `sha256=<hex HMAC-SHA256(secret, body)>`, the value of [`SIGNATURE_HEADER`].
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::settings::TemplateOverrides;
    use std::time::Duration;

    #[test]
    fn the_signature_matches_rfc_4231_test_vectors() {
        let cases = [
            (
                "Jefe",
                &b"what do ya want for nothing?"[..],
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                "\u{0b}\u{0b}\u{0b}\u{0b}\u{0b}\u{0b}\u{0b}\u{0b}\u{0b}\u{0b}\u{0b}\u{0b}\u{0b}\u{0b}\u{0b}\u{0b}\u{0b}\u{0b}\u{0b}\u{0b}",
                &b"Hi There"[..],
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
        ];
        for (key, data, hex) in cases {
            assert_eq!(signature(key, data), format!("sha256={hex}"));
        }
    }

    #[test]
    fn bad_settings_are_refused_without_echoing_secrets() {
        let base = WebhookSettings {
            url: "https://hooks.example.com/services/T0/B0/tok3n".into(),
            headers: vec![],
            secret: Some("hmac-key".into()),
            timeout: Duration::from_secs(5),
        };
        let cases = [
            (
                WebhookSettings {
                    url: "ftp://hooks.example.com/tok3n".into(),
                    ..base.clone()
                },
                "must be http or https",
            ),
            (
                WebhookSettings {
                    url: "not a url tok3n".into(),
                    ..base.clone()
                },
                "invalid URL",
            ),
            (
                WebhookSettings {
                    headers: vec![("Bad Name".into(), "tok3n".into())],
                    ..base.clone()
                },
                "invalid header name \"Bad Name\"",
            ),
            (
                WebhookSettings {
                    headers: vec![("Authorization".into(), "Bearer tok3n\n".into())],
                    ..base.clone()
                },
                "invalid value for header \"Authorization\"",
            ),
        ];
        for (settings, expected) in cases {
            let renderer = Renderer::new(&TemplateOverrides::default()).unwrap();
            let err = WebhookChannel::new("hook", &settings, renderer)
                .err()
                .expect("refused")
                .to_string();
            assert!(err.contains(expected), "{err}");
            assert!(!err.contains("tok3n"), "{err}");
        }
    }
}
