//! One SMTP session per alert, every network step under the channel's
//! `timeout`: opening the session (TCP connect, the implicit-TLS handshake,
//! the greeting, EHLO), STARTTLS with its handshake and second EHLO, AUTH,
//! MAIL FROM, each RCPT TO, DATA, and the message with its final reply.
//!
//! lettre's transport bounds only the TCP connect, so a server that answers
//! 354 to DATA and then says nothing would hold a delivery forever; here
//! lettre's connection type speaks the protocol and each step is raced
//! against the timeout, so a silent server costs one `timeout`, named by step.

use super::channel::{AlertError, DeliveryError, error_chain};
use super::settings::{EmailSettings, SmtpSecurity};
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use std::future::Future;
use std::time::Duration;

/// Steps of a session besides one RCPT TO per recipient: open, STARTTLS,
/// AUTH, MAIL FROM, DATA, the message, QUIT.
const FIXED_STEPS: u32 = 7;

/// Where and how to send: resolved once, when the channel is built.
pub struct SmtpTarget {
    host: String,
    port: u16,
    security: SmtpSecurity,
    /// Trust for STARTTLS or implicit TLS (`None` for `security: none`).
    tls: Option<TlsParameters>,
    credentials: Option<Credentials>,
    timeout: Duration,
    hello: ClientId,
    /// "host:port", for errors.
    server: String,
}

impl SmtpTarget {
    /// Resolve `settings`: read the CA file, build the TLS parameters.
    pub fn new(settings: &EmailSettings) -> Result<SmtpTarget, AlertError> {
        let tls = match settings.security {
            SmtpSecurity::None => None,
            SmtpSecurity::StartTls | SmtpSecurity::Tls => Some(tls_parameters(settings)?),
        };
        let credentials = settings.username.as_ref().map(|user| {
            Credentials::new(user.clone(), settings.password.clone().unwrap_or_default())
        });
        Ok(SmtpTarget {
            host: settings.host.clone(),
            port: settings.port,
            security: settings.security,
            tls,
            credentials,
            timeout: settings.timeout,
            hello: ClientId::default(),
            server: format!("{}:{}", settings.host, settings.port),
        })
    }

    /// "host:port".
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The longest a session to `recipients` can take: every step its
    /// whole timeout.
    pub fn time_limit(&self, recipients: usize) -> Duration {
        let steps = FIXED_STEPS.saturating_add(u32::try_from(recipients).unwrap_or(u32::MAX));
        self.timeout.saturating_mul(steps)
    }

    /// Send `message` to the envelope's recipients in one session; `Ok`
    /// once the server accepted the message.
    pub async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<(), DeliveryError> {
        let implicit_tls = match self.security {
            SmtpSecurity::Tls => self.tls.clone(),
            SmtpSecurity::StartTls | SmtpSecurity::None => None,
        };
        let mut conn = self
            .step(
                "the session's opening (connect, TLS, greeting, EHLO)",
                AsyncSmtpConnection::connect_tokio1(
                    (self.host.as_str(), self.port),
                    Some(self.timeout),
                    &self.hello,
                    implicit_tls,
                    None,
                ),
            )
            .await?;
        if let (SmtpSecurity::StartTls, Some(tls)) = (self.security, &self.tls) {
            // Required, never opportunistic: the message and the password
            // must not cross a plain connection the server chose to offer.
            self.step("STARTTLS", conn.starttls(tls.clone(), &self.hello))
                .await?;
        }
        if let Some(credentials) = &self.credentials {
            self.step(
                "AUTH",
                conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials),
            )
            .await?;
        }
        let mut options = Vec::new();
        if !message.is_ascii() && conn.server_info().supports_feature(Extension::EightBitMime) {
            options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        self.step(
            "MAIL FROM",
            conn.command(Mail::new(envelope.from().cloned(), options)),
        )
        .await?;
        for to in envelope.to() {
            self.step("RCPT TO", conn.command(Rcpt::new(to.clone(), vec![])))
                .await?;
        }
        self.step("DATA", conn.command(Data)).await?;
        self.step("the end of the message", conn.message(message))
            .await?;
        // The message is accepted: a server slow to say goodbye changes nothing.
        let _ = tokio::time::timeout(self.timeout, conn.quit()).await;
        Ok(())
    }

    /// Run one step under the timeout; its failure names the server and the step.
    async fn step<T>(
        &self,
        step: &'static str,
        work: impl Future<Output = Result<T, lettre::transport::smtp::Error>>,
    ) -> Result<T, DeliveryError> {
        match tokio::time::timeout(self.timeout, work).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(match e.status() {
                Some(code) => DeliveryError::SmtpRejected {
                    server: self.server.clone(),
                    code: code.into(),
                    message: format!("{step}: {}", error_chain(&e)),
                },
                None => DeliveryError::Smtp {
                    server: self.server.clone(),
                    reason: format!("{step}: {}", error_chain(&e)),
                },
            }),
            Err(_) => Err(DeliveryError::Timeout {
                peer: format!("SMTP server {}", self.server),
                step,
                limit: self.timeout,
            }),
        }
    }
}

/// Server name checked against the certificate, plus the roots to trust:
/// the system's, and the channel's `ca_file` when it has one.
fn tls_parameters(settings: &EmailSettings) -> Result<TlsParameters, AlertError> {
    let smtp_error = |reason: String| AlertError::Smtp {
        host: settings.host.clone(),
        reason,
    };
    let mut builder = TlsParameters::builder(settings.host.clone());
    if let Some(path) = &settings.ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| smtp_error(format!("cannot read ca_file {}: {e}", path.display())))?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| smtp_error(format!("ca_file {}: {e}", path.display())))?;
        if certs.is_empty() {
            return Err(smtp_error(format!(
                "ca_file {}: no PEM certificates found",
                path.display()
            )));
        }
        for der in certs {
            let cert = Certificate::from_der(der.to_vec())
                .map_err(|e| smtp_error(format!("ca_file {}: {e}", path.display())))?;
            builder = builder.add_root_certificate(cert);
        }
    }
    builder
        .build_rustls()
        .map_err(|e| smtp_error(error_chain(&e)))
}
