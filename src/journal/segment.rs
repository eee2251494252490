//! Segment files: naming, the file header, preallocation, and the memory-mapped writer.
//!
//! A segment is `journal-NNNNNNNN.seg`: a 16-byte header (magic `TFJOURNL`, version u32,
//! sync mark u32) and then records ([`super::record`]) up to the file's end, zero after the
//! last one.
//!
//! The **sync mark** (version 2) is a file offset below which every byte is known to be on
//! disk: it is written into the mapped header only after a sync of the bytes below it
//! succeeded, so whenever the kernel writes the header page back, the mark it carries is
//! never ahead of the data (it may lag). Recovery treats a bad record at or past the mark
//! as a torn tail (a write, or a page write-back, that power loss cut off) and a bad
//! record below it as damage. Version 1 segments have no mark; they keep the old rule
//! (torn only when nothing valid follows) until the writer reopens them, which upgrades
//! the header. Segments are preallocated with `fallocate`, so every page of the mapping has
//! disk blocks behind it: a full disk is [`JournalError::DiskFull`] when a segment is
//! created, never a SIGBUS when a page is first touched.
//!
//! A **spare** ([`Spare`], made by [`super::ahead`] off the hot thread) is the next segment
//! made ahead of need under a name that is not a segment's (`journal-NNNNNNNN.seg.next`):
//! preallocated, mapped, every page written once and synced, so its blocks are allocated
//! and written and its pages are in the page cache. Rotation renames it into place
//! ([`SegmentWriter::from_spare`]) and writes the header, exactly as `create` would.
//!
//! # Invariants
//! - The only `unsafe` of the journal is [`map_file`]; it maps files this process created
//!   (or recovered), preallocated, and never truncates while mapped.
//! - A segment is written by one [`SegmentWriter`] at a time, from one thread.
//! - A spare is never read as a segment ([`parse_name`] refuses its name) and is all zero
//!   until it is renamed: a crash leaves at most an ignored file, which `open` removes
//!   ([`remove_spares`]); a crash between the rename and the header's sync leaves a
//!   fresh (all-zero) last segment, which recovery already accepts (a crash right after
//!   `create`).

#![deny(unsafe_code)]

use super::SyncLevel;
use super::error::JournalError;
use super::record;
use crate::types::Seq;
use memmap2::MmapMut;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

/// Bytes of the segment header.
pub const HEADER: usize = 16;
/// The segment header's magic.
pub const MAGIC: &[u8; 8] = b"TFJOURNL";
/// The segment layout version (2: the header carries the sync mark).
pub const VERSION: u32 = 2;

/// The file name of segment `index`.
pub fn file_name(index: u32) -> String {
    format!("journal-{index:08}.seg")
}

/// The name a spare for segment `index` is made under (not a segment name).
pub fn spare_name(index: u32) -> String {
    format!("{}.next", file_name(index))
}

/// Removes spares a crash left in `dir` (never segments: only names [`spare_name`] makes).
pub fn remove_spares(dir: &Path) -> Result<(), JournalError> {
    for entry in std::fs::read_dir(dir).map_err(JournalError::io("read dir", dir))? {
        let entry = entry.map_err(JournalError::io("read dir", dir))?;
        let name = entry.file_name();
        let spare = name
            .to_str()
            .and_then(|n| n.strip_suffix(".next"))
            .is_some_and(|seg| parse_name(seg).is_some());
        if spare {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(JournalError::io("remove spare", &path))?;
        }
    }
    Ok(())
}

