//! `wsprobe run` on a host out of file descriptors (issue 9): the daemon's
//! open-files limit is lowered while it runs (prlimit(2)), so its checks cannot
//! create sockets. It must log that once, count it in `/metrics`, fail
//! `/readyz` with the reason, leave the monitor's state and history alone, and
//! recover by itself when descriptors are available again.
//!
//! The HTTP questions go over one keep-alive connection opened beforehand:
//! while descriptors are out, the daemon cannot accept a new one.

mod daemon_support;
mod support;
mod support_http;

use daemon_support::{Daemon, SOON, Scratch, results};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;
use support::{Behavior, FaultServer};

/// One HTTP/1.1 connection reused for every request.
struct KeepAlive {
    reader: BufReader<TcpStream>,
}

impl KeepAlive {
    fn open(addr: SocketAddr) -> KeepAlive {
        let stream = TcpStream::connect(addr).expect("connect to the daemon's HTTP surface");
        stream
            .set_read_timeout(Some(SOON))
            .expect("set a read timeout");
        KeepAlive {
            reader: BufReader::new(stream),
        }
    }

    /// GET `path`: the status code and the body.
    fn get(&mut self, path: &str) -> (u16, String) {
        let request = format!("GET {path} HTTP/1.1\r\nHost: wsprobe\r\n\r\n");
        self.reader
            .get_mut()
            .write_all(request.as_bytes())
            .expect("send the request");
        let mut status_line = String::new();
        self.reader
            .read_line(&mut status_line)
            .expect("read the status line");
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let mut length = None;
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).expect("read a header");
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse::<usize>().ok();
            }
        }
        let mut body = vec![0; length.expect("a Content-Length")];
        self.reader.read_exact(&mut body).expect("read the body");
        (status, String::from_utf8_lossy(&body).into_owned())
    }
}

/// Set the soft open-files limit of `pid`; returns the previous one.
fn set_open_files_limit(pid: u32, soft: u64) -> u64 {
    let mut old = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: prlimit reads and writes only the two structs passed by pointer.
    let got = unsafe {
        libc::prlimit(
            pid as libc::pid_t,
            libc::RLIMIT_NOFILE,
            std::ptr::null(),
            &mut old,
        )
    };
    assert_eq!(
        got,
        0,
        "read the limit: {}",
        std::io::Error::last_os_error()
    );
    let new = libc::rlimit {
        rlim_cur: soft,
        rlim_max: old.rlim_max,
    };
    // SAFETY: as above.
    let set = unsafe {
        libc::prlimit(
            pid as libc::pid_t,
            libc::RLIMIT_NOFILE,
            &new,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(set, 0, "set the limit: {}", std::io::Error::last_os_error());
    old.rlim_cur
}

/// GET `path` again and again (at most 10 s) until `done` holds for the
/// answer; returns the last answer either way.
async fn poll(
    http: &mut KeepAlive,
    path: &str,
    done: impl Fn(&(u16, String)) -> bool,
) -> (u16, String) {
    let mut answer = http.get(path);
    for _ in 0..500 {
        if done(&answer) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        answer = http.get(path);
    }
    answer
}

fn local_errors(metrics: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("wsprobe_local_errors_total{kind=\"file_descriptors\"} "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no file_descriptors counter in:\n{metrics}"))
}

#[tokio::test]
async fn a_daemon_out_of_descriptors_says_so_in_the_log_metrics_and_readiness_then_recovers() {
    let server = FaultServer::start(Behavior::Healthy).await;
    let listen = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind :0");
        l.local_addr().expect("local addr")
    };
    let scratch = Scratch::new();
    scratch.write_config(&format!(
        "settings: {{ jitter: 0s, shutdown_grace: 5s, listen: \"{listen}\" }}\n\
         defaults: {{ schedule: \"@every 1s\", timeout: 2s, retries: 0, proxy: none }}\n\
         monitors:\n  - {{ name: api, url: \"{}\" }}\n",
        server.ws_url("/ws")
    ));
    let daemon = Daemon::run(&scratch, &[]);
    let state = scratch.state();
    daemon
        .until("a first result", SOON, || {
            (!results(&state, "api").is_empty()).then_some(())
        })
        .await;
    let mut http = daemon
        .until("the HTTP surface", SOON, || {
            std::panic::catch_unwind(|| KeepAlive::open(listen)).ok()
        })
        .await;
    assert_eq!(http.get("/readyz").0, 200);
    let rows_before = results(&state, "api").len();

    // Descriptors 0-2 are always taken, so with a limit of 3 no new one fits.
    let original = set_open_files_limit(daemon.pid(), 3);
    let readyz = poll(&mut http, "/readyz", |(status, _)| *status == 503).await;
    assert_eq!(readyz.0, 503, "{}", readyz.1);
    assert!(
        readyz
            .1
            .contains("this host ran out of file descriptors (EMFILE"),
        "{}",
        readyz.1
    );
    // Several checks fail the same way, and the log says it once.
    let metrics = poll(&mut http, "/metrics", |(_, body)| local_errors(body) >= 3.0).await;
    assert!(local_errors(&metrics.1) >= 3.0, "{}", metrics.1);
    let logged = daemon.logs_matching(
        "this host ran out of file descriptors (Too many open files): checks cannot run and monitors keep their last state until it recovers",
        &[("level", "ERROR")],
    );
    assert_eq!(logged.len(), 1, "{}", daemon.stderr());
    // No result blames the endpoint. (Read before the limit is lifted: the
    // daemon still holds its state file open, and we read through our own.)
    let rows = results(&state, "api");
    assert!(
        rows.iter().all(|r| r.class != "local_error" && r.ok),
        "{rows:?}"
    );

    set_open_files_limit(daemon.pid(), original);
    let readyz = poll(&mut http, "/readyz", |(status, _)| *status == 200).await;
    assert_eq!(readyz.0, 200, "{}", readyz.1);
    daemon
        .until("the recovery logged", SOON, || {
            (!daemon
                .logs_matching("file descriptors available again: checks run normally", &[])
                .is_empty())
            .then_some(())
        })
        .await;
    assert!(results(&state, "api").len() > rows_before.max(rows.len()));
}
