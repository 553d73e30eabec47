//! The one HTTP POST path every HTTP channel shares (webhook and the on-call
//! services): a client bounded by the channel's `timeout` from connect to the
//! last byte of the answer, a success only on 2xx, the first bytes of any
//! other answer kept with its `Retry-After`, and failures that never carry
//! the URL or a credential — a receiver echoing the key back in its error
//! page does not get it into the logs, the outbox or the API.

use super::channel::{AlertError, DeliveryError, error_chain};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use std::time::Duration;

/// How much of an error response body is kept.
pub const BODY_SNIPPET_BYTES: usize = 512;
/// What replaces a channel secret found in an answer.
const REDACTED: &str = "[redacted]";

/// Posts one channel's requests.
pub struct HttpPoster {
    client: reqwest::Client,
    /// Who answers, in errors: "webhook", "PagerDuty", … (never the URL).
    peer: &'static str,
    timeout: Duration,
    /// Values that must never leave in an error: keys, tokens, secret URLs.
    secrets: Vec<String>,
}

impl HttpPoster {
    /// A client for `peer` bounded by `timeout`; `secrets` are cut out of
    /// every answer kept.
    pub fn new(
        peer: &'static str,
        timeout: Duration,
        secrets: Vec<String>,
    ) -> Result<HttpPoster, AlertError> {
        // The process-wide rustls provider; another part of wsprobe may have
        // installed it already, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            // The total bound covers connect, TLS, the request, the response
            // head and the body read; connect gets its own so its failure says so.
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("wsprobe/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| AlertError::Http {
                peer,
                reason: format!("cannot build the HTTP client: {}", error_chain(&e)),
            })?;
        let secrets = secrets.into_iter().filter(|s| s.len() >= 4).collect();
        Ok(HttpPoster {
            client,
            peer,
            timeout,
            secrets,
        })
    }

    /// A POST to `url`, to be finished (headers, body) and given to [`HttpPoster::send`].
    pub fn post(&self, url: reqwest::Url) -> reqwest::RequestBuilder {
        self.client.post(url)
    }

    /// Send `request`; `Ok` on any 2xx.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<(), DeliveryError> {
        let mut response = request.send().await.map_err(|e| self.failure(e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = retry_after(response.headers());
        let mut snippet: Vec<u8> = Vec::new();
        // Read only what is kept: an error page can be large.
        while snippet.len() < BODY_SNIPPET_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => snippet.extend_from_slice(&chunk),
                // A body cut short still leaves the status to report.
                Ok(None) | Err(_) => break,
            }
        }
        snippet.truncate(BODY_SNIPPET_BYTES);
        Err(DeliveryError::HttpStatus {
            peer: self.peer,
            status: status.as_u16(),
            body: self.redact(String::from_utf8_lossy(&snippet).trim()),
            retry_after,
        })
    }

    /// `text` with every channel secret replaced.
    fn redact(&self, text: &str) -> String {
        self.secrets
            .iter()
            .fold(text.to_string(), |t, secret| t.replace(secret, REDACTED))
    }

    /// The request failed before a status: a timeout names what was awaited,
    /// anything else keeps reqwest's reason. Never the URL: it can carry a
    /// token (Slack and Telegram put it in the path).
    fn failure(&self, e: reqwest::Error) -> DeliveryError {
        if e.is_timeout() {
            DeliveryError::Timeout {
                peer: self.peer.into(),
                step: if e.is_connect() {
                    "the connect"
                } else {
                    "the request"
                },
                limit: self.timeout,
            }
        } else {
            DeliveryError::Http {
                peer: self.peer,
                reason: self.redact(&error_chain(&e.without_url())),
            }
        }
    }

    /// The longest one delivery can take: reqwest enforces `timeout` over the
    /// whole exchange, and the margin lets its own, more precise error win the race.
    pub fn time_limit(&self) -> Duration {
        self.timeout.saturating_add(Duration::from_secs(1))
    }
}

/// `Retry-After` as seconds or an HTTP date (RFC 9110 §10.2.3); a date in
/// the past means "now".
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_is_read_as_seconds_or_as_a_date() {
        let header = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(RETRY_AFTER, HeaderValue::from_str(v).unwrap());
            retry_after(&h)
        };
        assert_eq!(header("120"), Some(Duration::from_secs(120)));
        assert_eq!(header(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(
            header("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        let soon = (chrono::Utc::now() + chrono::Duration::seconds(90)).to_rfc2822();
        let wait = header(&soon).expect("a future date");
        assert!(
            wait > Duration::from_secs(80) && wait <= Duration::from_secs(90),
            "{wait:?}"
        );
        assert_eq!(header("soon"), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn secrets_are_cut_out_of_what_is_kept_and_short_values_are_left_alone() {
        let poster = HttpPoster::new(
            "PagerDuty",
            Duration::from_secs(1),
            vec!["R0UT1NGKEY".into(), "ab".into()],
        )
        .unwrap();
        assert_eq!(
            poster.redact("invalid routing key R0UT1NGKEY (ab)"),
            "invalid routing key [redacted] (ab)"
        );
    }
}
