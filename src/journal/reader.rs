//! Reading the journal back, for recovery and `tickfill replay`: read-only, with the same
//! torn-tail / damage verdict as [`super::Journal::open`].

#![forbid(unsafe_code)]

use super::codec;
use super::error::JournalError;
use super::record;
use super::segment;
use super::survey::{self, Verdict};
use crate::event::Event;
use crate::types::Seq;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Opens an iterator over every journaled event in `dir` with a sequence above `after`
/// (all when `None`), in order. A torn tail ends the iteration quietly (the writer's
/// `open` repairs it); damage in the middle is an error here, before any event is read.
/// Never modifies a file. A missing dir reads as an empty journal.
pub fn read_events(dir: &Path, after: Option<Seq>) -> Result<JournalReader, JournalError> {
    if !dir.exists() {
        return Ok(JournalReader {
            segments: Vec::new(),
            next: 0,
            buf: Vec::new(),
            pos: 0,
            end: 0,
            after,
            done: true,
        });
    }
    let survey = survey::survey(dir)?;
    if let Verdict::Damaged { segment, offset, problem } = survey.verdict {
        let segment = survey.segments[segment].name.clone();
        return Err(JournalError::Damaged { segment, offset, problem });
    }
    let segments = survey
        .segments
        .into_iter()
        .filter(|s| s.scan.records > 0 && s.scan.last_seq > after)
        .map(|s| Segment {
            end: s.end() as usize,
            name: s.name,
            path: s.path,
            last_seq: s.scan.last_seq,
        })
        .collect();
    Ok(JournalReader { segments, next: 0, buf: Vec::new(), pos: 0, end: 0, after, done: false })
}

#[derive(Debug)]
struct Segment {
    name: String,
    path: PathBuf,
    /// File offset after its last good record (as surveyed).
    end: usize,
    last_seq: Option<Seq>,
}

/// Iterator of journaled events; see [`read_events`]. After an error it ends.
#[derive(Debug)]
pub struct JournalReader {
    segments: Vec<Segment>,
    /// The next segment to load.
    next: usize,
    /// The loaded segment's bytes.
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    after: Option<Seq>,
    done: bool,
}

impl JournalReader {
    /// Loads the next segment; `false` at the end.
    fn load_next(&mut self) -> Result<bool, JournalError> {
        let Some(seg) = self.segments.get(self.next) else {
            return Ok(false);
        };
        self.next += 1;
        self.buf.clear();
        std::fs::File::open(&seg.path)
            .and_then(|mut f| f.read_to_end(&mut self.buf))
            .map_err(JournalError::io("read", &seg.path))?;
        if self.buf.len() < seg.end {
            return Err(JournalError::Damaged {
                segment: seg.name.clone(),
                offset: self.buf.len() as u64,
                problem: "segment shrank while being read".into(),
            });
        }
        self.pos = segment::HEADER;
        self.end = seg.end;
        Ok(true)
    }

    fn step(&mut self) -> Result<Option<Event>, JournalError> {
        loop {
            if self.pos >= self.end && !self.load_next()? {
                return Ok(None);
            }
            if self.pos >= self.end {
                continue;
            }
            let seg = &self.segments[self.next - 1];
            let region = &self.buf[..self.end];
            let Some(r) = record::read_at(region, self.pos) else {
                return Err(JournalError::Damaged {
                    segment: seg.name.clone(),
                    offset: self.pos as u64,
                    problem: "record changed while being read".into(),
                });
            };
            let offset = self.pos as u64;
            self.pos += r.framed_len();
            if self.after.is_some_and(|a| r.seq <= a) {
                continue;
            }
            let undecodable = |source| JournalError::Undecodable {
                segment: seg.name.clone(),
                offset,
                seq: r.seq.0,
                source,
            };
            let event = codec::decode(r.payload).map_err(undecodable)?;
            if event.header.seq != r.seq {
                return Err(undecodable(codec::CodecError::InvalidValue {
                    field: "seq",
                    offset: 2,
                    value: event.header.seq.0,
                }));
            }
            debug_assert!(seg.last_seq >= Some(r.seq));
            return Ok(Some(event));
        }
    }
}

impl Iterator for JournalReader {
    type Item = Result<Event, JournalError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.step().transpose();
        if !matches!(item, Some(Ok(_))) {
            self.done = true;
        }
        item
    }
}
