//! `wsprobe check` against wss:// fault servers: a good certificate, each
//! certificate failure with its evidence, the expiry warning, mutual TLS and
//! `--insecure`.
//!
//! Certificates come from a throwaway CA issued for [`HOST`]; `--resolve`
//! points that name at the fixture on 127.0.0.1, as curl users do.

mod check_run;
mod support;

use std::path::{Path, PathBuf};

use check_run::{Run, assert_mentions, check, flag, num, text};
use support::{Behavior, FaultServer, ServerIdentity, TestCa, Validity};
use tempfile::TempDir;

/// The DNS name the test certificates are issued for.
const HOST: &str = "wsprobe.test";

/// A test CA with its certificate on disk for `--ca-file`.
struct Pki {
    ca: TestCa,
    dir: TempDir,
    ca_file: PathBuf,
}

impl Pki {
    fn new() -> Pki {
        let ca = TestCa::new("wsprobe test CA");
        let dir = TempDir::new().expect("temp dir");
        let ca_file = ca.write_ca_pem(dir.path());
        Pki { ca, dir, ca_file }
    }

    fn server(&self, validity: Validity) -> ServerIdentity {
        self.ca.server(&[HOST], validity)
    }

    /// Writes a client certificate and key; returns their paths.
    fn client_files(&self) -> (PathBuf, PathBuf) {
        let (cert, key) = self.ca.client("wsprobe-client");
        let cert_path = self.dir.path().join("client.pem");
        let key_path = self.dir.path().join("client.key");
        std::fs::write(&cert_path, cert).expect("write client cert");
        std::fs::write(&key_path, key).expect("write client key");
        (cert_path, key_path)
    }
}

fn resolve(server: &FaultServer) -> String {
    format!("{HOST}:{}:127.0.0.1", server.addr.port())
}

