//! Poison inputs: journaled events a stage panicked on during replay, kept out of every
//! later replay.
//!
//! Without this, a journaled input that panics a stage (a bug that a new build brings, or
//! one the live run met after journaling the input) would make every restart panic at the
//! same place: a crash loop no restart can leave. Recovery replays through the same
//! guarded stage adapters as the live engine; when one panics, the event's sequence and
//! the panic are appended to `quarantine` in the data dir (synced), the replay starts over
//! from its base without it, and the engine goes on. The file is plain text, one
//! `SEQ WHY` per line, so an operator can read it (and delete a line once the bug is fixed,
//! to have the input replayed again).
//!
//! # Known limitations
//! A quarantined input is gone from the rebuilt state: an order that was acknowledged and
//! then quarantined is not in the orderbook after the restart. That is the price of not
//! crash-looping, and why every quarantine is reported on stderr and in `/health`.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// The file's name in the data dir.
pub const FILE: &str = "quarantine";

/// The quarantined sequences and why, read from `dir` (none when the file is missing).
/// A line that does not parse is reported and ignored.
pub fn load(dir: &Path) -> std::io::Result<BTreeMap<u64, String>> {
    let text = match std::fs::read_to_string(dir.join(FILE)) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(e),
    };
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (seq, why) = line.split_once(' ').unwrap_or((line, ""));
        match seq.parse::<u64>() {
            Ok(seq) => {
                out.insert(seq, why.to_string());
            }
            Err(_) => {
                tracing::warn!(file = FILE, line = ?line, "recovery: ignoring an unreadable quarantine line")
            }
        }
    }
    Ok(out)
}

/// Appends `seq` with `why` (newlines flattened) to the file in `dir`, durably.
pub fn add(dir: &Path, seq: u64, why: &str) -> std::io::Result<()> {
    let path = dir.join(FILE);
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&path)?;
    writeln!(f, "{seq} {}", why.replace(['\n', '\r'], " "))?;
    f.sync_all()?;
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "files are not supported under Miri")]
    fn entries_round_trip_and_a_bad_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path()).unwrap().is_empty());
        add(dir.path(), 7, "stage execution failed\nat seq 7").unwrap();
        add(dir.path(), 12, "another").unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join(FILE))
            .unwrap()
            .write_all(b"not-a-seq x\n")
            .unwrap();
        let q = load(dir.path()).unwrap();
        assert_eq!(q.len(), 2);
        assert_eq!(q[&7], "stage execution failed at seq 7");
        assert_eq!(q[&12], "another");
    }
}
