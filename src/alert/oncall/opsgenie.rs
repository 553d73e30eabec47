//! Opsgenie Alert API: `POST /v2/alerts` with `Authorization: GenieKey …`,
//! the incident id as `alias` (a REMINDER with the same alias is counted on
//! the open alert, not opened again); RECOVERED closes it with `POST
//! /v2/alerts/{alias}/close?identifierType=alias`. The EU instance is
//! `url: https://api.eu.opsgenie.com`. Opsgenie answers 202.

use super::{ApiRequest, cap, facts, join};
use crate::alert::channel::DeliveryError;
use crate::alert::view::AlertView;
use reqwest::header::HeaderValue;
use serde_json::json;

/// The US instance; the EU one is `https://api.eu.opsgenie.com`.
pub const DEFAULT_URL: &str = "https://api.opsgenie.com";
/// Opsgenie's limits of `message` and `description`.
const MESSAGE_CHARS: usize = 130;
const DESCRIPTION_CHARS: usize = 15_000;

pub(super) fn request(
    base: &reqwest::Url,
    api_key: &str,
    priority: &str,
    view: &AlertView,
) -> Result<ApiRequest, DeliveryError> {
    let auth =
        HeaderValue::from_str(&format!("GenieKey {api_key}")).map_err(|_| DeliveryError::Http {
            peer: "Opsgenie",
            reason: "the API key is not valid in a header".into(),
        })?;
    let (url, body) = if view.kind == "recovered" {
        let mut url = join(base, &["v2", "alerts", &view.incident_id, "close"]);
        url.set_query(Some("identifierType=alias"));
        (url, json!({ "source": "wsprobe", "note": view.summary }))
    } else {
        (join(base, &["v2", "alerts"]), create(view, priority))
    };
    Ok(ApiRequest {
        url,
        auth: Some(auth),
        body,
    })
}

fn create(view: &AlertView, priority: &str) -> serde_json::Value {
    let description: String = facts(view)
        .iter()
        .map(|(k, v)| format!("{k}: {v}\n"))
        .chain([format!("\n{}", view.evidence)])
        .collect();
    let mut details = serde_json::Map::new();
    for (key, value) in facts(view) {
        details.insert(key.to_lowercase().replace(' ', "_"), json!(value));
    }
    if let Some(link) = &view.link {
        details.insert("link".into(), json!(link));
    }
    json!({
        "message": cap(&view.summary, MESSAGE_CHARS),
        "alias": view.incident_id,
        "description": cap(&description, DESCRIPTION_CHARS),
        "details": details,
        "entity": view.monitor,
        "source": "wsprobe",
        "tags": ["wsprobe", view.class],
        "priority": priority,
    })
}
