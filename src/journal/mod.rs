//! Stage 4, the journal: every journaled input event, appended to preallocated
//! memory-mapped segment files, so a restart or `tickfill replay` rebuilds the same state.
//!
//! ```text
//! append(event) --encode--> reusable buffer --frame + CRC32C--> mmap of journal-N.seg
//!                                                   (full? msync, rename the spare N+1 in,
//!                                                    or create it with fallocate)
//! commit() of a half-full segment --> the ahead helper makes spare N+1 (off this thread)
//! commit()      --per SyncLevel--> nothing | msync | msync + fsync   (then the sync mark)
//!               (after a rotation: the full segment msync+fsync and the dir fsync first)
//! drop          --> msync + fsync of everything (clean stop)
//! open()        --survey every segment--> clean | torn tail (zeroed, reported)
//!                                         | damage (refused, or kept-before with accept_damaged)
//! read_events() --same survey, read-only, one pass--> Event, Event, ...   (recovery, replay)
//! ```
//!
//! Modules: [`codec`] (the event layout), [`record`] (framing and the scan, pure slices),
//! [`segment`] (files, preallocation, the one mmap), `survey` (the verdict over a dir),
//! [`reader`] (replay iterator, one pass), [`snapshot`] (state snapshots), [`lock`] (one
//! engine per data dir), [`ahead`] (the next segment made off the appending thread),
//! [`error`].
//!
//! # Invariants
//! - Records appear in strictly increasing sequence order, across segments in index order.
//!   Gaps are normal: queries and snapshot requests take sequence numbers unjournaled.
//! - A torn write can only be at the very end; anything bad with valid data after it is
//!   damage and stops the start unless the operator accepts it.
//! - Segments are never truncated or rewritten except by `open`'s repair of a torn tail
//!   (zeroing) or an accepted damage (zeroing, after setting a copy aside).
//! - One writer per data dir: [`lock::DirLock`] (`DATA_DIR/LOCK`) refuses a second engine.
//!
//! # Known limitations
//! - `SyncLevel::None` survives a process crash (the mapping is the page cache) but not a
//!   power loss or kernel crash: then the journal recovers to a prefix (a segment is synced
//!   when full and at a clean stop; anything after the last sync may be cut short).
//! - Recovery reads each segment once, into ordinary memory (a copy from the page cache;
//!   a read-only mmap would save it but is unsound while a live engine appends to the
//!   segment `tickfill replay` is reading).
//! - Old segments are deleted only by [`retention`], after a snapshot is written.
//!
//! # Performance
//! `append` encodes into a reused buffer and copies into the map: no allocation, no system
//! call (except rotation, once per segment). `commit` costs one msync (and fsync) per batch
//! at `msync`/`fsync` levels and nothing at `none`.

// `forbid` here would bind `segment` too, which holds the journal's one mmap; every other
// child module forbids unsafe code itself.
#![deny(unsafe_code)]

pub mod ahead;
pub mod codec;
pub mod error;
pub mod lock;
pub mod reader;
pub mod record;
pub mod retention;
pub mod segment;
pub mod snapshot;
pub mod stage;
mod survey;

#[cfg(test)]
mod power_loss;
#[cfg(test)]
mod tests;

pub use codec::CodecError;
pub use error::JournalError;
pub use lock::DirLock;
pub use reader::{JournalReader, read_events};
pub use snapshot::{
    SkippedSnapshot, SnapshotLoad, latest_snapshot, load_snapshots, write_snapshot,
};
pub(crate) use survey::Survey;

use crate::event::Event;
use crate::types::Seq;
use segment::SegmentWriter;
use std::fmt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use survey::Verdict;

/// How hard [`Journal::commit`] pushes a batch towards the disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SyncLevel {
    /// Nothing: the mapping is the page cache, so a process crash loses nothing; a power
    /// loss or kernel crash can.
    #[default]
    None,
    /// `msync` of the batch's bytes per commit.
    Msync,
    /// `msync` plus `fsync` of the segment file per commit.
    Fsync,
}

