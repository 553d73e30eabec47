//! A local WebSocket server that misbehaves on demand, for integration tests.
//!
//! [`FaultServer`] listens on 127.0.0.1 with an OS-assigned port, applies one
//! [`Behavior`] to every accepted connection (optionally behind TLS) and keeps
//! a [`ConnRecord`] per connection describing what the client did. Dropping
//! the server aborts the accept loop and, through the [`JoinSet`] it owns,
//! every connection task, so no test leaves tasks blocked forever.
//!
//! [`FaultServer::start_by_peer`] gives connections from chosen source
//! addresses (peer IPs) a behaviour of their own, so one server can fail for
//! one simulated location (a client bound to 127.0.0.3) and serve the rest.
//!
//! [`backlog`] and [`refused_port`] cover the failures that happen before any
//! server code runs: a SYN that is never answered and a refused connect.
#![allow(dead_code)]

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{Instant, sleep, sleep_until, timeout};
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};
use tokio_tungstenite::tungstenite::{self, Message};

use super::foreign::{AfterBanner, Foreign};
use super::frames::{self, opcode};
use super::pki::ServerIdentity;

/// How long the server waits for a peer to finish a closing sequence (answer
/// our Close, or close TCP after our FIN) before giving up on it.
const CLOSE_GRACE: Duration = Duration::from_secs(5);
/// Upper bound on a TLS handshake, so a client that stalls mid-handshake
/// does not pin a task until the server is dropped.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes the [`Behavior::Garbage`] server sends instead of an HTTP response.
pub const GARBAGE: &[u8] = b"\x00\xff SSH-2.0-nope\r\n\r\n";
/// How many pings [`Behavior::PingFlood`] sends between two drains.
pub const FLOOD_DRAIN_EVERY: usize = 1000;

/// What the server does with each accepted connection.
#[derive(Clone, Debug)]
pub enum Behavior {
    /// Correct RFC 6455 server (tungstenite after a hand-made 101): echoes
    /// text and binary, answers pings, completes the closing handshake and
    /// then closes TCP first. Negotiates the subprotocol "chat" if offered,
    /// and no other. A request that is not a valid upgrade gets a 400.
    Healthy,
    /// Waits this long after reading the request, then acts as [`Behavior::Healthy`].
    Slow101(Duration),
    /// Reads the request head and never answers; the socket stays open until
    /// the client closes it or the server is dropped.
    SilentAfterRequest,
    /// Sends a valid 101, immediately shuts down its write half (FIN), then
    /// reads (recording any frames) until EOF.
    FinAfter101,
    /// Sends a valid 101, then resets the connection (SO_LINGER 0 and close).
    RstAfter101,
    /// Answers exactly this HTTP response, then closes. Nothing is added:
    /// include `Content-Length` in `headers` if the client needs it (see
    /// [`Behavior::http`]).
    HttpResponse {
        /// Protocol of the status line, e.g. "HTTP/1.0".
        version: &'static str,
        /// Status code, e.g. 504.
        status: u16,
        /// Reason phrase, e.g. "Gateway Time-out".
        reason: &'static str,
        /// Header lines, in order.
        headers: Vec<(String, String)>,
        /// Body sent after the head.
        body: String,
    },
    /// 101 whose `Sec-WebSocket-Accept` does not match the client's key.
    BadAcceptKey,
    /// 101 without the `Upgrade` header (`Connection: Upgrade` and the
    /// accept value are correct).
    MissingUpgradeHeader,
    /// 101 with `Upgrade` and `Connection` but no `Sec-WebSocket-Accept`.
    MissingAcceptKey,
    /// 101 carrying `Sec-WebSocket-Protocol: surprise` whatever the client asked for.
    UnrequestedSubprotocol,
    /// 101 without `Sec-WebSocket-Protocol` whatever the client offered.
    IgnoresSubprotocols,
    /// 101 carrying `Sec-WebSocket-Extensions: permessage-deflate` although
    /// the client offered no extension.
    UnrequestedExtension,
    /// Speaks another protocol (see [`super::foreign`]): its banner, on
    /// connect or after reading the request, then a close or silence.
    Foreign(Foreign),
    /// Sends [`GARBAGE`] (non-HTTP bytes) and closes.
    Garbage,
    /// Sends "HTTP/1.1 101 Switching Protocols\r\n" then one `X-Big: aaa…`
    /// header line of this many bytes (name included, no line end), never
    /// finishing the head; the socket then stays open.
    HugeHeaders(usize),
    /// Valid 101, then reads and discards client frames without ever
    /// answering a ping (or a Close); the socket stays open.
    NoPong,
    /// Valid 101, answers pings and echoes data, but sends nothing back for
    /// a Close frame and keeps the socket open.
    NoCloseReply,
    /// [`Behavior::Healthy`], except that when no frame arrives from the
    /// client for this long the server closes TCP (FIN) without a Close frame.
    IdleCut(Duration),
    /// [`Behavior::Healthy`], and after `after` the server sends a Close
    /// frame with `code` and completes the closing handshake.
    CloseFrameAfter {
        /// Delay after the handshake before the server's Close frame.
        after: Duration,
        /// Status code of the server's Close frame, e.g. 1001.
        code: u16,
    },
    /// [`Behavior::Healthy`], but every text or binary message is answered
    /// with this fixed text instead of an echo.
    Reply(String),
    /// [`Behavior::Healthy`], but the server speaks first: this text message
    /// is sent right after the 101, before the client's first frame is read
    /// (as Socket.IO's OPEN packet or a chat server's greeting is).
    Greeting(String),
    /// Valid 101; on the first data message (or right after answering the
    /// first ping) sends one binary frame of this many bytes, streamed with
    /// a 64-bit length header; afterwards answers pings, echoes data and
    /// completes a client-initiated close.
    OversizedMessage(usize),
    /// Valid 101, then ping frames (`\x89\x7d` and 125 payload bytes) in a
    /// loop as fast as the socket takes them, reading nothing except, every
    /// [`FLOOD_DRAIN_EVERY`] frames, at most 4 KiB of what has already
    /// arrived (without waiting): far less than the pongs a client owes, so
    /// they pile up. Ends when a write fails, i.e. when the client has gone.
    PingFlood,
    /// Valid 101, then at once a Close frame written by hand with `code` and
    /// exactly these reason bytes, which tungstenite would refuse to send
    /// (a reason that is not UTF-8, a code that must not be sent); then it
    /// records the client's Close and closes TCP.
    RawClose {
        /// Status code of the Close frame, any number.
        code: u16,
        /// Reason bytes, not necessarily UTF-8.
        reason: Vec<u8>,
    },
    /// Valid 101, then never reads another byte and never writes one; the
    /// socket stays open until the server is dropped.
    NeverReads,
}

