//! The on-call channel types (`pagerduty`, `opsgenie`, `slack`, `teams`,
//! `discord`, `telegram`, `alertmanager`) → [`OnCallSettings`]. Keys and
//! tokens must come from `${VAR}`s, so they are never written in the file;
//! every error names its position and never echoes a secret.

use super::channel::{DEFAULT_DELIVERY_TIMEOUT, http_url};
use super::de::At;
use super::keys::fields_of;
use super::loader::Loader;
use crate::alert::oncall::default_url;
use crate::alert::settings::{ChannelSettings, OnCallService, OnCallSettings, TemplateOverrides};
use serde::Deserialize;

/// `type: pagerduty`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPagerDuty {
    #[serde(rename = "type")]
    pub _type: At<String>,
    pub routing_key: At<String>,
    pub url: Option<At<String>>,
    pub timeout: Option<At<String>>,
}

/// `type: opsgenie`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOpsgenie {
    #[serde(rename = "type")]
    pub _type: At<String>,
    pub api_key: At<String>,
    pub priority: Option<At<String>>,
    pub url: Option<At<String>>,
    pub timeout: Option<At<String>>,
}

/// `type: telegram`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTelegram {
    #[serde(rename = "type")]
    pub _type: At<String>,
    pub bot_token: At<String>,
    pub chat_id: At<String>,
    pub url: Option<At<String>>,
    pub timeout: Option<At<String>>,
}

/// `type: slack`, `teams`, `discord`, `alertmanager`: the URL is the whole setting.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawUrlOnly {
    #[serde(rename = "type")]
    pub _type: At<String>,
    pub url: At<String>,
    pub timeout: Option<At<String>>,
}

/// The keys of on-call type `kind`.
pub(crate) fn fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "pagerduty" => fields_of::<RawPagerDuty>(),
        "opsgenie" => fields_of::<RawOpsgenie>(),
        "telegram" => fields_of::<RawTelegram>(),
        _ => fields_of::<RawUrlOnly>(),
    }
}

/// The channel of on-call type `kind` written at `node`.
pub(crate) fn channel(
    l: &mut Loader,
    kind: &str,
    node: &super::node::Node,
) -> Option<(ChannelSettings, TemplateOverrides)> {
    let before = l.error_count();
    let settings = match kind {
        "pagerduty" => {
            let raw: RawPagerDuty = l.decode(node)?;
            let routing_key = l.secret("routing_key", &raw.routing_key);
            let url = endpoint(l, kind, raw.url.as_ref());
            build(
                l,
                raw.timeout.as_ref(),
                url,
                routing_key.map(|routing_key| OnCallService::PagerDuty { routing_key }),
            )
        }
        "opsgenie" => {
            let raw: RawOpsgenie = l.decode(node)?;
            let api_key = l.secret("api_key", &raw.api_key);
            let priority = priority(l, raw.priority.as_ref());
            let url = endpoint(l, kind, raw.url.as_ref());
            let service = match (api_key, priority) {
                (Some(api_key), Some(priority)) => {
                    Some(OnCallService::Opsgenie { api_key, priority })
                }
                _ => None,
            };
            build(l, raw.timeout.as_ref(), url, service)
        }
        "telegram" => {
            let raw: RawTelegram = l.decode(node)?;
            let bot_token = l.secret("bot_token", &raw.bot_token);
            let chat_id = chat_id(l, &raw.chat_id);
            let url = endpoint(l, kind, raw.url.as_ref());
            let service = match (bot_token, chat_id) {
                (Some(bot_token), Some(chat_id)) => {
                    Some(OnCallService::Telegram { bot_token, chat_id })
                }
                _ => None,
            };
            build(l, raw.timeout.as_ref(), url, service)
        }
        _ => {
            let raw: RawUrlOnly = l.decode(node)?;
            let url = endpoint(l, kind, Some(&raw.url));
            let service = match kind {
                "slack" => OnCallService::Slack,
                "teams" => OnCallService::Teams,
                "discord" => OnCallService::Discord,
                _ => OnCallService::Alertmanager,
            };
            build(l, raw.timeout.as_ref(), url, Some(service))
        }
    };
    (l.error_count() == before)
        .then_some(settings)
        .flatten()
        .map(|s| (ChannelSettings::OnCall(s), TemplateOverrides::default()))
}

fn build(
    l: &mut Loader,
    timeout: Option<&At<String>>,
    url: Option<String>,
    service: Option<OnCallService>,
) -> Option<OnCallSettings> {
    let timeout = match timeout {
        Some(t) => l.positive_duration("timeout", t)?,
        None => DEFAULT_DELIVERY_TIMEOUT,
    };
    Some(OnCallSettings {
        service: service?,
        url: url?,
        timeout,
    })
}

/// The configured URL, or the service's documented default.
fn endpoint(l: &mut Loader, kind: &str, v: Option<&At<String>>) -> Option<String> {
    let Some(v) = v else {
        return default_url(kind).map(str::to_string);
    };
    let url = l.text("url", v)?;
    match http_url(&url) {
        Ok(()) => Some(url.value),
        Err(reason) => {
            l.key_error(
                v.pos,
                "url",
                format!("invalid URL{}: {reason}", url.source_note()),
            );
            None
        }
    }
}

/// Opsgenie's P1 … P5, P3 unless set.
fn priority(l: &mut Loader, v: Option<&At<String>>) -> Option<String> {
    let Some(v) = v else {
        return Some("P3".into());
    };
    if matches!(v.value.as_str(), "P1" | "P2" | "P3" | "P4" | "P5") {
        Some(v.value.clone())
    } else {
        l.key_error(
            v.pos,
            "priority",
            format!("expected P1, P2, P3, P4 or P5, found {:?}", v.value),
        );
        None
    }
}

/// A Telegram chat: a number (negative for groups and channels) or `@channelname`.
fn chat_id(l: &mut Loader, v: &At<String>) -> Option<String> {
    let text = l.text("chat_id", v)?;
    let id = text.value.trim();
    let numeric = id.strip_prefix('-').unwrap_or(id);
    let valid = (!numeric.is_empty() && numeric.chars().all(|c| c.is_ascii_digit()))
        || id.strip_prefix('@').is_some_and(|n| {
            !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
    if !valid {
        l.key_error(
            v.pos,
            "chat_id",
            format!(
                "expected a chat id like -1001234567890 or @channelname, found {}",
                text.shown()
            ),
        );
        return None;
    }
    Some(id.to_string())
}