impl SyncLevel {
    /// The setting's label.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncLevel::None => "none",
            SyncLevel::Msync => "msync",
            SyncLevel::Fsync => "fsync",
        }
    }
}

impl fmt::Display for SyncLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A sync level that is not `none`, `msync` or `fsync`: fix the setting.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown journal sync level `{0}`: use none, msync or fsync")]
pub struct ParseSyncLevelError(pub String);

impl FromStr for SyncLevel {
    type Err = ParseSyncLevelError;

    fn from_str(s: &str) -> Result<SyncLevel, ParseSyncLevelError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" => Ok(SyncLevel::None),
            "msync" => Ok(SyncLevel::Msync),
            "fsync" => Ok(SyncLevel::Fsync),
            _ => Err(ParseSyncLevelError(s.to_string())),
        }
    }
}

/// Where and how to journal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalConfig {
    /// The data dir (created if missing).
    pub dir: PathBuf,
    /// Size of each new segment file, bytes (existing segments keep their size).
    pub segment_bytes: u64,
    /// Sync per commit.
    pub sync: SyncLevel,
    /// Start despite damage in the middle, keeping every record before it.
    pub accept_damaged: bool,
    /// Which snapshots to keep; segments wholly before the oldest kept one are deleted.
    pub retain: retention::Retain,
}

impl JournalConfig {
    /// Refuses a segment size that cannot hold the largest record.
    fn check(&self) -> Result<(), JournalError> {
        if self.segment_bytes < JournalConfig::MIN_SEGMENT_BYTES {
            return Err(JournalError::SegmentTooSmall {
                segment_bytes: self.segment_bytes,
                min: JournalConfig::MIN_SEGMENT_BYTES,
            });
        }
        Ok(())
    }

    /// The default segment size: 64 MiB.
    pub const DEFAULT_SEGMENT_BYTES: u64 = 64 * 1024 * 1024;
    /// The smallest segment accepted: a header and the largest record.
    pub const MIN_SEGMENT_BYTES: u64 =
        (segment::HEADER + record::HEADER + codec::MAX_ENCODED) as u64;

    /// Defaults for `dir`: 64 MiB segments, [`SyncLevel::None`], damage refused.
    pub fn new(dir: impl Into<PathBuf>) -> JournalConfig {
        JournalConfig {
            dir: dir.into(),
            segment_bytes: Self::DEFAULT_SEGMENT_BYTES,
            sync: SyncLevel::None,
            accept_damaged: false,
            retain: retention::Retain::default(),
        }
    }
}

/// A torn tail that `open` removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornTail {
    /// The segment file name.
    pub segment: String,
    /// File offset where the bad bytes began.
    pub offset: u64,
    /// Bytes zeroed.
    pub bytes: u64,
    /// The bad bytes were past the segment's sync mark (never synced).
    pub past_sync_mark: bool,
    /// Later segments holding unsynced data, set aside as `*.unsynced`.
    pub set_aside: Vec<String>,
}

impl fmt::Display for TornTail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "torn tail in {} at byte {}: {} bytes of an unfinished write dropped",
            self.segment, self.offset, self.bytes
        )?;
        if self.past_sync_mark {
            f.write_str(" (past the last sync point: lost in a crash before they were synced)")?;
        }
        if !self.set_aside.is_empty() {
            write!(f, "; later unsynced segments set aside: {}", self.set_aside.join(", "))?;
        }
        Ok(())
    }
}

/// Damage that `open` accepted (`accept_damaged`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    /// The segment file name.
    pub segment: String,
    /// File offset of the first bad byte; everything from here on was dropped.
    pub offset: u64,
    /// What was wrong.
    pub problem: String,
    /// Files set aside (`*.damaged`): a copy of the damaged segment and later segments.
    pub set_aside: Vec<String>,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "damage accepted in {} at byte {}: {}; records from there on dropped, set aside: {}",
            self.segment,
            self.offset,
            self.problem,
            self.set_aside.join(", ")
        )
    }
}

