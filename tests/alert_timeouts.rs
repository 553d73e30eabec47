//! Every network step of a delivery is bounded by the channel's `timeout`,
//! on real sockets: peers that go silent at each point of the SMTP dialogue
//! (before the greeting, in the implicit-TLS handshake, after agreeing to
//! STARTTLS, after the message's data) and webhooks that never answer or
//! stall in their body. Each failure is a typed timeout naming the step.

mod support_smtp;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use support_smtp::{Options, SmtpServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wsprobe::alert::settings::{
    ChannelConfig, ChannelSettings, EmailSettings, SmtpSecurity, WebhookSettings,
};
use wsprobe::alert::{AlertChannel, DeliveryError, DeliveryId, build_channel, sample};
use wsprobe::notification::NotificationKind;

const LIMIT: Duration = Duration::from_millis(500);

/// A listener that accepts, reads whatever comes and never writes; after
/// `head`, if given, it writes that once and then goes silent.
async fn silent_peer(head: Option<&'static str>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                if let Some(head) = head {
                    // Wait for the request before answering its head.
                    let _ = stream.read(&mut buf).await;
                    let _ = stream.write_all(head.as_bytes()).await;
                }
                while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
            });
        }
    });
    addr
}

fn email(addr: SocketAddr, security: SmtpSecurity) -> Arc<dyn AlertChannel> {
    let cfg = ChannelConfig {
        name: "mail".into(),
        settings: ChannelSettings::Email(EmailSettings {
            host: addr.ip().to_string(),
            port: addr.port(),
            security,
            username: None,
            password: None,
            from: "alerts@example.com".into(),
            to: vec!["oncall@example.com".into()],
            timeout: LIMIT,
            ca_file: None,
        }),
        templates: Default::default(),
        route: Default::default(),
    };
    build_channel(&cfg).unwrap()
}

fn webhook(addr: SocketAddr) -> Arc<dyn AlertChannel> {
    let cfg = ChannelConfig {
        name: "hook".into(),
        settings: ChannelSettings::Webhook(WebhookSettings {
            url: format!("http://{addr}/hook?token=tok3n"),
            headers: vec![],
            secret: None,
            timeout: LIMIT,
        }),
        templates: Default::default(),
        route: Default::default(),
    };
    build_channel(&cfg).unwrap()
}

#[tokio::test]
async fn a_silent_smtp_peer_at_any_step_fails_after_the_channels_timeout_naming_the_step() {
    let never_greets = silent_peer(None).await;
    let starttls = SmtpServer::start(Options {
        silent_after_starttls: true,
        ..Options::default()
    })
    .await;
    let after_data = SmtpServer::start(Options {
        silent_after_data: true,
        ..Options::default()
    })
    .await;
    let cases = [
        (
            "no greeting",
            email(never_greets, SmtpSecurity::None),
            "the session's opening (connect, TLS, greeting, EHLO)",
        ),
        (
            "no TLS handshake on an implicit-TLS port",
            email(never_greets, SmtpSecurity::Tls),
            "the session's opening (connect, TLS, greeting, EHLO)",
        ),
        (
            "220 to STARTTLS, then no handshake",
            email(starttls.addr, SmtpSecurity::StartTls),
            "STARTTLS",
        ),
        (
            "354 to DATA, then no reply to the message",
            email(after_data.addr, SmtpSecurity::None),
            "the end of the message",
        ),
    ];
    let n = sample::notification(NotificationKind::Down);
    for (case, channel, expected_step) in cases {
        let err = channel
            .deliver(&n, &DeliveryId::one_off())
            .await
            .expect_err(case);
        match &err {
            DeliveryError::Timeout { step, limit, .. } => {
                assert_eq!(*step, expected_step, "{case}: {err}");
                assert_eq!(*limit, LIMIT, "{case}");
            }
            other => panic!("{case}: expected a timeout, got {other:?}"),
        }
        assert!(
            err.to_string().contains("no answer within 500ms to"),
            "{case}: {err}"
        );
    }
    assert_eq!(after_data.attempts().len(), 1, "the message was sent");
    assert!(after_data.received().is_empty(), "but never acknowledged");
}

#[tokio::test]
async fn a_webhook_that_never_answers_times_out_and_one_stalling_in_its_body_keeps_its_status() {
    let n = sample::notification(NotificationKind::Down);
    let silent = webhook(silent_peer(None).await);
    let err = silent
        .deliver(&n, &DeliveryId::one_off())
        .await
        .expect_err("no answer");
    assert!(
        matches!(err, DeliveryError::Timeout { limit: LIMIT, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with("webhook: no answer within 500ms"),
        "{text}"
    );
    assert!(!text.contains("tok3n"), "never the URL: {text}");

    // The head arrives, the promised body never does: the refusal still
    // counts, reported with its status once the timeout ends the read.
    let stalled = webhook(
        silent_peer(Some(
            "HTTP/1.1 503 Busy\r\nContent-Length: 1000\r\n\r\npartial",
        ))
        .await,
    );
    let err = stalled
        .deliver(&n, &DeliveryId::one_off())
        .await
        .expect_err("503");
    match err {
        DeliveryError::HttpStatus { status, body, .. } => {
            assert_eq!(status, 503);
            assert!("partial".starts_with(&body), "{body:?}");
        }
        other => panic!("expected the 503, got {other:?}"),
    }
}
