//! The TLS side of `sslmode`, as libpq means it: `prefer` and `require`
//! encrypt without checking the certificate, `verify-ca` checks the chain
//! against `sslrootcert` (or the system's roots), `verify-full` checks the
//! chain and that the certificate names the host.

use super::super::{PostgresLocation, SslMode};
use crate::check::tls::AcceptAnyCertificate;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
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
            Arc::new(ChainOnly(webpki(location, &provider)?)),
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
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // webpki checks the chain before the name, so a name error means
        // the chain was good.
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