/// What `open` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenReport {
    /// Good records kept.
    pub records: u64,
    /// The last good sequence.
    pub last_seq: Option<Seq>,
    /// A torn tail that was zeroed.
    pub torn_tail: Option<TornTail>,
    /// Damage that was accepted.
    pub damage: Option<Damage>,
}

impl fmt::Display for OpenReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "journal: {} records", self.records)?;
        match self.last_seq {
            Some(s) => write!(f, ", last seq {}", s.0)?,
            None => f.write_str(", empty")?,
        }
        if let Some(t) = &self.torn_tail {
            write!(f, "; {t}")?;
        }
        if let Some(d) = &self.damage {
            write!(f, "; {d}")?;
        }
        Ok(())
    }
}

/// The appending side of the journal.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    segment_bytes: u64,
    sync: SyncLevel,
    writer: SegmentWriter,
    /// Encoding scratch, reused (capacity [`codec::MAX_ENCODED`]).
    buf: Vec<u8>,
    last_seq: Option<Seq>,
    records: u64,
    /// The segment left by a rotation, synced whole by the next commit.
    retired: Option<SegmentWriter>,
    /// A sync failed: nothing more is acknowledged (see [`JournalError::SyncFailedEarlier`]).
    sync_failed: Option<String>,
    /// Flush when dropped (a clean stop); tests turn it off to simulate `kill -9`.
    flush_on_drop: bool,
    /// Where the batch being appended began in the current segment, and the journal's
    /// last sequence and record count then: a rotation that cannot create the next segment
    /// rolls the current segment back to it (see [`Journal::append`]).
    batch_start: BatchStart,
    /// Tests: the next sync of a retired segment fails.
    #[cfg(test)]
    fail_retired_sync: bool,
    /// Makes the next segment ahead of need ([`ahead`]).
    ahead: ahead::Ahead,
    /// Rotations that used a spare the helper made (the rest created the segment).
    spares_used: u64,
    /// One engine per data dir, for as long as the journal is open.
    _lock: DirLock,
}

impl Journal {
    /// Opens (or creates) the journal in `config.dir`: scans every segment, repairs a torn
    /// tail, refuses damage unless `accept_damaged`, and positions the writer after the
    /// last good record.
    pub fn open(config: &JournalConfig) -> Result<(Journal, OpenReport), JournalError> {
        config.check()?;
        let lock = DirLock::acquire(&config.dir)?;
        let survey = survey::survey(&config.dir)?;
        Journal::open_surveyed(config, survey, lock)
    }

    /// [`Journal::open`] on a survey already taken of `config.dir` (recovery's single pass
    /// over the journal produces one) under the dir's `lock`, taken before the survey;
    /// repairs and positions exactly as `open` does.
    pub(crate) fn open_surveyed(
        config: &JournalConfig,
        mut survey: survey::Survey,
        lock: DirLock,
    ) -> Result<(Journal, OpenReport), JournalError> {
        config.check()?;
        let dir = config.dir.clone();
        let mut report = OpenReport {
            records: survey.records(),
            last_seq: survey.last_seq(),
            torn_tail: None,
            damage: None,
        };
        match std::mem::replace(&mut survey.verdict, Verdict::Clean) {
            Verdict::Clean => {}
            Verdict::Torn { segment, offset, bytes, past_mark } => {
                let info = &survey.segments[segment];
                zero_range(&info.path, offset, bytes)?;
                let mut set_aside = Vec::new();
                for (index, path) in &survey.unsynced_later {
                    let to = unused_name(&dir, &format!("{}.unsynced", segment::file_name(*index)));
                    std::fs::rename(path, dir.join(&to))
                        .map_err(JournalError::io("rename unsynced segment", path))?;
                    set_aside.push(to);
                }
                if !set_aside.is_empty() {
                    segment::sync_dir(&dir)?;
                }
                report.torn_tail = Some(TornTail {
                    segment: info.name.clone(),
                    offset,
                    bytes,
                    past_sync_mark: past_mark,
                    set_aside,
                });
            }
            Verdict::Damaged { segment, offset, problem } => {
                let info = &survey.segments[segment];
                if !config.accept_damaged {
                    return Err(JournalError::Damaged {
                        segment: info.name.clone(),
                        offset,
                        problem,
                    });
                }
                let set_aside = set_aside_damage(&dir, info.index, &info.path, offset)?;
                report.damage =
                    Some(Damage { segment: info.name.clone(), offset, problem, set_aside });
                survey.segments.truncate(segment + 1);
            }
        }
        // Spares a crash left are not segments; nothing above read them.
        segment::remove_spares(&dir)?;
        let writer = match survey.segments.last() {
            Some(info) => SegmentWriter::open(&dir, info.index, info.end() as usize)?,
            None => {
                let w = SegmentWriter::create(&dir, 1, config.segment_bytes)?;
                segment::sync_dir(&dir)?;
                w
            }
        };
        let journal = Journal {
            ahead: ahead::Ahead::start(dir.clone()),
            spares_used: 0,
            dir,
            segment_bytes: config.segment_bytes,
            sync: config.sync,
            writer,
            buf: Vec::with_capacity(codec::MAX_ENCODED),
            last_seq: report.last_seq,
            records: report.records,
            retired: None,
            sync_failed: None,
            flush_on_drop: true,
            batch_start: BatchStart { pos: 0, last_seq: report.last_seq, records: report.records },
            #[cfg(test)]
            fail_retired_sync: false,
            _lock: lock,
        };
        Ok((journal, report))
    }

