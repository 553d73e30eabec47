//! Smoke tests for the fault-server fixture in `tests/support`.
//!
//! Each test checks, from the client side with raw sockets or a tungstenite
//! client, that one fixture behaviour really does what its name promises, so
//! the integration tests built on it can trust it.

mod support;

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{CertificateError, RootCertStore};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{sleep, timeout};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::{CapacityError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Bytes, Message};

use support::fault_server::GARBAGE;
use support::foreign;
use support::frames::{self, opcode};
use support::{Behavior, FaultServer, TestCa, Validity, backlog, refused_port};

/// The sample key from RFC 6455 §1.3, so the expected accept value is well known.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
/// Upper bound for anything that should happen promptly.
const WAIT: Duration = Duration::from_secs(3);
/// How long "nothing arrives" is observed.
const QUIET: Duration = Duration::from_millis(300);
/// DNS name the TLS test certificates are issued for.
const TLS_HOST: &str = "wsprobe.test";

type Next = Option<Result<Message, tungstenite::Error>>;

fn upgrade_request(extra_headers: &str) -> String {
    format!(
        "GET /smoke HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extra_headers}\r\n"
    )
}

async fn connect(server: &FaultServer) -> TcpStream {
    TcpStream::connect(server.addr).await.expect("connect")
}

/// Sends an upgrade request and returns the response head.
async fn request_upgrade<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S, extra: &str) -> String {
    s.write_all(upgrade_request(extra).as_bytes())
        .await
        .expect("send request");
    timeout(WAIT, frames::read_head(s))
        .await
        .expect("response head in time")
        .expect("response head")
}

/// Performs the client handshake by hand (tokio-tungstenite is built without
/// its handshake feature) and returns the 101 head and a client stream.
async fn ws_over<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    extra: &str,
    config: Option<WebSocketConfig>,
) -> (String, WebSocketStream<S>) {
    let head = request_upgrade(&mut s, extra).await;
    assert!(head.starts_with("HTTP/1.1 101 "), "not a 101: {head}");
    let ws = WebSocketStream::from_raw_socket(s, Role::Client, config).await;
    (head, ws)
}

async fn open_ws(server: &FaultServer) -> WebSocketStream<TcpStream> {
    ws_over(connect(server).await, "", None).await.1
}

async fn next_msg<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocketStream<S>) -> Next {
    timeout(WAIT, ws.next())
        .await
        .expect("client event in time")
}

async fn read_all<S: AsyncRead + Unpin>(s: &mut S) -> Vec<u8> {
    let mut out = Vec::new();
    timeout(WAIT, s.read_to_end(&mut out))
        .await
        .expect("server closes in time")
        .expect("read to end");
    out
}

fn close_frame(code: CloseCode) -> CloseFrame {
    CloseFrame {
        code,
        reason: "bye".into(),
    }
}

/// Sends a Close and checks the echo of it and the server's FIN that follows.
async fn close_cleanly<S: AsyncRead + AsyncWrite + Unpin>(mut ws: WebSocketStream<S>) {
    ws.close(Some(close_frame(CloseCode::Normal)))
        .await
        .expect("send close");
    match next_msg(&mut ws).await {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode::Normal),
        other => panic!("expected the close reply, got {other:?}"),
    }
    assert!(
        next_msg(&mut ws).await.is_none(),
        "server closes TCP after the closing handshake"
    );
}

#[tokio::test]
async fn healthy_server_echoes_and_records_a_clean_close() {
    let server = FaultServer::start(Behavior::Healthy).await;
    let (head, mut ws) = ws_over(connect(&server).await, "", None).await;
    assert_eq!(
        frames::header_value(&head, "Sec-WebSocket-Accept"),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    );
    assert_eq!(frames::header_value(&head, "Sec-WebSocket-Protocol"), None);

    ws.send(Message::text("hello")).await.unwrap();
    assert_eq!(
        next_msg(&mut ws).await.unwrap().unwrap(),
        Message::text("hello")
    );
    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    assert_eq!(
        next_msg(&mut ws).await.unwrap().unwrap(),
        Message::binary(vec![1u8, 2, 3])
    );
    ws.send(Message::Ping(Bytes::from_static(b"p")))
        .await
        .unwrap();
    assert_eq!(
        next_msg(&mut ws).await.unwrap().unwrap(),
        Message::Pong(Bytes::from_static(b"p"))
    );
    close_cleanly(ws).await;

    let records = server.wait_records(1, WAIT).await;
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert!(
        r.request_head.starts_with("GET /smoke HTTP/1.1\r\n"),
        "{r:?}"
    );
    assert!(r.request_head.ends_with("\r\n\r\n"), "{r:?}");
    assert_eq!(r.close_code_received, Some(1000));
    assert!(r.clean_close, "{r:?}");
    assert_eq!(r.client_error, None);
    assert_eq!(r.pings_received, 1);
}

