//! Reading the journal back, for recovery and `tickfill replay`: read-only, one pass, with
//! the same torn-tail / damage verdict as [`super::Journal::open`].
//!
//! Each segment is read once and CRC-checked by the survey ([`super::survey::Surveyor`]);
//! its records are then decoded from the same bytes, so recovery costs one read and one
//! CRC per record. A consequence: damage in a later segment is reported when the reader
//! reaches it, after the good records before it have been yielded. Recovery discards its
//! state on that error, so nothing built on damaged data survives.

#![forbid(unsafe_code)]

use super::codec;
use super::error::JournalError;
use super::record;
use super::survey::{Survey, Surveyor};
use crate::event::Event;
use crate::types::Seq;
use std::path::Path;

/// Opens an iterator over every journaled event in `dir` with a sequence above `after`
/// (all when `None`), in order. A torn tail ends the iteration quietly (the writer's
/// `open` repairs it); damage in the middle is an error item where it is found, and ends
/// the iteration. Never modifies a file. A missing dir reads as an empty journal.
pub fn read_events(dir: &Path, after: Option<Seq>) -> Result<JournalReader, JournalError> {
    let surveyor = if dir.exists() { Some(Surveyor::new(dir)?) } else { None };
    Ok(JournalReader { surveyor, segment: None, pos: 0, end: 0, after, done: false })
}

/// Iterator of journaled events; see [`read_events`]. After an error it ends.
#[derive(Debug)]
pub struct JournalReader {
    /// `None` for a missing dir.
    surveyor: Option<Surveyor>,
    /// The loaded segment's position in the survey.
    segment: Option<usize>,
    /// The next record's offset in the loaded segment's data region.
    pos: usize,
    /// The end of the loaded segment's good records.
    end: usize,
    after: Option<Seq>,
    done: bool,
}

impl JournalReader {
    /// Decodes the next event into `event` (reused: recovery's loop moves no event);
    /// `Ok(false)` at the end. After an error or the end it keeps returning `Ok(false)`.
    pub fn next_into(&mut self, event: &mut Event) -> Result<bool, JournalError> {
        if self.done {
            return Ok(false);
        }
        let step = self.step(event);
        if !matches!(step, Ok(true)) {
            self.done = true;
        }
        step
    }

    fn step(&mut self, event: &mut Event) -> Result<bool, JournalError> {
        let Some(surveyor) = self.surveyor.as_mut() else {
            return Ok(false);
        };
        loop {
            if self.pos >= self.end {
                match surveyor.advance()? {
                    Some(at) => {
                        let info = &surveyor.segments()[at];
                        // A segment wholly at or below `after` is verified but not decoded.
                        let wanted = info.scan.last_seq > self.after;
                        (self.segment, self.pos, self.end) =
                            (Some(at), 0, if wanted { info.scan.end } else { 0 });
                        continue;
                    }
                    None => {
                        self.segment = None;
                        return match self.survey_so_far().and_then(Survey::damage) {
                            Some(damage) => Err(damage),
                            None => Ok(false),
                        };
                    }
                }
            }
            let data = &surveyor.data()[..self.end];
            // The survey checked every record below `end` in these very bytes.
            let offset = (super::segment::HEADER + self.pos) as u64;
            let at = self.segment.unwrap_or_default();
            let Some(r) = record::records_from(data, self.pos).next() else {
                // Unreachable: these bytes passed the survey's scan up to `end`.
                return Err(JournalError::Damaged {
                    segment: surveyor.segments()[at].name.clone(),
                    offset,
                    problem: "record framing lost after the scan".into(),
                });
            };
            self.pos += r.framed_len();
            if self.after.is_some_and(|a| r.seq <= a) {
                continue;
            }
            let undecodable = |source| JournalError::Undecodable {
                segment: surveyor.segments()[at].name.clone(),
                offset,
                seq: r.seq.0,
                source,
            };
            codec::decode_into(r.payload, event).map_err(undecodable)?;
            if event.header.seq != r.seq {
                return Err(undecodable(codec::CodecError::InvalidValue {
                    field: "seq",
                    offset: 2,
                    value: event.header.seq.0,
                }));
            }
            return Ok(true);
        }
    }

    fn survey_so_far(&self) -> Option<&Survey> {
        self.surveyor.as_ref().map(Surveyor::survey)
    }

    /// The survey of the segments read, complete once the iteration has ended (`None` for
    /// a missing dir). Recovery hands it to [`super::Journal::open_surveyed`], so the
    /// journal is not read a second time.
    pub(crate) fn into_survey(self) -> Option<Survey> {
        self.surveyor.map(Surveyor::finish)
    }
}

impl Iterator for JournalReader {
    type Item = Result<Event, JournalError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut event = Event::default();
        match self.next_into(&mut event) {
            Ok(true) => Some(Ok(event)),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }
}