    /// Appends one journaled event (not yet synced: see [`Journal::commit`]). Allocates
    /// nothing; rotates to a new segment when the record does not fit.
    ///
    /// When the rotation cannot create the next segment (disk full), the part of the batch
    /// in the current segment is rolled back (zeroed, so it reads as unwritten space) and
    /// the error returned: [`Journal::last_seq`] then names the last record the journal
    /// keeps, and a commit makes those durable. Everything after it must be refused.
    pub fn append(&mut self, event: &Event) -> Result<(), JournalError> {
        let seq = event.header.seq;
        self.check_seq(seq)?;
        self.buf.clear();
        codec::encode(event, &mut self.buf)?;
        self.append_encoded(seq)
    }

    /// Appends a halt record (event kind 4, see [`codec::HaltRecord`]) at `halt.seq`, as
    /// [`Journal::append`] does an event.
    pub fn append_halt(&mut self, halt: &codec::HaltRecord) -> Result<(), JournalError> {
        self.check_seq(halt.seq)?;
        self.buf.clear();
        codec::encode_halt(halt, &mut self.buf);
        self.append_encoded(halt.seq)
    }

    fn check_seq(&self, seq: Seq) -> Result<(), JournalError> {
        match self.last_seq.filter(|&last| seq <= last) {
            Some(last) => Err(JournalError::SeqNotIncreasing { seq: seq.0, last: last.0 }),
            None => Ok(()),
        }
    }

    fn append_encoded(&mut self, seq: Seq) -> Result<(), JournalError> {
        if self.batch_start.pos == 0 {
            self.batch_start.pos = self.writer.pos();
        }
        if !self.writer.try_append(seq, &self.buf) {
            self.rotate()?;
            if !self.writer.try_append(seq, &self.buf) {
                // Unreachable: `open` checked the size against the largest record.
                return Err(JournalError::SegmentTooSmall {
                    segment_bytes: self.segment_bytes,
                    min: JournalConfig::MIN_SEGMENT_BYTES,
                });
            }
        }
        self.last_seq = Some(seq);
        self.records += 1;
        Ok(())
    }

    /// The batch starts afresh after a commit (or a rotation, in the new segment).
    fn mark_batch_start(&mut self) {
        self.batch_start = BatchStart { pos: 0, last_seq: self.last_seq, records: self.records };
    }

