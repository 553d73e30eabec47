//! The `wsprobe` binary: parses the command line, builds the runtime the
//! command wants, and hands over to the library.

use std::process::ExitCode;

/// Descriptors the runtime opens as it starts (tokio 1.x: epoll, its waker,
/// the blocking pool's and the signal driver's, the socket pair last; six,
/// measured with prlimit). tokio panics when it cannot make that pair, so
/// room for all of them is made sure of first, and a limit too low to start
/// is an error that says so.
const RUNTIME_DESCRIPTORS: usize = 6;

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
    let runtime = match wsprobe::check::local::descriptor_headroom(RUNTIME_DESCRIPTORS)
        .and_then(|()| builder.enable_all().build())
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!(
                "wsprobe: cannot start the async runtime: {e}{}",
                if e.raw_os_error() == Some(24) {
                    " (raise the open-files limit: ulimit -n, LimitNOFILE=)"
                } else {
                    ""
                }
            );
            return ExitCode::from(wsprobe::cli::EXIT_USAGE);
        }
    };
    runtime.block_on(wsprobe::cli::execute(cli))
}
