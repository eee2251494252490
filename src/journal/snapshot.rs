//! State snapshots: `snapshot-<seq, 20 digits>.snap` files, written atomically (temp file,
//! fsync, rename, dir fsync), the newest [`KEEP`] kept. Restart = newest valid snapshot +
//! the journal after its sequence.
//!
//! ```text
//! magic "TFSNAPSH" | version u32 (=1) | flags u32 (=0) | seq u64 | len u64
//! | crc u32 = CRC32C(seq ++ len ++ state) | reserved u32 | state[len]     (little-endian)
//! ```
//!
//! # Invariants
//! - A snapshot file exists under its final name only once complete and synced.
//! - A snapshot whose header, length, CRC or name disagree is skipped and reported, never
//!   trusted; the next older one is used.
//! - Every outcome (written, failed, skipped at recovery) is recorded in the data dir's
//!   [`SnapshotStatus`] ([`status`]), which `/health` and `/metrics` read: a failing
//!   snapshot is visible without reading stderr.

#![forbid(unsafe_code)]

use super::error::JournalError;
use super::retention::Retain;
use super::segment::sync_dir;
use crate::types::Seq;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Snapshots kept after a write.
pub const KEEP: usize = 3;
/// The magic a snapshot starts with.
pub const MAGIC: &[u8; 8] = b"TFSNAPSH";
/// The snapshot layout version.
pub const VERSION: u32 = 1;
/// Bytes before the state.
pub const HEADER: usize = 40;

/// The file name of the snapshot at `seq`.
pub fn file_name(seq: Seq) -> String {
    format!("snapshot-{:020}.snap", seq.0)
}

/// The sequence of a snapshot file name, or `None` for other files.
pub fn parse_name(name: &str) -> Option<Seq> {
    let digits = name.strip_prefix("snapshot-")?.strip_suffix(".snap")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().map(Seq)
}

fn checksum(seq: Seq, state: &[u8]) -> u32 {
    let mut crc = crc32c::crc32c(&seq.0.to_le_bytes());
    crc = crc32c::crc32c_append(crc, &(state.len() as u64).to_le_bytes());
    crc32c::crc32c_append(crc, state)
}

/// What happened to the snapshots of one data dir in this process.
#[derive(Debug, Default)]
pub struct SnapshotStatus {
    /// Snapshots written.
    pub written: AtomicU64,
    /// Sequence of the last one written (0 = none yet).
    pub last_seq: AtomicU64,
    /// Writes that failed.
    pub failures: AtomicU64,
    /// Snapshots recovery could not use (corrupt, not restorable, or ahead of the
    /// journal) and fell back past.
    pub skipped_at_recovery: AtomicU64,
    /// The last failure or skip, for the operator.
    pub last_error: Mutex<Option<String>>,
    /// Snapshot files deleted by retention.
    pub retired_snapshots: AtomicU64,
    /// Journal segments deleted by retention.
    pub retired_segments: AtomicU64,
    /// The retention policy (set by recovery from the journal config).
    retain: Mutex<Retain>,
}

impl SnapshotStatus {
    /// Records a failure or skip.
    pub fn note_error(&self, why: String) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
    }

    /// The last failure or skip.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Sets the retention policy applied after each write.
    pub fn set_retain(&self, retain: Retain) {
        *self.retain.lock().unwrap_or_else(|e| e.into_inner()) = retain;
    }

    fn retain(&self) -> Retain {
        *self.retain.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The registry behind [`status`]: one record per data dir (a process may run several
/// engines, as the tests do).
static STATUS: Mutex<Vec<(PathBuf, Arc<SnapshotStatus>)>> = Mutex::new(Vec::new());

/// The snapshot status of data dir `dir` (created on first use).
pub fn status(dir: &Path) -> Arc<SnapshotStatus> {
    let key = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut all = STATUS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, s)) = all.iter().find(|(d, _)| *d == key) {
        return Arc::clone(s);
    }
    let s = Arc::new(SnapshotStatus::default());
    all.push((key, Arc::clone(&s)));
    s
}

/// Writes the state `bytes` as of `seq` durably, then applies the dir's retention policy
/// (default: the newest [`KEEP`] snapshots; see [`super::retention`]). Returns the new
/// file's path. The outcome is recorded in [`status`]`(dir)`.
pub fn write_snapshot(dir: &Path, seq: Seq, bytes: &[u8]) -> Result<PathBuf, JournalError> {
    let st = status(dir);
    let done = write_inner(dir, seq, bytes).and_then(|path| {
        let retired = super::retention::apply(dir, st.retain(), std::time::SystemTime::now())?;
        st.retired_snapshots.fetch_add(retired.snapshots as u64, Ordering::Relaxed);
        st.retired_segments.fetch_add(retired.segments as u64, Ordering::Relaxed);
        Ok(path)
    });
    match &done {
        Ok(_) => {
            st.written.fetch_add(1, Ordering::Relaxed);
            st.last_seq.store(seq.0, Ordering::Relaxed);
        }
        Err(e) => {
            st.failures.fetch_add(1, Ordering::Relaxed);
            st.note_error(format!("snapshot at seq {} failed: {e}", seq.0));
        }
    }
    done
}

