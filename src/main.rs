//! The `wsprobe` binary: parses the command line, builds the runtime the
//! command wants, and hands over to the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match wsprobe::cli::parse(std::env::args_os().collect()) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let mut builder = if cli.wants_multi_thread() {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("wsprobe: cannot start the async runtime: {e}");
            return ExitCode::from(wsprobe::cli::EXIT_USAGE);
        }
    };
    runtime.block_on(wsprobe::cli::execute(cli))
}
