//! The read-only walk over every segment of a data dir that decides how the journal ends:
//! shared by [`super::Journal::open`] (which then repairs) and [`super::read_events`]
//! (which never writes, and decodes each segment's records while its bytes are loaded).
//!
//! The verdict over the whole journal, segments in index order, by where the first bad
//! record is against its segment's sync mark ([`segment::sync_mark`]):
//! - **clean** when every segment ends clean;
//! - **torn** when the first bad record is at or past the sync mark: power loss can leave
//!   any unsynced page unwritten while a later one reached the disk, so whatever follows
//!   (valid records in the segment, later segments) is dropped with it; a segment whose
//!   header is zero (its first page never reached the disk) has mark 0;
//! - **damaged** when the bad record is below the mark (bytes that were synced changed),
//!   or a sequence does not increase (within or across segments).
//!
//! Version 1 segments (no mark) keep the earlier rule: torn when nothing valid follows
//! the bad record, in its segment or any later one; damaged otherwise.
//!
//! # Performance
//! [`Surveyor`] reads each segment once into one reused buffer and CRCs every record once;
//! a reader walks the same bytes for the records ([`record::records`] trusts the scan and
//! does not CRC again). Recovery is one pass over the journal, not a survey followed by a
//! second read.

#![forbid(unsafe_code)]

use super::error::JournalError;
use super::record::{self, Problem, Scan, Tail};
use super::segment::{self, HeaderState};
use crate::types::Seq;
use std::io::Read;
use std::path::{Path, PathBuf};

/// One segment as scanned; offsets in `scan` are relative to the data region.
#[derive(Debug)]
pub(crate) struct SegmentInfo {
    pub index: u32,
    pub name: String,
    pub path: PathBuf,
    pub scan: Scan,
}

impl SegmentInfo {
    /// The file offset after the last good record.
    pub fn end(&self) -> u64 {
        (segment::HEADER + self.scan.end) as u64
    }
}

/// How the journal ends; `segment` is a position in [`Survey::segments`], offsets are
/// file offsets.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Clean,
    /// `past_mark`: the bad record is at or past the sync mark, so later segments with
    /// data are unsynced too (listed in [`Survey::unsynced_later`]).
    Torn {
        segment: usize,
        offset: u64,
        bytes: u64,
        past_mark: bool,
    },
    Damaged {
        segment: usize,
        offset: u64,
        problem: String,
    },
}

/// Every segment of a dir, and the verdict.
#[derive(Debug)]
pub(crate) struct Survey {
    pub segments: Vec<SegmentInfo>,
    pub verdict: Verdict,
    /// Segments after a tear past the sync mark that hold data: never synced before the
    /// tear's lost bytes, so dropped with them (`open` sets them aside).
    pub unsynced_later: Vec<(u32, PathBuf)>,
}

impl Survey {
    /// Good records before the verdict's position.
    pub fn records(&self) -> u64 {
        self.segments.iter().map(|s| s.scan.records).sum()
    }

    /// The last good sequence.
    pub fn last_seq(&self) -> Option<Seq> {
        self.segments.iter().rev().find_map(|s| s.scan.last_seq)
    }

    /// The verdict as an error when it is damage.
    pub fn damage(&self) -> Option<JournalError> {
        match &self.verdict {
            Verdict::Damaged { segment, offset, problem } => Some(JournalError::Damaged {
                segment: self.segments[*segment].name.clone(),
                offset: *offset,
                problem: problem.clone(),
            }),
            _ => None,
        }
    }
}

/// Reads `path` whole into `buf`, reusing its allocation (sized from the file's length,
/// so a segment is one read and no reallocation).
fn read_into(path: &Path, buf: &mut Vec<u8>) -> Result<(), JournalError> {
    buf.clear();
    let mut file = std::fs::File::open(path).map_err(JournalError::io("open", path))?;
    let len = file.metadata().map_err(JournalError::io("stat", path))?.len();
    buf.reserve(usize::try_from(len).unwrap_or(0));
    file.read_to_end(buf).map_err(JournalError::io("read", path))?;
    Ok(())
}

/// Walks the segments of a dir one at a time, keeping the loaded segment's bytes so a
/// reader can decode its records before the next one is read. [`survey`] runs it to the
/// end; [`super::read_events`] interleaves it with decoding.
#[derive(Debug)]
pub(crate) struct Surveyor {
    listed: std::vec::IntoIter<(u32, PathBuf)>,
    prev: Option<Seq>,
    buf: Vec<u8>,
    survey: Survey,
    /// No more segments to scan (the verdict is final once the torn check has run).
    stopped: bool,
}

impl Surveyor {
    /// Lists the segments of `dir` (which must exist). Never writes.
    pub fn new(dir: &Path) -> Result<Surveyor, JournalError> {
        Ok(Surveyor {
            listed: segment::list(dir)?.into_iter(),
            prev: None,
            buf: Vec::new(),
            survey: Survey {
                segments: Vec::new(),
                verdict: Verdict::Clean,
                unsynced_later: Vec::new(),
            },
            stopped: false,
        })
    }