impl Behavior {
    /// An HTTP/1.1 response with `Content-Type: text/html`, a correct
    /// `Content-Length` and `Connection: close`, for the common
    /// "proxy answered instead of the backend" cases.
    pub fn http(status: u16, reason: &'static str, body: &str) -> Behavior {
        Behavior::HttpResponse {
            version: "HTTP/1.1",
            status,
            reason,
            headers: vec![
                ("Content-Type".into(), "text/html".into()),
                ("Content-Length".into(), body.len().to_string()),
                ("Connection".into(), "close".into()),
            ],
            body: body.into(),
        }
    }
}

/// What the server observed on one accepted connection.
#[derive(Clone, Debug, Default)]
pub struct ConnRecord {
    /// When the connection was accepted.
    pub accepted_at: Option<Instant>,
    /// The client's address, as the server saw it.
    pub peer: Option<SocketAddr>,
    /// The raw request head the client sent, blank line included (empty if
    /// the client never sent a complete one).
    pub request_head: String,
    /// Status code of the client's Close frame, if it sent one with a code.
    pub close_code_received: Option<u16>,
    /// The closing handshake completed: Close frames went both ways, the
    /// server closed TCP and the client then closed its side (no 1006).
    pub clean_close: bool,
    /// How the client misbehaved, as a server would log it, e.g. "reset
    /// without closing handshake" (1006), or a TLS handshake failure.
    pub client_error: Option<String>,
    /// Number of ping frames received from the client.
    pub pings_received: usize,
    /// Number of ping frames sent to the client ([`Behavior::PingFlood`]).
    pub pings_sent: usize,
}

/// One record plus whether its connection task has ended.
#[derive(Default)]
struct Slot {
    record: ConnRecord,
    finished: bool,
}

type Records = Arc<Mutex<Vec<Slot>>>;

/// Locks the records, ignoring poisoning: a panicking connection task must
/// not hide what the other connections recorded.
fn lock(records: &Records) -> MutexGuard<'_, Vec<Slot>> {
    records
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Write access to one connection's record. Dropping it marks the
/// connection finished, so even a panicking or aborted task counts as done.
struct Recorder {
    records: Records,
    idx: usize,
}

impl Recorder {
    fn new(records: &Records, peer: SocketAddr) -> Recorder {
        let mut slots = lock(records);
        let mut slot = Slot::default();
        slot.record.accepted_at = Some(Instant::now());
        slot.record.peer = Some(peer);
        slots.push(slot);
        Recorder {
            records: Arc::clone(records),
            idx: slots.len() - 1,
        }
    }

    fn update(&self, f: impl FnOnce(&mut ConnRecord)) {
        f(&mut lock(&self.records)[self.idx].record);
    }

    /// Records an error unless one is already recorded: the first failure is
    /// the cause, later ones are consequences.
    fn error(&self, msg: impl Into<String>) {
        self.update(|r| {
            r.client_error.get_or_insert_with(|| msg.into());
        });
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        lock(&self.records)[self.idx].finished = true;
    }
}

/// A running fault server; dropping it stops it and all its connections.
pub struct FaultServer {
    /// Address the server listens on (127.0.0.1, OS-assigned port).
    pub addr: SocketAddr,
    records: Records,
    accept_task: JoinHandle<()>,
}

impl FaultServer {
    /// Starts a plain-TCP server with `behavior`.
    pub async fn start(behavior: Behavior) -> FaultServer {
        Self::spawn(behavior, None).await
    }

    /// Starts a TLS server presenting `identity`, applying `behavior` inside
    /// TLS. If `identity.client_ca_pem` is set, clients must present a
    /// certificate issued by that CA.
    pub async fn start_tls(behavior: Behavior, identity: ServerIdentity) -> FaultServer {
        Self::spawn(behavior, Some(tls_acceptor(&identity))).await
    }

