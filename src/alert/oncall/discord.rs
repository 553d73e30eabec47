//! Discord webhook: one embed per alert, coloured by kind, with the facts as
//! fields and a link to the monitor; `allowed_mentions` is empty so a hostile
//! message cannot ping `@everyone`. Discord answers 204 (429 with
//! `Retry-After` when rate limited).

use super::{ApiRequest, cap, facts};
use crate::alert::view::AlertView;
use serde_json::{Value, json};

/// Under Discord's limits (title 256, description 4096, field value 1024)
/// so that the whole embed stays under its 6000 characters.
const TITLE_CHARS: usize = 256;
const DESCRIPTION_CHARS: usize = 3000;
const VALUE_CHARS: usize = 200;

/// Red, green and orange.
const DOWN: u32 = 0xD0_3A_2F;
const RECOVERED: u32 = 0x2D_A4_4E;
const REMINDER: u32 = 0xE3_8B_1A;

pub(super) fn request(url: &reqwest::Url, view: &AlertView) -> ApiRequest {
    let color = match view.kind {
        "down" => DOWN,
        "recovered" => RECOVERED,
        _ => REMINDER,
    };
    let fields: Vec<Value> = facts(view)
        .into_iter()
        .filter(|(k, _)| !matches!(*k, "What" | "Hint"))
        .map(|(name, value)| json!({"name": name, "value": cap(&value, VALUE_CHARS), "inline": true}))
        .collect();
    let mut description = String::new();
    for text in [&view.message, &view.hint].into_iter().flatten() {
        description.push_str(text);
        description.push_str("\n\n");
    }
    if !view.evidence.is_empty() {
        description.push_str(&format!(
            "```\n{}\n```",
            view.evidence.replace("```", "'''")
        ));
    }
    let mut embed = json!({
        "title": cap(&view.summary, TITLE_CHARS),
        "description": cap(&description, DESCRIPTION_CHARS),
        "color": color,
        "fields": fields,
        "timestamp": view.at,
        "footer": {"text": format!("wsprobe · {}", view.incident_id)},
    });
    if let Some(link) = &view.link {
        embed["url"] = json!(link);
    }
    ApiRequest {
        url: url.clone(),
        auth: None,
        body: json!({"embeds": [embed], "allowed_mentions": {"parse": []}}),
    }
}
