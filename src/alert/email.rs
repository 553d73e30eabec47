//! The email channel: one multipart/alternative message (text and HTML) per
//! alert, sent over SMTP with lettre. Addresses are parsed and the transport
//! is built once, when the channel is built.

use super::channel::{AlertChannel, AlertError, DeliveryError, error_chain};
use super::render::{ChannelKind, Rendered, Renderer};
use super::settings::{EmailSettings, SmtpSecurity};
use crate::notification::Notification;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sha2::{Digest, Sha256};
use std::future::Future;
use std::pin::Pin;

/// Delivers alerts by email.
pub struct EmailChannel {
    name: String,
    renderer: Renderer,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
    /// "host:port", for errors.
    server: String,
}

impl EmailChannel {
    /// Parse the addresses and build the SMTP transport for `settings`.
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
        let smtp_error = |e: lettre::transport::smtp::Error| AlertError::Smtp {
            host: settings.host.clone(),
            reason: error_chain(&e),
        };
        let builder = match settings.security {
            SmtpSecurity::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host)
                    .map_err(smtp_error)?
            }
            SmtpSecurity::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.host).map_err(smtp_error)?
            }
            SmtpSecurity::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            }
        };
        let mut builder = builder.port(settings.port).timeout(Some(settings.timeout));
        if let Some(user) = &settings.username {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                settings.password.clone().unwrap_or_default(),
            ));
        }
        Ok(EmailChannel {
            name: name.to_string(),
            renderer,
            transport: builder.build(),
            from,
            to,
            server: format!("{}:{}", settings.host, settings.port),
        })
    }

    /// The message for one rendered alert.
    fn message(&self, n: &Notification, r: &Rendered) -> Result<Message, AlertError> {
        let domain = self.from.email.domain().to_string();
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(r.subject.clone())
            .date_now()
            .message_id(Some(format!(
                "<wsprobe.{}.{:016x}@{domain}>",
                n.at.timestamp_millis(),
                rand::random::<u64>()
            )))
            // Mail clients thread the DOWN, reminders and RECOVERED of one incident.
            .references(incident_id(n, &domain));
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

    async fn send(&self, n: &Notification) -> Result<(), DeliveryError> {
        let rendered = self.renderer.render(ChannelKind::Email, n)?;
        let message = self.message(n, &rendered)?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) => Err(match e.status() {
                Some(code) => DeliveryError::SmtpRejected {
                    server: self.server.clone(),
                    code: code.into(),
                    message: error_chain(&e),
                },
                None => DeliveryError::Smtp {
                    server: self.server.clone(),
                    reason: error_chain(&e),
                },
            }),
        }
    }
}

impl AlertChannel for EmailChannel {
    fn name(&self) -> &str {
        &self.name
    }

    fn deliver<'a>(
        &'a self,
        n: &'a Notification,
    ) -> Pin<Box<dyn Future<Output = Result<(), DeliveryError>> + Send + 'a>> {
        Box::pin(self.send(n))
    }
}

fn parse_mailbox(field: &'static str, value: &str) -> Result<Mailbox, AlertError> {
    value.parse::<Mailbox>().map_err(|e| AlertError::Address {
        field,
        value: value.to_string(),
        reason: e.to_string(),
    })
}

/// A Message-ID-shaped name for the incident: the same for every alert about
/// one outage of one monitor.
fn incident_id(n: &Notification, domain: &str) -> String {
    let mut h = Sha256::new();
    h.update(n.monitor.as_bytes());
    h.update(n.first_seen.to_rfc3339().as_bytes());
    let digest = hex::encode(h.finalize());
    format!("<wsprobe.incident.{}@{domain}>", &digest[..24])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::sample;
    use crate::alert::settings::TemplateOverrides;
    use crate::notification::NotificationKind;
    use std::time::Duration;

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
    fn alerts_of_one_incident_share_a_thread_id_and_get_their_own_message_id() {
        let ch = build(&settings(
            "wsprobe <alerts@example.com>",
            &["ops@example.com"],
        ))
        .unwrap();
        let down = sample::notification(NotificationKind::Down);
        let recovered = sample::notification(NotificationKind::Recovered);
        let raw = |n: &Notification| {
            let r = ch.renderer.render(ChannelKind::Email, n).unwrap();
            String::from_utf8(ch.message(n, &r).unwrap().formatted()).unwrap()
        };
        let (a, b) = (raw(&down), raw(&recovered));
        let header = |m: &str, name: &str| {
            m.lines()
                .find(|l| l.starts_with(name))
                .map(str::to_string)
                .unwrap_or_default()
        };
        assert_eq!(header(&a, "References:"), header(&b, "References:"));
        assert!(header(&a, "References:").contains("@example.com>"));
        assert_ne!(header(&a, "Message-ID:"), header(&b, "Message-ID:"));
        assert!(header(&a, "Date:").len() > 10);
        assert!(a.contains("multipart/alternative"));
    }
}
