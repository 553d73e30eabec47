//! The on-call channels: one module per service, each turning the alert's
//! [`AlertView`] into the request that service's API documents, all sent
//! through the one HTTP path ([`super::http`]) the webhook uses, so they share
//! its bound, its secret-free errors and the outbox's retries (a 429's
//! `Retry-After` included). Every request carries the incident id where the
//! service dedups on one (PagerDuty `dedup_key`, Opsgenie `alias`).

mod alertmanager;
mod discord;
mod opsgenie;
mod pagerduty;
mod slack;
mod teams;
mod telegram;

use super::channel::{AlertChannel, AlertError, DeliveryError};
use super::delivery_id::DeliveryId;
use super::http::HttpPoster;
use super::settings::{OnCallService, OnCallSettings};
use super::view::AlertView;
use crate::notification::Notification;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// The documented endpoint of each service, used unless `url` is set.
pub fn default_url(type_name: &str) -> Option<&'static str> {
    match type_name {
        "pagerduty" => Some(pagerduty::DEFAULT_URL),
        "opsgenie" => Some(opsgenie::DEFAULT_URL),
        "telegram" => Some(telegram::DEFAULT_URL),
        _ => None,
    }
}

/// One request to a service's API.
pub(crate) struct ApiRequest {
    /// Where, already joined to the configured base.
    pub url: reqwest::Url,
    /// The service's credential header, when it takes one.
    pub auth: Option<HeaderValue>,
    /// The JSON body.
    pub body: serde_json::Value,
}

/// Delivers alerts through one on-call service's API.
pub struct OnCallChannel {
    name: String,
    service: OnCallService,
    base: reqwest::Url,
    poster: HttpPoster,
}

impl OnCallChannel {
    /// Parse the URL and build the client for `settings`.
    pub fn new(name: &str, settings: &OnCallSettings) -> Result<OnCallChannel, AlertError> {
        let peer = peer(&settings.service);
        let base = reqwest::Url::parse(&settings.url).map_err(|e| AlertError::Http {
            peer,
            reason: format!("invalid URL: {e}"),
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(AlertError::Http {
                peer,
                reason: format!("the URL must be http or https, not {}", base.scheme()),
            });
        }
        let poster = HttpPoster::new(peer, settings.timeout, secrets(settings, &base))?;
        Ok(OnCallChannel {
            name: name.to_string(),
            service: settings.service.clone(),
            base,
            poster,
        })
    }

    /// The request `view` calls for, by the service's contract.
    fn request(&self, view: &AlertView) -> Result<ApiRequest, DeliveryError> {
        let base = &self.base;
        Ok(match &self.service {
            OnCallService::PagerDuty { routing_key } => pagerduty::request(base, routing_key, view),
            OnCallService::Opsgenie { api_key, priority } => {
                opsgenie::request(base, api_key, priority, view)?
            }
            OnCallService::Slack => slack::request(base, view),
            OnCallService::Teams => teams::request(base, view),
            OnCallService::Discord => discord::request(base, view),
            OnCallService::Telegram { bot_token, chat_id } => {
                telegram::request(base, bot_token, chat_id, view)?
            }
            OnCallService::Alertmanager => alertmanager::request(base, view),
        })
    }

    async fn send(&self, n: &Notification, id: &DeliveryId) -> Result<(), DeliveryError> {
        let mut view = AlertView::new(n);
        view.delivery_id = Some(id.to_string());
        let api = self.request(&view)?;
        let mut request = self
            .poster
            .post(api.url)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(super::webhook::IDEMPOTENCY_HEADER, id.as_str())
            .body(api.body.to_string());
        if let Some(mut auth) = api.auth {
            auth.set_sensitive(true);
            request = request.header(reqwest::header::AUTHORIZATION, auth);
        }
        let result = self.poster.send(request).await;
        match (&self.service, result) {
            // Telegram says how long to wait in its body, not in a header.
            (OnCallService::Telegram { .. }, Err(e)) => Err(telegram::with_retry_after(e)),
            (_, result) => result,
        }
    }
}

/// Who answers, in errors and logs.
fn peer(service: &OnCallService) -> &'static str {
    match service {
        OnCallService::PagerDuty { .. } => "PagerDuty",
        OnCallService::Opsgenie { .. } => "Opsgenie",
        OnCallService::Slack => "Slack",
        OnCallService::Teams => "Teams",
        OnCallService::Discord => "Discord",
        OnCallService::Telegram { .. } => "Telegram",
        OnCallService::Alertmanager => "Alertmanager",
    }
}

/// What must never appear in an error: the key or token, and for webhook
/// services the URL's path, which is their credential.
fn secrets(settings: &OnCallSettings, base: &reqwest::Url) -> Vec<String> {
    let mut out = vec![settings.url.clone()];
    match &settings.service {
        OnCallService::PagerDuty { routing_key } => out.push(routing_key.clone()),
        OnCallService::Opsgenie { api_key, .. } => out.push(api_key.clone()),
        OnCallService::Telegram { bot_token, .. } => out.push(bot_token.clone()),
        OnCallService::Slack | OnCallService::Teams | OnCallService::Discord => {
            out.push(base.path().to_string())
        }
        OnCallService::Alertmanager => {}
    }
    out
}

/// `base` with `path` appended to its own path (a proxy prefix survives).
pub(crate) fn join(base: &reqwest::Url, path: &[&str]) -> reqwest::Url {
    let mut url = base.clone();
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty().extend(path);
    }
    url
}

/// At most `max` characters, with "…" when cut: every service caps its fields.
pub(crate) fn cap(s: &str, max: usize) -> String {
    super::view::truncate_chars(s, max)
}

/// The lines every chat message shows besides its headline: class, phase,
/// what, hint, the outage and the incident.
pub(crate) fn facts(view: &AlertView) -> Vec<(&'static str, String)> {
    let mut out = vec![("Monitor", view.monitor.clone()), ("URL", view.url.clone())];
    let class = match view.previous_class {
        Some(prev) => format!("{} (was {prev})", view.class),
        None => view.class.to_string(),
    };
    out.push(("Class", class));
    out.push(("Phase", view.phase.unwrap_or("-").to_string()));
    if let Some(m) = &view.message {
        out.push(("What", m.clone()));
    }
    if let Some(h) = &view.hint {
        out.push(("Hint", h.clone()));
    }
    out.push(("First seen", view.first_seen_text.clone()));
    if let Some(o) = &view.outage {
        let label = if view.kind == "recovered" {
            "Outage"
        } else {
            "Down for"
        };
        out.push((label, o.clone()));
    }
    out.push(("Failed runs", view.failed_runs.to_string()));
    if view.kind == "recovered" && !view.classes_seen.is_empty() {
        out.push(("Classes seen", view.classes_seen.join(", ")));
    }
    out.push(("Incident", view.incident_id.clone()));
    out
}

impl AlertChannel for OnCallChannel {
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

    fn groups(&self) -> bool {
        !matches!(
            self.service,
            OnCallService::PagerDuty { .. }
                | OnCallService::Opsgenie { .. }
                | OnCallService::Alertmanager
        )
    }
}
