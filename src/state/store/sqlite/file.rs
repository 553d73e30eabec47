//! The state file under the daemon: deleted (`rm state.db`) or replaced by
//! another file while the daemon runs, its open connection keeps writing to
//! a file nobody will ever read again — and the next start would find no
//! state and send a second DOWN for every open incident. Before each commit
//! the path is compared with the file the connection opened (device and
//! inode); when they differ, the open database, WAL included, is copied to
//! the path (`VACUUM INTO`) and reopened there.

use super::{Disk, StoreError, configure, schema};
use rusqlite::Connection;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Which file the connection has open.
#[derive(Debug)]
pub(super) struct StateFile {
    path: PathBuf,
    identity: Mutex<Option<(u64, u64)>>,
}

/// Device and inode of what `path` names now (`None`: nothing there).
fn identity(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

impl StateFile {
    /// The file just opened at `path`.
    pub fn opened(path: &Path) -> Option<StateFile> {
        Some(StateFile {
            path: path.to_path_buf(),
            identity: Mutex::new(identity(path)),
        })
    }

    /// The path the store was opened with.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Disk {
    /// Is the open connection still the file at its path? If not, recreate
    /// the file from it. False while the file cannot be recreated: writes
    /// would land in a deleted file, so they must count as not durable.
    pub(super) fn check_file(&self, conn: &mut Connection) -> bool {
        let Some(file) = &self.file else { return true };
        let mut opened = file.identity.lock().unwrap_or_else(|e| e.into_inner());
        let now = identity(&file.path);
        if now == *opened {
            return true;
        }
        let what = if now.is_none() {
            "deleted"
        } else {
            "replaced by another file"
        };
        tracing::error!(path = %file.path.display(), what,
            "state file changed under the daemon; recreating it from the open database");
        match recreate(conn, &file.path) {
            Ok(()) => {
                *opened = identity(&file.path);
                tracing::warn!(path = %file.path.display(), "state file recreated with the current state");
                true
            }
            Err(e) => {
                self.health.failed(format!(
                    "state file {} was {what} and cannot be recreated: {e}",
                    file.path.display()
                ));
                false
            }
        }
    }
}

/// Copy the open database to `path` and reopen the connection there.
fn recreate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let mut copy = path.as_os_str().to_os_string();
    copy.push(".recreating");
    let copy = PathBuf::from(copy);
    let _ = std::fs::remove_file(&copy);
    let copy_text = copy.to_string_lossy().into_owned();
    conn.execute("VACUUM INTO ?1", [&copy_text])?;
    // Close the old connection before the new file takes the path: closing
    // removes `<path>-wal` and `<path>-shm` by name, which must not be the
    // new file's.
    drop(std::mem::replace(conn, Connection::open_in_memory()?));
    if let Err(source) = std::fs::rename(&copy, path) {
        // Keep working on the copy, which holds everything: the next check
        // finds the path still wrong and tries again from it.
        *conn = configure(&copy)?;
        return Err(StoreError::Recreate {
            path: path.to_path_buf(),
            source,
        });
    }
    let mut fresh = configure(path)?;
    schema::migrate(&mut fresh, path)?;
    *conn = fresh;
    Ok(())
}