    /// Starts a plain-TCP server with `behavior` on `addr`, a port the test
    /// chose earlier (e.g. one a monitor already points at, or the port of a
    /// server it just dropped). Retries for a few seconds while the port is
    /// still held, since a dropped server releases its listener only once its
    /// aborted accept task is gone.
    pub async fn start_on(addr: SocketAddr, behavior: Behavior) -> FaultServer {
        Self::spawn_on(bind_retrying(addr).await, behavior, None)
    }

    /// Starts a plain-TCP server that applies the behaviour paired with a
    /// connection's peer IP in `by_peer`, and `otherwise` to every other peer.
    pub async fn start_by_peer(
        otherwise: Behavior,
        by_peer: Vec<(IpAddr, Behavior)>,
    ) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fault server on 127.0.0.1:0");
        Self::spawn_with(listener, PeerBehaviors { otherwise, by_peer }, None)
    }

    /// [`FaultServer::start_by_peer`] on `addr`, a port the test chose
    /// earlier (see [`FaultServer::start_on`]).
    pub async fn start_by_peer_on(
        addr: SocketAddr,
        otherwise: Behavior,
        by_peer: Vec<(IpAddr, Behavior)>,
    ) -> FaultServer {
        let listener = bind_retrying(addr).await;
        Self::spawn_with(listener, PeerBehaviors { otherwise, by_peer }, None)
    }

    /// `ws://127.0.0.1:PORT/path` (a missing leading '/' is added).
    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{}", self.addr, slash(path))
    }

    /// `wss://HOST:PORT/path`; the caller makes HOST resolve to 127.0.0.1
    /// (e.g. `--resolve HOST:PORT:127.0.0.1`) so the certificate name matches.
    pub fn wss_url(&self, host: &str, path: &str) -> String {
        format!("wss://{host}:{}{}", self.addr.port(), slash(path))
    }

    /// Snapshot of every accepted connection's record, in accept order,
    /// including connections still in progress.
    pub fn records(&self) -> Vec<ConnRecord> {
        lock(&self.records)
            .iter()
            .map(|s| s.record.clone())
            .collect()
    }

    /// Waits until at least `n` connections have finished (or `within`
    /// elapses) and returns the finished connections' records in accept
    /// order; on timeout that may be fewer than `n`.
    pub async fn wait_records(&self, n: usize, within: Duration) -> Vec<ConnRecord> {
        let deadline = Instant::now() + within;
        loop {
            let finished: Vec<ConnRecord> = lock(&self.records)
                .iter()
                .filter(|s| s.finished)
                .map(|s| s.record.clone())
                .collect();
            if finished.len() >= n || Instant::now() >= deadline {
                return finished;
            }
            sleep(Duration::from_millis(10)).await;
        }
    }

    async fn spawn(behavior: Behavior, tls: Option<TlsAcceptor>) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fault server on 127.0.0.1:0");
        Self::spawn_on(listener, behavior, tls)
    }

    fn spawn_on(
        listener: TcpListener,
        behavior: Behavior,
        tls: Option<TlsAcceptor>,
    ) -> FaultServer {
        let every_peer = PeerBehaviors {
            otherwise: behavior,
            by_peer: Vec::new(),
        };
        Self::spawn_with(listener, every_peer, tls)
    }

    fn spawn_with(
        listener: TcpListener,
        behaviors: PeerBehaviors,
        tls: Option<TlsAcceptor>,
    ) -> FaultServer {
        let addr = listener.local_addr().expect("fault server local addr");
        let records = Records::default();
        let accept_task = tokio::spawn(accept_loop(
            listener,
            Arc::new(behaviors),
            tls,
            Arc::clone(&records),
        ));
        FaultServer {
            addr,
            records,
            accept_task,
        }
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        // Aborting the accept task drops its JoinSet, which aborts every
        // connection task it still holds.
        self.accept_task.abort();
    }
}

/// Binds `addr` (with SO_REUSEADDR, so connections of a previous server in
/// TIME_WAIT do not block it), retrying for up to 5 s while it is in use.
async fn bind_retrying(addr: SocketAddr) -> TcpListener {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let socket = tokio::net::TcpSocket::new_v4().expect("create fault server socket");
        socket.set_reuseaddr(true).expect("set SO_REUSEADDR");
        match socket.bind(addr).and_then(|()| socket.listen(1024)) {
            Ok(listener) => return listener,
            Err(e) if e.kind() == io::ErrorKind::AddrInUse && Instant::now() < deadline => {
                sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("bind fault server on {addr}: {e}"),
        }
    }
}

fn slash(path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    }
}

