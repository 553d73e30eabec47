//! `wsprobe check URL…`: one-shot checks for a terminal, CI or a Nagios-style
//! runner. Every URL and option is validated before any connection is made.

use super::EXIT_USAGE;
use super::args::{duration, seconds_or_duration};
use super::color::ColorChoice;
use crate::check::protocol::Protocol;
use crate::check::proxy::ProxySetting;
use crate::check::steps::{self, parse::ScriptWord};
use crate::check::thresholds::{Threshold, Thresholds};
use crate::check::tls::{TlsOptions, TlsSetup};
use crate::check::{self, CheckOptions, CheckReport, CheckSpec, SpecError, Status};
use crate::report::{self, Format};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Options of `wsprobe check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// ws:// or wss:// URLs; several are checked concurrently.
    #[arg(required = true, value_name = "URL")]
    pub urls: Vec<String>,
    /// Budget of each waiting step (connect, 101, pong, Close) and of the whole attempt, excluding --hold; a bare number is seconds.
    #[arg(long, value_parser = seconds_or_duration, default_value = "10s", value_name = "DUR")]
    pub timeout: Duration,
    /// Budget of the TCP connect (default: --timeout); a bare number is seconds.
    #[arg(long, value_parser = seconds_or_duration, value_name = "DUR")]
    pub connect_timeout: Option<Duration>,
    /// Budget of the whole command, like curl's: no step waits longer and no retry starts after it; a bare number is seconds.
    #[arg(short = 'm', long, value_parser = seconds_or_duration, value_name = "DUR")]
    pub max_time: Option<Duration>,
    /// Extra request header, 'Name: value' (repeatable). Values of credential headers are never shown.
    #[arg(short = 'H', long = "header", value_name = "'K: V'")]
    pub headers: Vec<String>,
    /// User-Agent header to send (default: wsprobe/VERSION).
    #[arg(short = 'A', long, value_name = "TEXT")]
    pub user_agent: Option<String>,
    /// Origin header to send.
    #[arg(long)]
    pub origin: Option<String>,
    /// Subprotocol to offer (repeatable).
    #[arg(long = "subprotocol", value_name = "NAME")]
    pub subprotocols: Vec<String>,
    /// Send one ping after the upgrade and wait for its pong (default).
    #[arg(long, overrides_with = "no_ping")]
    pub ping: bool,
    /// Do not ping after the upgrade.
    #[arg(long)]
    pub no_ping: bool,
    /// While holding, send a ping this often; each pong must come within --timeout.
    #[arg(long, value_parser = duration, value_name = "DUR")]
    pub ping_every: Option<Duration>,
    /// Stay connected this long after the upgrade, watching for the server closing.
    #[arg(long, value_parser = duration, value_name = "DUR")]
    pub hold: Option<Duration>,
    /// Message to send after the upgrade (repeatable; with --expect, a script run in the
    /// order given): text, json:{…}, base64:… or hex:…; ${name} is a value an earlier --expect captured.
    #[arg(long, value_name = "TEXT")]
    pub send: Vec<String>,
    /// The next text or binary message must match (repeatable, ordered with --send): a regex
    /// (named groups are captured), json:COND [&& COND…] (e.g. json:$.type == "pong"), or prefix:hex:….
    #[arg(long, value_name = "PATTERN")]
    pub expect: Vec<String>,
    /// The --send and --expect values in command-line order (filled in from clap's indices).
    #[arg(skip)]
    pub script: Vec<ScriptWord>,
    /// Warn (exit 1) when PHASE (dns, connect, tls, upgrade, open, close or total) takes longer than DUR (repeatable).
    #[arg(long = "warning", value_name = "PHASE=DUR")]
    pub warning_over: Vec<String>,
    /// Fail with class `slow` (exit 2) when PHASE takes longer than DUR (repeatable).
    #[arg(long = "critical", value_name = "PHASE=DUR")]
    pub critical_over: Vec<String>,
    /// A protocol preset whose handshake runs after the upgrade, before any --send/--expect: signalr.
    #[arg(long, value_name = "NAME")]
    pub protocol: Option<String>,
    /// PEM file of CA certificates to trust instead of the built-in roots.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Also trust the operating system's certificate store.
    #[arg(long)]
    pub system_roots: bool,
    /// Client certificate chain (PEM) for mutual TLS.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// Client private key (PEM) for mutual TLS.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Do not verify the server certificate (reported loudly).
    #[arg(short = 'k', long)]
    pub insecure: bool,
    /// Warn (exit 1) when the certificate expires within this window.
    #[arg(long, value_parser = duration, default_value = "14d", value_name = "DUR")]
    pub cert_expiry_warn: Duration,
    /// Use ADDR for HOST:PORT instead of DNS, like curl (repeatable).
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,
    /// Check every A and AAAA address of the host, each on its own.
    #[arg(long)]
    pub all_addresses: bool,
    /// Proxy URL: http://[user:pass@]host:port (CONNECT) or socks5://host:port.
    /// Default: HTTPS_PROXY / HTTP_PROXY / ALL_PROXY, minus NO_PROXY and loopback.
    #[arg(long, value_name = "URL", conflicts_with = "no_proxy")]
    pub proxy: Option<String>,
    /// Ignore proxy environment variables.
    #[arg(long)]
    pub no_proxy: bool,
    /// Extra attempts after a failure; the check fails only if all fail.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub retries: u32,
    /// Pause between attempts.
    #[arg(long, value_parser = duration, default_value = "1s", value_name = "DUR")]
    pub retry_delay: Duration,
    /// Largest message or frame accepted from the server, in bytes.
    #[arg(long, default_value_t = check::spec::DEFAULT_MAX_MESSAGE_BYTES, value_name = "BYTES")]
    pub max_message_bytes: usize,
    /// Connect from this local address (like curl's --interface), the proxy hop too.
    #[arg(long, value_name = "ADDR")]
    pub source_address: Option<std::net::IpAddr>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Show the request and response heads and the full timeline.
    #[arg(short, long, conflicts_with = "quiet")]
    pub verbose: bool,
    /// Print nothing: the exit code is the result (input errors still go to stderr).
    #[arg(short, long)]
    pub quiet: bool,
}

impl CheckArgs {
    /// Order `--send` and `--expect` as they were given: clap keeps each
    /// flag's values apart, its indices say how they interleave.
    pub fn order_script(&mut self, matches: &clap::ArgMatches) {
        let indexed = |id: &str, values: &[String], word: fn(String) -> ScriptWord| {
            let indices: Vec<usize> = matches
                .indices_of(id)
                .map(Iterator::collect)
                .unwrap_or_default();
            values
                .iter()
                .cloned()
                .zip(indices)
                .map(move |(v, i)| (i, word(v)))
                .collect::<Vec<_>>()
        };
        let mut all = indexed("send", &self.send, ScriptWord::Send);
        all.extend(indexed("expect", &self.expect, ScriptWord::Expect));
        all.sort_by_key(|(i, _)| *i);
        self.script = all.into_iter().map(|(_, w)| w).collect();
    }

    /// The per-check options these arguments describe.
    pub fn options(&self) -> Result<CheckOptions, SpecError> {
        let steps = steps::parse::from_words(&self.script).map_err(|(option, value, reason)| {
            SpecError::Option {
                option,
                value,
                reason,
            }
        })?;
        let thresholds = Thresholds {
            warning: parse_thresholds("--warning", &self.warning_over)?,
            critical: parse_thresholds("--critical", &self.critical_over)?,
        };
        let protocol = self
            .protocol
            .as_deref()
            .map(Protocol::parse)
            .transpose()
            .map_err(|reason| SpecError::Option {
                option: "--protocol",
                value: self.protocol.clone().unwrap_or_default(),
                reason,
            })?;
        // No single wait may outlast the whole command's budget.
        let within_budget = |d: Duration| self.max_time.map_or(d, |max| d.min(max));
        let mut headers = self.headers.clone();
        if let Some(agent) = &self.user_agent {
            headers.push(format!("User-Agent: {agent}"));
        }
        Ok(CheckOptions {
            protocol,
            thresholds,
            timeout: within_budget(self.timeout),
            connect_timeout: self.connect_timeout.map(within_budget),
            headers,
            origin: self.origin.clone(),
            subprotocols: self.subprotocols.clone(),
            ping: !self.no_ping,
            ping_every: self.ping_every,
            hold: self.hold,
            steps,
            tls: TlsOptions {
                ca_file: self.ca_file.clone(),
                system_roots: self.system_roots,
                client_cert: self.cert.clone(),
                client_key: self.key.clone(),
                insecure: self.insecure,
            },
            cert_expiry_warn: self.cert_expiry_warn,
            resolve: self.resolve.clone(),
            proxy: match (&self.proxy, self.no_proxy) {
                (Some(p), _) => ProxySetting::Explicit(p.clone()),
                (None, true) => ProxySetting::None,
                (None, false) => ProxySetting::FromEnv,
            },
            retries: self.retries,
            retry_delay: self.retry_delay,
            max_message_bytes: self.max_message_bytes,
            source_address: self.source_address,
            // Only a config expands ${VAR}; a shell has already expanded its own.
            secret_values: Vec::new(),
        })
    }

    /// `--hold` must end before `--max-time`, or the budget would silently
    /// shorten what the user asked to watch.
    fn check_budget(&self) -> Result<(), String> {
        match (self.hold, self.max_time) {
            (Some(hold), Some(max)) if hold >= max => Err(format!(
                "--hold {} does not fit in --max-time {}: raise --max-time or shorten --hold",
                humantime::format_duration(hold),
                humantime::format_duration(max)
            )),
            _ => Ok(()),
        }
    }
}

fn parse_thresholds(option: &'static str, values: &[String]) -> Result<Vec<Threshold>, SpecError> {
    values
        .iter()
        .map(|v| {
            Threshold::parse(v).map_err(|reason| SpecError::Option {
                option,
                value: v.clone(),
                reason,
            })
        })
        .collect()
}

/// Validate every URL, then check them all concurrently and print the results.
pub async fn run(args: CheckArgs, color: ColorChoice) -> ExitCode {
    let opts = match args.options() {
        Ok(opts) => opts,
        Err(e) => {
            eprintln!("wsprobe: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let specs = match args
        .check_budget()
        .and_then(|()| build_specs(&args.urls, &opts))
    {
        Ok(specs) => specs,
        Err(message) => {
            eprintln!("wsprobe: {message}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if args.insecure && specs.iter().any(|s| s.target.secure) {
        eprintln!(
            "wsprobe: WARNING: --insecure: TLS certificates are NOT verified; a passing check proves nothing about the certificate"
        );
    }
    let all_addresses = args.all_addresses;
    // At --max-time no retry starts and a hold ends (cleanly); each wait is
    // already capped by the budget in `options`.
    let out_of_time = CancellationToken::new();
    if let Some(max) = args.max_time {
        let token = out_of_time.clone();
        tokio::spawn(async move {
            tokio::time::sleep(max).await;
            token.cancel();
        });
    }
    let runs = specs.into_iter().map(|spec| {
        let stop = &out_of_time;
        async move {
            if all_addresses {
                check::run_check_all_addresses_until(&spec, stop).await
            } else {
                vec![check::run_check_until(&spec, stop).await]
            }
        }
    });
    let reports: Vec<CheckReport> = futures_util::future::join_all(runs)
        .await
        .into_iter()
        .flatten()
        .collect();
    if !args.quiet {
        print!(
            "{}",
            report::render(args.format, &reports, args.verbose, color.for_stdout())
        );
    }
    let worst = reports
        .iter()
        .map(CheckReport::status)
        .max()
        .unwrap_or(Status::Ok);
    ExitCode::from(worst.exit_code())
}

/// Build one spec per URL; the TLS setup (roots, client identity) is loaded once.
fn build_specs(urls: &[String], opts: &CheckOptions) -> Result<Vec<CheckSpec>, String> {
    let mut tls: Option<Arc<TlsSetup>> = None;
    let mut specs = Vec::with_capacity(urls.len());
    for url in urls {
        let target = check::spec::Target::parse(url).map_err(|e| e.to_string())?;
        let setup = if target.secure {
            if tls.is_none() {
                tls = Some(Arc::new(
                    TlsSetup::build(&opts.tls).map_err(|e| e.to_string())?,
                ));
            }
            tls.clone()
        } else {
            None
        };
        specs.push(CheckSpec::build_with_tls(target, opts, setup).map_err(|e| e.to_string())?);
    }
    Ok(specs)
}
