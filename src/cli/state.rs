//! `wsprobe state migrate --from PATH --to URL`: copy an embedded (SQLite)
//! store into PostgreSQL before starting a cluster on it — every monitor's
//! state and open incident, the alerts not yet delivered, and recent results.
//! The target must be empty; a failed copy leaves it empty again.

use super::EXIT_USAGE;
use super::run::parse_state;
use crate::state::store::Store;
use clap::{Args, Subcommand};
use std::process::ExitCode;

/// `wsprobe state …`.
#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Copy one state store into another, empty one (SQLite → PostgreSQL).
    Migrate(MigrateArgs),
}

/// Options of `wsprobe state migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The store to copy from (a SQLite file, or a URL).
    #[arg(long, value_name = "PATH|URL")]
    pub from: String,
    /// The empty store to copy into (a postgres:// URL, or a path).
    #[arg(long, value_name = "URL|PATH")]
    pub to: String,
    /// Copy results younger than this (e.g. 7d); states and pending alerts
    /// are always copied whole.
    #[arg(long, value_name = "AGE", default_value = "7d", value_parser = humantime::parse_duration)]
    pub results: std::time::Duration,
}

/// Run a `state` subcommand.
pub async fn run(command: StateCommand) -> ExitCode {
    let StateCommand::Migrate(args) = command;
    match migrate(&args).await {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("wsprobe state migrate: {e}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

async fn migrate(args: &MigrateArgs) -> Result<String, String> {
    // Parsed here, not by clap, whose error would echo a password.
    let from_at = parse_state("--from", &args.from)?;
    let to_at = parse_state("--to", &args.to)?;
    if from_at == to_at {
        return Err(format!("--from and --to are the same store ({from_at})"));
    }
    let from = Store::connect(&from_at, "wsprobe-migrate")
        .await
        .map_err(|e| format!("--from {from_at}: {e}"))?;
    let to = Store::connect(&to_at, "wsprobe-migrate")
        .await
        .map_err(|e| format!("--to {to_at}: {e}"))?;
    let since = chrono::Utc::now()
        - chrono::Duration::from_std(args.results).unwrap_or(chrono::Duration::MAX);
    let moved = from
        .migrate_to(&to, since)
        .await
        .map_err(|e| format!("{from_at} → {to_at}: {e}"))?;
    Ok(format!(
        "copied {from_at} → {to_at}: {} monitor states ({} open incidents), {} undelivered alerts, {} results",
        moved.states, moved.incidents, moved.alerts, moved.results
    ))
}