fn tls_acceptor(identity: &ServerIdentity) -> TlsAcceptor {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = CertificateDer::pem_slice_iter(identity.cert_chain_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("parse server certificate chain PEM");
    let key =
        PrivateKeyDer::from_pem_slice(identity.key_pem.as_bytes()).expect("parse server key PEM");
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions");
    let builder = match &identity.client_ca_pem {
        None => builder.with_no_client_auth(),
        Some(ca_pem) => {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
                roots
                    .add(cert.expect("parse client CA PEM"))
                    .expect("add client CA to root store");
            }
            let mut verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            if identity.client_cert_optional {
                verifier = verifier.allow_unauthenticated();
            }
            let verifier = verifier.build().expect("build client certificate verifier");
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder
        .with_single_cert(chain, key)
        .expect("server certificate and key match");
    TlsAcceptor::from(Arc::new(config))
}

/// Which behaviour a connection gets, by the peer's IP.
struct PeerBehaviors {
    otherwise: Behavior,
    by_peer: Vec<(IpAddr, Behavior)>,
}

impl PeerBehaviors {
    fn for_peer(&self, peer: IpAddr) -> Behavior {
        self.by_peer
            .iter()
            .find(|(ip, _)| *ip == peer)
            .map_or(&self.otherwise, |(_, b)| b)
            .clone()
    }
}

async fn accept_loop(
    listener: TcpListener,
    behaviors: Arc<PeerBehaviors>,
    tls: Option<TlsAcceptor>,
    records: Records,
) {
    // Owned here so that aborting this task (FaultServer::drop) aborts every
    // connection task too.
    let mut conns = JoinSet::new();
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(_) => {
                // Transient (e.g. EMFILE); back off instead of spinning.
                sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        // Reap finished tasks so the set does not grow with every connection.
        while conns.try_join_next().is_some() {}
        // Created before spawning so records stay in accept order.
        let rec = Recorder::new(&records, peer);
        let behavior = behaviors.for_peer(peer.ip());
        let tls = tls.clone();
        conns.spawn(async move {
            match tls {
                None => serve(tcp, &behavior, &rec).await,
                Some(acceptor) => {
                    match timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => serve(stream, &behavior, &rec).await,
                        Ok(Err(e)) => rec.error(format!("tls handshake failed: {e}")),
                        Err(_) => rec.error("tls handshake timed out"),
                    }
                }
            }
        });
    }
}

/// A server-side connection, plain or TLS, with access to the TCP socket
/// underneath (needed to force an RST).
trait Conn: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    fn tcp(&self) -> &TcpStream;
}

impl Conn for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl Conn for tokio_rustls::server::TlsStream<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }
}

/// The shapes of hand-made 101 responses.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Upgrade {
    Valid,
    BadAccept,
    NoUpgradeHeader,
    NoAccept,
    UnrequestedProtocol,
    NoProtocol,
    UnrequestedExtension,
}

fn response_101(request_head: &str, kind: Upgrade) -> String {
    let key = frames::sec_websocket_key(request_head).unwrap_or("");
    let accept = if kind == Upgrade::BadAccept {
        // A well-formed value for some other key, so only the comparison fails.
        frames::accept_key("AAAAAAAAAAAAAAAAAAAAAA==")
    } else {
        frames::accept_key(key)
    };
    let mut resp = String::from("HTTP/1.1 101 Switching Protocols\r\n");
    if kind != Upgrade::NoUpgradeHeader {
        resp.push_str("Upgrade: websocket\r\n");
    }
    resp.push_str("Connection: Upgrade\r\n");
    if kind != Upgrade::NoAccept {
        resp.push_str(&format!("Sec-WebSocket-Accept: {accept}\r\n"));
    }
    if kind == Upgrade::UnrequestedExtension {
        resp.push_str("Sec-WebSocket-Extensions: permessage-deflate\r\n");
    }
    if kind == Upgrade::UnrequestedProtocol {
        resp.push_str("Sec-WebSocket-Protocol: surprise\r\n");
    } else if kind != Upgrade::NoProtocol
        && frames::header_has_token(request_head, "Sec-WebSocket-Protocol", "chat")
    {
        resp.push_str("Sec-WebSocket-Protocol: chat\r\n");
    }
    resp.push_str("\r\n");
    resp
}

/// Why a request is not a valid WebSocket upgrade (RFC 6455 §4.2.1), if it is not.
fn upgrade_problem(head: &str) -> Option<&'static str> {
    if !head.starts_with("GET ") {
        Some("method is not GET")
    } else if !frames::header_has_token(head, "Upgrade", "websocket") {
        Some("missing Upgrade: websocket")
    } else if !frames::header_has_token(head, "Connection", "upgrade") {
        Some("Connection header lacks the upgrade token")
    } else if frames::sec_websocket_key(head).is_none_or(str::is_empty) {
        Some("missing Sec-WebSocket-Key")
    } else if frames::header_value(head, "Sec-WebSocket-Version") != Some("13") {
        Some("Sec-WebSocket-Version is not 13")
    } else {
        None
    }
}

async fn send<S: AsyncWrite + Unpin>(s: &mut S, bytes: &[u8]) -> io::Result<()> {
    s.write_all(bytes).await?;
    s.flush().await
}

