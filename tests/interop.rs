//! Interop tests: wsprobe's one-shot CLI against third-party implementations.
//!
//! The servers are Debian's `python3-websockets` (an echo server,
//! `tests/interop/echo_server.py`) and nginx as a reverse proxy configured
//! well and badly (`tests/interop/nginx.conf.in`), and Debian's
//! `python3-aiosmtpd` as a port that speaks another protocol. They check that
//! what wsprobe reports about real software matches what that software does:
//! a clean close the server agrees with, a proxy's idle cut, a proxy that
//! drops the upgrade, the proxy's own 502 and 504, and an SMTP greeting
//! named at once.
//!
//! The tests are ignored by default because they need Debian packages;
//! `.ci/run` installs them and runs `cargo test -- --ignored`. A missing
//! package fails the test with a message saying what to install.

use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

/// Debian's interpreter: the `python3` on PATH may be another build that does
/// not see Debian's `python3-websockets`.
const PYTHON: &str = "/usr/bin/python3";
const NGINX: &str = "/usr/sbin/nginx";
/// Upper bound for a spawned server to start listening.
const READY_WITHIN: Duration = Duration::from_secs(10);

/// nginx `location /` body of a correct WebSocket reverse proxy, with a
/// `proxy_read_timeout` to fill in.
const WEBSOCKET_PROXY: &str = "
            proxy_pass http://127.0.0.1:@UPSTREAM@;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection \"upgrade\";
            proxy_read_timeout @READ_TIMEOUT@;";

