//! One daemon per state file: an exclusive `flock` on a lock file beside the
//! database (`<state>.lock`), holding the owner's pid.
//!
//! Why a separate file and not SQLite's own locking: two daemons sharing one
//! database both work perfectly as far as SQLite is concerned — and send every
//! alert twice. The lock says "this file has an owner", which SQLite cannot.
//! `flock` is released by the kernel when the process dies (even by `kill -9`),
//! so a stale lock file never keeps the next daemon from starting; only a live
//! holder does.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Longest pid text read back from a lock file (a pid is at most 10 digits).
const MAX_PID_TEXT: u64 = 64;

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another live process holds the lock.
    #[error(
        "state database {} is in use by another wsprobe (pid {holder}, lock {}); \
         two daemons on one state file would send every alert twice",
        state.display(), lock.display()
    )]
    Held {
        /// The database file.
        state: PathBuf,
        /// The lock file.
        lock: PathBuf,
        /// The holder's pid as written in the lock file (`unknown` if unreadable).
        holder: String,
    },
    /// The lock file could not be created, read or written.
    #[error("cannot lock state database {}: {} : {source}", state.display(), lock.display())]
    Io {
        /// The database file.
        state: PathBuf,
        /// The lock file.
        lock: PathBuf,
        /// The operating system's answer.
        source: std::io::Error,
    },
}

/// Held for as long as the store is open; the kernel releases it on exit.
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

/// The lock file of `state`: the same name with `.lock` appended.
pub fn lock_path(state: &Path) -> PathBuf {
    let mut name = state.as_os_str().to_os_string();
    name.push(".lock");
    PathBuf::from(name)
}

impl StateLock {
    /// Take the exclusive lock of `state` without waiting, and write our pid.
    pub fn acquire(state: &Path) -> Result<StateLock, LockError> {
        let lock = lock_path(state);
        let io = |source| LockError::Io {
            state: state.to_path_buf(),
            lock: lock.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Held {
                    state: state.to_path_buf(),
                    holder: read_holder(&mut file),
                    lock,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        // Only the holder writes, so the pid read back is always whole.
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(StateLock { _file: file })
    }
}

fn read_holder(file: &mut File) -> String {
    let mut text = String::new();
    let read = file.take(MAX_PID_TEXT).read_to_string(&mut text);
    match read.ok().and_then(|_| text.trim().parse::<u32>().ok()) {
        Some(pid) => pid.to_string(),
        None => "unknown".to_string(),
    }
}
