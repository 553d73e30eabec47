//! Shared fixtures for the daemon end-to-end tests: the real `wsprobe`
//! binary as a child process ([`Daemon`]) whose JSON logs are captured line
//! by line, a scratch directory for its config and state ([`Scratch`]), and
//! read-only views of the state database ([`results`], [`outbox`]).
//!
//! A [`Daemon`] is killed (SIGKILL) and reaped when dropped, so a failing or
//! panicking test never leaves a daemon behind. Every wait is bounded and,
//! when it runs out, fails with what was awaited and the daemon's log.
#![allow(dead_code)]

use serde_json::Value;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often bounded waits look again.
const POLL: Duration = Duration::from_millis(20);

/// A temporary directory holding one test's monitors.yaml and state file.
pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    /// A fresh, empty directory (removed when dropped).
    pub fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().expect("create a scratch directory"),
        }
    }

    /// `name` inside the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The config file the daemon reads.
    pub fn config(&self) -> PathBuf {
        self.path("monitors.yaml")
    }

    /// The SQLite state file given with `--state`.
    pub fn state(&self) -> PathBuf {
        self.path("state.db")
    }

    /// (Over)write monitors.yaml.
    pub fn write_config(&self, yaml: &str) -> PathBuf {
        let path = self.config();
        std::fs::write(&path, yaml).expect("write monitors.yaml");
        path
    }
}

/// Lines a child wrote on one stream, collected by a reader thread.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<String>>>);

