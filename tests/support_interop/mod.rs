//! Support for the interop tests: third-party servers (Debian packages)
//! started by the test itself in a temporary directory on a free port,
//! killed when dropped, and `wsprobe check` run against them.
//!
//! A missing binary fails the test loudly, naming the package to install:
//! these tests are `#[ignore]`d by default and run by `.ci/run`, which
//! installs the packages, so a silent pass would hide a broken CI.
#![allow(dead_code)]

use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Debian's interpreter: the `python3` on PATH may be another build that does
/// not see Debian's `python3-websockets`.
pub const PYTHON: &str = "/usr/bin/python3";
/// Upper bound for a spawned server to start listening.
const READY_WITHIN: Duration = Duration::from_secs(10);

/// Fails the test unless `path` is an installed file, naming the Debian
/// package that provides it.
pub fn require_binary(path: &str, package: &str) {
    assert!(
        Path::new(path).is_file(),
        "{path} not found; install Debian's {package} (.ci/run does)"
    );
}

/// A file under `tests/interop/`.
pub fn interop_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/interop")
        .join(name)
}

/// Writes `tests/interop/TEMPLATE` to `dir/NAME` with each `@KEY@` replaced.
pub fn write_config(dir: &Path, template: &str, name: &str, values: &[(&str, &str)]) -> PathBuf {
    let mut text = fs::read_to_string(interop_file(template))
        .unwrap_or_else(|e| panic!("read tests/interop/{template}: {e}"));
    for (key, value) in values {
        text = text.replace(&format!("@{key}@"), value);
    }
    let path = dir.join(name);
    fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path
}

/// How to run a third-party server from a config template.
pub struct Launch {
    /// The installed binary, e.g. "/usr/sbin/haproxy".
    pub binary: &'static str,
    /// The Debian package that provides it, for the failure message.
    pub package: &'static str,
    /// The template under `tests/interop/`, ending in `.in`.
    pub template: &'static str,
    /// Arguments before the config file's path (e.g. `["-D", "-f"]`).
    pub before_config: &'static [&'static str],
    /// Arguments after it (e.g. `["-DFOREGROUND"]`).
    pub after_config: &'static [&'static str],
}

impl Launch {
    /// Renders the template into `dir` with `DIR` (`dir` itself), `PORT` (a
    /// free port) and `values`, starts the server and waits until it listens.
    pub fn start(&self, dir: &Path, values: &[(&str, &str)]) -> (Server, u16) {
        require_binary(self.binary, self.package);
        let port = free_port();
        let port_text = port.to_string();
        let mut all = vec![
            ("DIR", dir.to_str().expect("UTF-8 temp path")),
            ("PORT", port_text.as_str()),
        ];
        all.extend_from_slice(values);
        let name = self.template.trim_end_matches(".in");
        let config = write_config(dir, self.template, name, &all);
        let mut command = Command::new(self.binary);
        command
            .args(self.before_config)
            .arg(&config)
            .args(self.after_config);
        let mut server = Server::spawn(self.package, command, dir);
        server.wait_ready(port);
        (server, port)
    }
}

