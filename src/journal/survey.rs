//! The read-only walk over every segment of a data dir that decides how the journal ends:
//! shared by [`super::Journal::open`] (which then repairs) and [`super::read_events`]
//! (which never writes).
//!
//! The verdict over the whole journal, segments in index order:
//! - **clean** when every segment ends clean;
//! - **torn** when the first bad record is followed by nothing valid, in its segment or any
//!   later one (a later segment may exist, but only with zero data);
//! - **damaged** otherwise: a bad record with valid data after it, a sequence that does
//!   not increase (within or across segments), or data in a segment whose header is zero.

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
    Torn { segment: usize, offset: u64, bytes: u64 },
    Damaged { segment: usize, offset: u64, problem: String },
}

/// Every segment of a dir, and the verdict.
#[derive(Debug)]
pub(crate) struct Survey {
    pub segments: Vec<SegmentInfo>,
    pub verdict: Verdict,
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
}

/// Reads `path` whole into `buf` (reusing its allocation).
fn read_into(path: &Path, buf: &mut Vec<u8>) -> Result<(), JournalError> {
    buf.clear();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(buf))
        .map_err(JournalError::io("read", path))?;
    Ok(())
}

/// Scans every segment of `dir` (which must exist). Never writes.
pub(crate) fn survey(dir: &Path) -> Result<Survey, JournalError> {
    let mut segments = Vec::new();
    let mut verdict = Verdict::Clean;
    let mut buf = Vec::new();
    let mut prev = None;
    let mut listed = segment::list(dir)?.into_iter();
    for (index, path) in listed.by_ref() {
        read_into(&path, &mut buf)?;
        let header = segment::check_header(&buf)
            .map_err(|reason| JournalError::NotASegment { path: path.clone(), reason })?;
        let data = &buf[segment::HEADER..];
        let mut scan = record::scan(data, prev);
        if header == HeaderState::Fresh && scan.used > 0 {
            // Data behind a zero header: not something the writer ever leaves.
            scan = Scan { end: 0, records: 0, first_seq: None, last_seq: None, ..scan };
            scan.tail = Tail::Damaged { offset: 0, problem: Problem::BadRecord { next_valid: 0 } };
        }
        let name = segment::file_name(index);
        let at = segments.len();
        prev = scan.last_seq.or(prev);
        let file_offset = |o: usize| (segment::HEADER + o) as u64;
        match scan.tail {
            Tail::Clean => {}
            Tail::Torn { offset, bytes } => {
                verdict =
                    Verdict::Torn { segment: at, offset: file_offset(offset), bytes: bytes as u64 };
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
                verdict = Verdict::Damaged { segment: at, offset: file_offset(offset), problem };
            }
        }
        segments.push(SegmentInfo { index, name, path, scan });
        if verdict != Verdict::Clean {
            break;
        }
    }
    // A torn tail is a tail only if no later segment holds data.
    if let Verdict::Torn { segment, offset, .. } = verdict {
        for (index, path) in listed {
            read_into(&path, &mut buf)?;
            segment::check_header(&buf)
                .map_err(|reason| JournalError::NotASegment { path: path.clone(), reason })?;
            let scan = record::scan(&buf[segment::HEADER..], None);
            if scan.used > 0 {
                let problem = format!(
                    "bad record (length or CRC) followed by data in {}",
                    segment::file_name(index)
                );
                verdict = Verdict::Damaged { segment, offset, problem };
                segments.truncate(segment + 1);
                break;
            }
            // Empty: kept in the list so the writer continues in the newest segment.
            segments.push(SegmentInfo { index, name: segment::file_name(index), path, scan });
        }
    }
    Ok(Survey { segments, verdict })
}
