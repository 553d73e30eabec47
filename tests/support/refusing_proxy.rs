//! A proxy that never opens a tunnel: it answers HTTP CONNECT with a chosen
//! status, or a SOCKS5 CONNECT (RFC 1928) with a chosen reply code, the way
//! squid, tinyproxy or dante answer when policy forbids the tunnel or the
//! target cannot be reached. It records each request it was sent, and the
//! address each client connected from.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::frames;

/// How the proxy refuses.
#[derive(Debug, Clone, Copy)]
pub enum Refusal {
    /// HTTP CONNECT answered with this status and reason phrase.
    Http(u16, &'static str),
    /// SOCKS5 without authentication; CONNECT answered with this reply code.
    Socks5(u8),
    /// SOCKS5 that accepts no authentication method the client offers (X'FF').
    Socks5NoAcceptableMethod,
}

/// A running refusing proxy on 127.0.0.1 and a free port.
pub struct RefusingProxy {
    /// Where it listens.
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
    peers: Arc<Mutex<Vec<SocketAddr>>>,
}

impl RefusingProxy {
    /// Start it; it serves until the test's runtime ends.
    pub async fn start(refusal: Refusal) -> RefusingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&requests);
        let peers = Arc::new(Mutex::new(Vec::new()));
        let peer_log = Arc::clone(&peers);
        tokio::spawn(async move {
            while let Ok((client, peer)) = listener.accept().await {
                peer_log.lock().unwrap().push(peer);
                let log = Arc::clone(&log);
                tokio::spawn(async move {
                    let request = match refusal {
                        Refusal::Http(status, reason) => http(client, status, reason).await,
                        Refusal::Socks5(code) => socks5(client, Some(code)).await,
                        Refusal::Socks5NoAcceptableMethod => socks5(client, None).await,
                    };
                    if let Some(request) = request {
                        log.lock().unwrap().push(request);
                    }
                });
            }
        });
        RefusingProxy {
            addr,
            requests,
            peers,
        }
    }

    /// The proxy URL for `--proxy`.
    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://{}", self.addr)
    }

    /// The address of each client that connected, in order.
    pub fn peers(&self) -> Vec<SocketAddr> {
        self.peers.lock().unwrap().clone()
    }

    /// Each request seen: the CONNECT head, or "socks5 CONNECT host:port".
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

async fn http(mut client: TcpStream, status: u16, reason: &str) -> Option<String> {
    let head = frames::read_head(&mut client).await.ok()?;
    let answer =
        format!("HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    let _ = client.write_all(answer.as_bytes()).await;
    Some(head)
}

/// Greeting, then (unless no method is acceptable) the CONNECT request and
/// a reply carrying `code` with a zero bound address.
async fn socks5(mut client: TcpStream, code: Option<u8>) -> Option<String> {
    let mut greeting = [0u8; 2];
    client.read_exact(&mut greeting).await.ok()?;
    let mut methods = vec![0u8; usize::from(greeting[1])];
    client.read_exact(&mut methods).await.ok()?;
    let Some(code) = code else {
        let _ = client.write_all(&[5, 0xff]).await;
        return Some(format!("socks5 greeting offering {methods:?}"));
    };
    client.write_all(&[5, 0]).await.ok()?;
    let mut request = [0u8; 4];
    client.read_exact(&mut request).await.ok()?;
    let host = match request[3] {
        1 => {
            let mut ip = [0u8; 4];
            client.read_exact(&mut ip).await.ok()?;
            std::net::Ipv4Addr::from(ip).to_string()
        }
        3 => {
            let mut len = [0u8; 1];
            client.read_exact(&mut len).await.ok()?;
            let mut name = vec![0u8; usize::from(len[0])];
            client.read_exact(&mut name).await.ok()?;
            String::from_utf8_lossy(&name).into_owned()
        }
        _ => return None,
    };
    let mut port = [0u8; 2];
    client.read_exact(&mut port).await.ok()?;
    let _ = client.write_all(&[5, code, 0, 1, 0, 0, 0, 0, 0, 0]).await;
    Some(format!(
        "socks5 CONNECT {host}:{}",
        u16::from_be_bytes(port)
    ))
}
