//! Retention: how many snapshots are kept, and the journal segments they make unneeded.
//!
//! After each snapshot is written, snapshots beyond the policy are deleted (by count, or
//! by age with the newest [`MIN_KEEP`] always kept), and then every journal segment whose
//! records all lie at or below the **oldest kept** snapshot is deleted: recovery can fall
//! back to any kept snapshot (see `engine::recovery`), and each one only needs the
//! journal after it. So a restart replays at most the events since the oldest kept
//! snapshot, and the disk holds that much journal.
//!
//! Before deleting segments the last sequence they held is written to `RETIRED`
//! (synced): from then on a full replay from an empty state is impossible, and recovery
//! says so instead of silently rebuilding a partial state.
//!
//! # Invariants
//! - The segment being written (the highest index) is never deleted.
//! - A segment is deleted only when the next segment's first record is at or below the
//!   oldest kept snapshot's sequence (so every record of it is too).

#![forbid(unsafe_code)]

use super::error::JournalError;
use super::{record, segment, snapshot};
use crate::types::Seq;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

/// The fewest snapshots kept: the newest may be ahead of what the journal committed
/// (then recovery passes over it), so at least one older one must remain.
pub const MIN_KEEP: usize = 2;
/// The file naming the last retired sequence.
pub const RETIRED_FILE: &str = "RETIRED";

/// Which snapshots to keep.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Retain {
    /// Every journal segment (the whole history stays for `tickfill replay` and a full
    /// replay), and the newest [`snapshot::KEEP`] snapshots. The default: deleting
    /// history is the operator's choice.
    #[default]
    All,
    /// The newest `n` (at least [`MIN_KEEP`]).
    Count(usize),
    /// Those younger than this (and always the newest [`MIN_KEEP`]).
    Age(Duration),
}

/// A `--retain` value that is neither a count nor a duration.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "--retain `{0}`: give `all`, a snapshot count of at least {MIN_KEEP} (e.g. 3) or an age (e.g. 6h)"
)]
pub struct ParseRetainError(pub String);

impl FromStr for Retain {
    type Err = ParseRetainError;

    fn from_str(s: &str) -> Result<Retain, ParseRetainError> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("all") {
            return Ok(Retain::All);
        }
        if let Ok(n) = t.parse::<usize>() {
            return if n >= MIN_KEEP {
                Ok(Retain::Count(n))
            } else {
                Err(ParseRetainError(s.into()))
            };
        }
        match humantime::parse_duration(t) {
            Ok(d) if !d.is_zero() => Ok(Retain::Age(d)),
            _ => Err(ParseRetainError(s.into())),
        }
    }
}

/// The last sequence retention removed from the journal, if it ever removed any.
pub fn retired_through(dir: &Path) -> Result<Option<u64>, JournalError> {
    let path = dir.join(RETIRED_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => text.trim().parse().map(Some).map_err(|_| {
            JournalError::io("parse", &path)(std::io::Error::other(
                "RETIRED must hold one sequence number",
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(JournalError::io("read", &path)(e)),
    }
}

/// What [`apply`] removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Retired {
    /// Snapshot files deleted.
    pub snapshots: usize,
    /// Segment files deleted.
    pub segments: usize,
}

/// Deletes the snapshots beyond `retain` (as of `now`), then the segments wholly at or
/// below the oldest kept snapshot.
pub fn apply(dir: &Path, retain: Retain, now: SystemTime) -> Result<Retired, JournalError> {
    let all = snapshot::list(dir)?;
    let keep_from = match retain {
        Retain::All => all.len().saturating_sub(snapshot::KEEP),
        Retain::Count(n) => all.len().saturating_sub(n.max(MIN_KEEP)),
        Retain::Age(age) => {
            let young = |p: &Path| {
                std::fs::metadata(p)
                    .and_then(|m| m.modified())
                    .map(|t| now.duration_since(t).unwrap_or_default() < age)
                    .unwrap_or(true)
            };
            let first_young = all.iter().position(|(_, p)| young(p)).unwrap_or(all.len());
            first_young.min(all.len().saturating_sub(MIN_KEEP))
        }
    };
    let mut done = Retired::default();
    for (_, old) in &all[..keep_from] {
        std::fs::remove_file(old).map_err(JournalError::io("remove old snapshot", old))?;
        done.snapshots += 1;
    }
    match (retain, all.get(keep_from)) {
        (Retain::All, _) | (_, None) => {}
        (_, Some(&(oldest_kept, _))) => done.segments = retire_segments(dir, oldest_kept)?,
    }
    if done.snapshots + done.segments > 0 {
        segment::sync_dir(dir)?;
    }
    Ok(done)
}

/// The first record's sequence of a segment, if it has one.
fn first_seq(path: &Path) -> Result<Option<Seq>, JournalError> {
    let file = std::fs::File::open(path).map_err(JournalError::io("open", path))?;
    let mut buf = vec![0u8; record::HEADER + super::codec::MAX_ENCODED];
    let n =
        file.read_at(&mut buf, segment::HEADER as u64).map_err(JournalError::io("read", path))?;
    Ok(record::read_at(&buf[..n], 0).map(|r| r.seq))
}

/// Deletes segments whose every record is at or below `upto`; returns how many.
fn retire_segments(dir: &Path, upto: Seq) -> Result<usize, JournalError> {
    let segments = segment::list(dir)?;
    let mut doomed = Vec::new();
    let mut retired_through = None;
    for pair in segments.windows(2) {
        let ((_, path), (_, next)) = (&pair[0], &pair[1]);
        match first_seq(next)? {
            Some(next_first) if next_first <= upto => {
                doomed.push(path.clone());
                retired_through = Some(next_first.0 - 1);
            }
            _ => break,
        }
    }
    let Some(through) = retired_through else { return Ok(0) };
    let marker = dir.join(RETIRED_FILE);
    let tmp = dir.join(format!("{RETIRED_FILE}.tmp"));
    let write = std::fs::File::create(&tmp).and_then(|mut f| {
        std::io::Write::write_all(&mut f, format!("{through}\n").as_bytes())?;
        f.sync_all()
    });
    write.map_err(JournalError::io("write", &tmp))?;
    std::fs::rename(&tmp, &marker).map_err(JournalError::io("rename", &marker))?;
    segment::sync_dir(dir)?;
    for path in &doomed {
        std::fs::remove_file(path).map_err(JournalError::io("remove retired segment", path))?;
    }
    Ok(doomed.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retain_parses_counts_and_ages_and_names_the_fix() {
        assert_eq!("5".parse(), Ok(Retain::Count(5)));
        assert_eq!("6h".parse(), Ok(Retain::Age(Duration::from_secs(6 * 3600))));
        for bad in ["1", "0", "soon", "0s", ""] {
            let e = bad.parse::<Retain>().unwrap_err().to_string();
            assert!(e.contains("--retain") && e.contains("at least 2"), "{bad}: {e}");
        }
    }
}