    /// Ends a batch: makes everything appended so far durable per the sync level. A
    /// segment a rotation left since the last commit is synced whole first (at every
    /// level) and the directory after it, so the batch's earlier records, written to the
    /// old segment, are covered by this commit's result: a failure here fails the whole
    /// batch. After any sync failure every later commit fails too (a retried fsync can
    /// report success for pages the kernel already dropped).
    pub fn commit(&mut self) -> Result<(), JournalError> {
        if let Some(why) = &self.sync_failed {
            return Err(JournalError::SyncFailedEarlier(why.clone()));
        }
        let done = self.sync_retired().and_then(|()| self.writer.sync(self.sync));
        match &done {
            Ok(()) => self.mark_batch_start(),
            Err(e) => self.sync_failed = Some(e.to_string()),
        }
        // Half full: time to have the next segment made (a no-op once asked).
        if self.writer.pos() > self.writer.len() / 2 {
            self.ahead.want(self.writer.index() + 1, self.segment_bytes);
        }
        done
    }

    /// Syncs the segment a rotation left (whole) and the directory entry of its successor.
    fn sync_retired(&mut self) -> Result<(), JournalError> {
        #[cfg(test)]
        if self.retired.is_some() && std::mem::take(&mut self.fail_retired_sync) {
            return Err(JournalError::io("msync", self.dir.clone())(std::io::Error::other(
                "injected",
            )));
        }
        if let Some(old) = self.retired.as_mut() {
            old.sync_full()?;
            segment::sync_dir(&self.dir)?;
            self.retired = None;
        }
        Ok(())
    }

    /// Makes everything appended durable whatever the sync level (a clean stop; `Drop`
    /// calls it).
    pub fn flush(&mut self) -> Result<(), JournalError> {
        if let Some(why) = &self.sync_failed {
            return Err(JournalError::SyncFailedEarlier(why.clone()));
        }
        let done = self.sync_retired().and_then(|()| self.writer.sync_full());
        if let Err(e) = &done {
            self.sync_failed = Some(e.to_string());
        }
        done
    }

    /// Continues in a new segment; the full one is synced by the next commit. When the
    /// new segment cannot be made (disk full) the batch's records in the current segment
    /// are rolled back (zeroed and synced, so they read as unwritten space after any
    /// crash), so the journal keeps exactly the records up to [`Journal::last_seq`]: the
    /// earlier part of the batch when it began in an older segment (synced whole just
    /// before), else only what earlier commits made durable.
    #[cold]
    fn rotate(&mut self) -> Result<(), JournalError> {
        if let Some(why) = &self.sync_failed {
            return Err(JournalError::SyncFailedEarlier(why.clone()));
        }
        self.sync_retired()?;
        let index = self.writer.index() + 1;
        let spare = self.ahead.take(index, self.segment_bytes);
        let used_spare = spare.is_some();
        let made = match spare.map(|s| SegmentWriter::from_spare(&self.dir, s)) {
            Some(Ok(next)) => Ok(next),
            // No spare ready, or it could not be renamed in: make the segment here.
            None | Some(Err(_)) => SegmentWriter::create(&self.dir, index, self.segment_bytes),
        };
        let next = match made {
            Ok(next) => next,
            Err(e) => {
                if let Err(sync) = self.roll_back_batch() {
                    self.sync_failed = Some(sync.to_string());
                }
                return Err(e);
            }
        };
        self.spares_used += u64::from(used_spare);
        self.retired = Some(std::mem::replace(&mut self.writer, next));
        // The rest of the batch is in the new segment, from its start.
        self.batch_start =
            BatchStart { pos: self.writer.pos(), last_seq: self.last_seq, records: self.records };
        Ok(())
    }

    /// Zeroes the batch's records in the current segment and goes back to where the
    /// batch began in it.
    fn roll_back_batch(&mut self) -> Result<(), JournalError> {
        let start = self.batch_start;
        if start.pos != 0 {
            self.writer.roll_back_to(start.pos)?;
            self.last_seq = start.last_seq;
            self.records = start.records;
        }
        self.batch_start.pos = 0;
        Ok(())
    }

