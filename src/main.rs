//! The `wsprobe` binary: builds the runtime and hands over to the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("wsprobe: cannot start the async runtime: {e}");
            return ExitCode::from(wsprobe::cli::EXIT_USAGE);
        }
    };
    runtime.block_on(wsprobe::cli::run(std::env::args_os().collect()))
}
