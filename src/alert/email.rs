//! The email channel: one multipart/alternative message (text and HTML) per
//! alert, sent over SMTP ([`super::smtp`], every step under the channel's
//! timeout). Addresses are parsed and the TLS trust is built once, when the
//! channel is built.

use super::channel::{AlertChannel, AlertError, DeliveryError};
use super::delivery_id::DeliveryId;
use super::render::{ChannelKind, Rendered, Renderer};
use super::settings::EmailSettings;
use super::smtp::SmtpTarget;
use crate::notification::Notification;
use lettre::Message;
use lettre::message::{Mailbox, MultiPart};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// Delivers alerts by email.
pub struct EmailChannel {
    name: String,
    renderer: Renderer,
    smtp: SmtpTarget,
    from: Mailbox,
    to: Vec<Mailbox>,
}

impl EmailChannel {
    /// Parse the addresses and resolve the SMTP server for `settings`.
    pub fn new(
        name: &str,
        settings: &EmailSettings,
        renderer: Renderer,
    ) -> Result<EmailChannel, AlertError> {
        let from = parse_mailbox("from", &settings.from)?;
        let to = settings
            .to
            .iter()
            .map(|a| parse_mailbox("to", a))
            .collect::<Result<Vec<_>, _>>()?;
        if to.is_empty() {
            return Err(AlertError::Address {
                field: "to",
                value: String::new(),
                reason: "at least one recipient is needed".into(),
            });
        }
        Ok(EmailChannel {
            name: name.to_string(),
            renderer,
            smtp: SmtpTarget::new(settings)?,
            from,
            to,
        })
    }

    /// The message for one rendered alert. Its Message-ID is the delivery's
    /// key, so every retry of one delivery carries the same Message-ID and a
    /// mail system that saw it once can drop the repeat.
    fn message(
        &self,
        n: &Notification,
        id: &DeliveryId,
        r: &Rendered,
    ) -> Result<Message, AlertError> {
        let domain = self.from.email.domain().to_string();
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(r.subject.clone())
            .date_now()
            .message_id(Some(format!("<wsprobe.{id}@{domain}>")))
            // Mail clients thread the DOWN, reminders and RECOVERED of one incident.
            .references(format!("<wsprobe.{}@{domain}>", n.incident_id()))
            .header(IncidentHeader(n.incident_id()));
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                r.text.clone(),
                r.html.clone(),
            ))
            .map_err(|e| AlertError::Message {
                reason: e.to_string(),
            })
    }

    async fn send(&self, n: &Notification, id: &DeliveryId) -> Result<(), DeliveryError> {
        let rendered = self
            .renderer
            .render_delivery(ChannelKind::Email, n, Some(id))?;
        let message = self.message(n, id, &rendered)?;
        self.smtp
            .send(message.envelope(), &message.formatted())
            .await
    }
}

impl AlertChannel for EmailChannel {
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
        self.smtp.time_limit(self.to.len())
    }
}

fn parse_mailbox(field: &'static str, value: &str) -> Result<Mailbox, AlertError> {
    value.parse::<Mailbox>().map_err(|e| AlertError::Address {
        field,
        value: value.to_string(),
        reason: e.to_string(),
    })
}

/// `X-Wsprobe-Incident`: the incident's id, for mail rules and ticket
/// systems that group the DOWN, REMINDERs and RECOVERED of one outage.
#[derive(Debug, Clone)]
struct IncidentHeader(String);

impl lettre::message::header::Header for IncidentHeader {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str(INCIDENT_HEADER)
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(IncidentHeader(s.to_string()))
    }

    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// The email header naming the incident.
pub const INCIDENT_HEADER: &str = "X-Wsprobe-Incident";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::sample;
    use crate::alert::settings::SmtpSecurity;
    use crate::alert::settings::TemplateOverrides;
    use crate::notification::NotificationKind;

    fn settings(from: &str, to: &[&str]) -> EmailSettings {
        EmailSettings {
            host: "127.0.0.1".into(),
            port: 2525,
            security: SmtpSecurity::None,
            username: None,
            password: None,
            from: from.into(),
            to: to.iter().map(|s| s.to_string()).collect(),
            timeout: Duration::from_secs(5),
            ca_file: None,
        }
    }

    fn build(s: &EmailSettings) -> Result<EmailChannel, AlertError> {
        EmailChannel::new(
            "ops",
            s,
            Renderer::new(&TemplateOverrides::default()).unwrap(),
        )
    }

    #[test]
    fn a_bad_address_is_refused_at_build_time_and_named() {
        let cases = [
            (
                "not an address",
                &["ops@example.com"][..],
                "from",
                "not an address",
            ),
            (
                "wsprobe <a@example.com>",
                &["ops@example.com", "oops"][..],
                "to",
                "oops",
            ),
            ("a@example.com", &[][..], "to", "at least one recipient"),
        ];
        for (from, to, field, named) in cases {
            let err = build(&settings(from, to)).err().expect("refused");
            let text = err.to_string();
            assert!(text.contains(field) && text.contains(named), "{text}");
        }
    }

    #[test]
    fn alerts_of_one_incident_share_a_thread_id_and_each_delivery_has_its_own_stable_message_id() {
        let ch = build(&settings(
            "wsprobe <alerts@example.com>",
            &["ops@example.com"],
        ))
        .unwrap();
        let down = sample::notification(NotificationKind::Down);
        let recovered = sample::notification(NotificationKind::Recovered);
        let at = down.at;
        let (down_id, recovered_id) = (
            DeliveryId::for_outbox_row(1, "ops", at),
            DeliveryId::for_outbox_row(2, "ops", at),
        );
        let raw = |n: &Notification, id: &DeliveryId| {
            let r = ch.renderer.render(ChannelKind::Email, n).unwrap();
            String::from_utf8(ch.message(n, id, &r).unwrap().formatted()).unwrap()
        };
        let (a, retry, b) = (
            raw(&down, &down_id),
            raw(&down, &down_id),
            raw(&recovered, &recovered_id),
        );
        let header = |m: &str, name: &str| {
            m.lines()
                .find(|l| l.starts_with(name))
                .map(str::to_string)
                .unwrap_or_default()
        };
        assert_eq!(header(&a, "References:"), header(&b, "References:"));
        assert_eq!(
            header(&a, "X-Wsprobe-Incident:"),
            format!("X-Wsprobe-Incident: {}", down.incident_id())
        );
        assert_eq!(
            header(&a, "X-Wsprobe-Incident:"),
            header(&b, "X-Wsprobe-Incident:")
        );
        assert!(header(&a, "References:").contains("@example.com>"));
        assert_eq!(
            header(&a, "Message-ID:"),
            format!("Message-ID: <wsprobe.{down_id}@example.com>")
        );
        assert_eq!(header(&a, "Message-ID:"), header(&retry, "Message-ID:"));
        assert_ne!(header(&a, "Message-ID:"), header(&b, "Message-ID:"));
        assert!(header(&a, "Date:").len() > 10);
        assert!(a.contains("multipart/alternative"));
    }
}