/// The index of a segment file name, or `None` for other files.
pub fn parse_name(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("journal-")?.strip_suffix(".seg")?;
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The segments in `dir`, in index order.
pub fn list(dir: &Path) -> Result<Vec<(u32, PathBuf)>, JournalError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(JournalError::io("read dir", dir))? {
        let entry = entry.map_err(JournalError::io("read dir", dir))?;
        if let Some(index) = entry.file_name().to_str().and_then(parse_name) {
            out.push((index, entry.path()));
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// What a segment's first bytes say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderState {
    /// All zero: preallocated, never written (a crash right after creation).
    Fresh,
    /// A valid header.
    Valid,
}

/// Checks a segment header; `Err` names what is wrong.
pub fn check_header(bytes: &[u8]) -> Result<HeaderState, &'static str> {
    let Some(h) = bytes.get(..HEADER) else {
        return Err("shorter than the segment header");
    };
    if h.iter().all(|&b| b == 0) {
        return Ok(HeaderState::Fresh);
    }
    if &h[..8] != MAGIC {
        return Err("bad magic");
    }
    if h[8..12] != 1u32.to_le_bytes() && h[8..12] != VERSION.to_le_bytes() {
        return Err("unsupported segment version");
    }
    Ok(HeaderState::Valid)
}

/// The sync mark of a checked header: `None` for a version 1 segment (no mark), 0 for a
/// fresh (zero) header, else the file offset below which everything was synced.
pub fn sync_mark(bytes: &[u8]) -> Option<u64> {
    let h = bytes.get(..HEADER)?;
    if h[8..12] == 1u32.to_le_bytes() {
        return None;
    }
    Some(u64::from(u32::from_le_bytes([h[12], h[13], h[14], h[15]])))
}

fn write_header(dst: &mut [u8]) {
    dst[..8].copy_from_slice(MAGIC);
    dst[8..12].copy_from_slice(&VERSION.to_le_bytes());
    set_mark(dst, HEADER);
}

fn set_mark(dst: &mut [u8], pos: usize) {
    let mark = u32::try_from(pos).unwrap_or(u32::MAX);
    dst[12..16].copy_from_slice(&mark.to_le_bytes());
}

/// Allocates disk blocks for the whole of `file` (`len` bytes), mapping ENOSPC to
/// [`JournalError::DiskFull`].
pub fn preallocate(file: &File, path: &Path, len: u64) -> Result<(), JournalError> {
    match rustix::fs::fallocate(file, rustix::fs::FallocateFlags::empty(), 0, len) {
        Ok(()) => Ok(()),
        Err(e) if e == rustix::io::Errno::NOSPC => {
            Err(JournalError::DiskFull { path: path.to_path_buf(), needed: len })
        }
        Err(e) => Err(JournalError::io("fallocate", path)(e.into())),
    }
}

/// Maps `file` for reading and writing.
///
/// This is the journal's one `unsafe` operation. A mapping is undefined behaviour if the
/// file is changed or truncated behind the program's back while mapped. The contract
/// that rules this out: the data dir belongs to one engine process; the journal
/// creates or recovers each segment itself, preallocates it (so no page faults on a hole),
/// never truncates a segment, and holds the mapping only inside [`SegmentWriter`], which
/// owns the `File` for the mapping's whole life.
#[allow(unsafe_code, reason = "the single mmap of the journal; see the SAFETY argument")]
fn map_file(file: &File, path: &Path) -> Result<MmapMut, JournalError> {
    // SAFETY: the file is a journal segment owned by this process (see the doc above):
    // nothing else writes or truncates it while the map lives, and it is fully
    // preallocated, so every access within its length is backed by disk blocks.
    unsafe { MmapMut::map_mut(file) }.map_err(JournalError::io("mmap", path))
}

/// Bytes between the writes that touch every page of a spare (the smallest page size).
const PAGE: usize = 4096;

/// The next segment, made ahead of need (see the module doc).
#[derive(Debug)]
pub struct Spare {
    index: u32,
    path: PathBuf,
    file: File,
    map: MmapMut,
}

impl Spare {
    /// Makes the spare for segment `index` (`len` bytes) in `dir`: creates it under
    /// [`spare_name`], preallocates and maps it, writes every page once and syncs. Returns
    /// `None` (leaving no file) when `stop` is raised meanwhile. On failure no file is
    /// left behind.
    pub fn prepare(
        dir: &Path,
        index: u32,
        len: u64,
        stop: &std::sync::atomic::AtomicBool,
    ) -> Result<Option<Spare>, JournalError> {
        let path = dir.join(spare_name(index));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(JournalError::io("create spare", &path))?;
        let made = preallocate(&file, &path, len).and_then(|()| map_file(&file, &path)).and_then(
            |mut map| {
                // One write per page: the page is faulted in, its block written at the
                // sync below (ext4 converts the preallocated extent now, not under the
                // hot thread's first write), and the page stays in the page cache.
                for (i, at) in (0..map.len()).step_by(PAGE).enumerate() {
                    if i % 256 == 0 && stop.load(std::sync::atomic::Ordering::Relaxed) {
                        return Ok(None);
                    }
                    map[at] = 0;
                }
                map.flush().map_err(JournalError::io("msync spare", &path))?;
                file.sync_all().map_err(JournalError::io("fsync spare", &path))?;
                Ok(Some(map))
            },
        );
        match made {
            Ok(Some(map)) => Ok(Some(Spare { index, path, file, map })),
            Ok(None) => {
                drop(file);
                let _ = std::fs::remove_file(&path);
                Ok(None)
            }
            Err(e) => {
                drop(file);
                let _ = std::fs::remove_file(&path);
                Err(e)
            }
        }
    }

    /// The segment index it is for.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Its size in bytes.
    pub fn len(&self) -> u64 {
        self.map.len() as u64
    }

    /// True when it has no bytes (never, for a prepared spare).
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Removes it (not needed after all: the size changed, or the journal closed).
    pub fn discard(self) {
        let Spare { path, file, map, .. } = self;
        drop(map);
        drop(file);
        let _ = std::fs::remove_file(&path);
    }
}

/// The segment being appended to.
#[derive(Debug)]
pub struct SegmentWriter {
    index: u32,
    name: String,
    path: PathBuf,
    file: File,
    map: MmapMut,
    /// Where the next record goes (file offset).
    pos: usize,
    /// Start of the bytes written since the last sync.
    dirty_from: usize,
}

impl SegmentWriter {
    /// Creates, preallocates and maps segment `index` of `len` bytes in `dir`. On failure
    /// no file is left behind.
    pub fn create(dir: &Path, index: u32, len: u64) -> Result<SegmentWriter, JournalError> {
        let name = file_name(index);
        let path = dir.join(&name);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(JournalError::io("create", &path))?;
        let mapped = preallocate(&file, &path, len).and_then(|()| map_file(&file, &path));
        let mut map = match mapped {
            Ok(map) => map,
            Err(e) => {
                drop(file);
                let _ = std::fs::remove_file(&path);
                return Err(e);
            }
        };
        write_header(&mut map);
        Ok(SegmentWriter { index, name, path, file, map, pos: HEADER, dirty_from: 0 })
    }

    /// Makes a spare segment `spare.index()` of `dir`: renames it into place (refusing to
    /// replace an existing segment, as `create` does) and writes the header. On failure
    /// the spare is removed.
    pub fn from_spare(dir: &Path, spare: Spare) -> Result<SegmentWriter, JournalError> {
        let Spare { index, path: spare_path, file, mut map } = spare;
        let name = file_name(index);
        let path = dir.join(&name);
        let cwd = rustix::fs::CWD;
        let flags = rustix::fs::RenameFlags::NOREPLACE;
        if let Err(e) = rustix::fs::renameat_with(cwd, &spare_path, cwd, &path, flags) {
            drop(map);
            drop(file);
            let _ = std::fs::remove_file(&spare_path);
            return Err(JournalError::io("rename spare", &path)(e.into()));
        }
        write_header(&mut map);
        Ok(SegmentWriter { index, name, path, file, map, pos: HEADER, dirty_from: 0 })
    }

    /// Opens an existing segment for appending at file offset `pos` (after its last good
    /// record, as found by a scan). A fresh (all-zero) header is written.
    pub fn open(dir: &Path, index: u32, pos: usize) -> Result<SegmentWriter, JournalError> {
        let name = file_name(index);
        let path = dir.join(&name);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(JournalError::io("open", &path))?;
        let len = file.metadata().map_err(JournalError::io("stat", &path))?.len();
        // Idempotent for a file we preallocated; fills holes in one that was copied sparse.
        preallocate(&file, &path, len)?;
        let mut map = map_file(&file, &path)?;
        if map.len() < HEADER + record::HEADER || pos > map.len() {
            return Err(JournalError::NotASegment { path, reason: "too short" });
        }
        let pos = pos.max(HEADER);
        match check_header(&map) {
            Ok(HeaderState::Valid) => {}
            Ok(HeaderState::Fresh) => write_header(&mut map),
            Err(reason) => return Err(JournalError::NotASegment { path, reason }),
        }
        // What recovery kept is on disk (it read it from there); the mark moves to `pos`
        // (down, after a repair; up, for a version 1 header being upgraded) and is made
        // durable before anything new is written.
        map[8..12].copy_from_slice(&VERSION.to_le_bytes());
        set_mark(&mut map, pos);
        map.flush_range(0, HEADER).map_err(JournalError::io("msync", &path))?;
        file.sync_all().map_err(JournalError::io("fsync", &path))?;
        Ok(SegmentWriter { index, name, path, file, map, pos, dirty_from: pos })
    }

    /// Appends one record; `false` (writing nothing) when it does not fit.
    #[inline]
    pub fn try_append(&mut self, seq: Seq, payload: &[u8]) -> bool {
        match record::write(&mut self.map[self.pos..], seq, payload) {
            Some(n) => {
                self.pos += n;
                true
            }
            None => false,
        }
    }

    /// Makes the bytes written since the last sync durable per `level`, then moves the
    /// sync mark (in memory: the kernel writes it back with the header page, or the next
    /// fsync does).
    pub fn sync(&mut self, level: SyncLevel) -> Result<(), JournalError> {
        if level == SyncLevel::None || self.dirty_from >= self.pos {
            return Ok(());
        }
        self.map
            .flush_range(self.dirty_from, self.pos - self.dirty_from)
            .map_err(JournalError::io("msync", &self.path))?;
        if level == SyncLevel::Fsync {
            self.file.sync_all().map_err(JournalError::io("fsync", &self.path))?;
        }
        self.dirty_from = self.pos;
        set_mark(&mut self.map, self.pos);
        Ok(())
    }

    /// Makes everything written durable whatever the level (rotation, clean shutdown),
    /// and the sync mark with it.
    pub fn sync_full(&mut self) -> Result<(), JournalError> {
        self.sync(SyncLevel::Msync)?;
        set_mark(&mut self.map, self.pos);
        self.map.flush_range(0, HEADER).map_err(JournalError::io("msync", &self.path))?;
        self.file.sync_all().map_err(JournalError::io("fsync", &self.path))
    }

    /// Takes back the records from file offset `to` (a batch's start, at or after the
    /// sync mark) to the end: zeroes them and flushes the zeros, so after any crash they
    /// read as unwritten space, and appends continue at `to`.
    pub fn roll_back_to(&mut self, to: usize) -> Result<(), JournalError> {
        if to >= self.pos {
            return Ok(());
        }
        let to = to.max(HEADER);
        self.map[to..self.pos].fill(0);
        self.map.flush_range(to, self.pos - to).map_err(JournalError::io("msync", &self.path))?;
        self.pos = to;
        self.dirty_from = self.dirty_from.min(to);
        Ok(())
    }

    /// The sync mark as it is in memory.
    pub fn mark(&self) -> Option<u64> {
        sync_mark(&self.map)
    }

    /// The segment's index.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The segment's file name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the next record goes (file offset).
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// The segment's size in bytes.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when the segment has no room at all (never, for a valid segment).
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Fsyncs a directory, so a created or renamed file's entry is durable.
pub fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(JournalError::io("fsync dir", dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_reject_others() {
        assert_eq!(file_name(1), "journal-00000001.seg");
        assert_eq!(parse_name("journal-00000001.seg"), Some(1));
        for other in ["journal-1.seg", "journal-0000000x.seg", "journal-00000001.seg.damaged"] {
            assert_eq!(parse_name(other), None, "{other}");
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "mmap and files are not supported under Miri")]
    fn create_writes_a_header_and_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SegmentWriter::create(dir.path(), 3, 4096).unwrap();
        assert!(w.try_append(Seq(1), b"hello"));
        w.sync(SyncLevel::Fsync).unwrap();
        let bytes = std::fs::read(dir.path().join("journal-00000003.seg")).unwrap();
        assert_eq!(bytes.len(), 4096);
        assert_eq!(check_header(&bytes), Ok(HeaderState::Valid));
        assert!(SegmentWriter::create(dir.path(), 3, 4096).is_err());
    }
}