    /// Drops the journal without the flush of a clean stop, as `kill -9` would.
    #[cfg(test)]
    pub(crate) fn crash(mut self) {
        self.flush_on_drop = false;
        self.ahead.keep_files();
    }

    /// Blocks until the helper has made the spare asked for last (tests).
    #[cfg(test)]
    pub(crate) fn wait_for_spare(&mut self) -> bool {
        self.ahead.wait_ready()
    }

    /// Rotations that took a spare made ahead (the others created their segment).
    pub fn spares_used(&self) -> u64 {
        self.spares_used
    }

    /// Tests elsewhere in the crate: the size of the segments created from now on (a huge
    /// one on a tmpfs is a full disk at the next rotation).
    #[cfg(test)]
    pub(crate) fn set_segment_bytes(&mut self, bytes: u64) {
        self.segment_bytes = bytes;
    }

    /// The sync mark of the segment being written, as in memory (tests).
    #[cfg(test)]
    pub(crate) fn sync_mark(&self) -> Option<u64> {
        self.writer.mark()
    }

    /// The last journaled sequence.
    pub fn last_seq(&self) -> Option<Seq> {
        self.last_seq
    }

    /// Records in the journal (kept at open plus appended since).
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The data dir.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file name of the segment being written.
    pub fn current_segment(&self) -> &str {
        self.writer.name()
    }
}

impl Drop for Journal {
    /// A clean stop: everything appended is made durable, whatever the sync level.
    fn drop(&mut self) {
        if self.flush_on_drop && self.sync_failed.is_none() {
            if let Err(e) = self.flush() {
                tracing::error!(error = %e, "journal: flush at stop failed");
            }
        }
    }
}

/// Where a batch began in the current segment (`pos` 0: nothing appended yet).
#[derive(Clone, Copy, Debug)]
struct BatchStart {
    pos: usize,
    last_seq: Option<Seq>,
    records: u64,
}

/// Zeroes `bytes` bytes of `path` from `offset`, durably.
fn zero_range(path: &Path, offset: u64, bytes: u64) -> Result<(), JournalError> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(JournalError::io("open", path))?;
    let zeros = vec![0u8; bytes.min(1 << 20) as usize];
    let mut done = 0;
    while done < bytes {
        let n = (bytes - done).min(zeros.len() as u64);
        file.write_all_at(&zeros[..n as usize], offset + done)
            .map_err(JournalError::io("zero torn tail", path))?;
        done += n;
    }
    file.sync_all().map_err(JournalError::io("fsync", path))
}

/// Accepted damage: copies the damaged segment aside, zeroes it from `offset`, and renames
/// every later segment to `*.damaged`. Returns the names set aside.
fn set_aside_damage(
    dir: &Path,
    index: u32,
    path: &Path,
    offset: u64,
) -> Result<Vec<String>, JournalError> {
    let mut set_aside = Vec::new();
    let copy = unused_name(dir, &format!("{}.damaged", segment::file_name(index)));
    let copy_path = dir.join(&copy);
    std::fs::copy(path, &copy_path)
        .map_err(JournalError::io("copy damaged segment", &copy_path))?;
    set_aside.push(copy);
    let len = std::fs::metadata(path).map_err(JournalError::io("stat", path))?.len();
    zero_range(path, offset, len.saturating_sub(offset))?;
    for (later, later_path) in segment::list(dir)? {
        if later > index {
            let to = unused_name(dir, &format!("{}.damaged", segment::file_name(later)));
            std::fs::rename(&later_path, dir.join(&to))
                .map_err(JournalError::io("rename damaged segment", &later_path))?;
            set_aside.push(to);
        }
    }
    segment::sync_dir(dir)?;
    Ok(set_aside)
}

/// `base`, or `base.1`, `base.2`, ...: the first name not taken in `dir`, so an earlier
/// set-aside copy is never overwritten.
fn unused_name(dir: &Path, base: &str) -> String {
    let mut name = base.to_string();
    let mut n = 0;
    while dir.join(&name).exists() {
        n += 1;
        name = format!("{base}.{n}");
    }
    name
}
