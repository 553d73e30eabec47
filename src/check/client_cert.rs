//! Whether the server asked for a client certificate in the TLS handshake,
//! and whether one was sent. rustls asks the client-certificate resolver
//! only when a CertificateRequest arrives, so a resolver wrapped around the
//! configured one (or around none) records the request. The answer travels
//! in [`TlsInfo`](super::model::TlsInfo), so whatever the failure after it
//! (an alert, a reset before the 101, nginx's 400), the verdict can name it.

use rustls::SignatureScheme;
use rustls::client::ResolvesClientCert;
use rustls::sign::CertifiedKey;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};

/// What became of the server's request for a client certificate.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ClientCertRequest {
    /// The server did not ask (or the handshake did not get that far).
    #[default]
    NotRequested,
    /// The server asked and the configured certificate (`--cert`) was sent.
    Sent,
    /// The server asked and no certificate was configured: none was sent.
    NoneConfigured,
}

/// Wraps the configured resolver to record whether the server asked.
#[derive(Debug)]
pub struct RecordingResolver {
    inner: Arc<dyn ResolvesClientCert>,
    seen: Mutex<ClientCertRequest>,
}

impl RecordingResolver {
    /// Record the requests that reach `inner` (rustls' resolver for
    /// `with_no_client_auth` answers none).
    pub fn new(inner: Arc<dyn ResolvesClientCert>) -> RecordingResolver {
        RecordingResolver {
            inner,
            seen: Mutex::new(ClientCertRequest::NotRequested),
        }
    }

    /// What became of the server's request, so far.
    pub fn outcome(&self) -> ClientCertRequest {
        self.seen.lock().map(|s| *s).unwrap_or_default()
    }
}

impl ResolvesClientCert for RecordingResolver {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        let chosen = self.inner.resolve(root_hint_subjects, sigschemes);
        if let Ok(mut seen) = self.seen.lock() {
            *seen = match chosen {
                Some(_) => ClientCertRequest::Sent,
                None => ClientCertRequest::NoneConfigured,
            };
        }
        chosen
    }

    fn only_raw_public_keys(&self) -> bool {
        self.inner.only_raw_public_keys()
    }

    fn has_certs(&self) -> bool {
        self.inner.has_certs()
    }
}
