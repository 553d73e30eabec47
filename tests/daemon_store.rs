//! `wsprobe run` when its state store fails: a second daemon on the same
//! file, a file that cannot be written, a full disk, a file deleted under the
//! running daemon. Alerting must never go silent, and never double.

mod daemon_support;
mod support;
mod support_fs;
mod support_http;

use daemon_support::{Daemon, QUICK, SOON, Scratch};
use std::process::Command;
use support::{Behavior, FaultServer};
use support_fs::{Tmpfs, is_root, skipped};

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
