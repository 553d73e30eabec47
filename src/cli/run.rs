//! `wsprobe run`: the daemon, wired to signals (SIGTERM/SIGINT stop, SIGHUP
//! reloads) and to structured logs.

use super::EXIT_USAGE;
use super::color::ColorChoice;
use crate::daemon::{self, Controls, DaemonError, RunOptions};
use crate::state::store::StateLocation;
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Human,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Options of `wsprobe run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The monitors file.
    #[arg(long, short, default_value = "monitors.yaml", value_name = "PATH")]
    pub config: PathBuf,
    /// Where state, history and alerts live: a SQLite file, or a
    /// postgres://USER@HOST:PORT/DB URL shared by a cluster (PG* variables
    /// and sslmode honoured); default: settings.state, else ./wsprobe.db.
    /// (Parsed after clap: its error would echo the value, password and all.)
    #[arg(long, value_name = "PATH|URL")]
    pub state: Option<String>,
    /// Serve the status page, /metrics, /probe and the API on this address
    /// (127.0.0.1:9108, localhost:9108, or :9108 for every interface);
    /// overrides settings.listen.
    #[arg(long, value_name = "ADDR", value_parser = super::args::listen)]
    pub listen: Option<std::net::SocketAddr>,
    /// This instance's name in a cluster (default: the host name plus a
    /// short random suffix); letters, digits, '-', '_' and '.'.
    #[arg(long, value_name = "NAME", value_parser = crate::cluster::identity::validate)]
    pub instance: Option<String>,
    /// The location this instance checks from (default: settings.location,
    /// else `default`); letters, digits, '-', '_' and '.'.
    #[arg(long, value_name = "NAME", value_parser = crate::cluster::identity::validate_location)]
    pub location: Option<String>,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
}

/// `option`'s value as a path or a PostgreSQL URL; the error names the
/// option and the URL without its password.
pub fn parse_state(option: &str, text: &str) -> Result<StateLocation, String> {
    StateLocation::parse(text).map_err(|reason| format!("{option}: {reason}"))
}

/// Install the tracing subscriber (RUST_LOG overrides the default level);
/// escape codes only when `color` says stderr wants them.
pub fn init_logging(format: LogFormat, color: ColorChoice) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color.for_stderr());
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Map SIGTERM/SIGINT to shutdown and SIGHUP to reload. SIGXFSZ (a write
/// past the file-size limit, `ulimit -f` / `LimitFSIZE=`) is caught so that it
/// does not kill the daemon: the write fails with EFBIG instead, and the state
/// store goes on from memory (see `state/store/overlay.rs`).
pub fn wire_signals(controls: &Controls) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut xfsz = signal(SignalKind::from_raw(libc::SIGXFSZ))?;
    tokio::spawn(async move {
        // The store logs the failed write itself; this only keeps the
        // handler installed.
        while xfsz.recv().await.is_some() {}
    });
    let controls = controls.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = term.recv() => { tracing::info!("SIGTERM received"); controls.shutdown.cancel(); return; }
                _ = int.recv() => { tracing::info!("SIGINT received"); controls.shutdown.cancel(); return; }
                _ = hup.recv() => controls.reload.notify_one(),
            }
        }
    });
    Ok(())
}

/// Run the daemon until a stop signal.
pub async fn run(args: RunArgs, color: ColorChoice) -> ExitCode {
    init_logging(args.log_format, color);
    let controls = Controls::default();
    if let Err(e) = wire_signals(&controls) {
        eprintln!("wsprobe: cannot install signal handlers: {e}");
        return ExitCode::from(EXIT_USAGE);
    }
    let state = match args
        .state
        .as_deref()
        .map(|s| parse_state("--state", s))
        .transpose()
    {
        Ok(state) => state,
        Err(e) => {
            eprintln!("wsprobe: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let opts = RunOptions {
        config_path: args.config,
        state,
        listen: args.listen,
        instance: args.instance,
        location: args.location,
    };
    exit_for(daemon::run(opts, controls).await)
}

/// The exit code and message for the daemon's result.
pub fn exit_for(result: Result<(), DaemonError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(DaemonError::Config(errors)) => {
            eprintln!("wsprobe: the configuration is invalid; not starting:");
            for e in &errors.0 {
                eprintln!("  {e}");
            }
            ExitCode::from(EXIT_USAGE)
        }
        Err(e) => {
            eprintln!("wsprobe: {e}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
