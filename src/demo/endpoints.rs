//! Local demo endpoints that reproduce the classic WebSocket incidents, so a
//! newcomer can watch wsprobe diagnose them without any external service.
//! Loopback only; each server task ends when its `DemoEndpoints` is dropped.

use crate::check::head::{HeadReadError, read_head};
use crate::check::upgrade::accept_for;
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_tungstenite::WebSocketStream;
use tungstenite::protocol::Role;

/// The failure each demo endpoint reproduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behavior {
    /// A correct echo server with a clean closing handshake.
    Healthy,
    /// 101, then FIN at once (a proxy speaking HTTP/1.0 to the backend).
    FinAfter101,
    /// Reads the upgrade request and never answers.
    Silent,
    /// Answers like nginx when the upstream did not answer in time.
    GatewayTimeout,
    /// Healthy, but cuts connections idle for this long (a load balancer).
    IdleCut(Duration),
    /// A backend restart: healthy, then from `down_at` after the start and
    /// for `down_for` answered like [`Behavior::GatewayTimeout`], then healthy
    /// again, so the demo shows a DOWN and its RECOVERED.
    Restart {
        /// When the backend goes away, counted from the server's start.
        down_at: Duration,
        /// How long it stays away.
        down_for: Duration,
    },
}

impl Behavior {
    /// The name used for the demo monitor.
    pub fn name(self) -> &'static str {
        match self {
            Behavior::Healthy => "healthy",
            Behavior::FinAfter101 => "fin-after-101",
            Behavior::Silent => "silent-server",
            Behavior::GatewayTimeout => "proxy-504",
            Behavior::IdleCut(_) => "idle-cut",
            Behavior::Restart { .. } => "restarting",
        }
    }

    /// What the server does for a connection accepted `elapsed` after it
    /// started: a restart is the 504 while the backend is away.
    fn at(self, elapsed: Duration) -> Behavior {
        match self {
            Behavior::Restart { down_at, down_for }
                if elapsed >= down_at && elapsed < down_at + down_for =>
            {
                Behavior::GatewayTimeout
            }
            Behavior::Restart { .. } => Behavior::Healthy,
            other => other,
        }
    }
}

/// Running demo servers.
pub struct DemoEndpoints {
    /// (behaviour, address) of every server.
    pub servers: Vec<(Behavior, SocketAddr)>,
    tasks: JoinSet<()>,
}

impl Drop for DemoEndpoints {
    fn drop(&mut self) {
        self.tasks.abort_all();
    }
}

impl DemoEndpoints {
    /// Start one server per behaviour on 127.0.0.1, each on a free port.
    pub async fn start(behaviors: &[Behavior]) -> std::io::Result<DemoEndpoints> {
        let mut tasks = JoinSet::new();
        let mut servers = Vec::new();
        for &b in behaviors {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            servers.push((b, listener.local_addr()?));
            tasks.spawn(serve(listener, b));
        }
        Ok(DemoEndpoints { servers, tasks })
    }

    /// ws:// URL of the server with this behaviour.
    pub fn url(&self, b: Behavior) -> Option<String> {
        self.servers
            .iter()
            .find(|(x, _)| *x == b)
            .map(|(_, addr)| format!("ws://{addr}/"))
    }
}

async fn serve(listener: TcpListener, behavior: Behavior) {
    let started = tokio::time::Instant::now();
    let mut conns = JoinSet::new();
    while let Ok((stream, _)) = listener.accept().await {
        let behavior = behavior.at(started.elapsed());
        conns.spawn(async move {
            // A demo connection never outlives a minute, whatever the client does.
            let _ = tokio::time::timeout(Duration::from_secs(60), handle(stream, behavior)).await;
        });
        while conns.try_join_next().is_some() {}
    }
}

async fn handle(mut stream: TcpStream, behavior: Behavior) {
    let mut buf = Vec::new();
    let end = match read_head(&mut stream, &mut buf).await {
        Ok(end) => end,
        Err(
            HeadReadError::Eof
            | HeadReadError::TooLarge
            | HeadReadError::NotHttp
            | HeadReadError::Io(_),
        ) => return,
    };
    let key = request_key(&buf[..end]);
    match behavior {
        Behavior::Silent => {
            // Hold the connection open, answering nothing.
            let mut sink = [0u8; 512];
            while let Ok(n) = stream.read(&mut sink).await {
                if n == 0 {
                    break;
                }
            }
        }
        Behavior::GatewayTimeout => {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let body = "<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n<center><h1>504 Gateway Time-out</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
            let response = format!(
                "HTTP/1.1 504 Gateway Time-out\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        }
        Behavior::FinAfter101 => {
            let _ = stream.write_all(switching(&key).as_bytes()).await;
            let _ = stream.shutdown().await;
        }
        Behavior::Healthy => echo(stream, &key, None).await,
        Behavior::IdleCut(idle) => echo(stream, &key, Some(idle)).await,
        // `serve` resolved it to what it is at this moment.
        Behavior::Restart { .. } => echo(stream, &key, None).await,
    }
}

fn request_key(head: &[u8]) -> String {
    String::from_utf8_lossy(head)
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("sec-websocket-key")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default()
}

fn switching(key: &str) -> String {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        accept_for(key)
    )
}

async fn echo(mut stream: TcpStream, key: &str, idle_cut: Option<Duration>) {
    if stream.write_all(switching(key).as_bytes()).await.is_err() {
        return;
    }
    let mut ws = WebSocketStream::from_raw_socket(stream, Role::Server, None).await;
    loop {
        let next = match idle_cut {
            Some(idle) => match tokio::time::timeout(idle, ws.next()).await {
                Ok(n) => n,
                // Like a load balancer: drop TCP, no Close frame.
                Err(_) => return,
            },
            None => ws.next().await,
        };
        match next {
            Some(Ok(msg)) if msg.is_text() || msg.is_binary() => {
                if ws.send(msg).await.is_err() {
                    return;
                }
            }
            // Pings are answered and Close is echoed by tungstenite itself.
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{CheckOptions, CheckSpec, Class, Phase, run_check};

    async fn check(url: &str, hold: Option<Duration>) -> crate::check::CheckReport {
        let opts = CheckOptions {
            timeout: Duration::from_secs(2),
            hold,
            ..CheckOptions::default()
        };
        run_check(&CheckSpec::build(url, &opts).unwrap()).await
    }

    #[tokio::test]
    async fn each_demo_endpoint_shows_its_incident() {
        let idle = Behavior::IdleCut(Duration::from_millis(300));
        let all = [
            Behavior::Healthy,
            Behavior::FinAfter101,
            Behavior::Silent,
            Behavior::GatewayTimeout,
            idle,
        ];
        let demo = DemoEndpoints::start(&all).await.unwrap();
        let cases = [
            (Behavior::Healthy, None, Class::Ok, None),
            (
                Behavior::FinAfter101,
                None,
                Class::EarlyFin,
                Some(Phase::Open),
            ),
            (Behavior::Silent, None, Class::Timeout, Some(Phase::Upgrade)),
            (
                Behavior::GatewayTimeout,
                None,
                Class::Missing101,
                Some(Phase::Upgrade),
            ),
            (
                idle,
                Some(Duration::from_secs(1)),
                Class::EarlyFin,
                Some(Phase::Open),
            ),
        ];
        for (b, hold, class, phase) in cases {
            let report = check(&demo.url(b).unwrap(), hold).await;
            let last = report.decisive();
            assert_eq!(
                (last.class, last.phase),
                (class, phase),
                "{}: {:?}",
                b.name(),
                last.message
            );
        }
    }
}
