//! The `tls` phase: rustls client setup (roots, client certificate, `--insecure`),
//! the timed handshake, and the certificate evidence — recorded even when
//! verification fails, because "expired" means little without the date.

use super::client_cert::RecordingResolver;
use super::error::CheckError;
use super::model::{CertInfo, TlsInfo};
use super::spec::SpecError;
use super::tls_failure::{TlsFailure, describe};
use super::tls_verifiers::{AcceptAnyCertificate, Decorated, Recording};
use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// TLS options as the user gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// PEM file of CA certificates to trust instead of the built-in roots.
    pub ca_file: Option<PathBuf>,
    /// Also trust the operating system's store (costs ~50 ms to load).
    pub system_roots: bool,
    /// Client certificate chain (PEM) for mutual TLS.
    pub client_cert: Option<PathBuf>,
    /// Client private key (PEM) for mutual TLS.
    pub client_key: Option<PathBuf>,
    /// Skip certificate verification. Loudly reported.
    pub insecure: bool,
}

/// A prepared rustls client: built once, cloned cheaply per handshake.
pub struct TlsSetup {
    base: Arc<ClientConfig>,
    verifier: Arc<dyn ServerCertVerifier>,
    insecure: bool,
}

impl std::fmt::Debug for TlsSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSetup")
            .field("insecure", &self.insecure)
            .finish_non_exhaustive()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn file_error(option: &'static str, path: &std::path::Path, reason: impl ToString) -> SpecError {
    SpecError::File {
        option,
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

impl TlsSetup {
    /// Load roots and client identity; every unreadable file is an input error.
    pub fn build(opts: &TlsOptions) -> Result<TlsSetup, SpecError> {
        let provider = provider();
        let mut roots = RootCertStore::empty();
        match &opts.ca_file {
            Some(path) => {
                let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                    .map_err(|e| file_error("--ca-file", path, e))?
                    .collect::<Result<_, _>>()
                    .map_err(|e| file_error("--ca-file", path, e))?;
                if certs.is_empty() {
                    return Err(file_error("--ca-file", path, "no PEM certificates found"));
                }
                let (_, ignored) = roots.add_parsable_certificates(certs);
                if roots.is_empty() {
                    return Err(file_error(
                        "--ca-file",
                        path,
                        format!("none of the {ignored} certificates could be used as a root"),
                    ));
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        if opts.system_roots {
            // Certificates the platform cannot parse are skipped, as browsers do.
            let loaded = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(loaded.certs);
        }
        let verifier: Arc<dyn ServerCertVerifier> = if opts.insecure {
            Arc::new(AcceptAnyCertificate(provider.clone()))
        } else {
            rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                provider.clone(),
            )
            .build()
            .map_err(|e| SpecError::Option {
                option: "--ca-file",
                value: String::new(),
                reason: e.to_string(),
            })?
        };
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| SpecError::Option {
                option: "tls",
                value: String::new(),
                reason: e.to_string(),
            })?
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone());
        let mut config = match (&opts.client_cert, &opts.client_key) {
            (Some(cert), Some(key)) => {
                let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
                    .map_err(|e| file_error("--cert", cert, e))?
                    .collect::<Result<_, _>>()
                    .map_err(|e| file_error("--cert", cert, e))?;
                if chain.is_empty() {
                    return Err(file_error("--cert", cert, "no PEM certificates found"));
                }
                let key_der =
                    PrivateKeyDer::from_pem_file(key).map_err(|e| file_error("--key", key, e))?;
                builder
                    .with_client_auth_cert(chain, key_der)
                    .map_err(|e| file_error("--key", key, e))?
            }
            (None, None) => builder.with_no_client_auth(),
            (Some(_), None) => {
                return Err(SpecError::Option {
                    option: "--cert",
                    value: String::new(),
                    reason: "needs --key".into(),
                });
            }
            (None, Some(_)) => {
                return Err(SpecError::Option {
                    option: "--key",
                    value: String::new(),
                    reason: "needs --cert".into(),
                });
            }
        };
        // WebSocket upgrades are HTTP/1.1; offering h2 could get the upgrade refused.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        // A monitor measures what a new client pays: a full handshake every time.
        config.resumption = rustls::client::Resumption::disabled();
        Ok(TlsSetup {
            base: Arc::new(config),
            verifier,
            insecure: opts.insecure,
        })
    }

    /// True when certificates are not verified.
    pub fn insecure(&self) -> bool {
        self.insecure
    }

    /// Run the handshake over `tcp`. The caller bounds it in time.
    pub async fn handshake(
        &self,
        host: &str,
        tcp: TcpStream,
        info: &mut TlsInfo,
    ) -> Result<TlsStream<TcpStream>, CheckError> {
        info.verification_disabled = self.insecure;
        let recorder = Arc::new(Decorated {
            inner: self.verifier.clone(),
            decision: Recording::default(),
        });
        let mut config = (*self.base).clone();
        config
            .dangerous()
            .set_certificate_verifier(recorder.clone());
        let client_auth = Arc::new(RecordingResolver::new(
            config.client_auth_cert_resolver.clone(),
        ));
        config.client_auth_cert_resolver = client_auth.clone();
        let name = ServerName::try_from(host.to_string()).map_err(|e| CheckError::Tls {
            kind: TlsFailure::InvalidServerName,
            reason: format!("{host:?} is not a valid TLS server name: {e}"),
            certificate: None,
        })?;
        let result = TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await;
        info.client_certificate = client_auth.outcome();
        let seen = recorder.decision.seen();
        info.certificate = seen.as_ref().and_then(|der| cert_info(der));
        match result {
            Ok(stream) => {
                let (_, conn) = stream.get_ref();
                info.version = conn.protocol_version().map(|v| version_name(v).to_string());
                info.cipher = conn
                    .negotiated_cipher_suite()
                    .map(|c| format!("{:?}", c.suite()));
                Ok(stream)
            }
            Err(err) => {
                let (kind, reason) = describe(&err, host);
                Err(CheckError::Tls {
                    kind,
                    reason,
                    certificate: info.certificate.clone(),
                })
            }
        }
    }
}

fn version_name(v: rustls::ProtocolVersion) -> &'static str {
    match v {
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3",
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2",
        _ => "TLS (other)",
    }
}

/// The words for a TLS error that surfaced after our side of the handshake
/// finished, or `None` when `err` is not a TLS error. With TLS 1.3 the server
/// checks a client certificate only after the client considers the handshake
/// done, so a refused (or missing) client certificate arrives as an alert on
/// the first read of the upgrade response.
pub fn late_handshake_failure(err: &std::io::Error, host: &str) -> Option<(TlsFailure, String)> {
    err.get_ref()?.downcast_ref::<rustls::Error>()?;
    Some(describe(err, host))
}

/// Parse the certificate fields worth reporting; `None` for unparsable DER.
pub fn cert_info(der: &CertificateDer<'_>) -> Option<CertInfo> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let validity = cert.validity();
    let not_after_unix = validity.not_after.timestamp();
    let not_before_unix = validity.not_before.timestamp();
    let now = chrono::Utc::now().timestamp();
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                x509_parser::extensions::GeneralName::DNSName(d) => names.push(d.to_string()),
                x509_parser::extensions::GeneralName::IPAddress(bytes) => {
                    if let Some(ip) = ip_from_bytes(bytes) {
                        names.push(ip.to_string());
                    }
                }
                _ => {}
            }
        }
    }
    Some(CertInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        names,
        not_before: rfc3339(not_before_unix),
        not_after: rfc3339(not_after_unix),
        not_after_unix,
        days_left: (not_after_unix - now).div_euclid(86_400),
    })
}

fn ip_from_bytes(b: &[u8]) -> Option<std::net::IpAddr> {
    match b.len() {
        4 => Some(std::net::IpAddr::from(<[u8; 4]>::try_from(b).ok()?)),
        16 => Some(std::net::IpAddr::from(<[u8; 16]>::try_from(b).ok()?)),
        _ => None,
    }
}

/// Format a Unix timestamp as RFC 3339 UTC.
pub fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| unix.to_string())
}