#[tokio::test]
async fn healthy_server_negotiates_chat_and_no_other_subprotocol() {
    let server = FaultServer::start(Behavior::Healthy).await;
    let mut chat = connect(&server).await;
    let head = request_upgrade(&mut chat, "Sec-WebSocket-Protocol: superchat, chat\r\n").await;
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert_eq!(
        frames::header_value(&head, "Sec-WebSocket-Protocol"),
        Some("chat")
    );

    let mut mqtt = connect(&server).await;
    let head = request_upgrade(&mut mqtt, "Sec-WebSocket-Protocol: mqtt\r\n").await;
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert_eq!(frames::header_value(&head, "Sec-WebSocket-Protocol"), None);
}

#[tokio::test]
async fn healthy_server_answers_a_non_upgrade_request_with_400() {
    let server = FaultServer::start(Behavior::Healthy).await;
    let mut s = connect(&server).await;
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let reply = String::from_utf8(read_all(&mut s).await).unwrap();
    assert!(reply.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{reply}");
}

#[tokio::test]
async fn healthy_server_records_a_client_that_leaves_without_closing_handshake() {
    let server = FaultServer::start(Behavior::Healthy).await;
    drop(open_ws(&server).await);
    let records = server.wait_records(1, WAIT).await;
    assert_eq!(
        records[0].client_error.as_deref(),
        Some("reset without closing handshake")
    );
    assert!(!records[0].clean_close);
}

#[tokio::test]
async fn slow_101_delays_the_handshake_then_behaves() {
    let server = FaultServer::start(Behavior::Slow101(Duration::from_millis(300))).await;
    let started = Instant::now();
    let mut ws = open_ws(&server).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    ws.send(Message::text("late")).await.unwrap();
    assert_eq!(
        next_msg(&mut ws).await.unwrap().unwrap(),
        Message::text("late")
    );
}

#[tokio::test]
async fn silent_server_reads_the_request_and_never_answers() {
    let server = FaultServer::start(Behavior::SilentAfterRequest).await;
    let mut s = connect(&server).await;
    s.write_all(upgrade_request("").as_bytes()).await.unwrap();
    let mut buf = [0u8; 1];
    assert!(timeout(QUIET, s.read(&mut buf)).await.is_err(), "no answer");
    let records = server.records();
    assert_eq!(records.len(), 1);
    assert!(records[0].request_head.contains(KEY));
}

#[tokio::test]
async fn dropping_the_server_ends_its_connection_tasks() {
    let server = FaultServer::start(Behavior::SilentAfterRequest).await;
    let mut s = connect(&server).await;
    s.write_all(upgrade_request("").as_bytes()).await.unwrap();
    sleep(Duration::from_millis(50)).await;
    drop(server);
    let mut buf = [0u8; 1];
    let read = timeout(WAIT, s.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "connection must end with the server, got {read:?}"
    );
}

#[tokio::test]
async fn fin_after_101_sends_eof_right_after_the_handshake() {
    let server = FaultServer::start(Behavior::FinAfter101).await;
    let mut s = connect(&server).await;
    let head = request_upgrade(&mut s, "").await;
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    let mut buf = [0u8; 16];
    let n = timeout(WAIT, s.read(&mut buf)).await.unwrap().unwrap();
    assert_eq!(n, 0, "EOF expected");
}

#[tokio::test]
async fn rst_after_101_resets_the_connection_after_the_handshake() {
    let server = FaultServer::start(Behavior::RstAfter101).await;
    let mut s = connect(&server).await;
    let head = request_upgrade(&mut s, "").await;
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    let mut buf = [0u8; 16];
    let err = timeout(WAIT, s.read(&mut buf))
        .await
        .unwrap()
        .expect_err("RST expected");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
}

#[tokio::test]
async fn http_response_is_sent_verbatim_then_the_connection_closes() {
    let cases = [
        (
            Behavior::HttpResponse {
                version: "HTTP/1.0",
                status: 200,
                reason: "OK",
                headers: vec![],
                body: "plain page".into(),
            },
            "HTTP/1.0 200 OK\r\n\r\nplain page".to_string(),
        ),
        (
            Behavior::http(504, "Gateway Time-out", "<html>timeout</html>"),
            "HTTP/1.1 504 Gateway Time-out\r\nContent-Type: text/html\r\nContent-Length: 20\r\n\
             Connection: close\r\n\r\n<html>timeout</html>"
                .to_string(),
        ),
        (
            Behavior::HttpResponse {
                version: "HTTP/1.1",
                status: 426,
                reason: "Upgrade Required",
                headers: vec![("Upgrade".into(), "websocket".into())],
                body: String::new(),
            },
            "HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\n\r\n".to_string(),
        ),
    ];
    for (behavior, expected) in cases {
        let server = FaultServer::start(behavior).await;
        let mut s = connect(&server).await;
        s.write_all(upgrade_request("").as_bytes()).await.unwrap();
        assert_eq!(String::from_utf8(read_all(&mut s).await).unwrap(), expected);
    }
}

#[tokio::test]
async fn bad_accept_key_sends_a_101_with_the_wrong_accept_value() {
    let server = FaultServer::start(Behavior::BadAcceptKey).await;
    let mut s = connect(&server).await;
    let head = request_upgrade(&mut s, "").await;
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    let accept = frames::header_value(&head, "Sec-WebSocket-Accept").expect("accept present");
    assert_ne!(accept, frames::accept_key(KEY));
    assert_eq!(frames::header_value(&head, "Upgrade"), Some("websocket"));
}

#[tokio::test]
async fn missing_upgrade_header_omits_only_the_upgrade_header() {
    let server = FaultServer::start(Behavior::MissingUpgradeHeader).await;
    let mut s = connect(&server).await;
    let head = request_upgrade(&mut s, "").await;
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert_eq!(frames::header_value(&head, "Upgrade"), None);
    assert_eq!(frames::header_value(&head, "Connection"), Some("Upgrade"));
    assert_eq!(
        frames::header_value(&head, "Sec-WebSocket-Accept"),
        Some(frames::accept_key(KEY).as_str())
    );
}

#[tokio::test]
async fn unrequested_subprotocol_is_named_although_none_was_offered() {
    let server = FaultServer::start(Behavior::UnrequestedSubprotocol).await;
    let mut s = connect(&server).await;
    let head = request_upgrade(&mut s, "").await;
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert_eq!(
        frames::header_value(&head, "Sec-WebSocket-Protocol"),
        Some("surprise")
    );
}

#[tokio::test]
async fn a_foreign_server_that_speaks_first_greets_before_any_request() {
    let server = FaultServer::start(Behavior::Foreign(foreign::SMTP)).await;
    let mut s = connect(&server).await;
    assert_eq!(read_all(&mut s).await, foreign::SMTP.banner);
}

#[tokio::test]
async fn a_foreign_server_that_answers_sends_its_bytes_only_after_the_request() {
    let server = FaultServer::start(Behavior::Foreign(foreign::TLS_ALERT)).await;
    let mut s = connect(&server).await;
    let mut early = [0u8; 1];
    let nothing_yet = timeout(Duration::from_millis(200), s.read(&mut early)).await;
    assert!(
        nothing_yet.is_err(),
        "sent before the request: {nothing_yet:?}"
    );
    s.write_all(upgrade_request("").as_bytes()).await.unwrap();
    assert_eq!(read_all(&mut s).await, foreign::TLS_ALERT.banner);
}

#[tokio::test]
async fn a_server_ignoring_subprotocols_or_adding_an_extension_says_so_in_its_101() {
    let server = FaultServer::start(Behavior::IgnoresSubprotocols).await;
    let mut s = connect(&server).await;
    let head = request_upgrade(&mut s, "Sec-WebSocket-Protocol: chat\r\n").await;
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert_eq!(frames::header_value(&head, "Sec-WebSocket-Protocol"), None);

    let server = FaultServer::start(Behavior::UnrequestedExtension).await;
    let mut s = connect(&server).await;
    let head = request_upgrade(&mut s, "").await;
    assert_eq!(
        frames::header_value(&head, "Sec-WebSocket-Extensions"),
        Some("permessage-deflate")
    );
}

#[tokio::test]
async fn garbage_server_sends_non_http_bytes_and_closes() {
    let server = FaultServer::start(Behavior::Garbage).await;
    let mut s = connect(&server).await;
    s.write_all(upgrade_request("").as_bytes()).await.unwrap();
    assert_eq!(read_all(&mut s).await, GARBAGE);
}

#[tokio::test]
async fn huge_headers_stream_one_endless_header_line() {
    const LEN: usize = 64 * 1024;
    let server = FaultServer::start(Behavior::HugeHeaders(LEN)).await;
    let mut s = connect(&server).await;
    s.write_all(upgrade_request("").as_bytes()).await.unwrap();
    let status = "HTTP/1.1 101 Switching Protocols\r\n";
    let mut got = vec![0u8; status.len() + LEN];
    timeout(WAIT, s.read_exact(&mut got))
        .await
        .expect("all header bytes in time")
        .unwrap();
    let text = String::from_utf8(got).unwrap();
    assert!(text.starts_with(status));
    assert!(text[status.len()..].starts_with("X-Big: aaaa"));
    assert!(!text[status.len()..].contains("\r\n"), "head never ends");
    let mut more = [0u8; 1];
    assert!(
        timeout(QUIET, s.read(&mut more)).await.is_err(),
        "socket stays open and silent"
    );
}

#[tokio::test]
async fn no_pong_server_ignores_pings_and_data() {
    let server = FaultServer::start(Behavior::NoPong).await;
    let mut ws = open_ws(&server).await;
    ws.send(Message::text("anyone?")).await.unwrap();
    ws.send(Message::Ping(Bytes::from_static(b"p")))
        .await
        .unwrap();
    assert!(timeout(QUIET, ws.next()).await.is_err(), "no pong, no echo");
    assert_eq!(server.records()[0].pings_received, 1);
}

#[tokio::test]
async fn no_close_reply_server_leaves_the_close_unanswered() {
    let server = FaultServer::start(Behavior::NoCloseReply).await;
    let mut ws = open_ws(&server).await;
    ws.send(Message::text("echo")).await.unwrap();
    assert_eq!(
        next_msg(&mut ws).await.unwrap().unwrap(),
        Message::text("echo")
    );
    ws.send(Message::Ping(Bytes::from_static(b"p")))
        .await
        .unwrap();
    assert!(matches!(
        next_msg(&mut ws).await,
        Some(Ok(Message::Pong(_)))
    ));
    ws.close(Some(close_frame(CloseCode::Normal)))
        .await
        .unwrap();
    assert!(timeout(QUIET, ws.next()).await.is_err(), "no close reply");
    let r = &server.records()[0];
    assert_eq!(r.close_code_received, Some(1000));
    assert!(!r.clean_close);
}

#[tokio::test]
async fn idle_cut_closes_tcp_without_a_close_frame_once_the_client_goes_quiet() {
    let idle = Duration::from_millis(250);
    let server = FaultServer::start(Behavior::IdleCut(idle)).await;
    let started = Instant::now();
    let mut ws = open_ws(&server).await;
    // Traffic keeps the connection alive past the idle limit...
    for _ in 0..2 {
        sleep(Duration::from_millis(150)).await;
        ws.send(Message::text("still here")).await.unwrap();
        assert_eq!(
            next_msg(&mut ws).await.unwrap().unwrap(),
            Message::text("still here")
        );
    }
    assert!(started.elapsed() > idle);
    // ...and silence gets it cut: EOF with no Close frame.
    let quiet_since = Instant::now();
    match next_msg(&mut ws).await {
        Some(Err(tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake))) => {}
        other => panic!("expected EOF without close, got {other:?}"),
    }
    assert!(quiet_since.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn close_frame_after_delay_sends_that_code_and_completes_the_close() {
    let server = FaultServer::start(Behavior::CloseFrameAfter {
        after: Duration::from_millis(100),
        code: 1001,
    })
    .await;
    let mut ws = open_ws(&server).await;
    match next_msg(&mut ws).await {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode::Away),
        other => panic!("expected a Close frame, got {other:?}"),
    }
    // tungstenite sends the reply on this poll, then sees the server's FIN.
    assert!(next_msg(&mut ws).await.is_none());
    drop(ws);
    let records = server.wait_records(1, WAIT).await;
    assert!(records[0].clean_close, "{:?}", records[0]);
    assert_eq!(records[0].close_code_received, Some(1001));
}

#[tokio::test]
async fn reply_server_answers_every_message_with_the_fixed_text() {
    let server = FaultServer::start(Behavior::Reply("fixed".into())).await;
    let mut ws = open_ws(&server).await;
    ws.send(Message::text("one")).await.unwrap();
    assert_eq!(
        next_msg(&mut ws).await.unwrap().unwrap(),
        Message::text("fixed")
    );
    ws.send(Message::binary(vec![9u8])).await.unwrap();
    assert_eq!(
        next_msg(&mut ws).await.unwrap().unwrap(),
        Message::text("fixed")
    );
    close_cleanly(ws).await;
}

#[tokio::test]
async fn oversized_message_follows_the_first_client_message() {
    const LEN: usize = 2 * 1024 * 1024;
    let server = FaultServer::start(Behavior::OversizedMessage(LEN)).await;
    let mut ws = open_ws(&server).await;
    ws.send(Message::text("go")).await.unwrap();
    match next_msg(&mut ws).await {
        Some(Ok(Message::Binary(data))) => assert_eq!(data.len(), LEN),
        other => panic!("expected the big binary message, got {other:?}"),
    }
    close_cleanly(ws).await;
    assert!(server.wait_records(1, WAIT).await[0].clean_close);
}

#[tokio::test]
async fn oversized_message_follows_the_first_ping_and_trips_client_limits() {
    let server = FaultServer::start(Behavior::OversizedMessage(2 * 1024 * 1024)).await;
    let limits = WebSocketConfig::default()
        .max_message_size(Some(1024 * 1024))
        .max_frame_size(Some(1024 * 1024));
    let (_, mut ws) = ws_over(connect(&server).await, "", Some(limits)).await;
    ws.send(Message::Ping(Bytes::from_static(b"p")))
        .await
        .unwrap();
    assert!(matches!(
        next_msg(&mut ws).await,
        Some(Ok(Message::Pong(_)))
    ));
    match next_msg(&mut ws).await {
        Some(Err(tungstenite::Error::Capacity(CapacityError::MessageTooLong { .. }))) => {}
        other => panic!("expected a capacity error, got {other:?}"),
    }
}

#[tokio::test]
async fn backlog_full_listener_leaves_a_syn_unanswered() {
    let (addr, _guard) = backlog::full_listener().await;
    let attempt = timeout(Duration::from_millis(500), TcpStream::connect(addr)).await;
    assert!(
        attempt.is_err(),
        "expected a connect timeout, got {attempt:?}"
    );
}

#[tokio::test]
async fn refused_port_refuses_connections() {
    let addr = refused_port().await;
    let err = TcpStream::connect(addr).await.expect_err("refused");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
}

#[tokio::test]
async fn urls_point_at_the_listener() {
    let server = FaultServer::start(Behavior::Healthy).await;
    let port = server.addr.port();
    assert_eq!(server.ws_url("/a/b"), format!("ws://127.0.0.1:{port}/a/b"));
    assert_eq!(server.ws_url("x"), format!("ws://127.0.0.1:{port}/x"));
    assert_eq!(
        server.wss_url(TLS_HOST, "/ws"),
        format!("wss://{TLS_HOST}:{port}/ws")
    );
}

fn tls_connector(ca_pem: &str, client_cert: Option<(String, String)>) -> TlsConnector {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match client_cert {
        None => builder.with_no_client_auth(),
        Some((cert_pem, key_pem)) => {
            let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        }
    };
    TlsConnector::from(Arc::new(config))
}

async fn tls_connect(
    server: &FaultServer,
    connector: &TlsConnector,
    name: &str,
) -> io::Result<TlsStream<TcpStream>> {
    let name = ServerName::try_from(name.to_string()).unwrap();
    timeout(WAIT, connector.connect(name, connect(server).await))
        .await
        .expect("TLS handshake in time")
}

#[tokio::test]
async fn tls_server_speaks_websocket_for_its_dns_name_and_ip() {
    let ca = TestCa::new("smoke CA");
    let identity = ca.server(&[TLS_HOST, "127.0.0.1"], Validity::Current);
    let server = FaultServer::start_tls(Behavior::Healthy, identity).await;
    let connector = tls_connector(&ca.cert_pem, None);

    let tls = tls_connect(&server, &connector, TLS_HOST).await.unwrap();
    let (_, mut ws) = ws_over(tls, "", None).await;
    ws.send(Message::text("secure")).await.unwrap();
    assert_eq!(
        next_msg(&mut ws).await.unwrap().unwrap(),
        Message::text("secure")
    );
    close_cleanly(ws).await;
    let records = server.wait_records(1, WAIT).await;
    assert!(records[0].clean_close, "{:?}", records[0]);

    // The IP SAN verifies too.
    tls_connect(&server, &connector, "127.0.0.1").await.unwrap();
}

#[tokio::test]
async fn tls_server_presents_the_expired_certificate() {
    let ca = TestCa::new("smoke CA");
    let identity = ca.server(&[TLS_HOST], Validity::Expired);
    let server = FaultServer::start_tls(Behavior::Healthy, identity).await;
    let err = tls_connect(&server, &tls_connector(&ca.cert_pem, None), TLS_HOST)
        .await
        .expect_err("an expired certificate must be rejected");
    let cause = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>());
    assert!(
        matches!(
            cause,
            Some(rustls::Error::InvalidCertificate(
                CertificateError::Expired | CertificateError::ExpiredContext { .. }
            ))
        ),
        "expected an expiry error, got {err:?}"
    );
    let records = server.wait_records(1, WAIT).await;
    let logged = records[0].client_error.as_deref().unwrap_or_default();
    assert!(logged.starts_with("tls handshake failed"), "{logged}");
}

