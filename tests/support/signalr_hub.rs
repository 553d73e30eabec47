//! A SignalR hub written from the protocol's spec (dotnet/aspnetcore
//! `docs/specs/HubProtocol.md`): no SignalR server installs on this machine
//! (ASP.NET Core is not packaged for Debian or PyPI). It reads the handshake
//! request, answers `{}` or an `{"error":…}` record, sends its own ping
//! `{"type":6}` as a hub does, and completes the client's close.
#![allow(dead_code)]

use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tungstenite::Message;

/// The record separator that ends every JSON hub protocol message.
const RS: char = '\u{1e}';

/// How the hub answers the handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hub {
    /// Accepts the JSON protocol version 1, as ASP.NET Core does.
    Json,
    /// Answers as a hub that only has MessagePack enabled.
    MessagePackOnly,
}

/// Starts the hub on 127.0.0.1 and a free port; serves until the test ends.
pub async fn start(hub: Hub) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(serve(tcp, hub));
        }
    });
    addr
}

async fn serve(tcp: tokio::net::TcpStream, hub: Hub) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    // The first text message is the handshake; pings before it are answered by tungstenite.
    let request = loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => break t,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            _ => return,
        }
    };
    let wants_json = request.as_str() == format!(r#"{{"protocol":"json","version":1}}{RS}"#);
    let answer = if wants_json && hub == Hub::Json {
        // The handshake response and the hub's first ping in one frame, as
        // the spec allows: the client must not need them apart.
        format!("{{}}{RS}{{\"type\":6}}{RS}")
    } else {
        format!(r#"{{"error":"Requested protocol 'json' is not available."}}{RS}"#)
    };
    if ws.send(Message::Text(answer.into())).await.is_err() {
        return;
    }
    // Until the client closes (tungstenite answers its Close).
    while let Some(Ok(_)) = ws.next().await {}
}
