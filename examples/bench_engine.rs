//! wsprobe's engine under load: full checks (connect, 101, ping/pong, Close
//! 1000 and the server's Close and FIN) through `run_check`, with all of its
//! evidence recorded as always, sequentially or N at a time on one
//! current-thread runtime.
//!
//! Usage: `bench_engine URL --n N --concurrency C [--ca-file F] [--resolve H:P:A]`.
//! Prints one `RESULT …` line; a failed check prints its reason and exits 1.

mod bench_common;

use bench_common::{LoopArgs, Passed};
use std::sync::Arc;
use wsprobe::check::proxy::ProxySetting;
use wsprobe::check::tls::TlsOptions;
use wsprobe::check::{CheckOptions, CheckSpec, run_check};

fn main() {
    let args = match LoopArgs::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("bench_engine: {e}");
            std::process::exit(3);
        }
    };
    let opts = CheckOptions {
        timeout: bench_common::CHECK_TIMEOUT,
        tls: TlsOptions {
            ca_file: args.ca_file.clone(),
            ..TlsOptions::default()
        },
        resolve: args.resolve.iter().cloned().collect(),
        // Loopback never goes through an environment proxy anyway; say so.
        proxy: ProxySetting::None,
        ..CheckOptions::default()
    };
    let spec = match CheckSpec::build(&args.url, &opts) {
        Ok(spec) => Arc::new(spec),
        Err(e) => {
            eprintln!("bench_engine: {e}");
            std::process::exit(3);
        }
    };
    let secure = spec.target.secure;
    let result = bench_common::runtime().block_on(bench_common::run_loop(&args, move || {
        let spec = spec.clone();
        async move {
            let report = run_check(&spec).await;
            let attempt = report.decisive();
            if !report.ok() {
                return Err(format!(
                    "{}: {} ({})",
                    attempt.class.as_str(),
                    attempt.message.as_deref().unwrap_or("no message"),
                    attempt.hint.as_deref().unwrap_or("no hint")
                ));
            }
            if !attempt.close.as_ref().is_some_and(|c| c.clean) {
                return Err("passed, but the closing handshake was not clean".into());
            }
            // A resumed TLS 1.3 session sends no certificate, so none is recorded.
            let tls_resumed =
                secure && attempt.tls.as_ref().is_none_or(|t| t.certificate.is_none());
            Ok(Passed { tls_resumed })
        }
    }));
    bench_common::report("wsprobe", &args, result);
}
