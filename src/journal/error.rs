//! The journal's errors: one enum, each variant naming what the caller or operator does.

#![forbid(unsafe_code)]

use super::codec::CodecError;
use std::io;
use std::path::PathBuf;

/// Why a journal operation failed.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// A file operation failed. Check that the data dir exists, is writable and is on a
    /// local filesystem that supports `fallocate` and `mmap`; the engine must stop taking
    /// orders until the journal writes again.
    #[error("journal I/O error: {op} {}: {source}", path.display())]
    Io {
        /// What was being done (`"open"`, `"fallocate"`, `"msync"`, ...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Another process holds the data dir (an engine is already running on it). Stop it,
    /// or give this one another `--data-dir`.
    #[error(
        "data dir {} is in use by another tickfill process (pid {holder}); stop it or use \
         another --data-dir",
        dir.display()
    )]
    Locked {
        /// The data dir.
        dir: PathBuf,
        /// The holder's pid as its lock file says, or "unknown".
        holder: String,
    },
    /// The filesystem has no room for a new segment (ENOSPC at preallocation). Nothing was
    /// lost: free space on that filesystem, or move the data dir, then restart.
    #[error(
        "disk full: cannot preallocate {needed} bytes for {}; free space on that filesystem \
         (or point --data-dir elsewhere) and restart; the journal refuses new events until then",
        path.display()
    )]
    DiskFull {
        /// The segment that could not be created.
        path: PathBuf,
        /// Bytes requested.
        needed: u64,
    },
    /// Corruption in the middle of the journal: records after it cannot be trusted in
    /// order. Keep a copy of the data dir; to start anyway, keeping every record before the
    /// damage, open with `accept_damaged` (the damaged part is set aside as `*.damaged`).
    #[error(
        "journal damaged in {segment} at byte {offset}: {problem}; keep a copy of the data dir, \
         then start with accept_damaged (--accept-damaged-journal) to keep the records before it"
    )]
    Damaged {
        /// The segment file name.
        segment: String,
        /// Byte offset in that file.
        offset: u64,
        /// What is wrong.
        problem: String,
    },
    /// A file named like a segment does not carry the segment header: move it out of the
    /// data dir.
    #[error("{} is not a tickfill journal segment ({reason}); move it out of the data dir", path.display())]
    NotASegment {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A record passed its CRC but its payload does not decode: it was written by an
    /// incompatible build. Replay it with the build that wrote it.
    #[error("record seq {seq} in {segment} at byte {offset} does not decode: {source}")]
    Undecodable {
        /// The segment file name.
        segment: String,
        /// Byte offset of the record in that file.
        offset: u64,
        /// The record's sequence.
        seq: u64,
        /// The decoding error.
        #[source]
        source: CodecError,
    },
    /// The event cannot be encoded (it is not a journaled input): filter with
    /// `Input::is_journaled` before appending.
    #[error("cannot journal the event: {0}")]
    Codec(#[from] CodecError),
    /// An appended event's sequence is not above the last journaled one: a sequencing bug
    /// upstream; the event was not written.
    #[error("sequence {seq} is not above the journal's last sequence {last}")]
    SeqNotIncreasing {
        /// The event's sequence.
        seq: u64,
        /// The last journaled sequence.
        last: u64,
    },
    /// An earlier sync failed: what was written since may not be on disk, so nothing more
    /// is acknowledged. Restart the engine (recovery keeps what is on disk).
    #[error("an earlier journal sync failed ({0}); restart to recover from what is on disk")]
    SyncFailedEarlier(String),
    /// The configured segment size cannot hold even one record: raise `segment_bytes`.
    #[error("segment size {segment_bytes} bytes is below the minimum {min} bytes")]
    SegmentTooSmall {
        /// The configured size.
        segment_bytes: u64,
        /// The smallest size accepted.
        min: u64,
    },
}

impl JournalError {
    /// Wraps an I/O error with what was being done and to which path.
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| JournalError::Io { op, path, source }
    }
}
