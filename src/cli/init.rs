//! `wsprobe init [--url URL]`: a commented starter monitors.yaml with the
//! commonest options and a file channel, that `wsprobe validate` accepts as
//! is (no `${VAR}` to set first). It never overwrites a file.

use super::EXIT_USAGE;
use crate::check::spec::Target;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// The starter file; `{URL}` is replaced by the monitored URL.
const STARTER: &str = include_str!("starter.yaml");

/// Used when no `--url` is given: a public echo server is not ours to
/// promise, so the placeholder is a local endpoint to replace.
const PLACEHOLDER_URL: &str = "ws://127.0.0.1:8080/ws";

/// Options of `wsprobe init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write the file; an existing file is never overwritten.
    #[arg(long, short, default_value = "monitors.yaml", value_name = "PATH")]
    pub config: PathBuf,
    /// The ws:// or wss:// URL of the first monitor (default: a local placeholder).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
}

/// The starter monitors.yaml for `url`.
pub fn starter(url: &str) -> String {
    // A JSON string is a valid YAML double-quoted scalar: any URL stays one value.
    let quoted = serde_json::Value::String(url.to_string()).to_string();
    STARTER.replace("{URL}", &quoted)
}

/// Write the starter file, refusing to replace one that exists.
pub fn run(args: InitArgs) -> ExitCode {
    let url = args.url.as_deref().unwrap_or(PLACEHOLDER_URL);
    if let Err(e) = Target::parse(url) {
        eprintln!("wsprobe: --url: {e}");
        return ExitCode::from(EXIT_USAGE);
    }
    let path = args.config.display();
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&args.config)
        .and_then(|mut file| file.write_all(starter(url).as_bytes()));
    match written {
        Ok(()) => {
            println!("wrote {path}: one monitor of {url}, alerts to alerts.log");
            println!(
                "next: edit it, then `wsprobe validate --config {path}` and `wsprobe run --config {path}`"
            );
            ExitCode::SUCCESS
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            eprintln!(
                "wsprobe: {path} exists; not overwritten (remove it, or write elsewhere with --config PATH)"
            );
            ExitCode::from(EXIT_USAGE)
        }
        Err(e) => {
            eprintln!("wsprobe: cannot write {path}: {e}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
