//! `wsprobe completions bash|zsh|fish|…` and `wsprobe man`: shell
//! completions (clap_complete) and the roff man page (clap_mangen), both
//! generated from the very definition the binary parses its arguments with,
//! so neither can drift from the flags.

use clap::{Args, CommandFactory};
use std::io::Write;
use std::process::ExitCode;

/// Options of `wsprobe completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell, e.g. bash (`source <(wsprobe completions bash)`), zsh or fish.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Print the completion script for `args.shell`.
pub fn completions(args: CompletionsArgs) -> ExitCode {
    let mut command = super::Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut command, "wsprobe", &mut out);
    print_bytes(&out)
}

/// Options of `wsprobe man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// A subcommand's own page (wsprobe-check(1), …) instead of wsprobe(1).
    #[arg(value_name = "SUBCOMMAND")]
    pub subcommand: Option<String>,
}

/// Print a man page (roff): `wsprobe man | man -l -`, or redirect it to
/// `/usr/local/share/man/man1/wsprobe.1` (`wsprobe man check` to
/// `wsprobe-check.1`, and so on).
pub fn man(args: ManArgs) -> ExitCode {
    let top = super::Cli::command();
    let page = match &args.subcommand {
        None => top,
        Some(name) => {
            let Some(sub) = top.find_subcommand(name) else {
                let known: Vec<&str> = top.get_subcommands().map(|c| c.get_name()).collect();
                eprintln!(
                    "wsprobe: no subcommand {name:?} (known: {})",
                    known.join(", ")
                );
                return ExitCode::from(super::EXIT_USAGE);
            };
            sub.clone()
                .display_name(format!("wsprobe-{name}"))
                .bin_name(format!("wsprobe {name}"))
        }
    };
    let mut out = Vec::new();
    match clap_mangen::Man::new(page).render(&mut out) {
        Ok(()) => print_bytes(&out),
        Err(e) => {
            eprintln!("wsprobe: cannot render the man page: {e}");
            ExitCode::from(super::EXIT_USAGE)
        }
    }
}

/// Write to stdout; a closed pipe (`| head`) is not worth a panic.
fn print_bytes(bytes: &[u8]) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}