/// A spawned third-party server, killed when dropped (also when a test
/// panics), with its output captured in files for failure messages.
pub struct Server {
    name: &'static str,
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Server {
    /// Spawns `command` with stdout and stderr sent to files in `dir`.
    pub fn spawn(name: &'static str, mut command: Command, dir: &Path) -> Server {
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
    pub fn wait_ready(&mut self, port: u16) {
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

    pub fn stdout(&self) -> String {
        fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    /// Both captured streams, for failure messages.
    pub fn output(&self) -> String {
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
    /// SIGTERM first, so a server with worker processes (httpd) stops them,
    /// then SIGKILL if it is still there after a grace.
    fn drop(&mut self) {
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill(2) on our own child's pid; no memory is involved.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago, for servers whose port must be written
/// into their command line or config. The listener is released on return, so
/// another process could take it in between; on 127.0.0.1 in a test run that
/// is rare enough.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// Fails the test, saying what to install, unless Debian's python can
/// import `module` (from the Debian package `package`).
pub fn require_python_module(module: &str, package: &str) {
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
pub fn python_echo_server(dir: &Path) -> (Server, u16) {
    require_python_module("websockets", "python3-websockets");
    let port = free_port();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/echo_server.py");
    let mut command = Command::new(PYTHON);
    command.arg(script).arg(port.to_string());
    let mut server = Server::spawn("echo_server.py", command, dir);
    server.wait_ready(port);
    (server, port)
}

/// Starts `tests/interop/socketio_server.py` (python-socketio on aiohttp) on
/// a fresh port; `mode` is `accept` or `refuse` (see the script).
pub fn python_socketio_server(dir: &Path, mode: &str) -> (Server, u16) {
    require_python_module("socketio", "python3-socketio");
    require_python_module("aiohttp", "python3-aiohttp");
    let port = free_port();
    let script = interop_file("socketio_server.py");
    let mut command = Command::new(PYTHON);
    command.arg(script).arg(port.to_string()).arg(mode);
    let mut server = Server::spawn("socketio_server.py", command, dir);
    server.wait_ready(port);
    (server, port)
}

/// Starts aiosmtpd, an SMTP server, on a fresh port: a service that speaks
/// first, and not HTTP.
pub fn aiosmtpd(dir: &Path) -> (Server, u16) {
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

/// What one `wsprobe check --format json` run produced.
pub struct Outcome {
    pub exit: i32,
    pub report: Value,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// The report field at a JSON pointer, failing with the whole output when
    /// it is absent.
    pub fn at(&self, pointer: &str) -> &Value {
        self.report
            .pointer(pointer)
            .unwrap_or_else(|| panic!("no {pointer} in the report\n{self}"))
    }

    pub fn str_at(&self, pointer: &str) -> &str {
        self.at(pointer)
            .as_str()
            .unwrap_or_else(|| panic!("{pointer} is not a string\n{self}"))
    }

    pub fn f64_at(&self, pointer: &str) -> f64 {
        self.at(pointer)
            .as_f64()
            .unwrap_or_else(|| panic!("{pointer} is not a number\n{self}"))
    }

    /// Asserts a `missing_101` in `upgrade` with this response status.
    pub fn assert_missing_101(&self, status: u16) {
        self.assert_fields(
            2,
            &[
                ("/class", "missing_101".into()),
                ("/phase", "upgrade".into()),
                ("/response/status", status.into()),
            ],
        );
    }

    /// Asserts the exit code and that the report's field at each pointer
    /// equals the given JSON value.
    pub fn assert_fields(&self, exit: i32, fields: &[(&str, Value)]) {
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

/// Runs `wsprobe check URL --format json --no-proxy ARGS…` and parses its report.
pub fn wsprobe_check(url: &str, args: &[&str]) -> Outcome {
    wsprobe_check_via(url, None, args)
}

/// [`wsprobe_check`] through `proxy` (`--proxy URL`) when given; never
/// through one from the environment.
pub fn wsprobe_check_via(url: &str, proxy: Option<&str>, args: &[&str]) -> Outcome {
    let route: &[&str] = match proxy {
        Some(proxy) => &["--proxy", proxy],
        None => &["--no-proxy"],
    };
    let output = Command::new(env!("CARGO_BIN_EXE_wsprobe"))
        .args(["check", url, "--format", "json"])
        .args(route)
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
pub fn close_codes_seen_by(server: &Server, count: usize) -> Vec<String> {
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
pub fn assert_mentions(what: &str, text: &str, needles: &[&str], outcome: &Outcome) {
    let lower = text.to_lowercase();
    assert!(
        needles.iter().any(|n| lower.contains(&n.to_lowercase())),
        "{what} {text:?} mentions none of {needles:?}\n{outcome}"
    );
}
