//! Where a restarted engine resumes the relay's stream: right after the last tick its
//! journal holds (event kind 5 carries each tick's stream sequence).
//!
//! Read before the engine opens its journal: the newest snapshot's tail first (a running
//! engine journals stream ticks continually, so the answer is almost always there), the
//! whole journal only when that tail holds none.
//!
//! # Known limitations
//! - With `--retain` pruning the journal, a stream that stayed silent for longer than the
//!   kept journal leaves no stream tick to find: the engine then starts as configured for
//!   an empty journal (`--nats-start`) and says so.

#![forbid(unsafe_code)]

use crate::event::Event;
use crate::journal::{self, JournalError};
use crate::types::Seq;
use std::path::Path;

/// The highest stream sequence journaled in `dir` (`None`: no stream tick there).
pub fn last_stream_seq(dir: &Path) -> Result<Option<u64>, JournalError> {
    if !dir.exists() {
        return Ok(None);
    }
    let newest = journal::snapshot::list(dir)?.last().map(|(seq, _)| *seq);
    if let Some(snapshot) = newest {
        if let Some(found) = scan(dir, Some(snapshot))? {
            return Ok(Some(found));
        }
    }
    scan(dir, None)
}

fn scan(dir: &Path, after: Option<Seq>) -> Result<Option<u64>, JournalError> {
    let mut events = journal::read_events(dir, after)?;
    let mut event = Event::default();
    let mut last = None;
    loop {
        match events.next_into(&mut event) {
            Ok(true) => {
                if event.header.stream_seq != 0 {
                    last = Some(last.unwrap_or(0).max(event.header.stream_seq));
                }
            }
            Ok(false) => return Ok(last),
            // Damage in the middle: the engine's own open reports it (or keeps what
            // precedes it with --accept-damaged-journal, which is what was read here).
            Err(JournalError::Damaged { .. }) => return Ok(last),
            Err(e) => return Err(e),
        }
    }
}