async fn serve<S: Conn>(mut s: S, behavior: &Behavior, rec: &Recorder) {
    if let Behavior::Foreign(foreign) = behavior {
        return speak_foreign(s, foreign, rec).await;
    }
    let head = match frames::read_head(&mut s).await {
        Ok(head) => head,
        Err(e) => return rec.error(format!("reading request head: {e}")),
    };
    rec.update(|r| r.request_head = head.clone());

    match behavior {
        Behavior::Healthy => healthy(s, &head, rec, HealthyOpts::default()).await,
        Behavior::Slow101(delay) => {
            sleep(*delay).await;
            healthy(s, &head, rec, HealthyOpts::default()).await;
        }
        Behavior::IdleCut(idle) => {
            let opts = HealthyOpts {
                idle_cut: Some(*idle),
                ..HealthyOpts::default()
            };
            healthy(s, &head, rec, opts).await;
        }
        Behavior::CloseFrameAfter { after, code } => {
            let opts = HealthyOpts {
                close_after: Some((*after, *code)),
                ..HealthyOpts::default()
            };
            healthy(s, &head, rec, opts).await;
        }
        Behavior::Reply(text) => {
            let opts = HealthyOpts {
                reply: Some(text.clone()),
                ..HealthyOpts::default()
            };
            healthy(s, &head, rec, opts).await;
        }
        Behavior::Greeting(text) => {
            let opts = HealthyOpts {
                greeting: Some(text.clone()),
                ..HealthyOpts::default()
            };
            healthy(s, &head, rec, opts).await;
        }
        Behavior::SilentAfterRequest => {
            drain(&mut s).await;
        }
        Behavior::FinAfter101 => {
            if send(&mut s, response_101(&head, Upgrade::Valid).as_bytes())
                .await
                .is_ok()
            {
                let _ = s.shutdown().await;
                raw_session(&mut s, rec, RawMode::Deaf).await;
            }
        }
        Behavior::RstAfter101 => {
            if send(&mut s, response_101(&head, Upgrade::Valid).as_bytes())
                .await
                .is_ok()
            {
                // Zero linger turns the close into an RST (and discards any
                // unsent data), which is the point of this behaviour.
                let _ = s.tcp().set_zero_linger();
            }
            drop(s);
        }
        Behavior::HttpResponse {
            version,
            status,
            reason,
            headers,
            body,
        } => {
            let mut resp = format!("{version} {status} {reason}\r\n");
            for (name, value) in headers {
                resp.push_str(&format!("{name}: {value}\r\n"));
            }
            resp.push_str("\r\n");
            resp.push_str(body);
            if send(&mut s, resp.as_bytes()).await.is_ok() {
                close_gracefully(&mut s).await;
            }
        }
        Behavior::BadAcceptKey => bad_101(s, &head, Upgrade::BadAccept).await,
        Behavior::MissingUpgradeHeader => bad_101(s, &head, Upgrade::NoUpgradeHeader).await,
        Behavior::MissingAcceptKey => bad_101(s, &head, Upgrade::NoAccept).await,
        Behavior::UnrequestedSubprotocol => {
            bad_101(s, &head, Upgrade::UnrequestedProtocol).await;
        }
        Behavior::IgnoresSubprotocols => bad_101(s, &head, Upgrade::NoProtocol).await,
        Behavior::UnrequestedExtension => bad_101(s, &head, Upgrade::UnrequestedExtension).await,
        // Served before the request is read.
        Behavior::Foreign(_) => unreachable!("handled at the top of serve"),
        Behavior::Garbage => {
            if send(&mut s, GARBAGE).await.is_ok() {
                close_gracefully(&mut s).await;
            }
        }
        Behavior::HugeHeaders(len) => {
            if huge_head(&mut s, *len).await.is_ok() {
                drain(&mut s).await;
            }
        }
        Behavior::NoPong => upgraded_raw(s, &head, rec, RawMode::NoPong).await,
        Behavior::NoCloseReply => upgraded_raw(s, &head, rec, RawMode::NoCloseReply).await,
        Behavior::OversizedMessage(len) => {
            upgraded_raw(s, &head, rec, RawMode::Oversized(*len)).await;
        }
        Behavior::PingFlood => {
            if send(&mut s, response_101(&head, Upgrade::Valid).as_bytes())
                .await
                .is_ok()
            {
                ping_flood(&mut s, rec).await;
            }
        }
        Behavior::RawClose { code, reason } => {
            if send(&mut s, response_101(&head, Upgrade::Valid).as_bytes())
                .await
                .is_ok()
            {
                raw_close(&mut s, rec, *code, reason).await;
            }
        }
        Behavior::NeverReads => {
            if send(&mut s, response_101(&head, Upgrade::Valid).as_bytes())
                .await
                .is_ok()
            {
                std::future::pending::<()>().await;
            }
        }
    }
}

/// Sends a Close frame with `code` and `reason` as given, records the
/// client's answer, then ends TCP first as RFC 6455 §7.1.1 asks of a server.
async fn raw_close<S: Conn>(s: &mut S, rec: &Recorder, code: u16, reason: &[u8]) {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason);
    if let Err(e) = frames::write_frame(s, opcode::CLOSE, &payload).await {
        return rec.error(format!("writing Close: {e}"));
    }
    loop {
        match timeout(CLOSE_GRACE, frames::read_frame(s)).await {
            Ok(Ok(Some(frame))) if frame.opcode == opcode::CLOSE => {
                rec.update(|r| r.close_code_received = frame.close_code());
                break;
            }
            Ok(Ok(Some(_))) => {}
            Ok(Ok(None)) => return rec.error("client closed TCP without answering the Close"),
            Ok(Err(e)) => return rec.error(describe_io(&e)),
            Err(_) => return rec.error("client never answered the server's Close frame"),
        }
    }
    close_gracefully(s).await;
}

