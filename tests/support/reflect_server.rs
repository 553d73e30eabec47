//! A server that reflects the request back, the way misconfigured proxies,
//! debug endpoints and chatty error handlers do: the request head in a 400's
//! body and headers, the Authorization value in a Close reason, the message
//! and the credentials in an echoed text. wsprobe must scrub every secret it
//! sent from what such a server writes back.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::timeout;

use super::frames::{self, opcode};

/// Bound on every step of a connection, so a client that stalls cannot pin a task.
const STEP: Duration = Duration::from_secs(5);
/// The longest reason a Close frame can carry (RFC 6455 §5.5: 125 − 2 bytes).
const MAX_CLOSE_REASON: usize = 123;

/// What the server reflects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reflection {
    /// `400 Bad Request` whose body is the request head and whose headers
    /// repeat each request line (`X-Reflected-1: GET /… HTTP/1.1`, …) under
    /// names that do not look like credentials.
    ErrorPage,
    /// `400 Bad Request` as a framework's debug page: the request head
    /// HTML-escaped in an HTML body and JSON-encoded in a script, and the
    /// Authorization value form-encoded in a header.
    EscapedPage,
    /// A valid 101, then at once a Close frame (4001) whose reason quotes the
    /// Authorization value.
    CloseReason,
    /// A valid 101; pings are answered; the first text message is answered
    /// with `echo: <message> | <Authorization value> | <request line>`, then
    /// a Close frame (4001) quoting the Authorization value.
    EchoMessage,
}

/// A running reflecting server on 127.0.0.1; dropping it stops it.
pub struct ReflectServer {
    /// Where it listens.
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl ReflectServer {
    /// Start a server applying `reflection` to every connection.
    pub async fn start(reflection: Reflection) -> ReflectServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind reflect server on 127.0.0.1:0");
        let addr = listener.local_addr().expect("reflect server local addr");
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            while let Ok((tcp, _)) = listener.accept().await {
                conns.spawn(async move {
                    let _ = timeout(4 * STEP, serve(tcp, reflection)).await;
                });
            }
        });
        ReflectServer { addr, task }
    }

    /// `127.0.0.1:PORT`, for building URLs (with userinfo, queries…).
    pub fn authority(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for ReflectServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut tcp: TcpStream, reflection: Reflection) -> std::io::Result<()> {
    let head = timeout(STEP, frames::read_head(&mut tcp)).await??;
    let request_line = head.lines().next().unwrap_or_default().to_string();
    let authorization = frames::header_value(&head, "authorization")
        .unwrap_or("(none)")
        .to_string();
    match reflection {
        Reflection::ErrorPage => return error_page(&mut tcp, &head).await,
        Reflection::EscapedPage => return escaped_page(&mut tcp, &head, &authorization).await,
        _ => {}
    }
    let key = frames::sec_websocket_key(&head).unwrap_or_default();
    let switching = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        frames::accept_key(key)
    );
    tcp.write_all(switching.as_bytes()).await?;
    let reason = close_reason(&authorization);
    if reflection == Reflection::CloseReason {
        frames::write_close(&mut tcp, 4001, &reason).await?;
        return drain(&mut tcp).await;
    }
    while let Some(frame) = timeout(STEP, frames::read_frame(&mut tcp)).await?? {
        match frame.opcode {
            opcode::PING => frames::write_pong(&mut tcp, &frame.payload).await?,
            opcode::TEXT => {
                let message = String::from_utf8_lossy(&frame.payload);
                let echo = format!("echo: {message} | {authorization} | {request_line}");
                frames::write_text(&mut tcp, &echo).await?;
                frames::write_close(&mut tcp, 4001, &reason).await?;
                return drain(&mut tcp).await;
            }
            opcode::CLOSE => {
                frames::write_close(&mut tcp, 1000, "").await?;
                return Ok(());
            }
            _ => {}
        }
    }
    Ok(())
}

async fn error_page(tcp: &mut TcpStream, head: &str) -> std::io::Result<()> {
    let mut response = String::from("HTTP/1.1 400 Bad Request\r\nServer: reflector/1\r\n");
    for (i, line) in head.lines().filter(|l| !l.is_empty()).enumerate() {
        response.push_str(&format!("X-Reflected-{}: {line}\r\n", i + 1));
    }
    response.push_str(&format!(
        "Content-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
        head.len()
    ));
    tcp.write_all(response.as_bytes()).await?;
    tcp.shutdown().await
}

async fn escaped_page(tcp: &mut TcpStream, head: &str, authorization: &str) -> std::io::Result<()> {
    let html = head
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;");
    let json = serde_json::to_string(head).expect("a string encodes");
    let body = format!("<pre>{html}</pre><script>const request = {json};</script>");
    let form: String = url::form_urlencoded::byte_serialize(authorization.as_bytes()).collect();
    let response = format!(
        "HTTP/1.1 400 Bad Request\r\nServer: reflector/1\r\nX-Echo-Form: auth={form}\r\n\
         Content-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(response.as_bytes()).await?;
    tcp.shutdown().await
}

fn close_reason(authorization: &str) -> String {
    let mut reason = format!("rejected {authorization}");
    while reason.len() > MAX_CLOSE_REASON {
        reason.pop();
    }
    reason
}

/// Read until the client closes (answering its Close), bounded by [`STEP`].
async fn drain(tcp: &mut TcpStream) -> std::io::Result<()> {
    while let Ok(Ok(Some(frame))) = timeout(STEP, frames::read_frame(tcp)).await {
        if frame.opcode == opcode::CLOSE {
            break;
        }
    }
    tcp.shutdown().await
}
