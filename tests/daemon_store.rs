//! `wsprobe run` when its state store fails: a second daemon on the same
//! file, a file that cannot be written, a full disk, a file deleted under the
//! running daemon. Alerting must never go silent, and never double.

mod daemon_support;
mod support;
mod support_fs;
mod support_http;

use daemon_support::{Daemon, QUICK, SOON, Scratch, free_addr, http_get, kinds, outbox, results};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::{Behavior, FaultServer};
use support_fs::{Tmpfs, is_root, skipped};
use support_http::Receiver;

/// One healthy monitor `api` on `target`, alerting into a file.
fn healthy_monitor(target: &FaultServer) -> String {
    format!(
        "{QUICK}monitors:\n  - {{ name: api, url: \"{}\", alert: [log] }}\n\
         channels:\n  log: {{ type: file, path: ./alerts.log }}\n",
        target.ws_url("/")
    )
}

#[tokio::test]
async fn a_second_daemon_on_the_same_state_file_refuses_to_start_naming_the_file_and_the_owner() {
    let server = FaultServer::start(Behavior::Healthy).await;
    let scratch = Scratch::new();
    scratch.write_config(&healthy_monitor(&server));
    let first = Daemon::run(&scratch, &[]);
    first.wait_log("wsprobe daemon starting", &[], SOON).await;

    let mut second = Daemon::run(&scratch, &[]);
    let status = second.wait_exit(SOON).await;
    assert_eq!(status.code(), Some(3), "{}", second.stderr());
    let stderr = second.stderr();
    let state = scratch.state().display().to_string();
    assert!(stderr.contains(&state), "names the state file: {stderr}");
    assert!(
        stderr.contains(&format!("pid {}", first.pid())),
        "names the owner: {stderr}"
    );
    assert!(
        !first
            .logs_matching("wsprobe daemon stopped", &[])
            .iter()
            .any(|_| true),
        "the first daemon keeps running"
    );
}

#[tokio::test]
async fn the_lock_of_a_daemon_killed_with_sigkill_does_not_keep_the_next_from_starting() {
    let server = FaultServer::start(Behavior::Healthy).await;
    let scratch = Scratch::new();
    scratch.write_config(&healthy_monitor(&server));
    let mut first = Daemon::run(&scratch, &[]);
    first.wait_log("wsprobe daemon starting", &[], SOON).await;
    first.kill9();
    let second = Daemon::run(&scratch, &[]);
    second.wait_log("wsprobe daemon starting", &[], SOON).await;
}

/// Undoes `chattr +i` so the scratch directory can be removed.
struct Immutable(std::path::PathBuf);

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

#[tokio::test]
async fn a_state_file_that_cannot_be_written_is_refused_at_start_naming_it() {
    const TEST: &str = "a_state_file_that_cannot_be_written_is_refused_at_start_naming_it";
    let server = FaultServer::start(Behavior::Healthy).await;
    let scratch = Scratch::new();
    scratch.write_config(&healthy_monitor(&server));
    drop(wsprobe::state::Store::open(&scratch.state()).expect("create the state file"));
    // Root ignores permission bits: make the file immutable instead, or
    // failing that the whole filesystem read-only.
    let mut _undo = None;
    let mut _mount = None;
    let state = if !is_root() {
        let mut perms = std::fs::metadata(scratch.state())
            .expect("stat")
            .permissions();
        perms.set_readonly(true);
        std::fs::set_permissions(scratch.state(), perms).expect("chmod 444");
        scratch.state()
    } else if Command::new("chattr")
        .arg("+i")
        .arg(scratch.state())
        .status()
        .is_ok_and(|s| s.success())
    {
        _undo = Some(Immutable(scratch.state()));
        scratch.state()
    } else {
        let fs = match Tmpfs::mount("4m") {
            Ok(fs) => fs,
            Err(why) => return skipped(TEST, &why),
        };
        let state = fs.join("state.db");
        drop(wsprobe::state::Store::open(&state).expect("create the state file"));
        fs.remount_read_only();
        _mount = Some(fs);
        state
    };

    let mut daemon = Daemon::spawn(
        [
            "run".as_ref(),
            "--config".as_ref(),
            scratch.config().as_os_str(),
            "--state".as_ref(),
            state.as_os_str(),
        ],
        &scratch,
        &[],
    );
    let status = daemon.wait_exit(SOON).await;
    let stderr = daemon.stderr();
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert!(stderr.contains(&state.display().to_string()), "{stderr}");
    assert!(stderr.to_lowercase().contains("read-only"), "{stderr}");
}

