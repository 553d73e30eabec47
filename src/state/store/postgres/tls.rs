//! The TLS side of `sslmode`, as libpq means it: `prefer` and `require`
//! encrypt without checking the certificate, `verify-ca` checks the chain
//! against `sslrootcert` (or the system's roots), `verify-full` checks the
//! chain and that the certificate names the host.

use super::super::{PostgresLocation, SslMode};
use crate::check::tls_verifiers::{
    AcceptAnyCertificate, CertificateDecision, Decorated, Presented,
};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{CertificateError, ClientConfig, RootCertStore};
use std::sync::Arc;
use tokio_postgres::config::SslMode as DriverSslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The driver's TLS mode and connector for `location`; the error says which
/// root file could not be used.
pub(super) fn connector(
    location: &PostgresLocation,
) -> Result<(DriverSslMode, MakeRustlsConnect), String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let (mode, verifier): (DriverSslMode, Arc<dyn ServerCertVerifier>) = match location.sslmode {
        SslMode::Disable => (DriverSslMode::Disable, unchecked(&provider)),
        SslMode::Prefer => (DriverSslMode::Prefer, unchecked(&provider)),
        SslMode::Require => (DriverSslMode::Require, unchecked(&provider)),
        SslMode::VerifyCa => (
            DriverSslMode::Require,
            Arc::new(Decorated {
                inner: webpki(location, &provider)?,
                decision: ChainOnly,
            }),
        ),
        SslMode::VerifyFull => (DriverSslMode::Require, webpki(location, &provider)?),
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok((mode, MakeRustlsConnect::new(config)))
}

fn unchecked(provider: &Arc<CryptoProvider>) -> Arc<dyn ServerCertVerifier> {
    Arc::new(AcceptAnyCertificate(Arc::clone(provider)))
}

/// The standard verifier over `sslrootcert`, or the system's roots without one.
fn webpki(
    location: &PostgresLocation,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>, String> {
    let mut roots = RootCertStore::empty();
    match &location.sslrootcert {
        Some(path) => {
            let unreadable =
                |e: &dyn std::fmt::Display| format!("sslrootcert {}: {e}", path.display());
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .map_err(|e| unreadable(&e))?
                .collect::<Result<_, _>>()
                .map_err(|e| unreadable(&e))?;
            roots.add_parsable_certificates(certs);
            if roots.is_empty() {
                return Err(unreadable(&"no usable PEM certificate"));
            }
        }
        None => {
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        }
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider))
        .build()
        .map_err(|e| e.to_string())
}

/// `verify-ca`: the chain must be trusted, whatever names the certificate holds.
#[derive(Debug)]
struct ChainOnly;

impl CertificateDecision for ChainOnly {
    fn decide(
        &self,
        inner: &dyn ServerCertVerifier,
        presented: Presented<'_, '_>,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // webpki checks the chain before the name, so a name error means
        // the chain was good.
        match presented.verify_with(inner) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }
}