#[tokio::test]
async fn tls_server_requires_a_client_certificate_when_a_client_ca_is_set() {
    let ca = TestCa::new("smoke CA");
    let client_ca = TestCa::new("smoke client CA");
    let mut identity = ca.server(&[TLS_HOST], Validity::Current);
    identity.client_ca_pem = Some(client_ca.cert_pem.clone());
    let server = FaultServer::start_tls(Behavior::Healthy, identity).await;

    // Without a certificate: with TLS 1.3 the client may think the handshake
    // succeeded, but the server refuses before any HTTP is exchanged.
    let anonymous = tls_connect(&server, &tls_connector(&ca.cert_pem, None), TLS_HOST).await;
    if let Ok(mut tls) = anonymous {
        let _ = tls.write_all(upgrade_request("").as_bytes()).await;
        let mut buf = [0u8; 64];
        let read = timeout(WAIT, tls.read(&mut buf))
            .await
            .expect("refusal in time");
        assert!(
            !matches!(read, Ok(n) if n > 0),
            "server answered a client without a certificate"
        );
    }
    let records = server.wait_records(1, WAIT).await;
    let logged = records[0].client_error.as_deref().unwrap_or_default();
    assert!(logged.starts_with("tls handshake failed"), "{logged}");

    // With a certificate from the client CA the upgrade works.
    let connector = tls_connector(&ca.cert_pem, Some(client_ca.client("probe")));
    let tls = tls_connect(&server, &connector, TLS_HOST).await.unwrap();
    let (_, mut ws) = ws_over(tls, "", None).await;
    ws.send(Message::text("mutual")).await.unwrap();
    assert_eq!(
        next_msg(&mut ws).await.unwrap().unwrap(),
        Message::text("mutual")
    );
}

