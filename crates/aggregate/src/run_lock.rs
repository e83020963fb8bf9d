//! One writer per run folder.
//!
//! Every command that may write a run (`storyline run`, `add`, a sharded
//! job's plan and finish steps) holds an exclusive lock on `RUN/.lock` for
//! as long as it may write: an OS file lock (`flock`), which the kernel
//! releases when its holder exits, however it exits, so a writer killed
//! with `kill -9` leaves no stale lock. The file also says who holds it
//! (pid, command, start time, host), for the error a second writer gets.
//! Readers never take it: a commit's renames keep them consistent.
//!
//! On a network file system the lock is only as good as the file system's
//! locking: NFSv4 and Lustre give `flock` across nodes (NFSv3 needs its lock
//! daemon); where locks are not supported at all, taking one is an error
//! that says so, and the run is not written.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::AggregateError;

/// The lock file inside a run folder.
pub const LOCK_FILE: &str = ".lock";

/// Who holds a run's lock.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    pub command: String,
    pub started_at: String,
    pub host: String,
}

impl Holder {
    fn this_process() -> Self {
        let command: Vec<String> = std::env::args().collect();
        Self {
            pid: std::process::id(),
            command: command.join(" "),
            started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            host: std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default(),
        }
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {} on {} since {} (`{}`)", self.pid, if self.host.is_empty() { "?" } else { &self.host }, self.started_at, self.command)
    }
}

/// The exclusive writer lock of a run folder, held until dropped.
#[derive(Debug)]
pub struct RunLock {
    _file: std::fs::File,
}

/// Whether to wait for a lock another process holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Wait {
    /// Fail at once, naming the holder.
    #[default]
    No,
    /// Wait until the holder is done (logging that it waits).
    Yes,
}

impl RunLock {
    /// Takes the writer lock of the run in `run` (the folder is created).
    pub fn acquire(run: &Path, wait: Wait) -> Result<Self, AggregateError> {
        let path = run.join(LOCK_FILE);
        let io = |source| AggregateError::Io { path: path.clone(), source };
        std::fs::create_dir_all(run).map_err(io)?;
        let mut file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = read_holder(&mut file);
                if wait == Wait::No {
                    return Err(AggregateError::Locked { run: run.to_path_buf(), holder: describe(holder.as_ref()) });
                }
                tracing::warn!(run = %run.display(), holder = %describe(holder.as_ref()), "waiting for the other writer of this run to finish");
                file.lock().map_err(|e| unsupported(&path, e))?;
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(unsupported(&path, e)),
        }
        let me = serde_json::to_vec(&Holder::this_process()).unwrap_or_default();
        file.set_len(0).and_then(|()| file.rewind()).and_then(|()| file.write_all(&me)).and_then(|()| file.sync_data()).map_err(io)?;
        Ok(Self { _file: file })
    }

    /// The holder of the run's lock, if a process holds it now (the lock is
    /// tested, not taken).
    pub fn holder(run: &Path) -> Option<Holder> {
        let mut file = std::fs::OpenOptions::new().read(true).write(true).open(run.join(LOCK_FILE)).ok()?;
        match file.try_lock() {
            Ok(()) => None,
            Err(_) => read_holder(&mut file).or_else(|| Some(Holder { pid: 0, command: String::new(), started_at: String::new(), host: String::new() })),
        }
    }
}

fn read_holder(file: &mut std::fs::File) -> Option<Holder> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

fn describe(holder: Option<&Holder>) -> String {
    holder.map_or_else(|| "another process (it has not written its name yet)".to_string(), ToString::to_string)
}

fn unsupported(path: &Path, e: std::io::Error) -> AggregateError {
    AggregateError::LockUnsupported { path: PathBuf::from(path), source: e }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_with_the_holder_named_and_gets_the_lock_once_it_is_free() {
        let dir = tempfile::tempdir().unwrap();
        let first = RunLock::acquire(dir.path(), Wait::No).unwrap();
        let holder = RunLock::holder(dir.path()).expect("held");
        assert_eq!(holder.pid, std::process::id());
        let err = RunLock::acquire(dir.path(), Wait::No).unwrap_err().to_string();
        assert!(err.contains(&format!("pid {}", std::process::id())) && err.contains("--wait"), "{err}");
        // A waiter gets it when the first lets go.
        let waiter = std::thread::spawn({
            let dir = dir.path().to_path_buf();
            move || RunLock::acquire(&dir, Wait::Yes).map(drop)
        });
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(!waiter.is_finished(), "it waits while the lock is held");
        drop(first);
        waiter.join().unwrap().unwrap();
        assert!(RunLock::holder(dir.path()).is_none());
    }
}