/// A spawned third-party server, killed when dropped (also when a test
/// panics), with its output captured in files for failure messages.
struct Server {
    name: &'static str,
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Server {
    /// Spawns `command` with stdout and stderr sent to files in `dir`.
    fn spawn(name: &'static str, mut command: Command, dir: &Path) -> Server {
        let stdout = dir.join(format!("{name}.stdout"));
        let stderr = dir.join(format!("{name}.stderr"));
        let child = command
            .stdin(Stdio::null())
            .stdout(fs::File::create(&stdout).expect("create stdout file"))
            .stderr(fs::File::create(&stderr).expect("create stderr file"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({command:?}): {e}"));
        Server {
            name,
            child,
            stdout,
            stderr,
        }
    }

    /// Polls a TCP connect to `port` until it succeeds; fails the test if the
    /// server exits or is not listening within [`READY_WITHIN`].
    fn wait_ready(&mut self, port: u16) {
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll child") {
                panic!(
                    "{} exited ({status}) before listening on {address}\n{}",
                    self.name,
                    self.output()
                );
            }
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "{} not listening on {address} within {READY_WITHIN:?}\n{}",
                    self.name,
                    self.output()
                );
            }
            sleep(Duration::from_millis(50));
        }
    }

    fn stdout(&self) -> String {
        fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    /// Both captured streams, for failure messages.
    fn output(&self) -> String {
        let stderr = fs::read_to_string(&self.stderr).unwrap_or_default();
        format!(
            "--- {} stdout ---\n{}--- {} stderr ---\n{stderr}",
            self.name,
            self.stdout(),
            self.name
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago, for servers whose port must be written
/// into their command line or config. The listener is released on return, so
/// another process could take it in between; on 127.0.0.1 in a test run that
/// is rare enough.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// Fails the test, saying what to install, unless Debian's python can
/// import `module` (from the Debian package `package`).
fn require_python_module(module: &str, package: &str) {
    let probe = Command::new(PYTHON)
        .args(["-c", &format!("import {module}")])
        .output()
        .unwrap_or_else(|e| panic!("{PYTHON} not runnable ({e}); install Debian's python3"));
    assert!(
        probe.status.success(),
        "{PYTHON} cannot import {module}; install Debian's {package}:\n{}",
        String::from_utf8_lossy(&probe.stderr)
    );
}

/// Starts `tests/interop/echo_server.py` on a fresh port.
fn python_echo_server(dir: &Path) -> (Server, u16) {
    require_python_module("websockets", "python3-websockets");
    let port = free_port();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/echo_server.py");
    let mut command = Command::new(PYTHON);
    command.arg(script).arg(port.to_string());
    let mut server = Server::spawn("echo_server.py", command, dir);
    server.wait_ready(port);
    (server, port)
}

/// Starts aiosmtpd, an SMTP server, on a fresh port: a service that speaks
/// first, and not HTTP.
fn aiosmtpd(dir: &Path) -> (Server, u16) {
    require_python_module("aiosmtpd", "python3-aiosmtpd");
    let port = free_port();
    let mut command = Command::new(PYTHON);
    command
        .args(["-m", "aiosmtpd", "-n", "-l"])
        .arg(format!("127.0.0.1:{port}"));
    let mut server = Server::spawn("aiosmtpd", command, dir);
    server.wait_ready(port);
    (server, port)
}

/// Starts nginx on a fresh port with `location` as the body of `location /`,
/// its prefix, config, pid and temp files in `dir`.
fn nginx(dir: &Path, location: &str) -> (Server, u16) {
    assert!(
        Path::new(NGINX).is_file(),
        "{NGINX} not found; install Debian's nginx"
    );
    let prefix = dir.join("nginx");
    for sub in ["logs", "tmp"] {
        fs::create_dir_all(prefix.join(sub)).expect("create nginx prefix");
    }
    let port = free_port();
    let template = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/nginx.conf.in"),
    )
    .expect("read tests/interop/nginx.conf.in");
    let config = template
        .replace("@LOCATION@", location)
        .replace("@PREFIX@", prefix.to_str().expect("UTF-8 temp path"))
        .replace("@PORT@", &port.to_string());
    let config_path = prefix.join("nginx.conf");
    fs::write(&config_path, &config).expect("write nginx.conf");
    let mut command = Command::new(NGINX);
    command
        .arg("-p")
        .arg(&prefix)
        .arg("-c")
        .arg(&config_path)
        .args(["-g", "daemon off; error_log stderr;"]);
    let mut server = Server::spawn("nginx", command, dir);
    server.wait_ready(port);
    (server, port)
}

/// The WebSocket proxy location pointing at `upstream`.
fn websocket_proxy(upstream: u16, read_timeout: &str) -> String {
    WEBSOCKET_PROXY
        .replace("@UPSTREAM@", &upstream.to_string())
        .replace("@READ_TIMEOUT@", read_timeout)
}

/// What one `wsprobe check --format json` run produced.
struct Outcome {
    exit: i32,
    report: Value,
    stdout: String,
    stderr: String,
}

impl Outcome {
    /// The report field at a JSON pointer, failing with the whole output when
    /// it is absent.
    fn at(&self, pointer: &str) -> &Value {
        self.report
            .pointer(pointer)
            .unwrap_or_else(|| panic!("no {pointer} in the report\n{self}"))
    }

    fn str_at(&self, pointer: &str) -> &str {
        self.at(pointer)
            .as_str()
            .unwrap_or_else(|| panic!("{pointer} is not a string\n{self}"))
    }

    fn f64_at(&self, pointer: &str) -> f64 {
        self.at(pointer)
            .as_f64()
            .unwrap_or_else(|| panic!("{pointer} is not a number\n{self}"))
    }

    /// Asserts the exit code and that the report's field at each pointer
    /// equals the given JSON value.
    fn assert_fields(&self, exit: i32, fields: &[(&str, Value)]) {
        assert_eq!(self.exit, exit, "exit code\n{self}");
        for (pointer, expected) in fields {
            assert_eq!(self.at(pointer), expected, "{pointer}\n{self}");
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "--- wsprobe exit {} stdout ---\n{}\n--- wsprobe stderr ---\n{}",
            self.exit, self.stdout, self.stderr
        )
    }
}

/// Runs `wsprobe check URL --format json ARGS…` and parses its report.
fn wsprobe_check(url: &str, args: &[&str]) -> Outcome {
    let output = Command::new(env!("CARGO_BIN_EXE_wsprobe"))
        .args(["check", url, "--format", "json", "--no-proxy"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run wsprobe");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("wsprobe printed no JSON report ({e})\n{stdout}\n{stderr}"));
    Outcome {
        exit: output.status.code().expect("wsprobe killed by a signal"),
        report,
        stdout,
        stderr,
    }
}

/// Waits (bounded) until the echo server has logged `count` closed
/// connections and returns their close codes.
fn close_codes_seen_by(server: &Server, count: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let codes: Vec<String> = server
            .stdout()
            .lines()
            .filter_map(|line| line.strip_prefix("closed "))
            .map(str::to_owned)
            .collect();
        if codes.len() >= count || Instant::now() > deadline {
            return codes;
        }
        sleep(Duration::from_millis(50));
    }
}

/// Asserts that `text` mentions at least one of `needles` (case-insensitive).
fn assert_mentions(what: &str, text: &str, needles: &[&str], outcome: &Outcome) {
    let lower = text.to_lowercase();
    assert!(
        needles.iter().any(|n| lower.contains(&n.to_lowercase())),
        "{what} {text:?} mentions none of {needles:?}\n{outcome}"
    );
}

#[test]
#[ignore = "needs Debian packages: python3-websockets, nginx (installed by .ci/run)"]
fn healthy_python_websockets_server_passes_with_a_clean_close() {
    let dir = TempDir::new().expect("tempdir");
    let (server, port) = python_echo_server(dir.path());

    let outcome = wsprobe_check(&format!("ws://127.0.0.1:{port}/"), &[]);

    outcome.assert_fields(
        0,
        &[
            ("/class", "ok".into()),
            ("/ok", true.into()),
            ("/response/status", 101.into()),
            ("/close/clean", true.into()),
            ("/close/code", 1000.into()),
            ("/close/initiated_by", "client".into()),
            ("/close/close_frame_received", true.into()),
        ],
    );
    let codes = close_codes_seen_by(&server, 1);
    assert_eq!(
        codes,
        ["1000"],
        "close codes the python server saw\n{}\n{outcome}",
        server.output()
    );
}

#[test]
#[ignore = "needs Debian packages: python3-websockets, nginx (installed by .ci/run)"]
fn send_expect_round_trip_through_python_server() {
    let dir = TempDir::new().expect("tempdir");
    let (_server, port) = python_echo_server(dir.path());

    let outcome = wsprobe_check(
        &format!("ws://127.0.0.1:{port}/"),
        &["--send", "hello", "--expect", "^hello$"],
    );

    outcome.assert_fields(0, &[("/class", "ok".into()), ("/close/clean", true.into())]);
    let events = outcome.at("/events").to_string();
    assert!(
        events.contains("message matched"),
        "no match event\n{outcome}"
    );
}

#[test]
#[ignore = "needs Debian packages: python3-websockets, nginx (installed by .ci/run)"]
fn idle_cut_through_nginx_is_reported_as_early_fin_while_held() {
    let dir = TempDir::new().expect("tempdir");
    let (_backend, backend_port) = python_echo_server(dir.path());
    let (_nginx, port) = nginx(dir.path(), &websocket_proxy(backend_port, "2s"));
    let url = format!("ws://127.0.0.1:{port}/");

    let idle = wsprobe_check(&url, &["--hold", "6s", "--timeout", "5s"]);

    idle.assert_fields(
        2,
        &[
            ("/class", "early_fin".into()),
            ("/phase", "open".into()),
            ("/response/status", 101.into()),
            ("/evidence/while_held", true.into()),
        ],
    );
    let idle_ms = idle.f64_at("/evidence/idle_ms");
    assert!(
        (1500.0..=4500.0).contains(&idle_ms),
        "idle_ms {idle_ms} is not nginx's 2 s proxy_read_timeout\n{idle}"
    );
    assert_mentions("hint", idle.str_at("/hint"), &["idle timeout"], &idle);

    let pinged = wsprobe_check(
        &url,
        &["--hold", "6s", "--timeout", "5s", "--ping-every", "1s"],
    );

    pinged.assert_fields(0, &[("/class", "ok".into()), ("/close/clean", true.into())]);
}

#[test]
#[ignore = "needs Debian packages: python3-websockets, nginx (installed by .ci/run)"]
fn nginx_speaking_http10_to_the_backend_breaks_the_upgrade() {
    let dir = TempDir::new().expect("tempdir");
    let (_backend, backend_port) = python_echo_server(dir.path());
    // The classic mistake: no proxy_http_version 1.1 and no Upgrade /
    // Connection headers, so nginx drops the hop-by-hop upgrade headers.
    let location = format!("            proxy_pass http://127.0.0.1:{backend_port};");
    let (_nginx, port) = nginx(dir.path(), &location);

    let outcome = wsprobe_check(&format!("ws://127.0.0.1:{port}/"), &[]);

    outcome.assert_fields(
        2,
        &[
            ("/class", "missing_101".into()),
            ("/phase", "upgrade".into()),
            // websockets answers an HTTP/1.0 request with 400 "did not
            // receive a valid HTTP request" before looking at the headers.
            ("/response/status", 400.into()),
        ],
    );
    assert_mentions(
        "hint",
        outcome.str_at("/hint"),
        &["Upgrade", "proxy_http_version"],
        &outcome,
    );
}

#[test]
#[ignore = "needs Debian packages: python3-websockets, nginx (installed by .ci/run)"]
fn nginx_gateway_timeout_is_reported_as_missing_101_504() {
    let dir = TempDir::new().expect("tempdir");
    // An upstream that completes the TCP handshake (the kernel does, from the
    // backlog) but never answers, because nothing accepts.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind silent upstream");
    let upstream = silent.local_addr().expect("local addr").port();
    let (_nginx, port) = nginx(dir.path(), &websocket_proxy(upstream, "1s"));

    let outcome = wsprobe_check(&format!("ws://127.0.0.1:{port}/"), &["--timeout", "5s"]);

    outcome.assert_fields(
        2,
        &[
            ("/class", "missing_101".into()),
            ("/phase", "upgrade".into()),
            ("/response/status", 504.into()),
        ],
    );
    assert_mentions("hint", outcome.str_at("/hint"), &["upstream"], &outcome);
    drop(silent);
}

#[test]
#[ignore = "needs Debian packages: python3-websockets, nginx (installed by .ci/run)"]
fn nginx_bad_gateway_is_502() {
    let dir = TempDir::new().expect("tempdir");
    let closed = free_port();
    let (_nginx, port) = nginx(dir.path(), &websocket_proxy(closed, "1s"));

    let outcome = wsprobe_check(&format!("ws://127.0.0.1:{port}/"), &["--timeout", "5s"]);

    outcome.assert_fields(
        2,
        &[
            ("/class", "missing_101".into()),
            ("/phase", "upgrade".into()),
            ("/response/status", 502.into()),
        ],
    );
    assert_mentions("hint", outcome.str_at("/hint"), &["upstream"], &outcome);
}

#[test]
#[ignore = "needs Debian packages: python3-aiosmtpd (installed by .ci/run)"]
fn an_smtp_server_on_the_port_is_named_at_once_instead_of_timing_out() {
    let dir = TempDir::new().expect("tempdir");
    let (_server, port) = aiosmtpd(dir.path());

    let started = Instant::now();
    let outcome = wsprobe_check(&format!("ws://127.0.0.1:{port}/"), &["--timeout", "10s"]);

    outcome.assert_fields(
        2,
        &[
            ("/class", "protocol_error".into()),
            ("/phase", "upgrade".into()),
            ("/evidence/rule", "not_http".into()),
            ("/evidence/protocol", "smtp".into()),
        ],
    );
    assert!(
        outcome.str_at("/evidence/first_bytes").starts_with("220 "),
        "{outcome}"
    );
    assert_mentions(
        "hint",
        outcome.str_at("/hint"),
        &["This port speaks SMTP: wrong port?"],
        &outcome,
    );
    assert!(started.elapsed() < Duration::from_secs(5), "{outcome}");
}