/// Sends another protocol's banner, before or after reading the request,
/// then closes or falls silent until the client goes away.
async fn speak_foreign<S: Conn>(mut s: S, foreign: &Foreign, rec: &Recorder) {
    if !foreign.speaks_first {
        match frames::read_head(&mut s).await {
            Ok(head) => rec.update(|r| r.request_head = head),
            Err(e) => return rec.error(format!("reading request head: {e}")),
        }
    }
    if send(&mut s, foreign.banner).await.is_err() {
        return;
    }
    match foreign.after {
        AfterBanner::Close => close_gracefully(&mut s).await,
        AfterBanner::Silent => {
            drain(&mut s).await;
        }
    }
}

/// Pings without end, draining now and then, until the client goes away.
async fn ping_flood<S: Conn>(s: &mut S, rec: &Recorder) {
    let mut frame = vec![0x89, 0x7d];
    frame.extend_from_slice(&[b'p'; 125]);
    let mut buf = [0u8; 4096];
    let mut sent = 0usize;
    loop {
        if s.write_all(&frame).await.is_err() {
            break;
        }
        sent += 1;
        if sent.is_multiple_of(FLOOD_DRAIN_EVERY) {
            rec.update(|r| r.pings_sent = sent);
            // One buffer of what is already there (a zero timeout polls the
            // read once): the peer's pongs come in far faster than this reads.
            if let Ok(Ok(0)) = timeout(Duration::ZERO, s.read(&mut buf)).await {
                return;
            }
        }
    }
    rec.update(|r| r.pings_sent = sent);
}

/// Sends a defective 101, then keeps the socket open until the client,
/// which should reject the handshake, goes away.
async fn bad_101<S: Conn>(mut s: S, head: &str, kind: Upgrade) {
    if send(&mut s, response_101(head, kind).as_bytes())
        .await
        .is_ok()
    {
        drain(&mut s).await;
    }
}

async fn huge_head<S: Conn>(s: &mut S, len: usize) -> io::Result<()> {
    s.write_all(b"HTTP/1.1 101 Switching Protocols\r\n").await?;
    let prefix = b"X-Big: ";
    s.write_all(&prefix[..prefix.len().min(len)]).await?;
    // Streamed in chunks so a multi-megabyte header costs no big allocation;
    // a client that gives up makes the write fail, which ends this.
    let chunk = [b'a'; 8192];
    let mut left = len.saturating_sub(prefix.len());
    while left > 0 {
        let n = left.min(chunk.len());
        s.write_all(&chunk[..n]).await?;
        left -= n;
    }
    s.flush().await
}

/// Outcome of reading a peer until it closes.
enum Drained {
    Eof,
    Failed(io::Error),
    TimedOut,
}

/// Reads and discards until EOF or an error.
async fn drain<S: AsyncRead + Unpin>(s: &mut S) -> Drained {
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf).await {
            Ok(0) => return Drained::Eof,
            Ok(_) => {}
            // TLS peers that close TCP without close_notify surface as this;
            // for a drain that is simply the end of the stream.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Drained::Eof,
            Err(e) => return Drained::Failed(e),
        }
    }
}

async fn drain_for<S: AsyncRead + Unpin>(s: &mut S, within: Duration) -> Drained {
    timeout(within, drain(s)).await.unwrap_or(Drained::TimedOut)
}

/// Sends FIN, then waits (bounded) for the peer's FIN before dropping the
/// socket; dropping with unread input would turn the close into an RST.
async fn close_gracefully<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S) {
    let _ = s.shutdown().await;
    drain_for(s, CLOSE_GRACE).await;
}

/// Describes a failed read the way a server log would.
fn describe_io(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionReset => {
            format!("connection reset (RST) without closing handshake: {e}")
        }
        // A TLS peer that vanished mid-session without close_notify.
        io::ErrorKind::UnexpectedEof => "reset without closing handshake".to_string(),
        _ => e.to_string(),
    }
}

fn describe_ws(e: &tungstenite::Error) -> String {
    match e {
        // tungstenite's name for EOF before a Close frame: the 1006 case.
        tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            "reset without closing handshake".to_string()
        }
        tungstenite::Error::Io(io) => describe_io(io),
        other => other.to_string(),
    }
}

/// Variations on the healthy server.
#[derive(Default)]
struct HealthyOpts {
    idle_cut: Option<Duration>,
    close_after: Option<(Duration, u16)>,
    reply: Option<String>,
    greeting: Option<String>,
}

enum Event {
    Msg(Option<Result<Message, tungstenite::Error>>),
    Idle,
    StartClose(u16),
    CloseUnanswered,
}

/// Stand-in deadline for disabled timers (their select! arms are switched
/// off, but the future still needs a value).
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(365 * 24 * 60 * 60)
}

