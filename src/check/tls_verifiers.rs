//! Certificate verifiers built around rustls' own: one that records what the
//! server presented, the `--insecure` one, and the wrapper both the check and
//! the state store's `sslmode=verify-ca` use to change only the certificate
//! decision while the handshake signatures stay checked by the wrapped verifier.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

/// The certificate as a handshake presents it to a verifier.
pub(crate) struct Presented<'a, 'b> {
    pub end_entity: &'a CertificateDer<'b>,
    pub intermediates: &'a [CertificateDer<'b>],
    pub server_name: &'a ServerName<'b>,
    pub ocsp: &'a [u8],
    pub now: UnixTime,
}

impl Presented<'_, '_> {
    /// What `verifier` says of this certificate.
    pub(crate) fn verify_with(
        &self,
        verifier: &dyn ServerCertVerifier,
    ) -> Result<ServerCertVerified, rustls::Error> {
        verifier.verify_server_cert(
            self.end_entity,
            self.intermediates,
            self.server_name,
            self.ocsp,
            self.now,
        )
    }
}

/// How a [`Decorated`] verifier decides on a certificate, given the verifier
/// it wraps.
pub(crate) trait CertificateDecision: Debug + Send + Sync {
    fn decide(
        &self,
        inner: &dyn ServerCertVerifier,
        presented: Presented<'_, '_>,
    ) -> Result<ServerCertVerified, rustls::Error>;
}

/// `inner` with its certificate decision replaced by `decision`; signatures
/// and schemes are still `inner`'s.
#[derive(Debug)]
pub(crate) struct Decorated<D> {
    pub inner: Arc<dyn ServerCertVerifier>,
    pub decision: D,
}

impl<D: CertificateDecision> ServerCertVerifier for Decorated<D> {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let presented = Presented {
            end_entity,
            intermediates,
            server_name,
            ocsp,
            now,
        };
        self.decision.decide(self.inner.as_ref(), presented)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Keeps the certificate the server presented, then lets the wrapped
/// verifier decide: the evidence exists even when verification fails.
#[derive(Debug, Default)]
pub(crate) struct Recording {
    seen: Mutex<Option<CertificateDer<'static>>>,
}

impl Recording {
    /// The certificate presented in the last handshake, if any.
    pub(crate) fn seen(&self) -> Option<CertificateDer<'static>> {
        self.seen.lock().map(|s| s.clone()).unwrap_or(None)
    }
}

impl CertificateDecision for Recording {
    fn decide(
        &self,
        inner: &dyn ServerCertVerifier,
        presented: Presented<'_, '_>,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(presented.end_entity.clone().into_owned());
        }
        presented.verify_with(inner)
    }
}

/// `--insecure`: any certificate is accepted, but handshake signatures are
/// still checked so the session is at least bound to the presented key.
/// (Also the state store's `sslmode=require`: encrypted, certificate unchecked.)
#[derive(Debug)]
pub(crate) struct AcceptAnyCertificate(pub(crate) Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
