//! One engine per data dir: an exclusive lock on `DATA_DIR/LOCK`, held for the journal's
//! life.
//!
//! Two engines appending to one journal would interleave records and corrupt it, and a
//! second `serve` started by mistake (another terminal, a service manager restart that
//! overlapped) is an easy mistake to make. The lock is an advisory `flock`, so the kernel drops it when the process dies, `kill -9`
//! included: a crashed engine never leaves a stale lock behind. The file holds the holder's
//! pid, for the error message only. `tickfill replay` reads without locking (it never
//! writes).

#![forbid(unsafe_code)]

use super::error::JournalError;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The lock file's name inside the data dir.
pub const LOCK_FILE: &str = "LOCK";

/// The held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Takes the data dir's lock (creating the dir), or fails at once with
    /// [`JournalError::Locked`] naming the holder's pid when another process holds it.
    pub fn acquire(dir: &Path) -> Result<DirLock, JournalError> {
        std::fs::create_dir_all(dir).map_err(JournalError::io("create dir", dir))?;
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(JournalError::io("open", &path))?;
        match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(JournalError::Locked {
                    dir: dir.to_path_buf(),
                    holder: pid_of(&holder),
                });
            }
            Err(e) => return Err(JournalError::io("lock", &path)(e.into())),
        }
        let pid = std::process::id();
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{pid}"))
            .map_err(JournalError::io("write", &path))?;
        Ok(DirLock { _file: file })
    }
}

/// The pid in a lock file's text, for the message ("unknown" when unreadable).
fn pid_of(text: &str) -> String {
    match text.trim().parse::<u32>() {
        Ok(pid) => pid.to_string(),
        Err(_) => "unknown".into(),
    }
}

/// The lock file of `dir`.
pub fn lock_path(dir: &Path) -> PathBuf {
    dir.join(LOCK_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "file locks are not supported under Miri")]
    fn a_second_holder_is_refused_with_the_first_ones_pid_until_it_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path()).unwrap();
        let err = DirLock::acquire(dir.path()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(&std::process::id().to_string()), "{msg}");
        assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
        drop(first);
        DirLock::acquire(dir.path()).unwrap();
        assert!(lock_path(dir.path()).exists());
    }
}