impl Lines {
    fn follow(stream: impl Read + Send + 'static) -> (Lines, JoinHandle<()>) {
        let lines = Lines::default();
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { return };
                sink.0.lock().unwrap_or_else(|e| e.into_inner()).push(line);
            }
        });
        (lines, reader)
    }

    fn snapshot(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A running `wsprobe` child process; SIGKILLed and reaped when dropped.
pub struct Daemon {
    child: Child,
    stdout: Lines,
    stderr: Lines,
    readers: Vec<JoinHandle<()>>,
    status: Option<ExitStatus>,
}

impl Daemon {
    /// `wsprobe run --config CONFIG --state STATE --log-format json` with
    /// `env` added to a clean proxy-free environment.
    pub fn run(scratch: &Scratch, env: &[(&str, &str)]) -> Daemon {
        let config = scratch.config();
        let state = scratch.state();
        Daemon::spawn(
            [
                OsStr::new("run"),
                OsStr::new("--config"),
                config.as_os_str(),
                OsStr::new("--state"),
                state.as_os_str(),
                OsStr::new("--log-format"),
                OsStr::new("json"),
            ],
            scratch,
            env,
        )
    }

    /// Like [`Daemon::run`] with the state file at `state` (anywhere, e.g.
    /// on a test filesystem) and the HTTP surface on `listen`.
    pub fn run_at(scratch: &Scratch, state: &Path, listen: std::net::SocketAddr) -> Daemon {
        Daemon::run_listening(scratch, state, &listen.to_string())
    }

    /// Like [`Daemon::run_at`] with `--listen` given as typed (`localhost:PORT`, …).
    pub fn run_listening(scratch: &Scratch, state: &Path, listen: &str) -> Daemon {
        Daemon::spawn(
            [
                OsStr::new("run"),
                OsStr::new("--config"),
                scratch.config().as_os_str(),
                OsStr::new("--state"),
                state.as_os_str(),
                OsStr::new("--listen"),
                OsStr::new(listen),
                OsStr::new("--log-format"),
                OsStr::new("json"),
            ],
            scratch,
            &[],
        )
    }

    /// `wsprobe ARGS…` in the scratch directory.
    pub fn spawn<'a>(
        args: impl IntoIterator<Item = &'a OsStr>,
        scratch: &Scratch,
        env: &[(&str, &str)],
    ) -> Daemon {
        let mut child = command(scratch, env)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start wsprobe");
        let (stdout, out_reader) = Lines::follow(child.stdout.take().expect("piped stdout"));
        let (stderr, err_reader) = Lines::follow(child.stderr.take().expect("piped stderr"));
        Daemon {
            child,
            stdout,
            stderr,
            readers: vec![out_reader, err_reader],
            status: None,
        }
    }

    /// Everything written on stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.snapshot().join("\n")
    }

    /// Everything written on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.snapshot().join("\n")
    }

    /// The JSON log lines so far (lines that are not JSON are skipped).
    pub fn logs(&self) -> Vec<Value> {
        self.stderr
            .snapshot()
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Log lines whose `message` is `message` and whose fields include every
    /// `(key, value)` of `fields` (compared as strings).
    pub fn logs_matching(&self, message: &str, fields: &[(&str, &str)]) -> Vec<Value> {
        self.logs()
            .into_iter()
            .filter(|l| l["message"] == message)
            .filter(|l| fields.iter().all(|(k, v)| field(l, k) == *v))
            .collect()
    }

    /// Wait (at most `within`) for a log line like [`Daemon::logs_matching`]
    /// and return the first one.
    pub async fn wait_log(
        &self,
        message: &str,
        fields: &[(&str, &str)],
        within: Duration,
    ) -> Value {
        self.until(&format!("log {message:?} {fields:?}"), within, || {
            self.logs_matching(message, fields).into_iter().next()
        })
        .await
    }

    /// Poll `probe` until it returns something, at most `within`; on timeout
    /// fail naming `what` and showing the daemon's output.
    pub async fn until<T>(
        &self,
        what: &str,
        within: Duration,
        mut probe: impl FnMut() -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + within;
        loop {
            if let Some(found) = probe() {
                return found;
            }
            if Instant::now() >= deadline {
                panic!(
                    "waited {within:?} for {what}; daemon stderr:\n{}\nstdout:\n{}",
                    self.stderr(),
                    self.stdout()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Send a signal by name ("HUP", "TERM", "KILL") with kill(1).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill(1)");
        assert!(status.success(), "kill -{name} {} failed", self.pid());
    }

    /// SIGKILL the daemon (no chance to flush anything) and reap it.
    pub fn kill9(&mut self) {
        self.signal("KILL");
        let status = self.child.wait().expect("reap wsprobe");
        self.finish(status);
    }

    /// Wait (at most `within`) for the daemon to exit by itself.
    pub async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll wsprobe") {
                self.finish(status);
                return status;
            }
            if Instant::now() >= deadline {
                panic!(
                    "wsprobe did not exit within {within:?}; stderr:\n{}",
                    self.stderr()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Record the exit and let the reader threads drain what is left.
    fn finish(&mut self, status: ExitStatus) {
        self.status = Some(status);
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A log line's field as text: strings as they are, anything else as JSON.
pub fn field(line: &Value, key: &str) -> String {
    match &line[key] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A free port on 127.0.0.1 for the daemon's HTTP surface (bound on :0,
/// then released).
pub fn free_addr() -> std::net::SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind :0");
    l.local_addr().expect("local addr")
}

/// An HTTP client for the daemon's surface: no proxy, a 10 s bound.
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("HTTP client")
}

/// `GET http://addr/path`: status and body.
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let reply = http_client()
        .get(format!("http://{addr}{path}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = reply.status().as_u16();
    (status, reply.text().await.expect("body"))
}

/// `wsprobe ARGS…` run to completion (for commands that exit on their own).
pub fn wsprobe(args: &[&OsStr], scratch: &Scratch, env: &[(&str, &str)]) -> Output {
    command(scratch, env)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run wsprobe")
}

/// The binary, in `scratch`, with no proxy settings (alerts and checks go to
/// 127.0.0.1) and info-level logs whatever the caller's RUST_LOG says.
fn command(scratch: &Scratch, env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wsprobe"));
    cmd.current_dir(scratch.dir.path());
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("RUST_LOG", "info");
    cmd.envs(env.iter().copied());
    cmd
}

/// One row of the `result` table.
#[derive(Debug, Clone)]
pub struct ResultRow {
    /// When the run finished, µs since the epoch.
    pub at: i64,
    /// The run passed.
    pub ok: bool,
    /// `ok` or the failure class.
    pub class: String,
    /// Recorded inside a maintenance window.
    pub in_maintenance: bool,
}

/// One row of the `outbox` table.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    /// Monitor name.
    pub monitor: String,
    /// Channel name.
    pub channel: String,
    /// pending, held, delivered or dead.
    pub status: String,
    /// Failed delivery attempts.
    pub attempts: i64,
    /// The channel's last refusal.
    pub last_error: Option<String>,
    /// down, recovered or reminder.
    pub kind: String,
}

/// Opens the state database if it exists (never creates it).
fn open(db: &Path) -> Option<rusqlite::Connection> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)
            .ok()?;
    conn.busy_timeout(Duration::from_secs(5)).ok()?;
    Some(conn)
}

/// The results recorded for `monitor`, oldest first (none while the
/// database or its schema does not exist yet).
pub fn results(db: &Path, monitor: &str) -> Vec<ResultRow> {
    let Some(conn) = open(db) else {
        return Vec::new();
    };
    let Ok(mut stmt) = conn
        .prepare("SELECT at, ok, class, in_maintenance FROM result WHERE monitor = ?1 ORDER BY id")
    else {
        return Vec::new();
    };
    stmt.query_map([monitor], |row| {
        Ok(ResultRow {
            at: row.get(0)?,
            ok: row.get(1)?,
            class: row.get(2)?,
            in_maintenance: row.get(3)?,
        })
    })
    .and_then(|rows| rows.collect())
    .expect("read results")
}

/// Every outbox row, oldest first.
pub fn outbox(db: &Path) -> Vec<OutboxRow> {
    let Some(conn) = open(db) else {
        return Vec::new();
    };
    let Ok(mut stmt) = conn.prepare(
        "SELECT monitor, channel, status, attempts, last_error, notification_json
         FROM outbox ORDER BY id",
    ) else {
        return Vec::new();
    };
    stmt.query_map([], |row| {
        let json: String = row.get(5)?;
        let note: Value = serde_json::from_str(&json).unwrap_or_default();
        Ok(OutboxRow {
            monitor: row.get(0)?,
            channel: row.get(1)?,
            status: row.get(2)?,
            attempts: row.get(3)?,
            last_error: row.get(4)?,
            kind: field(&note, "kind"),
        })
    })
    .and_then(|rows| rows.collect())
    .expect("read the outbox")
}

/// Settings and defaults shared by the tests' configs: no jitter, a run
/// every second, a short timeout, no retries, a short shutdown grace.
pub const QUICK: &str = r#"settings: { jitter: 0s, shutdown_grace: 5s }
defaults: { schedule: "@every 1s", timeout: 2s, retries: 0, proxy: none }
"#;

/// Generous bound for one event that normally takes well under a second.
pub const SOON: Duration = Duration::from_secs(10);

/// The JSON bodies the webhook receiver got, in order.
pub fn bodies(receiver: &crate::support_http::Receiver) -> Vec<Value> {
    receiver
        .requests()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).expect("a JSON webhook body"))
        .collect()
}

/// The `kind` of every webhook body, in order.
pub fn kinds(receiver: &crate::support_http::Receiver) -> Vec<String> {
    bodies(receiver)
        .iter()
        .map(|b| b["kind"].as_str().unwrap_or_default().to_string())
        .collect()
}