/// `wsprobe check --format json --timeout 3s --resolve … [--ca-file CA] EXTRA… URL`.
async fn check_wss(server: &FaultServer, ca_file: Option<&Path>, extra: &[&str]) -> Run {
    let mut args: Vec<String> = ["--format", "json", "--timeout", "3s", "--resolve"]
        .map(String::from)
        .to_vec();
    args.push(resolve(server));
    if let Some(ca) = ca_file {
        args.push("--ca-file".into());
        args.push(ca.display().to_string());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(server.wss_url(HOST, "/tls"));
    check(&args).await
}

#[tokio::test]
async fn a_valid_certificate_passes_and_its_details_are_reported() {
    let pki = Pki::new();
    let server = FaultServer::start_tls(Behavior::Healthy, pki.server(Validity::Current)).await;
    let run = check_wss(&server, Some(&pki.ca_file), &[]).await;

    let v = run.verdict(0, "ok", None);
    assert!(text(&v, "/tls/version").starts_with("TLSv1."), "{v:#}");
    assert!(!text(&v, "/tls/cipher").is_empty());
    assert_mentions(&v, "/tls/subject", &[HOST]);
    assert_mentions(&v, "/tls/issuer", &["wsprobe test CA"]);
    assert!(!text(&v, "/tls/not_after").is_empty());
    let days = num(&v, "/tls/days_left");
    assert!((87.0..=89.0).contains(&days), "days_left {days}");
    assert_eq!(v["tls"]["names"], serde_json::json!([HOST]));
    assert!(!flag(&v, "/tls/verification_disabled"));
    assert!(num(&v, "/timings/tls_ms") >= 0.0);
    assert!(v["warnings"].as_array().is_some_and(Vec::is_empty), "{v:#}");
    assert!(flag(&v, "/close/clean"));
    let rec = &server
        .wait_records(1, std::time::Duration::from_secs(5))
        .await[0];
    assert!(
        rec.request_head
            .contains(&format!("Host: {HOST}:{}", server.addr.port())),
        "{rec:?}"
    );
}

#[tokio::test]
async fn an_expired_certificate_is_a_tls_error_showing_its_end_date() {
    let pki = Pki::new();
    let server = FaultServer::start_tls(Behavior::Healthy, pki.server(Validity::Expired)).await;
    let run = check_wss(&server, Some(&pki.ca_file), &[]).await;

    let v = run.verdict(2, "tls_error", Some("tls"));
    assert_mentions(&v, "/evidence/reason", &["expired"]);
    assert!(!text(&v, "/evidence/certificate/not_after").is_empty());
    assert!(num(&v, "/evidence/certificate/days_left") < 0.0, "{v:#}");
    assert_eq!(
        v["tls"]["not_after"], v["evidence"]["certificate"]["not_after"],
        "the tls block shows the same certificate"
    );
    assert_mentions(&v, "/hint", &["renew"]);
}

#[tokio::test]
async fn a_certificate_for_another_name_is_a_wrong_host_tls_error() {
    let pki = Pki::new();
    let other = pki.ca.server(&["other.test"], Validity::Current);
    let server = FaultServer::start_tls(Behavior::Healthy, other).await;
    let run = check_wss(&server, Some(&pki.ca_file), &[]).await;

    let v = run.verdict(2, "tls_error", Some("tls"));
    assert_mentions(&v, "/evidence/reason", &["wrong host", HOST]);
    assert_eq!(
        v["evidence"]["certificate"]["names"],
        serde_json::json!(["other.test"])
    );
    assert_mentions(&v, "/hint", &["does not cover this host name"]);
}

#[tokio::test]
async fn a_certificate_from_an_untrusted_ca_is_an_unknown_authority_tls_error() {
    let pki = Pki::new();
    let server = FaultServer::start_tls(Behavior::Healthy, pki.server(Validity::Current)).await;
    // No --ca-file: only the built-in public roots are trusted.
    let run = check_wss(&server, None, &[]).await;

    let v = run.verdict(2, "tls_error", Some("tls"));
    assert_mentions(&v, "/evidence/reason", &["unknown authority"]);
    assert_mentions(&v, "/evidence/certificate/issuer", &["wsprobe test CA"]);
    assert_mentions(&v, "/hint", &["--ca-file"]);
}

#[tokio::test]
async fn a_certificate_expiring_within_the_warning_window_passes_with_a_warning() {
    let pki = Pki::new();
    let soon = pki.server(Validity::ExpiresInDays(5));
    let server = FaultServer::start_tls(Behavior::Healthy, soon).await;
    // Default --cert-expiry-warn is 14 days.
    let run = check_wss(&server, Some(&pki.ca_file), &[]).await;

    let v = run.verdict(1, "ok", None);
    assert_eq!(text(&v, "/status"), "warning");
    assert!(flag(&v, "/ok"));
    assert_eq!(text(&v, "/warnings/0/kind"), "cert_expiring");
    let days = num(&v, "/warnings/0/days_left");
    assert!((4.0..=5.0).contains(&days), "days_left {days}");
    assert_eq!(
        text(&v, "/warnings/0/not_after"),
        text(&v, "/tls/not_after")
    );
}

#[tokio::test]
async fn a_narrower_expiry_window_silences_the_warning() {
    let pki = Pki::new();
    let soon = pki.server(Validity::ExpiresInDays(5));
    let server = FaultServer::start_tls(Behavior::Healthy, soon).await;
    let run = check_wss(&server, Some(&pki.ca_file), &["--cert-expiry-warn", "2d"]).await;

    let v = run.verdict(0, "ok", None);
    assert!(v["warnings"].as_array().is_some_and(Vec::is_empty), "{v:#}");
}

#[tokio::test]
async fn mutual_tls_passes_with_a_client_certificate_and_fails_without_one() {
    let pki = Pki::new();
    let mut identity = pki.server(Validity::Current);
    identity.client_ca_pem = Some(pki.ca.cert_pem.clone());
    let server = FaultServer::start_tls(Behavior::Healthy, identity).await;
    let (cert, key) = pki.client_files();

    let with = check_wss(
        &server,
        Some(&pki.ca_file),
        &[
            "--cert",
            &cert.display().to_string(),
            "--key",
            &key.display().to_string(),
        ],
    )
    .await;
    let v = with.verdict(0, "ok", None);
    assert!(flag(&v, "/close/clean"));
    assert_eq!(text(&v, "/tls/client_certificate"), "sent");

    let without = check_wss(&server, Some(&pki.ca_file), &[]).await;
    // With TLS 1.3 the refusal arrives after our side of the handshake is
    // done, on the first read; it is still the TLS session that failed.
    let v = without.verdict(2, "tls_error", Some("tls"));
    assert_mentions(&v, "/evidence/reason", &["refused", "alert"]);
    assert_mentions(&v, "/evidence/certificate/subject", &[HOST]);
    assert_eq!(text(&v, "/tls/client_certificate"), "none_configured");
    assert_mentions(
        &v,
        "/hint",
        &["requires a client certificate", "--cert and --key"],
    );

    let records = server
        .wait_records(2, std::time::Duration::from_secs(5))
        .await;
    assert!(
        records.iter().any(|r| r
            .client_error
            .as_deref()
            .is_some_and(|e| e.contains("tls handshake failed"))),
        "the server should have refused the client without a certificate: {records:?}"
    );
}

#[tokio::test]
async fn a_self_signed_ca_certificate_given_with_ca_file_is_explained_not_dumped() {
    let identity = support::pki::self_signed_ca_server(&[HOST]);
    let dir = TempDir::new().expect("temp dir");
    let ca_file = dir.path().join("self-signed.pem");
    std::fs::write(&ca_file, &identity.cert_chain_pem).expect("write the certificate");
    let server = FaultServer::start_tls(Behavior::Healthy, identity).await;
    let run = check_wss(&server, Some(&ca_file), &[]).await;

    let v = run.verdict(2, "tls_error", Some("tls"));
    assert_eq!(text(&v, "/evidence/kind"), "ca_used_as_server_certificate");
    assert_mentions(&v, "/message", &["is a CA certificate", "self-signed"]);
    assert!(!text(&v, "/message").contains("OtherError"), "{v:#}");
    assert_mentions(
        &v,
        "/hint",
        &["not a server certificate", "--insecure only to confirm"],
    );
}

#[tokio::test]
async fn insecure_accepts_an_untrusted_certificate_but_says_so_loudly() {
    let pki = Pki::new();
    let server = FaultServer::start_tls(Behavior::Healthy, pki.server(Validity::Current)).await;
    let run = check_wss(&server, None, &["--insecure"]).await;

    // A check that proves nothing about the certificate is never plain OK.
    let v = run.verdict(1, "ok", None);
    assert_eq!(text(&v, "/status"), "warning");
    assert!(flag(&v, "/tls/verification_disabled"), "{v:#}");
    assert!(
        v["warnings"]
            .as_array()
            .is_some_and(|w| w.iter().any(|w| w["kind"] == "insecure_tls")),
        "{v:#}"
    );
    assert!(
        run.stderr.contains("WARNING") && run.stderr.contains("NOT verified"),
        "stderr should warn loudly:\n{run}"
    );
}

#[tokio::test]
async fn the_exit_code_is_the_worst_status_of_all_urls() {
    let pki = Pki::new();
    let soon = pki.server(Validity::ExpiresInDays(5));
    let warning = FaultServer::start_tls(Behavior::Healthy, soon).await;
    let healthy = FaultServer::start(Behavior::Healthy).await;
    let run = check([
        "--format".to_string(),
        "json".into(),
        "--timeout".into(),
        "3s".into(),
        "--resolve".into(),
        resolve(&warning),
        "--ca-file".into(),
        pki.ca_file.display().to_string(),
        healthy.ws_url("/"),
        warning.wss_url(HOST, "/"),
    ])
    .await;

    let statuses: Vec<String> = run
        .jsons()
        .iter()
        .map(|v| text(v, "/status").to_string())
        .collect();
    assert_eq!(statuses, ["ok", "warning"], "{run}");
    assert_eq!(run.code, 1, "{run}");
}

/// nginx's answer over HTTP when `ssl_verify_client` finds no certificate.
fn nginx_no_certificate_400() -> Behavior {
    Behavior::http(
        400,
        "Bad Request",
        "<html><head><title>400 No required SSL certificate was sent</title></head></html>",
    )
}

#[tokio::test]
async fn a_400_after_the_server_asked_for_a_client_certificate_is_explained_by_the_request() {
    let pki = Pki::new();
    let mut identity = pki.server(Validity::Current);
    identity.client_ca_pem = Some(pki.ca.cert_pem.clone());
    // The handshake completes without a certificate and the server answers
    // over HTTP, as nginx does.
    identity.client_cert_optional = true;
    let server = FaultServer::start_tls(nginx_no_certificate_400(), identity).await;

    let run = check_wss(&server, Some(&pki.ca_file), &[]).await;

    let v = run.verdict(2, "missing_101", Some("upgrade"));
    assert_eq!(num(&v, "/response/status"), 400.0);
    assert_eq!(text(&v, "/tls/client_certificate"), "none_configured");
    assert_mentions(
        &v,
        "/hint",
        &["requires a client certificate", "--cert and --key"],
    );
}

#[tokio::test]
async fn the_same_400_from_a_server_that_asked_for_no_certificate_gets_the_ordinary_hint() {
    let pki = Pki::new();
    let server =
        FaultServer::start_tls(nginx_no_certificate_400(), pki.server(Validity::Current)).await;

    let run = check_wss(&server, Some(&pki.ca_file), &[]).await;

    let v = run.verdict(2, "missing_101", Some("upgrade"));
    assert_eq!(text(&v, "/tls/client_certificate"), "not_requested");
    assert!(
        !text(&v, "/hint").contains("client certificate"),
        "the body's words alone must not decide: {v:#}"
    );
}
