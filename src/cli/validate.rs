//! `wsprobe validate`: check monitors.yaml (and its channels and templates)
//! without running anything; every problem is printed with file:line:column.

use super::EXIT_USAGE;
use crate::config;
use crate::daemon::build_channels;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// Options of `wsprobe validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The monitors file.
    #[arg(long, short, default_value = "monitors.yaml", value_name = "PATH")]
    pub config: PathBuf,
}

/// Validate and report.
pub fn run(args: ValidateArgs) -> ExitCode {
    let config = match config::load(&args.config) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{errors}");
            eprintln!(
                "{}: {} problem{}",
                args.config.display(),
                errors.0.len(),
                if errors.0.len() == 1 { "" } else { "s" }
            );
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if let Err(e) = build_channels(&config) {
        eprintln!("{}: {e}", args.config.display());
        return ExitCode::from(EXIT_USAGE);
    }
    println!(
        "{}: OK — {} monitor{}, {} channel{}",
        args.config.display(),
        config.monitors.len(),
        if config.monitors.len() == 1 { "" } else { "s" },
        config.channels.len(),
        if config.channels.len() == 1 { "" } else { "s" },
    );
    ExitCode::SUCCESS
}
