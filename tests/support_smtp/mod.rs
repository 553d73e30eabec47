//! A small RFC 5321 server for email tests, on 127.0.0.1:0: EHLO/HELO,
//! AUTH PLAIN and LOGIN (with or without an initial response), MAIL, RCPT,
//! DATA (dot-unstuffed), RSET, NOOP, QUIT. It records each accepted message
//! with its envelope and the credentials it was given, and every message it
//! was sent (accepted or not) as an attempt. It can misbehave on purpose:
//! refuse the first messages with 451, or hang after a message's data.

// Each test file uses only part of this fixture.
#![allow(dead_code)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the server offers and expects.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Mechanisms advertised in EHLO, e.g. ["PLAIN", "LOGIN"]; empty: no AUTH.
    pub mechanisms: Vec<&'static str>,
    /// When set, MAIL needs a successful AUTH with exactly these.
    pub credentials: Option<(String, String)>,
    /// Answer the first this many messages with 451 after their data.
    pub refuse_first: usize,
    /// After a message's final ".", never answer (and keep the connection):
    /// a server that takes the envelope, says 354 and then hangs.
    pub silent_after_data: bool,
    /// Offer STARTTLS, answer 220 to it, then never start the handshake.
    pub silent_after_starttls: bool,
}

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Received {
    /// The mechanism and the (user, password) the client authenticated with.
    pub auth: Option<(String, String, String)>,
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The message as sent after DATA, dot-unstuffed, CRLF line ends.
    pub data: Vec<u8>,
}

/// The running server; stops when dropped.
pub struct SmtpServer {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    attempts: Arc<Mutex<Vec<Received>>>,
    task: JoinHandle<()>,
}

impl SmtpServer {
    /// Start a server with `options`.
    pub async fn start(options: Options) -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve_on(listener, options)
    }

    /// Start a server with `options` on `addr`, a port chosen earlier (e.g.
    /// one a channel already points at, refused until now). Retries for a
    /// few seconds while the port is still in use.
    pub async fn start_on(addr: SocketAddr, options: Options) -> SmtpServer {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let listener = loop {
            match TcpListener::bind(addr).await {
                Ok(listener) => break listener,
                Err(e)
                    if e.kind() == std::io::ErrorKind::AddrInUse
                        && std::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                Err(e) => panic!("bind SMTP server on {addr}: {e}"),
            }
        };
        Self::serve_on(listener, options)
    }

    fn serve_on(listener: TcpListener, options: Options) -> SmtpServer {
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let attempts = Arc::new(Mutex::new(Vec::new()));
        let log = Log {
            received: received.clone(),
            attempts: attempts.clone(),
        };
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (log, options) = (log.clone(), options.clone());
                tokio::spawn(async move {
                    let _ = session(stream, &options, &log).await;
                });
            }
        });
        SmtpServer {
            addr,
            received,
            attempts,
            task,
        }
    }

    /// Messages accepted so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Every message sent so far, accepted, refused or left unanswered.
    pub fn attempts(&self) -> Vec<Received> {
        self.attempts.lock().unwrap().clone()
    }
}