async fn healthy<S: Conn>(mut s: S, head: &str, rec: &Recorder, opts: HealthyOpts) {
    if let Some(problem) = upgrade_problem(head) {
        rec.error(format!("bad upgrade request: {problem}"));
        let resp = format!(
            "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{problem}",
            problem.len()
        );
        if send(&mut s, resp.as_bytes()).await.is_ok() {
            close_gracefully(&mut s).await;
        }
        return;
    }
    if let Err(e) = send(&mut s, response_101(head, Upgrade::Valid).as_bytes()).await {
        return rec.error(format!("writing 101: {e}"));
    }

    let mut ws = WebSocketStream::from_raw_socket(s, Role::Server, None).await;
    if let Some(greeting) = &opts.greeting
        && let Err(e) = ws.send(Message::Text(greeting.clone().into())).await
    {
        return rec.error(format!("writing the greeting: {e}"));
    }
    let mut last_frame = Instant::now();
    let mut close_at = opts
        .close_after
        .map(|(after, code)| (Instant::now() + after, code));
    let mut close_sent: Option<Instant> = None;
    let mut got_close = false;

    loop {
        let idle_at = opts.idle_cut.map(|idle| last_frame + idle);
        let unanswered_at = close_sent.map(|sent| sent + CLOSE_GRACE);
        let event = tokio::select! {
            // Cancel-safe per tokio-tungstenite's docs, so losing the race
            // to a timer loses no message.
            msg = ws.next() => Event::Msg(msg),
            _ = sleep_until(idle_at.unwrap_or_else(far_future)), if idle_at.is_some() => Event::Idle,
            _ = sleep_until(close_at.map_or_else(far_future, |(at, _)| at)), if close_at.is_some() => {
                Event::StartClose(close_at.take().map_or(1000, |(_, code)| code))
            }
            _ = sleep_until(unanswered_at.unwrap_or_else(far_future)), if unanswered_at.is_some() => {
                Event::CloseUnanswered
            }
        };
        match event {
            Event::Msg(Some(Ok(msg))) => {
                last_frame = Instant::now();
                let answer = match msg {
                    // After our own Close no data frame may be sent.
                    Message::Text(_) | Message::Binary(_) if close_sent.is_some() => None,
                    Message::Text(_) | Message::Binary(_) if opts.reply.is_some() => {
                        opts.reply.clone().map(Message::text)
                    }
                    Message::Text(_) | Message::Binary(_) => Some(msg),
                    Message::Ping(_) => {
                        // tungstenite queues the pong itself.
                        rec.update(|r| r.pings_received += 1);
                        None
                    }
                    Message::Close(frame) => {
                        got_close = true;
                        rec.update(|r| r.close_code_received = frame.map(|f| u16::from(f.code)));
                        None
                    }
                    Message::Pong(_) | Message::Frame(_) => None,
                };
                if let Some(answer) = answer
                    && let Err(e) = ws.send(answer).await
                {
                    return rec.error(describe_ws(&e));
                }
            }
            // tungstenite ends the stream once the closing handshake is done
            // (our reply to the client's Close is flushed, or the client
            // answered ours).
            Event::Msg(None) => break,
            Event::Msg(Some(Err(e))) => return rec.error(describe_ws(&e)),
            Event::Idle => {
                let mut s = ws.into_inner();
                close_gracefully(&mut s).await;
                return;
            }
            Event::StartClose(code) => {
                let frame = CloseFrame {
                    code: CloseCode::from(code),
                    reason: "".into(),
                };
                if let Err(e) = ws.close(Some(frame)).await {
                    return rec.error(describe_ws(&e));
                }
                close_sent = Some(Instant::now());
            }
            Event::CloseUnanswered => {
                rec.error("client never answered the server's Close frame");
                let mut s = ws.into_inner();
                close_gracefully(&mut s).await;
                return;
            }
        }
    }

    // RFC 6455 §7.1.1: after the closing handshake the server closes TCP
    // first; the close is clean once the client answers with its own FIN.
    let mut s = ws.into_inner();
    let _ = s.flush().await;
    let _ = s.shutdown().await;
    match drain_for(&mut s, CLOSE_GRACE).await {
        Drained::Eof => rec.update(|r| r.clean_close = got_close),
        Drained::Failed(e) => {
            rec.error(format!("connection broke after the closing handshake: {e}"))
        }
        Drained::TimedOut => rec.error("client kept TCP open after the closing handshake"),
    }
}

/// Frame-level misbehaviours that tungstenite would not allow.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RawMode {
    /// Write side already shut: only read and record.
    Deaf,
    /// Never answer pings or Close.
    NoPong,
    /// Answer pings and echo data, but never answer Close.
    NoCloseReply,
    /// Send one binary message of this many bytes after the first client
    /// message or ping; otherwise behave.
    Oversized(usize),
}

async fn upgraded_raw<S: Conn>(mut s: S, head: &str, rec: &Recorder, mode: RawMode) {
    if let Err(e) = send(&mut s, response_101(head, Upgrade::Valid).as_bytes()).await {
        return rec.error(format!("writing 101: {e}"));
    }
    raw_session(&mut s, rec, mode).await;
}

async fn write_oversized<S: AsyncWrite + Unpin>(s: &mut S, len: usize) -> io::Result<()> {
    frames::write_frame_header(s, opcode::BINARY, len as u64).await?;
    // Streamed so the test does not allocate the whole message.
    let chunk = vec![b'x'; 64 * 1024];
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len());
        s.write_all(&chunk[..n]).await?;
        left -= n;
    }
    s.flush().await
}

