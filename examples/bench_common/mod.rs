//! What the benchmark clients share: their command line, the bounded check loop
//! (sequential or with N workers on one current-thread runtime), CPU accounting
//! with getrusage, and the one `RESULT key=value …` line `bench/run.sh` parses.
//!
//! Both clients (`bench_engine`, wsprobe's engine; `bench_floor`, bare
//! tokio-tungstenite) run the same loop, so the only difference between their
//! figures is the work one check does.

#![allow(dead_code)] // each example uses a different part of this module

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Bounds on any single check of either client.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// The command line of a benchmark client.
#[derive(Debug, Clone)]
pub struct LoopArgs {
    /// ws:// or wss:// URL of the bench target.
    pub url: String,
    /// Checks to run.
    pub n: usize,
    /// Checks in flight at once (1 = sequential).
    pub concurrency: usize,
    /// CA to trust for wss://.
    pub ca_file: Option<PathBuf>,
    /// curl-style `HOST:PORT:ADDR`, so wss:// can name a host the CA signed.
    pub resolve: Option<String>,
    /// The loop gives up (and fails) after this long.
    pub max_seconds: u64,
}

impl LoopArgs {
    /// Parse `URL [--n N] [--concurrency C] [--ca-file F] [--resolve H:P:A] [--max-seconds S]`.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<LoopArgs, String> {
        let mut url = None;
        let mut parsed = LoopArgs {
            url: String::new(),
            n: 1,
            concurrency: 1,
            ca_file: None,
            resolve: None,
            max_seconds: 120,
        };
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
            match arg.as_str() {
                "--n" => parsed.n = number(&value("--n")?)?,
                "--concurrency" => parsed.concurrency = number(&value("--concurrency")?)?.max(1),
                "--ca-file" => parsed.ca_file = Some(value("--ca-file")?.into()),
                "--resolve" => parsed.resolve = Some(value("--resolve")?),
                "--max-seconds" => parsed.max_seconds = number(&value("--max-seconds")?)? as u64,
                other if other.starts_with("--") => return Err(format!("unknown option {other}")),
                other => url = Some(other.to_string()),
            }
        }
        parsed.url = url.ok_or("missing URL")?;
        Ok(parsed)
    }

    /// The label of the URL's scheme, `ws` or `wss`.
    pub fn scheme(&self) -> &'static str {
        if self.url.starts_with("wss://") {
            "wss"
        } else {
            "ws"
        }
    }
}

fn number(s: &str) -> Result<usize, String> {
    s.parse().map_err(|_| format!("{s:?} is not a number"))
}

/// Where to connect for `url`: the `--resolve` address if it names the URL's
/// host and port, else the host itself (the bench uses IP literals or --resolve).
pub fn dial_addr(url: &str, resolve: Option<&str>) -> Result<(String, SocketAddr), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
    let host = parsed.host_str().ok_or("URL without a host")?.to_string();
    let port = parsed.port_or_known_default().ok_or("URL without a port")?;
    if let Some(rule) = resolve {
        let mut parts = rule.splitn(3, ':');
        if let (Some(h), Some(p), Some(a)) = (parts.next(), parts.next(), parts.next())
            && h.eq_ignore_ascii_case(&host)
            && p == port.to_string()
        {
            let ip: IpAddr = a
                .parse()
                .map_err(|_| format!("bad --resolve address {a}"))?;
            return Ok((host, SocketAddr::new(ip, port)));
        }
    }
    let ip: IpAddr = host
        .parse()
        .map_err(|_| format!("{host} is not an IP literal; add --resolve"))?;
    Ok((host, SocketAddr::new(ip, port)))
}

/// CPU time used so far, from getrusage.
#[derive(Debug, Clone, Copy)]
pub struct Cpu {
    /// User + system time of every thread of this process.
    pub process: Duration,
    /// User + system time of the calling thread (the runtime's only worker).
    pub thread: Duration,
    /// Peak resident set size, KiB.
    pub max_rss_kib: i64,
}

impl Cpu {
    /// Read the counters now.
    pub fn now() -> Cpu {
        let (process, max_rss_kib) = rusage(libc::RUSAGE_SELF);
        let (thread, _) = rusage(libc::RUSAGE_THREAD);
        Cpu {
            process,
            thread,
            max_rss_kib,
        }
    }
}

fn rusage(who: libc::c_int) -> (Duration, i64) {
    // SAFETY: getrusage only writes into the zeroed struct we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(who, &mut usage) };
    assert_eq!(rc, 0, "getrusage failed");
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    (tv(usage.ru_utime) + tv(usage.ru_stime), usage.ru_maxrss)
}

/// What one passing check tells the loop beyond "it passed".
#[derive(Debug, Clone, Copy, Default)]
pub struct Passed {
    /// The TLS session was resumed (no certificate was sent or verified).
    pub tls_resumed: bool,
}

