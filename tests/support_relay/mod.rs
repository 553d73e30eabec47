//! A TCP relay in front of a real server (PostgreSQL), to cut one client off
//! without touching the server or the other clients. Cut, it goes silent the
//! way a dead network path does: live connections stop forwarding (nothing
//! is closed, nothing answers) and new ones are accepted and held, so the
//! client learns only from its own timeouts.

// Each test file uses only part of this fixture.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The running relay; stops when dropped.
pub struct Relay {
    /// Where clients connect.
    pub addr: SocketAddr,
    /// Cancelled to silence the connections of the current period.
    period: Arc<Mutex<CancellationToken>>,
    open: Arc<std::sync::atomic::AtomicBool>,
    task: JoinHandle<()>,
}

impl Relay {
    /// Relay 127.0.0.1:free → `upstream`.
    pub async fn start(upstream: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind relay");
        let addr = listener.local_addr().expect("relay addr");
        let period = Arc::new(Mutex::new(CancellationToken::new()));
        let open = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (p, o) = (period.clone(), open.clone());
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((client, _)) = listener.accept().await {
                if !o.load(std::sync::atomic::Ordering::SeqCst) {
                    // Accepted, never answered: a black hole.
                    held.push(client);
                    continue;
                }
                let silence = p.lock().unwrap().clone();
                tokio::spawn(forward(client, upstream, silence));
            }
        });
        Relay {
            addr,
            period,
            open,
            task,
        }
    }

    /// Go silent: forward nothing more, on live connections or new ones.
    pub fn cut(&self) {
        self.open.store(false, std::sync::atomic::Ordering::SeqCst);
        let mut period = self.period.lock().unwrap();
        period.cancel();
        *period = CancellationToken::new();
    }

    /// Forward new connections again (silenced ones stay silent, as after a
    /// real outage the client must reconnect).
    pub fn restore(&self) {
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.period.lock().unwrap().cancel();
        self.task.abort();
    }
}

/// Pipe both ways until either side closes; once `silence` fires, stop
/// forwarding but keep both sockets open (held by this task until the relay
/// is dropped).
async fn forward(mut client: TcpStream, upstream: SocketAddr, silence: CancellationToken) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = silence.cancelled() => {
            // Hold both ends open and quiet until the relay goes away.
            std::future::pending::<()>().await;
        }
    }
}
