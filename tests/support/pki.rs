//! Throwaway PKI for TLS tests: a CA plus server and client leaves, made with rcgen.
//!
//! Validity windows are computed from the wall clock at generation time so
//! "expired" and "expires in N days" certificates stay meaningful whenever the
//! tests run.
#![allow(dead_code)]

use std::ops::{Add, Sub};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// Validity window of a generated server certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validity {
    /// Valid from yesterday for 90 days.
    Current,
    /// Valid from 92 days ago until 2 days ago.
    Expired,
    /// Valid from yesterday until this many days from now (negative: already expired).
    ExpiresInDays(i64),
}

/// What a TLS server needs: its chain and key, and optionally the CA it
/// requires client certificates to chain to.
#[derive(Clone, Debug)]
pub struct ServerIdentity {
    /// PEM of the leaf certificate (the root is the client's trust anchor,
    /// so it is not included, as in a typical deployment).
    pub cert_chain_pem: String,
    /// PEM (PKCS#8) of the leaf's private key.
    pub key_pem: String,
    /// If set, the server asks for a client certificate issued by this CA.
    pub client_ca_pem: Option<String>,
    /// With `client_ca_pem`: a client without a certificate still completes
    /// the handshake (nginx's `ssl_verify_client optional`, and what nginx
    /// does under `on` too, to answer 400 over HTTP instead of an alert).
    pub client_cert_optional: bool,
}

/// A self-signed test certificate authority.
pub struct TestCa {
    /// PEM of the CA certificate, to be trusted by clients.
    pub cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl TestCa {
    /// Creates a CA whose subject common name is `name`, valid from yesterday for ten years.
    pub fn new(name: &str) -> TestCa {
        let key = KeyPair::generate().expect("generate CA key");
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        set_validity(&mut params, -1, 3650);
        let cert = params.self_signed(&key).expect("self-sign CA");
        TestCa {
            cert_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// Issues a server leaf for `hosts`: names that parse as IP addresses
    /// (e.g. "127.0.0.1") become IP SANs, the rest DNS SANs. The first host
    /// is also the subject common name.
    pub fn server(&self, hosts: &[&str], validity: Validity) -> ServerIdentity {
        let names: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("server SANs");
        params.distinguished_name = rcgen::DistinguishedName::new();
        if let Some(first) = hosts.first() {
            params.distinguished_name.push(DnType::CommonName, *first);
        }
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        match validity {
            Validity::Current => set_validity(&mut params, -1, 89),
            Validity::Expired => set_validity(&mut params, -92, -2),
            Validity::ExpiresInDays(days) => set_validity(&mut params, -1, days),
        }
        let (cert_pem, key_pem) = self.sign(&params);
        ServerIdentity {
            cert_chain_pem: cert_pem,
            key_pem,
            client_ca_pem: None,
            client_cert_optional: false,
        }
    }

    /// Issues a client certificate with common name `cn`, valid for 90 days
    /// from yesterday. Returns `(cert_pem, key_pem)`.
    pub fn client(&self, cn: &str) -> (String, String) {
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        set_validity(&mut params, -1, 89);
        self.sign(&params)
    }

    /// Writes the CA certificate to `dir/ca.pem` and returns that path.
    pub fn write_ca_pem(&self, dir: &Path) -> PathBuf {
        let path = dir.join("ca.pem");
        std::fs::write(&path, &self.cert_pem).expect("write CA PEM");
        path
    }

    /// Signs `params` with a fresh key; returns `(cert_pem, key_pem)`.
    fn sign(&self, params: &CertificateParams) -> (String, String) {
        let key = KeyPair::generate().expect("generate leaf key");
        let cert = params.signed_by(&key, &self.issuer).expect("sign leaf");
        (cert.pem(), key.serialize_pem())
    }
}

/// A self-signed certificate for `hosts` that is also a CA (basicConstraints
/// CA:TRUE), as `openssl req -x509` makes by default; its PEM is both the
/// server's chain and what a user would pass with `--ca-file`.
pub fn self_signed_ca_server(hosts: &[&str]) -> ServerIdentity {
    let key = KeyPair::generate().expect("generate key");
    let names: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
    let mut params = CertificateParams::new(names).expect("server SANs");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    set_validity(&mut params, -1, 89);
    let cert = params.self_signed(&key).expect("self-sign");
    ServerIdentity {
        cert_chain_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        client_ca_pem: None,
        client_cert_optional: false,
    }
}

/// Sets `not_before`/`not_after` to now plus the given (possibly negative)
/// numbers of days.
///
/// rcgen does not re-export the `time` crate, so "now" is built from
/// `date_time_ymd(1970, 1, 1)` plus the std duration since the epoch; that
/// keeps the fixture free of an extra dev-dependency.
fn set_validity(params: &mut CertificateParams, start_days: i64, end_days: i64) {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    let now = rcgen::date_time_ymd(1970, 1, 1) + since_epoch;
    params.not_before = shift_days(now, start_days);
    params.not_after = shift_days(now, end_days);
}

/// `t` moved by `days` (either direction), generic so the `time` type rcgen
/// uses never has to be named.
fn shift_days<T>(t: T, days: i64) -> T
where
    T: Add<Duration, Output = T> + Sub<Duration, Output = T>,
{
    let span = DAY * u32::try_from(days.unsigned_abs()).expect("day offset fits in u32");
    if days >= 0 { t + span } else { t - span }
}
