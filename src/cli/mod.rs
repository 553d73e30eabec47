//! The `wsprobe` command line: argument handling and output only; the work is
//! done by the library. Input errors exit with 3 (UNKNOWN), as Nagios expects.

pub mod alert_test;
pub mod args;
pub mod check;
pub mod color;
pub mod demo;
pub mod docs;
pub mod init;
pub mod run;
pub mod state;
pub mod validate;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::process::ExitCode;

/// Exit code for bad input (Nagios UNKNOWN).
pub const EXIT_USAGE: u8 = 3;

/// Synthetic health checks for WebSocket endpoints.
#[derive(Debug, Parser)]
#[command(name = "wsprobe", version, about, long_about = None)]
pub struct Cli {
    /// Colour in logs and results: auto (a terminal, unless NO_COLOR is set), always or never.
    #[arg(long, global = true, value_enum, default_value_t = color::ColorChoice::Auto, value_name = "WHEN")]
    color: color::ColorChoice,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check one or more WebSocket URLs once and exit (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
    Check(Box<check::CheckArgs>),
    /// Run the monitoring daemon from monitors.yaml (SIGHUP reloads, SIGTERM stops).
    Run(run::RunArgs),
    /// Write a commented starter monitors.yaml (never over an existing file).
    Init(init::InitArgs),
    /// Validate monitors.yaml and print every problem with file:line:column.
    Validate(validate::ValidateArgs),
    /// Alert channel tools.
    #[command(subcommand)]
    Alert(AlertCommand),
    /// Local endpoints reproducing classic failures, watched by a real daemon.
    Demo(demo::DemoArgs),
    /// State store tools.
    #[command(subcommand)]
    State(state::StateCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(docs::CompletionsArgs),
    /// Print the man page (roff), e.g. `wsprobe man | man -l -`; `wsprobe man check` for a subcommand's.
    Man(docs::ManArgs),
}

#[derive(Debug, Subcommand)]
enum AlertCommand {
    /// Send a sample DOWN alert through a channel.
    Test(alert_test::AlertTestArgs),
}

/// Parse `args`; on failure (or `--help`) the message is printed and the exit
/// code returned.
pub fn parse(args: Vec<std::ffi::OsString>) -> Result<Cli, ExitCode> {
    let parsed = Cli::command()
        .try_get_matches_from(args)
        .and_then(|matches| {
            let mut cli = Cli::from_arg_matches(&matches)?;
            if let (Command::Check(args), Some(("check", sub))) =
                (&mut cli.command, matches.subcommand())
            {
                args.order_script(sub);
            }
            Ok(cli)
        });
    parsed.map_err(|e| {
        let code = match e.kind() {
            clap::error::ErrorKind::DisplayHelp
            | clap::error::ErrorKind::DisplayVersion
            | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => 0,
            _ => EXIT_USAGE,
        };
        let _ = e.print();
        ExitCode::from(code)
    })
}

impl Cli {
    /// One-shot checks run on one thread: starting worker threads costs more
    /// than the check itself. The daemon spreads its monitors over every core.
    pub fn wants_multi_thread(&self) -> bool {
        !matches!(
            self.command,
            Command::Check(_)
                | Command::Validate(_)
                | Command::Init(_)
                | Command::Completions(_)
                | Command::Man(_)
        )
    }
}

/// Run a parsed command; returns the process exit code.
pub async fn execute(cli: Cli) -> ExitCode {
    let color = cli.color;
    match cli.command {
        Command::Check(args) => check::run(*args, color).await,
        Command::Run(args) => run::run(args, color).await,
        Command::Validate(args) => validate::run(args),
        Command::Init(args) => init::run(args),
        Command::Alert(AlertCommand::Test(args)) => alert_test::run(args).await,
        Command::Demo(args) => demo::run(args, color).await,
        Command::State(command) => state::run(command).await,
        Command::Completions(args) => docs::completions(args),
        Command::Man(args) => docs::man(args),
    }
}
