//! Microsoft Teams through a Workflows (Power Automate) webhook: a `message`
//! whose `attachments` hold one Adaptive Card, the envelope the "When a
//! Teams webhook request is received" trigger expects. Card text is plain:
//! Adaptive Card `TextBlock`s render a subset of Markdown, so user text is
//! shown in `FactSet`s and code-like blocks rather than interpreted.

use super::{ApiRequest, facts};
use crate::alert::view::AlertView;
use serde_json::{Value, json};

pub(super) fn request(url: &reqwest::Url, view: &AlertView) -> ApiRequest {
    let colour = match view.kind {
        "down" => "Attention",
        "recovered" => "Good",
        _ => "Warning",
    };
    let facts: Vec<Value> = facts(view)
        .into_iter()
        .map(|(title, value)| json!({"title": title, "value": value}))
        .collect();
    let mut body = vec![
        json!({"type": "TextBlock", "text": view.summary, "weight": "Bolder", "size": "Medium", "color": colour, "wrap": true}),
        json!({"type": "FactSet", "facts": facts}),
    ];
    if !view.evidence.is_empty() {
        body.push(json!({"type": "TextBlock", "text": view.evidence, "fontType": "Monospace", "wrap": true, "isSubtle": true}));
    }
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    });
    if let Some(link) = &view.link {
        card["actions"] =
            json!([{"type": "Action.OpenUrl", "title": "Open the monitor", "url": link}]);
    }
    ApiRequest {
        url: url.clone(),
        auth: None,
        body: json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": card,
            }],
        }),
    }
}
