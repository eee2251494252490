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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Header, Input, Tick};
    use crate::journal::{Journal, JournalConfig};

    fn event(seq: u64, stream_seq: u64) -> Event {
        let input = if seq % 5 == 0 { Input::Timer } else { Input::Tick(Tick::default()) };
        let stream_seq = if matches!(input, Input::Timer) { 0 } else { stream_seq };
        Event { header: Header { seq: Seq(seq), time_ns: 1, recv_ns: 0, stream_seq }, input }
    }

    fn journal(dir: &Path, events: impl IntoIterator<Item = Event>) {
        let (mut j, _) = Journal::open(&JournalConfig::new(dir)).unwrap();
        for e in events {
            j.append(&e).unwrap();
        }
        j.commit().unwrap();
    }

    #[test]
    fn the_position_is_the_last_stream_tick_journaled() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(last_stream_seq(&dir.path().join("none")).unwrap(), None);
        // Ticks 1..=20 from anywhere but the stream: no position.
        journal(dir.path(), (1..=20).map(|s| event(s, 0)));
        assert_eq!(last_stream_seq(dir.path()).unwrap(), None);
        // Then stream ticks at stream sequences 1000 + seq.
        journal(dir.path(), (21..=40).map(|s| event(s, 1000 + s)));
        assert_eq!(last_stream_seq(dir.path()).unwrap(), Some(1039));
        // A snapshot after them with only timers and other ticks behind it: the scan goes
        // back past the snapshot and still finds 1039.
        crate::journal::write_snapshot(dir.path(), Seq(40), b"state").unwrap();
        journal(dir.path(), (41..=45).map(|s| event(s, 0)));
        assert_eq!(last_stream_seq(dir.path()).unwrap(), Some(1039));
        // Stream ticks behind the snapshot are found in its tail.
        journal(dir.path(), (46..=49).map(|s| event(s, 2000 + s)));
        assert_eq!(last_stream_seq(dir.path()).unwrap(), Some(2049));
    }
}
