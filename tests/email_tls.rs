//! The email channel over STARTTLS and over implicit TLS, against an
//! independent TLS-capable SMTP server: Debian's aiosmtpd
//! (`tests/interop/smtp_tls_server.py`), with a certificate issued here by a
//! throwaway CA that the channel trusts through `smtp.ca_file`. The server
//! records the TLS version of the connection each message arrived on, so
//! the tests see the message travel encrypted, not just arrive.
//!
//! CI installs python3-aiosmtpd; without it these tests fail, never pass
//! silently.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use support::pki::{TestCa, Validity};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use wsprobe::alert::settings::{ChannelConfig, ChannelSettings, EmailSettings, SmtpSecurity};
use wsprobe::alert::{DeliveryError, DeliveryId, build_channel, sample};
use wsprobe::notification::NotificationKind;

/// Debian's interpreter: the `python3` on PATH may be another build that
/// does not see Debian's python3-aiosmtpd.
const PYTHON: &str = "/usr/bin/python3";
/// How long the server may take to start.
const STARTUP: Duration = Duration::from_secs(20);

/// A running aiosmtpd with a certificate for 127.0.0.1; killed when dropped.
struct TlsSmtp {
    port: u16,
    /// The CA that issued the server's certificate.
    ca_file: PathBuf,
    /// One JSON line per accepted message.
    out: PathBuf,
    _child: Child,
    _dir: tempfile::TempDir,
}

impl TlsSmtp {
    /// Start the server in `mode` ("starttls" or "tls").
    async fn start(mode: &str) -> TlsSmtp {
        let check = std::process::Command::new(PYTHON)
            .args(["-c", "import aiosmtpd"])
            .output()
            .unwrap_or_else(|e| panic!("{PYTHON} not runnable ({e}); install Debian's python3"));
        assert!(
            check.status.success(),
            "{PYTHON} cannot import aiosmtpd; install Debian's python3-aiosmtpd:\n{}",
            String::from_utf8_lossy(&check.stderr)
        );
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::new("wsprobe email test CA");
        let ca_file = ca.write_ca_pem(dir.path());
        let identity = ca.server(&["127.0.0.1"], Validity::Current);
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&cert, &identity.cert_chain_pem).unwrap();
        std::fs::write(&key, &identity.key_pem).unwrap();
        let out = dir.path().join("received.jsonl");
        let port = free_port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/smtp_tls_server.py");
        let mut child = Command::new(PYTHON)
            .arg(script)
            .args([mode, &port.to_string()])
            .args([&cert, &key, &out])
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start aiosmtpd");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(STARTUP, lines.next_line())
            .await
            .expect("aiosmtpd did not start in time")
            .expect("read aiosmtpd's output");
        assert_eq!(
            ready,
            Some(format!("ready {port}")),
            "aiosmtpd did not start"
        );
        TlsSmtp {
            port,
            ca_file,
            out,
            _child: child,
            _dir: dir,
        }
    }

    /// The messages accepted so far.
    fn received(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON record"))
            .collect()
    }

    /// An email channel to this server.
    fn channel(&self, security: SmtpSecurity, ca_file: Option<PathBuf>) -> ChannelConfig {
        ChannelConfig {
            name: "oncall-mail".into(),
            settings: ChannelSettings::Email(EmailSettings {
                host: "127.0.0.1".into(),
                port: self.port,
                security,
                username: None,
                password: None,
                from: "wsprobe <alerts@example.com>".into(),
                to: vec!["oncall@example.com".into()],
                timeout: Duration::from_secs(5),
                ca_file,
            }),
            templates: Default::default(),
            route: Default::default(),
        }
    }
}

/// A port nothing listens on at the moment.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Deliver a sample DOWN through a channel to `server` trusting its CA, and
/// check that it arrived, over TLS, with its Message-ID.
async fn delivers_encrypted(server: &TlsSmtp, security: SmtpSecurity) {
    let channel = build_channel(&server.channel(security, Some(server.ca_file.clone()))).unwrap();
    let n = sample::notification(NotificationKind::Down);
    let id = DeliveryId::one_off();
    channel.deliver(&n, &id).await.expect("delivered over TLS");

    let received = server.received();
    assert_eq!(received.len(), 1, "{received:?}");
    let message = &received[0];
    let tls = message["tls"].as_str().unwrap_or_default();
    assert!(
        tls.starts_with("TLSv1.2") || tls.starts_with("TLSv1.3"),
        "the message arrived over TLS: {message}"
    );
    assert_eq!(message["mail_from"], "alerts@example.com");
    assert_eq!(message["rcpt_tos"][0], "oncall@example.com");
    let content = message["content"].as_str().unwrap();
    assert!(
        content.contains(&format!("Message-ID: <wsprobe.{id}@example.com>")),
        "{content}"
    );
    assert!(content.contains("DOWN chat-gateway"), "{content}");
}

#[tokio::test]
#[ignore = "needs python3-aiosmtpd; run by .ci/run"]
async fn email_over_starttls_arrives_encrypted_and_verified_against_the_channels_ca() {
    let server = TlsSmtp::start("starttls").await;
    delivers_encrypted(&server, SmtpSecurity::StartTls).await;
}

#[tokio::test]
#[ignore = "needs python3-aiosmtpd; run by .ci/run"]
async fn email_over_implicit_tls_arrives_encrypted_and_verified_against_the_channels_ca() {
    let server = TlsSmtp::start("tls").await;
    delivers_encrypted(&server, SmtpSecurity::Tls).await;
}

#[tokio::test]
#[ignore = "needs python3-aiosmtpd; run by .ci/run"]
async fn a_certificate_from_an_untrusted_ca_is_refused_and_nothing_is_sent() {
    for (mode, security) in [
        ("starttls", SmtpSecurity::StartTls),
        ("tls", SmtpSecurity::Tls),
    ] {
        let server = TlsSmtp::start(mode).await;
        let channel = build_channel(&server.channel(security, None)).unwrap();
        let n = sample::notification(NotificationKind::Down);
        let err = channel
            .deliver(&n, &DeliveryId::one_off())
            .await
            .expect_err("the test CA is not trusted by default");
        assert!(matches!(err, DeliveryError::Smtp { .. }), "{mode}: {err:?}");
        let text = err.to_string().to_lowercase();
        assert!(text.contains("certificate"), "{mode}: {text}");
        assert!(server.received().is_empty(), "{mode}: nothing was sent");
    }
}

#[tokio::test]
#[ignore = "needs python3-aiosmtpd; run by .ci/run"]
async fn a_server_that_requires_starttls_refuses_a_plain_session() {
    let server = TlsSmtp::start("starttls").await;
    let channel = build_channel(&server.channel(SmtpSecurity::None, None)).unwrap();
    let n = sample::notification(NotificationKind::Down);
    let err = channel
        .deliver(&n, &DeliveryId::one_off())
        .await
        .expect_err("aiosmtpd requires STARTTLS");
    assert!(
        matches!(err, DeliveryError::SmtpRejected { code: 530, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("MAIL FROM"),
        "names the step: {err}"
    );
    assert!(server.received().is_empty());
}
