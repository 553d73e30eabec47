//! Real filesystem faults for the state-store tests: a small tmpfs that can
//! be filled, freed and remounted read-only. Mounting needs root (CAP_SYS_ADMIN);
//! where it is refused, [`Tmpfs::mount`] says why and the test prints SKIPPED
//! (`.ci/run` runs as root, so there it always runs).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs mounted on a fresh temporary directory; unmounted when dropped.
pub struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mount a tmpfs of `size` (as `mount -o size=` takes it, e.g. "4m").
    pub fn mount(size: &str) -> Result<Tmpfs, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
        run(Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path()))?;
        Ok(Tmpfs { dir })
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `name` inside the mount.
    pub fn join(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Make the whole mount read-only (files already open stay open).
    pub fn remount_read_only(&self) {
        run(Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(self.path()))
        .expect("remount read-only");
    }

    /// Fill every free byte with a file named `filler` (the write ends with
    /// ENOSPC, which is the point).
    pub fn fill(&self, filler: &str) {
        use std::io::Write;
        let mut file = std::fs::File::create(self.join(filler)).expect("create the filler");
        let chunk = vec![0u8; 64 * 1024];
        while file.write_all(&chunk).is_ok() {}
        // The last partial chunk may still fit byte by byte.
        while file.write_all(&[0u8]).is_ok() {}
    }

    /// Free what [`Tmpfs::fill`] took.
    pub fn free(&self, filler: &str) {
        std::fs::remove_file(self.join(filler)).expect("remove the filler");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: a daemon killed a moment ago may still hold files open.
        let _ = Command::new("umount").arg("-l").arg(self.path()).status();
    }
}

/// Run `cmd`; its stderr is the error when it fails.
fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Print the visible skip line every store test uses when the fault cannot
/// be made here.
pub fn skipped(test: &str, why: &str) {
    eprintln!("SKIPPED {test}: {why} (needs root; .ci/run runs it as root)");
    println!("SKIPPED {test}: {why}");
}

/// Running as root (who bypasses file permissions).
pub fn is_root() -> bool {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() == 0 }
}