async fn raw_session<S: Conn>(s: &mut S, rec: &Recorder, mode: RawMode) {
    let mut oversized_pending = matches!(mode, RawMode::Oversized(_));
    let mut got_close = false;
    loop {
        let frame = match frames::read_frame(s).await {
            Ok(Some(frame)) => frame,
            Ok(None) => {
                if !got_close {
                    rec.error("reset without closing handshake");
                }
                return;
            }
            Err(e) => return rec.error(describe_io(&e)),
        };
        let written = match frame.opcode {
            opcode::PING => {
                rec.update(|r| r.pings_received += 1);
                match mode {
                    RawMode::Deaf | RawMode::NoPong => Ok(()),
                    RawMode::NoCloseReply | RawMode::Oversized(_) => {
                        frames::write_pong(s, &frame.payload).await
                    }
                }
            }
            opcode::TEXT | opcode::BINARY => match mode {
                RawMode::Deaf | RawMode::NoPong => Ok(()),
                RawMode::Oversized(_) if oversized_pending => Ok(()),
                RawMode::NoCloseReply | RawMode::Oversized(_) => {
                    frames::write_frame(s, frame.opcode, &frame.payload).await
                }
            },
            opcode::CLOSE => {
                got_close = true;
                rec.update(|r| r.close_code_received = frame.close_code());
                if mode == RawMode::Deaf || mode == RawMode::NoPong || mode == RawMode::NoCloseReply
                {
                    // Deliberately unanswered; keep reading until the client leaves.
                    continue;
                }
                let code = frame.close_code().unwrap_or(1000);
                if frames::write_close(s, code, "").await.is_err() {
                    return;
                }
                let _ = s.shutdown().await;
                match drain_for(s, CLOSE_GRACE).await {
                    Drained::Eof => rec.update(|r| r.clean_close = true),
                    Drained::Failed(e) => rec.error(describe_io(&e)),
                    Drained::TimedOut => {
                        rec.error("client kept TCP open after the closing handshake");
                    }
                }
                return;
            }
            _ => Ok(()),
        };
        if let Err(e) = written {
            return rec.error(format!("write failed: {e}"));
        }
        let is_trigger = matches!(frame.opcode, opcode::PING | opcode::TEXT | opcode::BINARY);
        if let RawMode::Oversized(len) = mode
            && oversized_pending
            && is_trigger
        {
            oversized_pending = false;
            if let Err(e) = write_oversized(s, len).await {
                return rec.error(format!("oversized message write stopped: {e}"));
            }
        }
    }
}

/// A listener whose accept queue is full, for connect-timeout tests.
pub mod backlog {
    use std::net::SocketAddr;
    use std::time::Duration;

    use tokio::net::{TcpListener, TcpSocket, TcpStream};
    use tokio::time::timeout;

    /// Connect attempts used to fill the queue before giving up.
    const MAX_FILL: usize = 64;
    /// A connect that has not completed within this is taken as unanswered.
    const PROBE: Duration = Duration::from_millis(300);

    /// Keeps the listener and the queued client connections alive; the
    /// queue stays full only while this exists.
    pub struct Guard {
        _listener: TcpListener,
        _queued: Vec<TcpStream>,
    }

    /// A listener whose accept queue is full, so a further SYN goes
    /// unanswered (connect timeout rather than refusal).
    ///
    /// Linux drops SYNs for a listener with a full accept queue unless
    /// `net.ipv4.tcp_abort_on_overflow` is 1, in which case it resets them;
    /// that setting is checked up front so a refusal is not mistaken for the
    /// fixture working.
    pub async fn full_listener() -> (SocketAddr, Guard) {
        if let Ok(v) = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_abort_on_overflow") {
            assert_eq!(
                v.trim(),
                "0",
                "net.ipv4.tcp_abort_on_overflow is set: a full accept queue would refuse (RST) \
                 instead of leaving the SYN unanswered"
            );
        }
        let socket = TcpSocket::new_v4().expect("create backlog socket");
        socket
            .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .expect("bind backlog socket");
        // Backlog 0: the kernel queues at most one completed connection, so
        // filling takes a single client; nothing ever accepts.
        let listener = socket.listen(0).expect("listen with backlog 0");
        let addr = listener.local_addr().expect("backlog listener addr");
        let mut queued = Vec::new();
        for _ in 0..MAX_FILL {
            match timeout(PROBE, TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => queued.push(stream),
                Ok(Err(e)) => panic!(
                    "connecting to the backlog listener {addr} failed ({e}); \
                     expected it to either connect or time out"
                ),
                Err(_) => {
                    return (
                        addr,
                        Guard {
                            _listener: listener,
                            _queued: queued,
                        },
                    );
                }
            }
        }
        panic!(
            "accept queue of {addr} still not full after {MAX_FILL} connections; \
             cannot simulate an unanswered SYN on this host"
        );
    }
}

/// An address on 127.0.0.1 where nothing listens, so connects are refused.
/// (The port was just released; another process grabbing it in between is
/// possible but unlikely.)
pub async fn refused_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind probe listener");
    let addr = listener.local_addr().expect("probe listener addr");
    drop(listener);
    addr
}
