//! `tls_error`: the TLS handshake failed, by the check that failed.

use crate::check::tls_failure::TlsFailure;

/// The hint for a failed TLS check.
pub(super) fn hint(kind: TlsFailure) -> String {
    match kind {
        TlsFailure::Expired => "The server certificate has expired: renew it, and check that the renewal job also reloads the server.",
        TlsFailure::NotValidYet => "The certificate is not valid yet: a clock is wrong on this host or on the CA that issued it.",
        TlsFailure::WrongHost => "The certificate does not cover this host name: the server presents the wrong certificate (SNI or virtual host mismatch), or the URL uses a name that is not in it.",
        TlsFailure::UnknownIssuer => "The chain does not lead to a trusted root: the server may not send its intermediate certificates, or it uses a private CA (pass it with --ca-file).",
        TlsFailure::CaUsedAsServerCertificate => "A self-signed certificate made as a CA is not a server certificate, even in --ca-file: issue the server a leaf certificate from a CA and trust that CA with --ca-file (mkcert or step-ca make both), or use --insecure only to confirm this is the only problem.",
        TlsFailure::BadCertificate => "The server's certificate was rejected: see the reason above (revoked, wrong key usage, unsupported signature algorithm).",
        TlsFailure::NotTls => "This port does not speak TLS: use ws:// if the service is plain, or check that the port is the TLS listener.",
        TlsFailure::Refused => "The server refused the handshake: it may require a client certificate (--cert/--key), or there is no TLS version or cipher in common.",
        TlsFailure::NoAlpn => "The server offers no HTTP/1.1 over TLS (ALPN): it may serve only HTTP/2 here, which cannot carry this WebSocket upgrade.",
        TlsFailure::InvalidServerName => "The host in the URL cannot be used as a TLS server name: check the URL.",
        TlsFailure::Other => "The TLS handshake failed; the reason above comes from rustls.",
    }
    .into()
}
