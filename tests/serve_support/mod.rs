//! A real daemon with its HTTP surface, started in-process on a generated
//! monitors.yaml (`settings.listen` on a free 127.0.0.1 port), and a small
//! HTTP client for it. Used by the `serve_*` tests.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use wsprobe::daemon::{self, Controls, DaemonError, RunOptions};
use wsprobe::state::store::Store;

/// How long to wait for the first checks or the server to come up.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A free port on 127.0.0.1: bound on :0, then released for the daemon.
pub fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind :0");
    l.local_addr().expect("local addr")
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl Reply {
    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// A running daemon; [`Daemon::stop`] shuts it down and returns its result.
pub struct Daemon {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The folder holding monitors.yaml and the state.
    pub dir: tempfile::TempDir,
    controls: Controls,
    task: JoinHandle<Result<(), DaemonError>>,
    client: reqwest::Client,
}

impl Daemon {
    /// Write `yaml` (a monitors.yaml without `settings:`) with the state in a
    /// temporary folder and a free listen address, start the daemon and wait
    /// until `/readyz` answers.
    pub async fn start(yaml: &str) -> Daemon {
        Daemon::start_seeded(yaml, async |_| {}).await
    }

    /// Like [`Daemon::start`], after `seed` has written history into the
    /// state store the daemon will open.
    pub async fn start_seeded(yaml: &str, seed: impl AsyncFnOnce(Store)) -> Daemon {
        Daemon::start_with(yaml, "", seed).await
    }

    /// Like [`Daemon::start_seeded`] with `settings` (lines indented by two
    /// spaces) added under `settings:`.
    pub async fn start_with(yaml: &str, settings: &str, seed: impl AsyncFnOnce(Store)) -> Daemon {
        let dir = tempfile::tempdir().expect("tempdir");
        seed(Store::open(&dir.path().join("state.db")).expect("open the state store")).await;
        let addr = free_addr();
        let config = format!(
            "settings:\n  listen: {addr}\n  state: {}\n  shutdown_grace: 2s\n{settings}{yaml}",
            dir.path().join("state.db").display()
        );
        let config_path = dir.path().join("monitors.yaml");
        std::fs::write(&config_path, config).expect("write monitors.yaml");
        let controls = Controls::default();
        let opts = RunOptions {
            config_path,
            state: None,
            listen: None,
            instance: Some("serve-test".into()),
            location: None,
        };
        let task = tokio::spawn(daemon::run(opts, controls.clone()));
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("HTTP client");
        let d = Daemon {
            base: format!("http://{addr}"),
            dir,
            controls,
            task,
            client,
        };
        d.wait_until("the HTTP surface answers /readyz", async |d| {
            d.try_get("/readyz").await.is_some_and(|r| r.status == 200)
        })
        .await;
        d
    }

    /// GET `path`; panics when the request fails.
    pub async fn get(&self, path: &str) -> Reply {
        self.get_with(path, &[]).await
    }

    /// GET `path` with extra request headers.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut req = self.client.get(format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        reply(resp).await
    }

    async fn try_get(&self, path: &str) -> Option<Reply> {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .ok()?;
        Some(reply(resp).await)
    }

    /// Wait until every monitor in `names` has a result (its first check ran).
    pub async fn wait_for_checks(&self, names: &[&str]) {
        for name in names {
            let what = format!("the first check of {name}");
            self.wait_until(&what, async |d| {
                d.try_get(&format!("/api/monitors/{name}"))
                    .await
                    .filter(|r| r.status == 200)
                    .is_some_and(|r| !r.json()["last_result"].is_null())
            })
            .await;
        }
    }

    /// Poll `ready` every 50 ms until it holds; panics after [`PATIENCE`].
    pub async fn wait_until(&self, what: &str, ready: impl AsyncFn(&Daemon) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if ready(self).await {
                return;
            }
            if self.task.is_finished() {
                panic!("the daemon stopped while waiting for {what}");
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Shut down and return the daemon's result.
    pub async fn stop(self) -> Result<(), DaemonError> {
        self.controls.shutdown.cancel();
        tokio::time::timeout(PATIENCE, self.task)
            .await
            .expect("the daemon stops within the grace period")
            .expect("the daemon task does not panic")
    }
}

async fn reply(resp: reqwest::Response) -> Reply {
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = resp.text().await.expect("body");
    Reply {
        status,
        content_type,
        body,
    }
}

/// One sample of an exposition: name, labels, value.
#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub labels: std::collections::HashMap<String, String>,
    pub value: f64,
}

/// Parse an exposition with the `prometheus-parse` crate and flatten it into
/// samples (a histogram's `_count` and `_sum` come back as their own samples;
/// its buckets are counted but not returned). Every sample line must come
/// back, so a line the parser could not read fails the test instead of vanishing.
pub fn parse_exposition(text: &str) -> Vec<Sample> {
    assert!(
        text.trim_end().ends_with("# EOF"),
        "OpenMetrics ends with # EOF:\n{text}"
    );
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("exposition parses");
    let mut out = Vec::new();
    let mut sample_lines = 0usize;
    for s in &scrape.samples {
        let labels: std::collections::HashMap<String, String> = s
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        match &s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => {
                sample_lines += 1;
                out.push(Sample {
                    name: s.metric.clone(),
                    labels,
                    value: *v,
                });
            }
            prometheus_parse::Value::Histogram(buckets) => sample_lines += buckets.len(),
            prometheus_parse::Value::Summary(_) => panic!("no summaries expected"),
        }
    }
    let expected = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .count();
    assert_eq!(sample_lines, expected, "every sample line parses:\n{text}");
    out
}

/// The value of the one sample named `name` whose labels include `labels`.
pub fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let found: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .collect();
    assert!(
        found.len() <= 1,
        "{name}{labels:?} matches {} samples",
        found.len()
    );
    found.first().map(|s| s.value)
}

/// Write `text` to `dir/name` and return the path.
pub fn write_file(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write file");
    path
}