/// The value of an unlabelled sample in a /metrics exposition.
fn sample(exposition: &str, name: &str) -> Option<f64> {
    exposition
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// `names` on `target`, alerting the webhook at `hook`.
fn monitors_config(target: &FaultServer, names: &[&str], hook: &str) -> String {
    let mut yaml = format!("{QUICK}monitors:\n");
    for name in names {
        let url = target.ws_url(&format!("/{name}"));
        yaml += &format!("  - {{ name: {name}, url: \"{url}\", alert: [hook] }}\n");
    }
    yaml + &format!("channels:\n  hook: {{ type: webhook, url: \"{hook}\" }}\n")
}

/// A real way to make the state file refuse writes, and to undo it.
trait DiskFault {
    /// Where the state file lives.
    fn state(&self) -> PathBuf;
    /// From now on, writes that grow the state files fail.
    fn break_disk(&self, daemon: &Daemon);
    /// Writes succeed again.
    fn heal(&self, daemon: &Daemon);
}

/// `RLIMIT_FSIZE` of the daemon lowered (prlimit) to what its files hold
/// now: every write that grows them fails with EFBIG. Needs no root.
struct FileSizeLimit(PathBuf);

impl FileSizeLimit {
    fn set(daemon: &Daemon, soft: libc::rlim_t) {
        let limit = libc::rlimit {
            rlim_cur: soft,
            rlim_max: libc::RLIM_INFINITY,
        };
        // SAFETY: prlimit only reads `limit`; a null old-limit pointer is allowed.
        let rc = unsafe {
            libc::prlimit(
                daemon.pid() as libc::pid_t,
                libc::RLIMIT_FSIZE,
                &limit,
                std::ptr::null_mut(),
            )
        };
        assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
    }
}

impl DiskFault for FileSizeLimit {
    fn state(&self) -> PathBuf {
        self.0.clone()
    }

    fn break_disk(&self, daemon: &Daemon) {
        let size = |suffix: &str| {
            let mut name = self.0.as_os_str().to_os_string();
            name.push(suffix);
            std::fs::metadata(PathBuf::from(name)).map_or(0, |m| m.len())
        };
        let largest = size("").max(size("-wal"));
        FileSizeLimit::set(daemon, largest as libc::rlim_t);
    }

    fn heal(&self, daemon: &Daemon) {
        FileSizeLimit::set(daemon, libc::RLIM_INFINITY);
    }
}

/// The state file on a small tmpfs that is filled to the last byte.
struct FullTmpfs(Tmpfs);

impl DiskFault for FullTmpfs {
    fn state(&self) -> PathBuf {
        self.0.join("state.db")
    }

    fn break_disk(&self, _daemon: &Daemon) {
        self.0.fill("filler");
    }

    fn heal(&self, _daemon: &Daemon) {
        self.0.free("filler");
    }
}

/// The error the daemon logs when the store starts failing.
const NOT_DURABLE: &str =
    "state store cannot be written; state and alerts are kept in memory (not durable) until it can";

/// The /metrics exposition once `name` is at least `min` (bounded by [`SOON`]).
async fn metrics_when(listen: SocketAddr, name: &str, min: f64) -> String {
    let deadline = std::time::Instant::now() + SOON;
    loop {
        let metrics = http_get(listen, "/metrics").await.1;
        if sample(&metrics, name).is_some_and(|v| v >= min) {
            return metrics;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{name} never reached {min}:\n{metrics}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The state file and its WAL made immutable (`chattr +i`) under the
/// running daemon: even writes through its open descriptors fail (EPERM).
struct ImmutableFiles(PathBuf);

impl ImmutableFiles {
    /// The database and its WAL (not `-shm`, which SQLite maps in memory).
    fn files(&self) -> [PathBuf; 2] {
        let mut wal = self.0.as_os_str().to_os_string();
        wal.push("-wal");
        [self.0.clone(), PathBuf::from(wal)]
    }

    fn chattr(&self, flag: &str) -> bool {
        Command::new("chattr")
            .arg(flag)
            .args(self.files())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Whether `chattr +i` works here (root, on a filesystem that has it).
    fn supported(dir: &Path) -> bool {
        let probe = dir.join("chattr-probe");
        let _ = std::fs::write(&probe, b"");
        let ok = Command::new("chattr")
            .arg("+i")
            .arg(&probe)
            .status()
            .is_ok_and(|s| s.success());
        let _ = Command::new("chattr").arg("-i").arg(&probe).status();
        let _ = std::fs::remove_file(&probe);
        ok
    }
}

impl DiskFault for ImmutableFiles {
    fn state(&self) -> PathBuf {
        self.0.clone()
    }

    fn break_disk(&self, _daemon: &Daemon) {
        assert!(self.chattr("+i"), "chattr +i {:?}", self.files());
    }

    fn heal(&self, _daemon: &Daemon) {
        assert!(self.chattr("-i"), "chattr -i {:?}", self.files());
    }
}

impl Drop for ImmutableFiles {
    fn drop(&mut self) {
        self.chattr("-i");
    }
}

const MONITORS: [&str; 3] = ["api", "chat", "feed"];

/// Three monitors pass, the disk breaks, they go down: every DOWN is still
/// delivered (from memory), `/readyz`, `/metrics` and `/api` say the store
/// is not durable, the error is logged once per condition; the disk heals:
/// the store catches up by itself, and neither the running daemon nor a
/// restarted one sends a second DOWN.
async fn alerts_go_on_while_the_disk_refuses_writes(fault: &dyn DiskFault) {
    let server = FaultServer::start(Behavior::Healthy).await;
    let hook = Receiver::start(&[]).await;
    let scratch = Scratch::new();
    scratch.write_config(&monitors_config(&server, &MONITORS, &hook.url("/")));
    let listen = free_addr();
    let state = fault.state();
    let mut daemon = Daemon::run_at(&scratch, &state, listen);
    daemon
        .until("every monitor passing on disk", SOON, || {
            MONITORS
                .iter()
                .all(|m| results(&state, m).iter().any(|r| r.ok))
                .then_some(())
        })
        .await;
    assert_eq!(http_get(listen, "/readyz").await.0, 200);

    fault.break_disk(&daemon);
    drop(server);
    daemon
        .until("a DOWN per monitor at the webhook", SOON, || {
            (kinds(&hook).len() >= MONITORS.len()).then_some(())
        })
        .await;
    let (status, body) = http_get(listen, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("not durable"), "{body}");
    assert!(
        body.contains(&state.display().to_string()),
        "names the file: {body}"
    );
    // Several runs fail to be written…
    let metrics = metrics_when(listen, "wsprobe_state_store_errors_total", 6.0).await;
    assert_eq!(sample(&metrics, "wsprobe_state_store_degraded"), Some(1.0));
    // …but each distinct condition is logged once.
    let errors: Vec<String> = daemon
        .logs_matching(NOT_DURABLE, &[])
        .iter()
        .map(|l| daemon_support::field(l, "error"))
        .collect();
    let distinct: std::collections::BTreeSet<&String> = errors.iter().collect();
    assert_eq!(
        errors.len(),
        distinct.len(),
        "logged once per condition: {errors:?}"
    );
    let api: Value =
        serde_json::from_str(&http_get(listen, "/api/monitors").await.1).expect("JSON");
    assert_eq!(api["store"]["durable"], false, "{api}");
    assert!(
        api["monitors"]
            .as_array()
            .expect("monitors")
            .iter()
            .all(|m| m["state"] == "down")
    );

    fault.heal(&daemon);
    daemon
        .wait_log(
            "state store writable again; memory written to disk",
            &[],
            SOON,
        )
        .await;
    assert_eq!(http_get(listen, "/readyz").await.0, 200);
    let metrics = http_get(listen, "/metrics").await.1;
    assert_eq!(sample(&metrics, "wsprobe_state_store_degraded"), Some(0.0));
    let runs = results(&state, "api").len();
    daemon
        .until("two more runs on disk", SOON, || {
            (results(&state, "api").len() >= runs + 2).then_some(())
        })
        .await;
    assert_eq!(kinds(&hook), ["down"; MONITORS.len()], "no second DOWN");
    assert!(
        outbox(&state).iter().all(|r| r.status != "pending"),
        "alerts delivered from memory are not pending on disk: {:?}",
        outbox(&state)
    );

    // A restart starts from what recovery wrote: still down, no new DOWN.
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(SOON).await.code(), Some(0));
    let daemon = Daemon::run_at(&scratch, &state, free_addr());
    let runs = results(&state, "api").len();
    daemon
        .until("two runs after the restart", SOON, || {
            (results(&state, "api").len() >= runs + 2).then_some(())
        })
        .await;
    assert_eq!(
        kinds(&hook),
        ["down"; MONITORS.len()],
        "no DOWN after the restart"
    );
}

#[tokio::test]
async fn alerts_go_on_past_a_file_size_limit_and_the_store_catches_up_when_it_is_lifted() {
    let state_dir = Scratch::new();
    alerts_go_on_while_the_disk_refuses_writes(&FileSizeLimit(state_dir.state())).await;
}

#[tokio::test]
async fn alerts_go_on_when_the_disk_is_full_and_the_store_catches_up_when_space_is_freed() {
    const TEST: &str =
        "alerts_go_on_when_the_disk_is_full_and_the_store_catches_up_when_space_is_freed";
    match Tmpfs::mount("8m") {
        Ok(fs) => alerts_go_on_while_the_disk_refuses_writes(&FullTmpfs(fs)).await,
        Err(why) => skipped(TEST, &why),
    }
}

#[tokio::test]
async fn a_state_file_deleted_under_the_daemon_is_recreated_and_a_restart_sends_no_second_down() {
    let down = support::refused_port().await;
    let hook = Receiver::start(&[]).await;
    let scratch = Scratch::new();
    scratch.write_config(&format!(
        "{QUICK}monitors:\n  - {{ name: api, url: \"ws://{down}/\", alert: [hook] }}\n\
         channels:\n  hook: {{ type: webhook, url: \"{}\" }}\n",
        hook.url("/")
    ));
    let state = scratch.state();
    let mut daemon = Daemon::run(&scratch, &[]);
    daemon
        .until("the DOWN delivered and recorded", SOON, || {
            let delivered = outbox(&state).iter().any(|r| r.status == "delivered");
            (kinds(&hook) == ["down"] && delivered).then_some(())
        })
        .await;

    std::fs::remove_file(&state).expect("rm state.db");
    daemon
        .wait_log("state file recreated with the current state", &[], SOON)
        .await;
    let runs = results(&state, "api").len();
    assert!(runs >= 1, "the history came back with the file");
    daemon
        .until("a run written to the new file", SOON, || {
            (results(&state, "api").len() > runs).then_some(())
        })
        .await;

    daemon.kill9();
    let daemon = Daemon::run(&scratch, &[]);
    daemon
        .until("two runs after the restart", SOON, || {
            (results(&state, "api").len() >= runs + 3).then_some(())
        })
        .await;
    assert_eq!(kinds(&hook), ["down"], "the restart resumed the incident");
}

#[tokio::test]
async fn alerts_go_on_when_the_state_file_turns_immutable_and_the_store_catches_up_when_it_is_writable()
 {
    const TEST: &str = "alerts_go_on_when_the_state_file_turns_immutable_and_the_store_catches_up_when_it_is_writable";
    let state_dir = Scratch::new();
    if !ImmutableFiles::supported(&state_dir.path("")) {
        return skipped(TEST, "chattr +i is not permitted here");
    }
    alerts_go_on_while_the_disk_refuses_writes(&ImmutableFiles(state_dir.state())).await;
}