    /// Reads and scans the next segment. Returns its position in the survey, or `None`
    /// when the walk is over (then [`Surveyor::finish`] has the verdict). The segment's
    /// good records are `records(self.data(), info.scan.end)`.
    pub fn advance(&mut self) -> Result<Option<usize>, JournalError> {
        if self.stopped {
            return Ok(None);
        }
        let Some((index, path)) = self.listed.next() else {
            self.stopped = true;
            return Ok(None);
        };
        if self.survey.verdict != Verdict::Clean {
            // The previous segment ended torn: it is a tail only if no later segment
            // holds data.
            self.stopped = true;
            self.check_after_torn(index, path)?;
            return Ok(None);
        }
        read_into(&path, &mut self.buf)?;
        let header = segment::check_header(&self.buf)
            .map_err(|reason| JournalError::NotASegment { path: path.clone(), reason })?;
        let mark = match header {
            HeaderState::Fresh => Some(0),
            HeaderState::Valid => segment::sync_mark(&self.buf),
        };
        let mut scan = record::scan(self.data(), self.prev);
        if header == HeaderState::Fresh && scan.used > 0 {
            // Data behind a zero header: the header page never reached the disk.
            scan = Scan { end: 0, records: 0, first_seq: None, last_seq: None, ..scan };
            scan.tail = Tail::Damaged { offset: 0, problem: Problem::BadRecord { next_valid: 0 } };
        }
        let at = self.survey.segments.len();
        self.prev = scan.last_seq.or(self.prev);
        let file_offset = |o: usize| (segment::HEADER + o) as u64;
        let past_mark = |o: usize| mark.is_some_and(|m| file_offset(o) >= m);
        match scan.tail {
            Tail::Clean => {}
            Tail::Torn { offset, .. }
            | Tail::Damaged { offset, problem: Problem::BadRecord { .. } }
                if past_mark(offset) =>
            {
                self.survey.verdict = Verdict::Torn {
                    segment: at,
                    offset: file_offset(offset),
                    bytes: (scan.used - offset) as u64,
                    past_mark: true,
                };
            }
            Tail::Torn { offset, bytes } if mark.is_none() => {
                self.survey.verdict = Verdict::Torn {
                    segment: at,
                    offset: file_offset(offset),
                    bytes: bytes as u64,
                    past_mark: false,
                };
            }
            Tail::Torn { offset, .. } => {
                let problem = format!(
                    "bad record below the sync mark (byte {}): bytes that were synced changed",
                    mark.unwrap_or(0)
                );
                self.survey.verdict =
                    Verdict::Damaged { segment: at, offset: file_offset(offset), problem };
                self.stopped = true;
            }
            Tail::Damaged { offset, problem } => {
                let problem = match (header, problem) {
                    (HeaderState::Fresh, _) => "data in a segment whose header is zero".to_string(),
                    (_, Problem::BadRecord { next_valid }) => format!(
                        "bad record (length or CRC) before a valid record at byte {}",
                        file_offset(next_valid)
                    ),
                    (_, p) => p.to_string(),
                };
                self.survey.verdict =
                    Verdict::Damaged { segment: at, offset: file_offset(offset), problem };
                self.stopped = true;
            }
        }
        let name = segment::file_name(index);
        self.survey.segments.push(SegmentInfo { index, name, path, scan });
        Ok(Some(at))
    }

    /// After a torn segment: every later segment, from `index` at `path` on, must be empty,
    /// else the tear is damage.
    fn check_after_torn(&mut self, index: u32, path: PathBuf) -> Result<(), JournalError> {
        let Verdict::Torn { segment, offset, past_mark, .. } = self.survey.verdict else {
            return Ok(());
        };
        for (index, path) in std::iter::once((index, path)).chain(self.listed.by_ref()) {
            read_into(&path, &mut self.buf)?;
            segment::check_header(&self.buf)
                .map_err(|reason| JournalError::NotASegment { path: path.clone(), reason })?;
            let scan = record::scan(self.buf.get(segment::HEADER..).unwrap_or(&[]), None);
            if scan.used > 0 && past_mark {
                self.survey.unsynced_later.push((index, path));
                continue;
            }
            if scan.used > 0 {
                let problem = format!(
                    "bad record (length or CRC) followed by data in {}",
                    segment::file_name(index)
                );
                self.survey.verdict = Verdict::Damaged { segment, offset, problem };
                self.survey.segments.truncate(segment + 1);
                return Ok(());
            }
            // Empty: kept in the list so the writer continues in the newest segment.
            let name = segment::file_name(index);
            self.survey.segments.push(SegmentInfo { index, name, path, scan });
        }
        Ok(())
    }

    /// Hands over the bytes of the segment [`Surveyor::advance`] loaded last (the whole
    /// file), keeping `replacement`'s allocation for the next one.
    pub fn swap_buf(&mut self, replacement: Vec<u8>) -> Vec<u8> {
        std::mem::replace(&mut self.buf, replacement)
    }

    /// The data region (after the header) of the segment [`Surveyor::advance`] loaded last.
    pub fn data(&self) -> &[u8] {
        self.buf.get(segment::HEADER..).unwrap_or(&[])
    }

    /// The segments scanned so far.
    pub fn segments(&self) -> &[SegmentInfo] {
        &self.survey.segments
    }

    /// The survey; complete once [`Surveyor::advance`] has returned `None`.
    pub fn finish(self) -> Survey {
        self.survey
    }
}

/// Scans every segment of `dir` (which must exist). Never writes.
pub(crate) fn survey(dir: &Path) -> Result<Survey, JournalError> {
    let mut s = Surveyor::new(dir)?;
    while s.advance()?.is_some() {}
    Ok(s.finish())
}
