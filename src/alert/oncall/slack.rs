//! Slack incoming webhook: Block Kit `blocks` with a plain `text` fallback
//! (what notifications and old clients show). User text is escaped for
//! mrkdwn (`&`, `<`, `>`) so a hostile message cannot forge a link or a mention.

use super::{ApiRequest, cap, facts};
use crate::alert::render::mrkdwn_escape as mrkdwn;
use crate::alert::view::AlertView;
use serde_json::{Value, json};

/// Slack's limits: header 150 characters, section text 3000, field 2000.
const HEADER_CHARS: usize = 150;
const SECTION_CHARS: usize = 3000;
const FIELD_CHARS: usize = 2000;

pub(super) fn request(url: &reqwest::Url, view: &AlertView) -> ApiRequest {
    let fields: Vec<Value> = facts(view)
        .into_iter()
        .filter(|(k, _)| !matches!(*k, "What" | "Hint"))
        .map(|(k, v)| json!({"type": "mrkdwn", "text": cap(&format!("*{k}*\n{}", mrkdwn(&v)), FIELD_CHARS)}))
        .collect();
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": cap(&view.summary, HEADER_CHARS)}}),
    ];
    // A section holds at most 10 fields.
    for chunk in fields.chunks(10) {
        blocks.push(json!({"type": "section", "fields": chunk}));
    }
    for (label, text) in [("What", &view.message), ("Hint", &view.hint)] {
        if let Some(text) = text {
            let text = cap(&format!("*{label}*\n{}", mrkdwn(text)), SECTION_CHARS);
            blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": text}}));
        }
    }
    if !view.evidence.is_empty() {
        let evidence = format!("```{}```", cap(&mrkdwn(&view.evidence), SECTION_CHARS - 6));
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": evidence}}));
    }
    if let Some(link) = &view.link {
        blocks.push(json!({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Open the monitor"}, "url": link}
        ]}));
    }
    ApiRequest {
        url: url.clone(),
        auth: None,
        body: json!({"text": view.summary, "blocks": blocks}),
    }
}