/// Figures of one loop.
#[derive(Debug)]
pub struct LoopStats {
    /// Checks run (all passed).
    pub n: usize,
    /// Wall time of the loop.
    pub wall: Duration,
    /// CPU spent by the process during the loop.
    pub cpu_process: Duration,
    /// CPU spent by the runtime thread during the loop.
    pub cpu_thread: Duration,
    /// Peak RSS of the process, KiB.
    pub max_rss_kib: i64,
    /// Latency of every check, sorted.
    pub latencies: Vec<Duration>,
    /// Checks whose TLS session was resumed.
    pub resumed: usize,
}

impl LoopStats {
    /// The `q`-quantile latency (nearest rank), in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        let rank =
            ((q * self.latencies.len() as f64).ceil() as usize).clamp(1, self.latencies.len());
        self.latencies[rank - 1].as_secs_f64() * 1000.0
    }

    /// The line `bench/run.sh` parses.
    pub fn result_line(&self, implementation: &str, args: &LoopArgs) -> String {
        let cpu = self.cpu_process.as_secs_f64();
        format!(
            "RESULT impl={implementation} scheme={} conc={} n={} wall_s={:.3} checks_per_s={:.0} \
             p50_ms={:.3} p99_ms={:.3} cpu_s={:.3} thread_cpu_s={:.3} cpu_us_per_check={:.1} \
             checks_per_cpu_s={:.0} max_rss_kib={} tls_resumed={}",
            args.scheme(),
            args.concurrency,
            self.n,
            self.wall.as_secs_f64(),
            self.n as f64 / self.wall.as_secs_f64(),
            self.quantile_ms(0.50),
            self.quantile_ms(0.99),
            cpu,
            self.cpu_thread.as_secs_f64(),
            cpu * 1e6 / self.n as f64,
            self.n as f64 / cpu,
            self.max_rss_kib,
            self.resumed,
        )
    }
}

/// Run `args.n` checks made by `check`, `args.concurrency` at a time, on the
/// current runtime. The first failure, or running past `args.max_seconds`,
/// stops the loop with the reason.
pub async fn run_loop<F, Fut>(args: &LoopArgs, check: F) -> Result<LoopStats, String>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Passed, String>> + Send + 'static,
{
    let check = Arc::new(check);
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + Duration::from_secs(args.max_seconds);
    let n = args.n;
    let per_worker = n / args.concurrency + 1;
    let cpu_before = Cpu::now();
    let started = Instant::now();
    let mut workers = Vec::with_capacity(args.concurrency);
    for _ in 0..args.concurrency {
        let (check, next, failed) = (check.clone(), next.clone(), failed.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_worker);
            let mut resumed = 0usize;
            while next.fetch_add(1, Ordering::Relaxed) < n {
                if failed.load(Ordering::Relaxed) {
                    return Err("another check failed".to_string());
                }
                if Instant::now() > deadline {
                    failed.store(true, Ordering::Relaxed);
                    return Err("time limit reached before every check ran".to_string());
                }
                let t = Instant::now();
                match check().await {
                    Ok(passed) => {
                        latencies.push(t.elapsed());
                        resumed += usize::from(passed.tls_resumed);
                    }
                    Err(reason) => {
                        failed.store(true, Ordering::Relaxed);
                        return Err(reason);
                    }
                }
            }
            Ok((latencies, resumed))
        }));
    }
    let mut latencies = Vec::with_capacity(n);
    let mut resumed = 0;
    let mut first_error = None;
    for worker in workers {
        match worker.await {
            Ok(Ok((l, r))) => {
                latencies.extend(l);
                resumed += r;
            }
            Ok(Err(e)) => {
                if first_error.is_none() || e != "another check failed" {
                    first_error = Some(e);
                }
            }
            Err(e) => first_error = Some(format!("worker panicked: {e}")),
        }
    }
    let wall = started.elapsed();
    let cpu_after = Cpu::now();
    if let Some(e) = first_error {
        return Err(e);
    }
    latencies.sort_unstable();
    Ok(LoopStats {
        n: latencies.len(),
        wall,
        cpu_process: cpu_after.process - cpu_before.process,
        cpu_thread: cpu_after.thread - cpu_before.thread,
        max_rss_kib: cpu_after.max_rss_kib,
        latencies,
        resumed,
    })
}

/// A current-thread runtime, like the target's: one core's worth of client.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build a tokio runtime")
}

/// Print the loop's figures, or the reason it failed and exit 1.
pub fn report(implementation: &str, args: &LoopArgs, result: Result<LoopStats, String>) {
    match result {
        Ok(stats) => println!("{}", stats.result_line(implementation, args)),
        Err(reason) => {
            eprintln!("{implementation}: a check failed: {reason}");
            std::process::exit(1);
        }
    }
}
