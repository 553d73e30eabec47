//! The floor: the same check as wsprobe's engine (connect, [TLS], upgrade,
//! ping/pong, Close 1000, the server's Close, its FIN) with bare
//! tokio-tungstenite and tokio-rustls, recording nothing. What wsprobe costs
//! above this is the price of its evidence and its bounds.
//!
//! Usage:
//! * `bench_floor once URL [--ca-file F] [--resolve H:P:A]`: one check, exit 0 or 1
//!   (the one-shot CLI's floor; same TLS roots rule as wsprobe: --ca-file, else
//!   the compiled-in webpki roots, never the system bundle).
//! * `bench_floor loop URL --n N --concurrency C [...]`: one `RESULT …` line.

mod bench_common;

use bench_common::{LoopArgs, Passed};
use futures_util::{SinkExt, StreamExt};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tungstenite::Message;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, WebSocketConfig};

/// Everything a check needs, prepared once.
struct Floor {
    url: String,
    addr: SocketAddr,
    tls: Option<(TlsConnector, ServerName<'static>)>,
}

impl Floor {
    fn new(args: &LoopArgs) -> Result<Floor, String> {
        let (host, addr) = bench_common::dial_addr(&args.url, args.resolve.as_deref())?;
        let tls = if args.url.starts_with("wss://") {
            let name = ServerName::try_from(host).map_err(|e| e.to_string())?;
            Some((TlsConnector::from(Arc::new(client_config(args)?)), name))
        } else {
            None
        };
        Ok(Floor {
            url: args.url.clone(),
            addr,
            tls,
        })
    }

    async fn check(&self) -> Result<Passed, String> {
        let tcp = TcpStream::connect(self.addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        match &self.tls {
            None => {
                steps(&self.url, tcp).await?;
                Ok(Passed::default())
            }
            Some((connector, name)) => {
                let stream = connector
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| format!("tls: {e}"))?;
                let tls_resumed = matches!(
                    stream.get_ref().1.handshake_kind(),
                    Some(rustls::HandshakeKind::Resumed)
                );
                steps(&self.url, stream).await?;
                Ok(Passed { tls_resumed })
            }
        }
    }
}

/// Roots as wsprobe takes them: the --ca-file, else the compiled-in webpki roots.
/// No session resumption: a monitor must see and verify the certificate on
/// every check, and wsprobe does a full handshake every time.
fn client_config(args: &LoopArgs) -> Result<ClientConfig, String> {
    let mut roots = RootCertStore::empty();
    match &args.ca_file {
        Some(path) => {
            for cert in CertificateDer::pem_file_iter(path).map_err(|e| e.to_string())? {
                roots
                    .add(cert.map_err(|e| e.to_string())?)
                    .map_err(|e| e.to_string())?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let mut config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.resumption = rustls::client::Resumption::disabled();
    Ok(config)
}

/// Upgrade, ping/pong, Close 1000, wait for the server's Close and then its FIN.
async fn steps<S: AsyncRead + AsyncWrite + Unpin>(url: &str, stream: S) -> Result<(), String> {
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config))
        .await
        .map_err(|e| format!("upgrade: {e}"))?;
    ws.send(Message::Ping(b"floor".to_vec().into()))
        .await
        .map_err(|e| format!("ping: {e}"))?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Pong(_))) => break,
            Some(Ok(_)) => continue,
            other => return Err(format!("waiting for the pong: {other:?}")),
        }
    }
    let close = CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    };
    ws.send(Message::Close(Some(close)))
        .await
        .map_err(|e| format!("close: {e}"))?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Close(_))) => break,
            Some(Ok(_)) => continue,
            other => return Err(format!("waiting for the server's Close: {other:?}")),
        }
    }
    // tokio-tungstenite ends the stream (None) when the server's FIN arrives.
    loop {
        match ws.next().await {
            None => return Ok(()),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(format!("waiting for the FIN: {e}")),
        }
    }
}

async fn bounded(floor: &Floor) -> Result<Passed, String> {
    tokio::time::timeout(bench_common::CHECK_TIMEOUT, floor.check())
        .await
        .map_err(|_| "timed out".to_string())?
}

fn main() {
    let mut argv = std::env::args().skip(1);
    let mode = argv.next().unwrap_or_default();
    let parsed = LoopArgs::parse(argv).and_then(|args| Floor::new(&args).map(|f| (args, f)));
    let (args, floor) = match parsed {
        Ok(ok) => ok,
        Err(e) => {
            eprintln!("bench_floor: {e}");
            std::process::exit(3);
        }
    };
    let runtime = bench_common::runtime();
    match mode.as_str() {
        "once" => {
            if let Err(e) = runtime.block_on(bounded(&floor)) {
                eprintln!("bench_floor: check failed: {e}");
                std::process::exit(1);
            }
        }
        "loop" => {
            let floor = Arc::new(floor);
            let result = runtime.block_on(bench_common::run_loop(&args, move || {
                let floor = floor.clone();
                async move { bounded(&floor).await }
            }));
            bench_common::report("floor", &args, result);
        }
        other => {
            eprintln!("bench_floor: unknown mode {other:?} (once or loop)");
            std::process::exit(3);
        }
    }
}
