//! Runs the real `wsprobe check` binary for the `check_*` integration tests
//! and reads its output.
//!
//! The child runs through `tokio::process`, so the fault servers living on the
//! test's runtime keep serving while the binary works. Proxy variables are
//! removed from its environment so a developer's shell cannot reroute a check.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::process::Command;

/// No check in these tests should come near this; it turns a hang into a
/// failure with a message instead of a stuck suite.
const HARD_LIMIT: Duration = Duration::from_secs(30);

/// Environment variables that would send a check through a proxy.
const PROXY_VARS: [&str; 8] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// What one run of the binary produced.
pub struct Run {
    /// The exit code (-1 if killed by a signal).
    pub code: i32,
    /// Everything printed on stdout.
    pub stdout: String,
    /// Everything printed on stderr.
    pub stderr: String,
    /// Wall-clock time of the whole run.
    pub elapsed: Duration,
}

impl Run {
    /// The single JSON object a one-URL `--format json` run prints.
    pub fn json(&self) -> Value {
        let mut all = self.jsons();
        assert_eq!(all.len(), 1, "expected one JSON object:\n{self}");
        all.remove(0)
    }

    /// Every JSON object of a `--format json` run, in output order.
    pub fn jsons(&self) -> Vec<Value> {
        serde_json::Deserializer::from_str(&self.stdout)
            .into_iter::<Value>()
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("stdout is not a JSON stream ({e}):\n{self}"))
    }

    /// Asserts the exit code, and the class and phase of the only report.
    /// Returns that report.
    pub fn verdict(&self, code: i32, class: &str, phase: Option<&str>) -> Value {
        let v = self.json();
        assert_eq!(
            (self.code, v["class"].as_str(), v["phase"].as_str()),
            (code, Some(class), phase),
            "unexpected verdict:\n{self}"
        );
        // The evidence of a failure is tagged with the same class name.
        let evidence_class = v["evidence"]["class"].as_str();
        assert_eq!(
            evidence_class,
            (class != "ok").then_some(class),
            "evidence tag:\n{self}"
        );
        v
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {} after {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.elapsed, self.stdout, self.stderr
        )
    }
}

/// Runs `wsprobe check ARGS…` and waits for it.
pub async fn check<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wsprobe"));
    cmd.arg("check").args(args);
    output(cmd).await
}

/// Runs `wsprobe check ARGS…` with at most `max_open_files` file descriptors
/// (`ulimit -n` in a shell that then execs the binary).
pub async fn check_with_fd_limit<I, S>(max_open_files: u32, args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(r#"ulimit -n "$1" && shift && exec "$@""#)
        .arg("sh")
        .arg(max_open_files.to_string())
        .arg(env!("CARGO_BIN_EXE_wsprobe"))
        .arg("check")
        .args(args);
    output(cmd).await
}

async fn output(mut cmd: Command) -> Run {
    cmd.stdin(Stdio::null()).kill_on_drop(true);
    for var in PROXY_VARS {
        cmd.env_remove(var);
    }
    let started = Instant::now();
    let out = tokio::time::timeout(HARD_LIMIT, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("wsprobe check did not finish within {HARD_LIMIT:?}"))
        .expect("run the wsprobe binary");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}

/// The string at a JSON pointer, failing with the whole document if absent.
pub fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string at {pointer} in {v:#}"))
}

/// The number at a JSON pointer, failing with the whole document if absent.
pub fn num(v: &Value, pointer: &str) -> f64 {
    v.pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("no number at {pointer} in {v:#}"))
}

/// The boolean at a JSON pointer, failing with the whole document if absent.
pub fn flag(v: &Value, pointer: &str) -> bool {
    v.pointer(pointer)
        .and_then(Value::as_bool)
        .unwrap_or_else(|| panic!("no boolean at {pointer} in {v:#}"))
}

/// Asserts that the string at `pointer` contains every one of `words`.
pub fn assert_mentions(v: &Value, pointer: &str, words: &[&str]) {
    let s = text(v, pointer);
    for w in words {
        assert!(s.contains(w), "{pointer} = {s:?} should mention {w:?}");
    }
}
