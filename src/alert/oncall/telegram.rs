//! Telegram Bot API `sendMessage` (`POST /bot<token>/sendMessage`) to one
//! `chat_id`, with `parse_mode: HTML`: the headline bold, evidence in `<pre>`,
//! and every piece of user text escaped (`&`, `<`, `>`), the only escaping
//! Telegram's HTML mode needs. A 429 says how long to wait in
//! `parameters.retry_after`, which the outbox honours.

use super::{ApiRequest, cap, facts, join};
use crate::alert::channel::DeliveryError;
use crate::alert::render::mrkdwn_escape;
use crate::alert::view::AlertView;
use serde_json::json;
use std::time::Duration;

/// The Bot API's host.
pub const DEFAULT_URL: &str = "https://api.telegram.org";
/// A message's limit is 4096 characters after entities are parsed; the
/// evidence is cut well below it so the facts always fit.
const EVIDENCE_CHARS: usize = 2000;

pub(super) fn request(
    base: &reqwest::Url,
    bot_token: &str,
    chat_id: &str,
    view: &AlertView,
) -> Result<ApiRequest, DeliveryError> {
    Ok(ApiRequest {
        url: join(base, &[&format!("bot{bot_token}"), "sendMessage"]),
        auth: None,
        body: json!({
            "chat_id": chat_id,
            "text": text(view),
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": true},
        }),
    })
}

/// The message in Telegram's HTML.
fn text(view: &AlertView) -> String {
    let mut out = format!("<b>{}</b>\n", escape(&view.summary));
    for (k, v) in facts(view) {
        out.push_str(&format!("<b>{k}:</b> {}\n", escape(&v)));
    }
    if let Some(link) = &view.link {
        out.push_str(&format!(
            "<a href=\"{}\">Open the monitor</a>\n",
            escape_attr(link)
        ));
    }
    if !view.evidence.is_empty() {
        out.push_str(&format!(
            "<pre>{}</pre>",
            escape(&cap(&view.evidence, EVIDENCE_CHARS))
        ));
    }
    out
}

/// Telegram HTML: `&`, `<` and `>` must be written as entities (the same
/// three Slack's mrkdwn needs).
fn escape(s: &str) -> String {
    mrkdwn_escape(s)
}

/// In an attribute, the quote too.
fn escape_attr(s: &str) -> String {
    escape(s).replace('"', "&quot;")
}

/// A refused message with Telegram's `parameters.retry_after` carried as
/// the wait the outbox honours.
pub(super) fn with_retry_after(e: DeliveryError) -> DeliveryError {
    match e {
        DeliveryError::HttpStatus {
            peer,
            status,
            body,
            retry_after: None,
        } => {
            let asked = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["parameters"]["retry_after"].as_u64())
                .map(Duration::from_secs);
            DeliveryError::HttpStatus {
                peer,
                status,
                body,
                retry_after: asked,
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::sample;
    use crate::notification::NotificationKind;

    #[test]
    fn hostile_text_is_escaped_and_the_markup_stays_ours() {
        let mut n = sample::notification(NotificationKind::Down);
        n.monitor = "<b>x</b> & <a href=\"https://evil\">y</a>".into();
        n.message = Some("</pre><script>1 < 2 && 3 > 2</script>".into());
        let text = text(&AlertView::new(&n));
        assert!(
            text.contains("&lt;b&gt;x&lt;/b&gt; &amp; &lt;a href=\"https://evil\"&gt;y&lt;/a&gt;"),
            "{text}"
        );
        assert!(
            text.contains("&lt;/pre&gt;&lt;script&gt;1 &lt; 2 &amp;&amp; 3 &gt; 2"),
            "{text}"
        );
        assert!(!text.contains("<script>") && !text.contains("<a href=\"https://evil"));
    }

    #[test]
    fn a_429_body_gives_the_wait() {
        let refused = DeliveryError::HttpStatus {
            peer: "Telegram",
            status: 429,
            body: r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#.into(),
            retry_after: None,
        };
        assert_eq!(
            with_retry_after(refused).retry_after(),
            Some(Duration::from_secs(7))
        );
    }
}
