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
    /// Serve the status page, /metrics, /probe and the API on this address (default: a free port on 127.0.0.1).
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
  - name: restarting             # a backend restart: 504s for a while, then back
    url: {restart}
    schedule: "@every 2s"
    failure_threshold: 2
    success_threshold: 1
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
        restart = url(RESTART),
    )
}

const IDLE_CUT: Duration = Duration::from_secs(2);

/// Down from 6 s to 18 s after the start: DOWN after two failed runs, then
/// RECOVERED, within the first half minute.
const RESTART: Behavior = Behavior::Restart {
    down_at: Duration::from_secs(6),
    down_for: Duration::from_secs(12),
};

/// A free port on 127.0.0.1 for the status page (bound, then released for
/// the daemon to bind).
fn free_loopback() -> std::io::Result<std::net::SocketAddr> {
    std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()
}

/// What the demo starts and where to look, before anything happens.
fn announce(demo: &DemoEndpoints, config: &Path, listen: std::net::SocketAddr) {
    println!(
        "wsprobe demo: starting {} local endpoints that reproduce classic incidents,",
        demo.servers.len()
    );
    for (b, addr) in &demo.servers {
        println!("  {:<14} ws://{addr}/", b.name());
    }
    println!(
        "and a real daemon watching them (config: {}).",
        config.display()
    );
    println!("Status page: http://{listen}/   (metrics at /metrics, JSON at /api/monitors)");
    println!(
        "Alerts appear below; `restarting` goes DOWN and then RECOVERED within ~30 s. Ctrl-C stops."
    );
}

/// How to go on from the demo to one's own endpoints.
fn next_steps() {
    println!();
    println!("Next steps:");
    println!("  wsprobe check wss://your.host/ws       # one endpoint, phase by phase");
    println!("  wsprobe init --url wss://your.host/ws  # a commented starter monitors.yaml");
    println!("  wsprobe validate && wsprobe run        # then watch it, page at settings.listen");
}

/// Start the endpoints and the daemon.
pub async fn run(args: DemoArgs, color: ColorChoice) -> ExitCode {
    init_logging(LogFormat::Human, color);
    // A folder of our own making is removed at the end; one given is kept.
    let (dir, temporary) = match &args.dir {
        Some(d) => (d.clone(), false),
        None => (
            std::env::temp_dir().join(format!("wsprobe-demo-{}", std::process::id())),
            true,
        ),
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
        RESTART,
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
        if temporary {
            let _ = std::fs::remove_dir_all(&dir);
        }
        return ExitCode::SUCCESS;
    }
    let config_path = dir.join("monitors.yaml");
    if let Err(e) = std::fs::write(&config_path, demo_config(&demo, &dir)) {
        eprintln!("wsprobe: cannot write {}: {e}", config_path.display());
        return ExitCode::from(EXIT_USAGE);
    }
    let listen = match args.listen.map_or_else(free_loopback, Ok) {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("wsprobe: no free port on 127.0.0.1 for the status page: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    announce(&demo, &config_path, listen);
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
        listen: Some(listen),
        instance: None,
        location: None,
    };
    let result = daemon::run(opts, controls).await;
    drop(demo);
    if temporary && let Err(e) = std::fs::remove_dir_all(&dir) {
        eprintln!("wsprobe: could not remove {}: {e}", dir.display());
    }
    if result.is_ok() {
        next_steps();
    }
    exit_for(result)
}
