//! The benchmark's WebSocket echo target: tokio-tungstenite on a current-thread
//! runtime, one ws:// and one wss:// listener on 127.0.0.1 (ports chosen by the
//! kernel), with a throwaway CA made by rcgen.
//!
//! Usage: `bench_target DIR [--max-seconds S]`. Writes `DIR/ca.pem`, prints
//! `ws_port=P wss_port=Q tls_name=bench.localhost` once both listeners are up,
//! and serves until killed or for S seconds (default 1800), so it never outlives
//! a forgotten bench run by long. It runs in its own process so that its CPU is
//! not counted as the client's.

#[path = "../tests/support/pki.rs"]
mod pki;

use futures_util::{SinkExt, StreamExt};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tungstenite::protocol::WebSocketConfig;

/// The name the server certificate is issued for (clients use --resolve).
const TLS_NAME: &str = "bench.localhost";
/// No single connection may live longer than this (the daemon benchmark
/// holds connections for 30 s).
const CONNECTION_LIMIT: Duration = Duration::from_secs(120);

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .expect("usage: bench_target DIR [--max-seconds S]"),
    );
    let mut max_seconds = 1800u64;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--max-seconds" => {
                max_seconds = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .expect("--max-seconds needs a number")
            }
            other => panic!("unknown argument {other}"),
        }
    }
    let ca = pki::TestCa::new("wsprobe bench CA");
    ca.write_ca_pem(&dir);
    let identity = ca.server(&[TLS_NAME, "127.0.0.1"], pki::Validity::Current);
    let acceptor = tls_acceptor(&identity);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build a tokio runtime");
    runtime.block_on(async move {
        let ws = TcpListener::bind("127.0.0.1:0").await.expect("bind ws");
        let wss = TcpListener::bind("127.0.0.1:0").await.expect("bind wss");
        println!(
            "ws_port={} wss_port={} tls_name={TLS_NAME}",
            ws.local_addr().expect("ws address").port(),
            wss.local_addr().expect("wss address").port()
        );
        std::io::stdout().flush().expect("flush stdout");
        let serve = async {
            tokio::join!(accept_loop(ws, None), accept_loop(wss, Some(acceptor)));
        };
        // Stop by itself: a bench run that forgot us must not leave us running.
        let _ = tokio::time::timeout(Duration::from_secs(max_seconds), serve).await;
    });
}

fn tls_acceptor(identity: &pki::ServerIdentity) -> TlsAcceptor {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = CertificateDer::pem_slice_iter(identity.cert_chain_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("parse the server certificate");
    let key = PrivateKeyDer::from_pem_slice(identity.key_pem.as_bytes()).expect("parse the key");
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("certificate and key match");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    TlsAcceptor::from(Arc::new(config))
}

async fn accept_loop(listener: TcpListener, tls: Option<TlsAcceptor>) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            // EMFILE and the like: back off instead of spinning.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let tls = tls.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(CONNECTION_LIMIT, async move {
                match tls {
                    None => echo(tcp).await,
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(tcp).await {
                            echo(stream).await;
                        }
                    }
                }
            })
            .await;
        });
    }
}

/// Upgrade, echo data messages; tungstenite answers pings and the Close itself,
/// and ends the stream after the closing handshake. Then the server ends TCP
/// first, as RFC 6455 asks, with a TLS close_notify before its FIN on wss.
async fn echo<S: AsyncRead + AsyncWrite + Unpin>(stream: S) {
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else {
        return;
    };
    while let Some(Ok(message)) = ws.next().await {
        if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
            return;
        }
    }
    let _ = ws.get_mut().shutdown().await;
}
