//! Reading the journal back, for recovery and `tickfill replay`: read-only, one pass, with
//! the same torn-tail / damage verdict as [`super::Journal::open`].
//!
//! Each segment is read once and CRC-checked by the survey ([`super::survey::Surveyor`]);
//! its records are then decoded from the same bytes, so recovery costs one read and one
//! CRC per record. The survey runs on its own thread one segment ahead of the decoding
//! (`tickfill-journal-read`, a rendezvous channel, two segment buffers recycled), so on
//! two cores reading and checking segment N+1 overlaps decoding and replaying segment N.
//!
//! A consequence of the single pass: damage in a later segment is reported when the reader
//! reaches it, after the good records before it have been yielded. Recovery discards its
//! state on that error, so nothing built on damaged data survives.

#![forbid(unsafe_code)]

use super::codec;
use super::error::JournalError;
use super::record;
use super::survey::{Survey, Surveyor};
use crate::event::Event;
use crate::types::Seq;
use crossbeam_channel::{Receiver, Sender};
use std::path::Path;

/// A segment the survey thread has read and scanned.
#[derive(Debug)]
struct Loaded {
    /// Its name, for errors.
    name: String,
    /// The whole file.
    bytes: Vec<u8>,
    /// The end of its good records in the data region.
    end: usize,
    /// Its last good sequence.
    last_seq: Option<Seq>,
}

/// What the survey thread sends: segments in order, then the complete survey (or the
/// error that stopped it).
#[derive(Debug)]
enum SurveyStep {
    Segment(Loaded),
    Done(Result<Survey, JournalError>),
}

/// Opens an iterator over every journaled event in `dir` with a sequence above `after`
/// (all when `None`), in order. A torn tail ends the iteration quietly (the writer's
/// `open` repairs it); damage in the middle is an error item where it is found, and ends
/// the iteration. Never modifies a file. A missing dir reads as an empty journal.
pub fn read_events(dir: &Path, after: Option<Seq>) -> Result<JournalReader, JournalError> {
    let mut reader = JournalReader {
        segments: None,
        recycle: None,
        current: None,
        pos: 0,
        survey: None,
        after,
        done: false,
        halts: Vec::new(),
    };
    if !dir.exists() {
        return Ok(reader);
    }
    let surveyor = Surveyor::new(dir)?;
    let (tx, rx) = crossbeam_channel::bounded(0);
    let (recycle_tx, recycle_rx) = crossbeam_channel::bounded(1);
    std::thread::Builder::new()
        .name("tickfill-journal-read".into())
        .spawn(move || survey_ahead(surveyor, &tx, &recycle_rx))
        .map_err(JournalError::io("spawn the journal reader for", dir))?;
    reader.segments = Some(rx);
    reader.recycle = Some(recycle_tx);
    Ok(reader)
}

/// The survey thread: scans segment after segment, handing each one's bytes over, until
/// the survey is complete or the reader is gone.
fn survey_ahead(mut surveyor: Surveyor, tx: &Sender<SurveyStep>, recycle: &Receiver<Vec<u8>>) {
    loop {
        let msg = match surveyor.advance() {
            Ok(Some(at)) => {
                let info = &surveyor.segments()[at];
                let (name, end, last_seq) = (info.name.clone(), info.scan.end, info.scan.last_seq);
                let bytes = surveyor.swap_buf(recycle.try_recv().unwrap_or_default());
                SurveyStep::Segment(Loaded { name, bytes, end, last_seq })
            }
            Ok(None) => {
                let _ = tx.send(SurveyStep::Done(Ok(surveyor.finish())));
                return;
            }
            Err(e) => {
                let _ = tx.send(SurveyStep::Done(Err(e)));
                return;
            }
        };
        if tx.send(msg).is_err() {
            return; // the reader was dropped
        }
    }
}

/// Iterator of journaled events; see [`read_events`]. After an error it ends.
#[derive(Debug)]
pub struct JournalReader {
    /// Segments from the survey thread; `None` for a missing dir.
    segments: Option<Receiver<SurveyStep>>,
    /// Spent buffers go back to the survey thread.
    recycle: Option<Sender<Vec<u8>>>,
    /// The segment being decoded.
    current: Option<Loaded>,
    /// The next record's offset in the current segment's data region.
    pos: usize,
    /// The survey, once the thread has finished it.
    survey: Option<Survey>,
    after: Option<Seq>,
    done: bool,
    /// Halt records passed so far (not yielded as events).
    halts: Vec<codec::HaltRecord>,
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
        loop {
            let Some(seg) = self.current.as_ref().filter(|s| self.pos < s.end) else {
                if !self.next_segment()? {
                    return match self.survey.as_ref().and_then(Survey::damage) {
                        Some(damage) => Err(damage),
                        None => Ok(false),
                    };
                }
                continue;
            };
            let header = super::segment::HEADER;
            let offset = (header + self.pos) as u64;
            // The survey checked every record below `end` in these very bytes.
            let data = seg.bytes.get(header..header + seg.end).unwrap_or_default();
            let Some(r) = record::records_from(data, self.pos).next() else {
                return Err(JournalError::Damaged {
                    segment: seg.name.clone(),
                    offset,
                    problem: "record framing lost after the scan".into(),
                });
            };
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
            if codec::is_halt(r.payload) {
                let halt = codec::decode_halt(r.payload).map_err(undecodable)?;
                if halt.seq != r.seq {
                    return Err(undecodable(codec::CodecError::InvalidValue {
                        field: "seq",
                        offset: 2,
                        value: halt.seq.0,
                    }));
                }
                self.halts.push(halt);
                continue;
            }
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

    /// Takes the next segment from the survey thread (returning the spent buffer);
    /// `false` once the survey is complete.
    fn next_segment(&mut self) -> Result<bool, JournalError> {
        if let (Some(spent), Some(recycle)) = (self.current.take(), &self.recycle) {
            let _ = recycle.try_send(spent.bytes);
        }
        self.pos = 0;
        let Some(rx) = &self.segments else { return Ok(false) };
        match rx.recv() {
            Ok(SurveyStep::Segment(seg)) => {
                // A segment wholly at or below `after` is verified but not decoded.
                let wanted = seg.last_seq > self.after;
                self.current = Some(Loaded { end: if wanted { seg.end } else { 0 }, ..seg });
                Ok(true)
            }
            Ok(SurveyStep::Done(survey)) => {
                self.segments = None;
                self.survey = Some(survey?);
                Ok(false)
            }
            Err(_) => Err(JournalError::io("read", Path::new("journal"))(std::io::Error::other(
                "the journal reader thread stopped",
            ))),
        }
    }

    /// The halt records read so far (event kind 4): they are not events, so the iteration
    /// passes over them and keeps them here for recovery to report.
    pub fn halts(&self) -> &[codec::HaltRecord] {
        &self.halts
    }

    /// The survey of the segments read, complete once the iteration has ended without an
    /// I/O error (`None` for a missing dir). Recovery hands it to
    /// [`super::Journal::open_surveyed`], so the journal is not read a second time.
    pub(crate) fn into_survey(self) -> Option<Survey> {
        self.survey
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