fn write_inner(dir: &Path, seq: Seq, bytes: &[u8]) -> Result<PathBuf, JournalError> {
    std::fs::create_dir_all(dir).map_err(JournalError::io("create dir", dir))?;
    let path = dir.join(file_name(seq));
    let tmp = dir.join(format!(".{}.tmp", file_name(seq)));
    let mut header = [0u8; HEADER];
    header[0..8].copy_from_slice(MAGIC);
    header[8..12].copy_from_slice(&VERSION.to_le_bytes());
    header[16..24].copy_from_slice(&seq.0.to_le_bytes());
    header[24..32].copy_from_slice(&(bytes.len() as u64).to_le_bytes());
    header[32..36].copy_from_slice(&checksum(seq, bytes).to_le_bytes());
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(&header)?;
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(JournalError::io("write snapshot", &tmp)(e));
    }
    std::fs::rename(&tmp, &path).map_err(JournalError::io("rename snapshot", &path))?;
    sync_dir(dir)?;
    Ok(path)
}

/// Snapshot files in `dir`, oldest first.
pub fn list(dir: &Path) -> Result<Vec<(Seq, PathBuf)>, JournalError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(JournalError::io("read dir", dir))? {
        let entry = entry.map_err(JournalError::io("read dir", dir))?;
        if let Some(seq) = entry.file_name().to_str().and_then(parse_name) {
            out.push((seq, entry.path()));
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Checks a snapshot file's bytes; the state on success, what is wrong otherwise.
fn validate(seq: Seq, file: &[u8]) -> Result<&[u8], String> {
    let header = file.get(..HEADER).ok_or("shorter than the header")?;
    if &header[0..8] != MAGIC {
        return Err("bad magic".into());
    }
    let word = |at: usize| {
        u32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    let long = |at: usize| u64::from_le_bytes(header[at..at + 8].try_into().unwrap_or([0xff; 8]));
    if word(8) != VERSION {
        return Err(format!("unsupported version {}", word(8)));
    }
    if long(16) != seq.0 {
        return Err(format!("header says seq {}, name says {}", long(16), seq.0));
    }
    let state = &file[HEADER..];
    if long(24) != state.len() as u64 {
        return Err(format!("header says {} bytes of state, file has {}", long(24), state.len()));
    }
    if word(32) != checksum(seq, state) {
        return Err("CRC mismatch".into());
    }
    Ok(state)
}

/// A snapshot that was not trusted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedSnapshot {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: String,
}

/// The newest valid snapshot, and the newer ones skipped on the way.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnapshotLoad {
    /// Sequence and state of the newest valid snapshot.
    pub latest: Option<(Seq, Vec<u8>)>,
    /// Newer snapshots that were corrupt (newest first): report them to the operator.
    pub skipped: Vec<SkippedSnapshot>,
}

/// Finds the newest valid snapshot in `dir`, listing the corrupt ones skipped.
pub fn load_snapshots(dir: &Path) -> Result<SnapshotLoad, JournalError> {
    let mut load = SnapshotLoad::default();
    if !dir.exists() {
        return Ok(load);
    }
    for (seq, path) in list(dir)?.into_iter().rev() {
        let file = std::fs::read(&path).map_err(JournalError::io("read snapshot", &path))?;
        match validate(seq, &file) {
            Ok(state) => {
                load.latest = Some((seq, state.to_vec()));
                break;
            }
            Err(reason) => load.skipped.push(SkippedSnapshot { path, reason }),
        }
    }
    Ok(load)
}

/// Reads and checks the snapshot at `path` (named for `seq`): its state, or what is
/// wrong with it.
pub fn read_valid(seq: Seq, path: &Path) -> Result<Vec<u8>, String> {
    let file = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    validate(seq, &file).map(<[u8]>::to_vec)
}

/// The newest valid snapshot in `dir`; a corrupt one is skipped with a warning on
/// stderr (use [`load_snapshots`] to get the warnings as values).
pub fn latest_snapshot(dir: &Path) -> Result<Option<(Seq, Vec<u8>)>, JournalError> {
    let load = load_snapshots(dir)?;
    for s in &load.skipped {
        tracing::warn!(path = %s.path.display(), reason = %s.reason, "journal: skipping corrupt snapshot");
    }
    Ok(load.latest)
}
