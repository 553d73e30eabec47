//! Why a TLS handshake failed, as a typed kind decided from rustls' (and
//! webpki's) error values, with the words an engineer acts on. The hint is
//! chosen from the kind, never from the words.

use super::model::variant_array;
use rustls::{CertificateError as C, Error as E};
use serde::{Deserialize, Serialize};
use strum::VariantArray;

/// What went wrong in the handshake.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
pub enum TlsFailure {
    /// The server certificate's validity ended.
    Expired,
    /// The server certificate's validity has not begun.
    NotValidYet,
    /// The certificate does not cover the host name.
    WrongHost,
    /// The chain does not lead to a trusted root.
    UnknownIssuer,
    /// The server presented a CA certificate as its own (typically a
    /// self-signed certificate made with CA:TRUE and given with `--ca-file`).
    CaUsedAsServerCertificate,
    /// Any other reason to reject the certificate.
    BadCertificate,
    /// The server refused the handshake with an alert.
    Refused,
    /// The server did not speak TLS.
    NotTls,
    /// No common ALPN protocol.
    NoAlpn,
    /// The host is not a valid TLS server name.
    InvalidServerName,
    /// Anything else (I/O errors during the handshake, rare TLS errors).
    Other,
}

impl TlsFailure {
    /// Every kind, for exhaustive tables (tests).
    pub const ALL: [TlsFailure; TlsFailure::VARIANTS.len()] = variant_array(TlsFailure::VARIANTS);
}

/// The kind and the words for a handshake error.
pub fn describe(err: &std::io::Error, host: &str) -> (TlsFailure, String) {
    let Some(tls) = err.get_ref().and_then(|e| e.downcast_ref::<E>()) else {
        return match err.kind() {
            std::io::ErrorKind::UnexpectedEof => (
                TlsFailure::NotTls,
                "the server closed the connection during the handshake (is this port speaking TLS?)"
                    .to_string(),
            ),
            _ => (TlsFailure::Other, super::error::os_message(err)),
        };
    };
    match tls {
        E::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            (TlsFailure::Expired, "certificate has expired".to_string())
        }
        E::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => (
            TlsFailure::NotValidYet,
            "certificate is not valid yet (check the clocks)".to_string(),
        ),
        E::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => (
            TlsFailure::WrongHost,
            format!("certificate is not valid for {host:?} (wrong host name)"),
        ),
        E::InvalidCertificate(C::UnknownIssuer) => (
            TlsFailure::UnknownIssuer,
            "certificate is signed by an unknown authority (not in the trusted roots; use --ca-file for a private CA)"
                .to_string(),
        ),
        E::InvalidCertificate(C::Other(other))
            if matches!(
                other.0.downcast_ref::<webpki::Error>(),
                Some(webpki::Error::CaUsedAsEndEntity)
            ) =>
        {
            (
                TlsFailure::CaUsedAsServerCertificate,
                "the server's certificate is a CA certificate (basicConstraints CA:TRUE), not a server certificate: a self-signed certificate made as a CA cannot identify a server"
                    .to_string(),
            )
        }
        E::InvalidCertificate(other) => (
            TlsFailure::BadCertificate,
            format!("invalid certificate: {other:?}"),
        ),
        E::AlertReceived(alert) => (
            TlsFailure::Refused,
            format!("the server refused the handshake with alert {alert:?}"),
        ),
        E::InvalidMessage(_) => (
            TlsFailure::NotTls,
            "the server did not answer with TLS (plain HTTP or another protocol on this port?)"
                .to_string(),
        ),
        E::NoApplicationProtocol => (
            TlsFailure::NoAlpn,
            "no common ALPN protocol (server does not offer http/1.1)".to_string(),
        ),
        other => (TlsFailure::Other, other.to_string()),
    }
}