/// `not_after - now` and `not_before - now`, in days (rounded), of a PEM certificate.
fn validity_days(cert_pem: &str) -> (i64, i64) {
    let (_, pem) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes()).unwrap();
    let cert = pem.parse_x509().unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let days = |t: i64| ((t - now) as f64 / 86_400.0).round() as i64;
    (
        days(cert.validity().not_before.timestamp()),
        days(cert.validity().not_after.timestamp()),
    )
}

#[test]
fn pki_validity_windows_are_relative_to_now() {
    let ca = TestCa::new("smoke CA");
    let server = |v| ca.server(&["a.test"], v).cert_chain_pem;
    assert_eq!(validity_days(&server(Validity::Current)), (-1, 89));
    assert_eq!(validity_days(&server(Validity::Expired)), (-92, -2));
    assert_eq!(validity_days(&server(Validity::ExpiresInDays(5))), (-1, 5));

    let dir = tempfile::tempdir().unwrap();
    let path = ca.write_ca_pem(dir.path());
    assert_eq!(std::fs::read_to_string(path).unwrap(), ca.cert_pem);
    assert!(ca.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
}

#[test]
fn accept_key_matches_the_rfc_6455_example() {
    assert_eq!(frames::accept_key(KEY), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

/// A masked client frame as a browser would send it.
fn masked_frame(op: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x11, 0x22, 0x33, 0x44];
    let mut wire = vec![0x80 | op];
    match payload.len() {
        n if n < 126 => wire.push(0x80 | n as u8),
        n if n <= 0xFFFF => {
            wire.push(0x80 | 126);
            wire.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            wire.push(0x80 | 127);
            wire.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    wire.extend_from_slice(&mask);
    wire.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    wire
}

#[tokio::test]
async fn frames_read_masked_frames_of_every_length_encoding() {
    for len in [5usize, 300, 70_000] {
        let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let wire = masked_frame(opcode::BINARY, &payload);
        let frame = frames::read_frame(&mut &wire[..]).await.unwrap().unwrap();
        assert!(frame.fin);
        assert_eq!(frame.opcode, opcode::BINARY);
        assert_eq!(frame.payload, payload);
    }
    let close = masked_frame(opcode::CLOSE, &1001u16.to_be_bytes());
    let frame = frames::read_frame(&mut &close[..]).await.unwrap().unwrap();
    assert_eq!(frame.close_code(), Some(1001));

    assert!(frames::read_frame(&mut &[][..]).await.unwrap().is_none());

    let mut too_big = vec![0x82, 0x80 | 127];
    too_big.extend_from_slice(&(frames::MAX_PAYLOAD + 1).to_be_bytes());
    too_big.extend_from_slice(&[0; 4]);
    let err = frames::read_frame(&mut &too_big[..]).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);

    let unmasked = [0x81, 0x01, b'x'];
    let err = frames::read_frame(&mut &unmasked[..]).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
}

#[tokio::test]
async fn frames_written_by_the_server_codec_parse_in_tungstenite() {
    let (mut server, client) = tokio::io::duplex(1 << 20);
    frames::write_text(&mut server, "hi").await.unwrap();
    frames::write_binary(&mut server, &[7u8; 70_000])
        .await
        .unwrap();
    frames::write_pong(&mut server, b"p").await.unwrap();
    frames::write_close(&mut server, 1001, "going")
        .await
        .unwrap();
    let mut ws = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
    assert_eq!(
        next_msg(&mut ws).await.unwrap().unwrap(),
        Message::text("hi")
    );
    assert_eq!(
        next_msg(&mut ws).await.unwrap().unwrap(),
        Message::binary(vec![7u8; 70_000])
    );
    assert_eq!(
        next_msg(&mut ws).await.unwrap().unwrap(),
        Message::Pong(Bytes::from_static(b"p"))
    );
    match next_msg(&mut ws).await {
        Some(Ok(Message::Close(Some(frame)))) => {
            assert_eq!(frame.code, CloseCode::Away);
            assert_eq!(frame.reason.as_str(), "going");
        }
        other => panic!("expected a Close frame, got {other:?}"),
    }
}

#[tokio::test]
async fn request_head_reader_is_bounded_and_headers_are_case_insensitive() {
    let head = "GET / HTTP/1.1\r\nsec-websocket-KEY: abc==\r\n\r\nrest";
    let mut input = head.as_bytes();
    let read = frames::read_head(&mut input).await.unwrap();
    assert!(read.ends_with("\r\n\r\n"));
    assert_eq!(input, b"rest", "nothing past the head is consumed");
    assert_eq!(frames::sec_websocket_key(&read), Some("abc=="));

    let endless = vec![b'a'; frames::MAX_HEAD + 10];
    let err = frames::read_head(&mut &endless[..]).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
}