/// Where sessions record messages.
#[derive(Clone)]
struct Log {
    received: Arc<Mutex<Vec<Received>>>,
    attempts: Arc<Mutex<Vec<Received>>>,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Conn {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl Conn {
    async fn reply(&mut self, text: &str) -> std::io::Result<()> {
        self.writer.write_all(text.as_bytes()).await?;
        self.writer.write_all(b"\r\n").await
    }

    /// One line without its CRLF; `None` at EOF.
    async fn line(&mut self) -> std::io::Result<Option<String>> {
        let mut raw = Vec::new();
        if self.reader.read_until(b'\n', &mut raw).await? == 0 {
            return Ok(None);
        }
        while raw.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            raw.pop();
        }
        Ok(Some(String::from_utf8_lossy(&raw).into_owned()))
    }
}

fn decode(b64: &str) -> String {
    String::from_utf8_lossy(&B64.decode(b64.trim()).unwrap_or_default()).into_owned()
}

async fn session(stream: TcpStream, options: &Options, log: &Log) -> std::io::Result<()> {
    let (read, writer) = stream.into_split();
    let mut c = Conn {
        reader: BufReader::new(read),
        writer,
    };
    c.reply("220 fixture.test ESMTP ready").await?;
    let mut auth: Option<(String, String, String)> = None;
    let mut mail_from: Option<String> = None;
    let mut rcpt_to: Vec<String> = Vec::new();
    while let Some(line) = c.line().await? {
        let upper = line.to_ascii_uppercase();
        let verb = upper.split(' ').next().unwrap_or_default().to_string();
        match verb.as_str() {
            "EHLO" => {
                c.reply("250-fixture.test").await?;
                if !options.mechanisms.is_empty() {
                    c.reply(&format!("250-AUTH {}", options.mechanisms.join(" ")))
                        .await?;
                }
                if options.silent_after_starttls {
                    c.reply("250-STARTTLS").await?;
                }
                c.reply("250-8BITMIME").await?;
                c.reply("250 SIZE 10485760").await?;
            }
            "HELO" => c.reply("250 fixture.test").await?,
            "AUTH" => {
                let args: Vec<&str> = line.split(' ').skip(1).collect();
                let mechanism = args.first().unwrap_or(&"").to_ascii_uppercase();
                let (user, password) = match mechanism.as_str() {
                    "PLAIN" => {
                        let initial = match args.get(1) {
                            Some(i) => i.to_string(),
                            None => {
                                c.reply("334 ").await?;
                                c.line().await?.unwrap_or_default()
                            }
                        };
                        let plain = decode(&initial);
                        let mut parts = plain.split('\0').skip(1);
                        (
                            parts.next().unwrap_or_default().to_string(),
                            parts.next().unwrap_or_default().to_string(),
                        )
                    }
                    "LOGIN" => {
                        let user = match args.get(1) {
                            Some(u) => decode(u),
                            None => {
                                c.reply("334 VXNlcm5hbWU6").await?;
                                decode(&c.line().await?.unwrap_or_default())
                            }
                        };
                        c.reply("334 UGFzc3dvcmQ6").await?;
                        (user, decode(&c.line().await?.unwrap_or_default()))
                    }
                    _ => {
                        c.reply("504 5.5.4 Unrecognized authentication type")
                            .await?;
                        continue;
                    }
                };
                let accepted = options
                    .credentials
                    .as_ref()
                    .is_none_or(|(u, p)| *u == user && *p == password);
                if accepted {
                    auth = Some((mechanism, user, password));
                    c.reply("235 2.7.0 Authentication successful").await?;
                } else {
                    c.reply("535 5.7.8 Authentication credentials invalid")
                        .await?;
                }
            }
            "MAIL" => {
                if options.credentials.is_some() && auth.is_none() {
                    c.reply("530 5.7.0 Authentication required").await?;
                    continue;
                }
                mail_from = Some(
                    line[line.find(':').map_or(0, |i| i + 1)..]
                        .trim()
                        .to_string(),
                );
                rcpt_to.clear();
                c.reply("250 2.1.0 Ok").await?;
            }
            "RCPT" => {
                if mail_from.is_none() {
                    c.reply("503 5.5.1 Need MAIL first").await?;
                    continue;
                }
                rcpt_to.push(
                    line[line.find(':').map_or(0, |i| i + 1)..]
                        .trim()
                        .to_string(),
                );
                c.reply("250 2.1.5 Ok").await?;
            }
            "DATA" => {
                if rcpt_to.is_empty() {
                    c.reply("503 5.5.1 Need RCPT first").await?;
                    continue;
                }
                c.reply("354 End data with <CR><LF>.<CR><LF>").await?;
                let mut data = Vec::new();
                loop {
                    let Some(l) = c.line().await? else {
                        return Ok(());
                    };
                    if l == "." {
                        break;
                    }
                    let unstuffed = l.strip_prefix('.').unwrap_or(&l);
                    data.extend_from_slice(unstuffed.as_bytes());
                    data.extend_from_slice(b"\r\n");
                }
                let message = Received {
                    auth: auth.clone(),
                    mail_from: mail_from.take().unwrap_or_default(),
                    rcpt_to: std::mem::take(&mut rcpt_to),
                    data,
                };
                let earlier = {
                    let mut attempts = log.attempts.lock().unwrap();
                    attempts.push(message.clone());
                    attempts.len() - 1
                };
                if options.silent_after_data {
                    // Hold the connection open and say nothing, until the
                    // client gives up.
                    while c.line().await?.is_some() {}
                    return Ok(());
                }
                if earlier < options.refuse_first {
                    c.reply("451 4.3.0 Try again later").await?;
                    continue;
                }
                log.received.lock().unwrap().push(message);
                c.reply("250 2.0.0 Ok: queued").await?;
            }
            "RSET" => {
                mail_from = None;
                rcpt_to.clear();
                c.reply("250 2.0.0 Ok").await?;
            }
            "STARTTLS" if options.silent_after_starttls => {
                c.reply("220 2.0.0 Ready to start TLS").await?;
                while c.line().await?.is_some() {}
                return Ok(());
            }
            "NOOP" => c.reply("250 2.0.0 Ok").await?,
            "QUIT" => {
                c.reply("221 2.0.0 Bye").await?;
                return Ok(());
            }
            _ => c.reply("502 5.5.2 Command not recognized").await?,
        }
    }
    Ok(())
}
