//! `wsprobe demo`: the main job in one command on a fresh machine — local
//! endpoints reproducing the classic failures, and a real daemon watching
//! them, with alerts printed to the terminal.

use super::EXIT_USAGE;
use super::args::duration;
use super::color::ColorChoice;
use super::run::{LogFormat, exit_for, init_logging, wire_signals};
use crate::daemon::{self, Controls, RunOptions};
use crate::demo::endpoints::{Behavior, DemoEndpoints};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Options of `wsprobe demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Stop by itself after this long (default: run until Ctrl-C).
    #[arg(long = "for", value_parser = duration, value_name = "DUR")]
    pub run_for: Option<Duration>,
    /// Where to write the demo's config and state (default: a new temporary folder).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Only serve the demo endpoints and print their URLs (to try `wsprobe check` on them).
    #[arg(long)]
    pub endpoints_only: bool,
    /// Serve the status page, /metrics, /probe and the API on this address (e.g. 127.0.0.1:9108).
    #[arg(long, value_name = "ADDR", value_parser = super::args::listen)]
    pub listen: Option<std::net::SocketAddr>,
}

/// The demo monitors file, for endpoints at the given URLs.
pub fn demo_config(demo: &DemoEndpoints, dir: &Path) -> String {
    let url = |b| demo.url(b).unwrap_or_default();
    format!(
        r#"# Written by `wsprobe demo`: local endpoints that reproduce classic incidents.
settings:
  concurrency: 8
  state: {state}
  shutdown_grace: 3s
defaults:
  schedule: "@every 20s"
  timeout: 3s
  alert: [terminal]
monitors:
  - name: healthy
    url: {healthy}
  - name: fin-after-101          # a proxy speaking HTTP/1.0 to the backend
    url: {fin}
  - name: silent-server          # accepts, reads the upgrade, never answers
    url: {silent}
  - name: proxy-504              # nginx giving up on its upstream
    url: {gw}
  - name: idle-cut               # a load balancer cutting idle connections after 2 s
    url: {idle}
    hold: 4s
channels:
  terminal:
    type: file
    path: "-"
"#,
        state = dir.join("demo.db").display(),
        healthy = url(Behavior::Healthy),
        fin = url(Behavior::FinAfter101),
        silent = url(Behavior::Silent),
        gw = url(Behavior::GatewayTimeout),
        idle = url(Behavior::IdleCut(IDLE_CUT)),
    )
}

const IDLE_CUT: Duration = Duration::from_secs(2);

/// Start the endpoints and the daemon.
pub async fn run(args: DemoArgs, color: ColorChoice) -> ExitCode {
    init_logging(LogFormat::Human, color);
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("wsprobe-demo-{}", std::process::id())),
    };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("wsprobe: cannot create {}: {e}", dir.display());
        return ExitCode::from(EXIT_USAGE);
    }
    let behaviors = [
        Behavior::Healthy,
        Behavior::FinAfter101,
        Behavior::Silent,
        Behavior::GatewayTimeout,
        Behavior::IdleCut(IDLE_CUT),
    ];
    let demo = match DemoEndpoints::start(&behaviors).await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("wsprobe: cannot start the demo endpoints: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if args.endpoints_only {
        for (b, addr) in &demo.servers {
            println!("{:<14} ws://{addr}/", b.name());
        }
        let stop = tokio::signal::ctrl_c();
        match args.run_for {
            Some(limit) => {
                let _ = tokio::time::timeout(limit, stop).await;
            }
            None => {
                let _ = stop.await;
            }
        }
        return ExitCode::SUCCESS;
    }
    let config_path = dir.join("monitors.yaml");
    if let Err(e) = std::fs::write(&config_path, demo_config(&demo, &dir)) {
        eprintln!("wsprobe: cannot write {}: {e}", config_path.display());
        return ExitCode::from(EXIT_USAGE);
    }
    eprintln!(
        "wsprobe demo: {} local endpoints, config {} — alerts appear below; Ctrl-C stops.",
        demo.servers.len(),
        config_path.display()
    );
    if let Some(addr) = args.listen {
        eprintln!("wsprobe demo: status page at http://{addr}/ (metrics at /metrics)");
    }
    let controls = Controls::default();
    if let Err(e) = wire_signals(&controls) {
        eprintln!("wsprobe: cannot install signal handlers: {e}");
        return ExitCode::from(EXIT_USAGE);
    }
    if let Some(limit) = args.run_for {
        let stop = controls.shutdown.clone();
        tokio::spawn(async move {
            tokio::time::sleep(limit).await;
            stop.cancel();
        });
    }
    let opts = RunOptions {
        config_path,
        state: None,
        listen: args.listen,
        instance: None,
        location: None,
    };
    let result = daemon::run(opts, controls).await;
    drop(demo);
    exit_for(result)
}
