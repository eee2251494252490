//! Crash-only restart: the newest good snapshot, then the journal after it, replayed
//! through the same stage code that ran live.
//!
//! # Which snapshot
//! Newest first, a snapshot is used when it is intact, restores, and is **committed**: the
//! journal holds a record after its sequence. The journal keeps a prefix of what was
//! appended (a power loss cuts a tail, see `journal::survey`), so a record after the
//! snapshot proves every record before it is there too; a snapshot written in a batch
//! whose journal records were then lost is never trusted (its state would hold commands
//! no client was told were accepted). Otherwise the next older snapshot is tried, then a
//! full replay; when retention has removed the journal's start ([`journal::retention`])
//! no full replay is possible and recovery refuses with a clear error. Every snapshot
//! passed over is reported and counted in the dir's snapshot status (`/health`).

#![forbid(unsafe_code)]

use crate::engine::stages::split_snapshot;
use crate::event::{Event, StageOutput};
use crate::exec::{Exec, ExecConfig};
use crate::instruments::InstrumentMaster;
use crate::journal::{self, DirLock, Journal, JournalConfig, JournalError, OpenReport, Survey};
use crate::mtm::Mtm;
use crate::types::Seq;
use std::sync::Arc;
use thiserror::Error;

/// Why the engine could not rebuild its state.
#[derive(Debug, Error)]
pub enum RecoveryError {
    /// The journal refused to open (damage in the middle, disk full, I/O).
    #[error("journal: {0}")]
    Journal(#[from] journal::JournalError),
    /// The newest snapshot is unreadable; move it aside to replay from older data.
    #[error("snapshot at seq {seq} cannot be restored: {why}")]
    Snapshot {
        /// Its sequence.
        seq: u64,
        /// What failed.
        why: String,
    },
    /// No snapshot is usable and the journal no longer starts at the beginning (retention
    /// removed its first segments): restore a snapshot file from a backup.
    #[error(
        "no usable snapshot ({skipped}) and the journal before seq {retired_through} was \
         removed by retention: restore a snapshot from a backup into the data dir"
    )]
    NoBase {
        /// The snapshots passed over, and why.
        skipped: String,
        /// The last sequence retention removed.
        retired_through: u64,
    },
}

/// What recovery found and did.
#[derive(Debug)]
pub struct RecoveryReport {
    /// The journal's open report (records, torn tail, damage).
    pub journal: OpenReport,
    /// The snapshot used, if any.
    pub snapshot_seq: Option<Seq>,
    /// Newer snapshots passed over, and why.
    pub skipped_snapshots: Vec<String>,
    /// Events replayed after the snapshot.
    pub replayed: u64,
    /// The sequence the next event gets.
    pub next_seq: Seq,
}

impl std::fmt::Display for RecoveryReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}; ", self.journal)?;
        match self.snapshot_seq {
            Some(s) => write!(f, "snapshot at seq {}; ", s.0)?,
            None => write!(f, "no snapshot; ")?,
        }
        for skipped in &self.skipped_snapshots {
            write!(f, "passed over {skipped}; ")?;
        }
        write!(f, "replayed {} events; next seq {}", self.replayed, self.next_seq.0)
    }
}

/// Rebuilt state, ready to run.
#[derive(Debug)]
pub struct Recovered {
    /// Execution state.
    pub exec: Exec,
    /// MTM state.
    pub mtm: Mtm,
    /// The open journal, positioned for appending.
    pub journal: Journal,
    /// What happened.
    pub report: RecoveryReport,
}

/// State rebuilt from a data dir without touching it (for `tickfill replay`).
#[derive(Debug)]
pub struct Rebuilt {
    /// Execution state.
    pub exec: Exec,
    /// MTM state.
    pub mtm: Mtm,
    /// The snapshot used, if any.
    pub snapshot_seq: Option<Seq>,
    /// Newer snapshots passed over, and why.
    pub skipped_snapshots: Vec<String>,
    /// Events replayed after the snapshot.
    pub replayed: u64,
    /// The last sequence seen (snapshot or journal).
    pub last_seq: Option<Seq>,
}

/// Rebuilds state read-only: the newest good snapshot, then every journaled event after
/// it through the same stage code that ran live. Damage in the middle is an error naming
/// the segment and offset; a torn tail ends the replay where the good records end.
pub fn rebuild(
    dir: &std::path::Path,
    exec_config: &ExecConfig,
    instruments: &Arc<InstrumentMaster>,
) -> Result<Rebuilt, RecoveryError> {
    Ok(replay(dir, exec_config, instruments, false)?.0)
}

/// Snapshot + one pass over the journal, falling back to older snapshots (see the module
/// doc). With `accept_damage`, damage in the middle ends the replay where the good records
/// end (the state then holds exactly what `open` keeps) instead of failing. Also returns
/// the journal's survey, complete, for [`Journal::open_surveyed`] (`None` when the dir
/// does not exist).
fn replay(
    dir: &std::path::Path,
    exec_config: &ExecConfig,
    instruments: &Arc<InstrumentMaster>,
    accept_damage: bool,
) -> Result<(Rebuilt, Option<Survey>), RecoveryError> {
    let candidates = if dir.exists() { journal::snapshot::list(dir)? } else { Vec::new() };
    let status = journal::snapshot::status(dir);
    let mut skipped = Vec::new();
    let mut skip = |seq: Seq, why: String| {
        let text = format!("snapshot at seq {}: {why}", seq.0);
        tracing::warn!(seq = seq.0, error = %why, "recovery: passing over a snapshot");
        status.skipped_at_recovery.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        status.note_error(text.clone());
        skipped.push(text);
    };
    for (seq, path) in candidates.into_iter().rev() {
        let base = match restore(seq, &path, exec_config, instruments) {
            Ok(base) => base,
            Err(why) => {
                skip(seq, why);
                continue;
            }
        };
        let (mut rebuilt, survey) = replay_from(dir, base, Some(seq), accept_damage)?;
        let journal_last = survey.as_ref().and_then(Survey::last_seq);
        if journal_last.is_some_and(|last| last > seq) {
            rebuilt.skipped_snapshots = skipped;
            return Ok((rebuilt, survey));
        }
        let ends = journal_last.map_or("is empty".to_string(), |l| format!("ends at seq {}", l.0));
        skip(
            seq,
            format!(
                "no journal record follows it (the journal {ends}), so its batch may not have \
                 been committed"
            ),
        );
    }
    if let Some(retired_through) = journal::retention::retired_through(dir)? {
        return Err(RecoveryError::NoBase { skipped: skipped.join("; "), retired_through });
    }
    let fresh = Exec::new(exec_config.clone(), Arc::clone(instruments));
    let mtm = Mtm::new(instruments.len(), fresh.funds());
    let (mut rebuilt, survey) = replay_from(dir, (fresh, mtm), None, accept_damage)?;
    rebuilt.skipped_snapshots = skipped;
    Ok((rebuilt, survey))
}

/// Restores the state of the snapshot file at `path` (named for `seq`).
fn restore(
    seq: Seq,
    path: &std::path::Path,
    exec_config: &ExecConfig,
    instruments: &Arc<InstrumentMaster>,
) -> Result<(Exec, Mtm), String> {
    let bytes = journal::snapshot::read_valid(seq, path)?;
    let (e, m) = split_snapshot(&bytes).ok_or("truncated")?;
    let exec = Exec::restore(exec_config.clone(), Arc::clone(instruments), e)
        .map_err(|x| x.to_string())?;
    let mtm = Mtm::restore(m).map_err(|x| x.to_string())?;
    Ok((exec, mtm))
}

/// Replays every journaled event after `snapshot_seq` onto `base`, in one pass.
fn replay_from(
    dir: &std::path::Path,
    (mut exec, mut mtm): (Exec, Mtm),
    snapshot_seq: Option<Seq>,
    accept_damage: bool,
) -> Result<(Rebuilt, Option<Survey>), RecoveryError> {
    let mut out = StageOutput::new();
    let mut replayed = 0;
    let mut last_seq = snapshot_seq;
    let mut events = journal::read_events(dir, snapshot_seq)?;
    let mut event = Event::default();
    loop {
        match events.next_into(&mut event) {
            Ok(true) => {}
            Ok(false) => break,
            Err(JournalError::Damaged { .. }) if accept_damage => break,
            Err(e) => return Err(e.into()),
        }
        out.clear();
        exec.apply(&event, &mut out);
        mtm.apply(&event, &mut out);
        replayed += 1;
        last_seq = Some(event.header.seq);
    }
    let rebuilt =
        Rebuilt { exec, mtm, snapshot_seq, skipped_snapshots: Vec::new(), replayed, last_seq };
    Ok((rebuilt, events.into_survey()))
}

/// Opens the journal (repairing a torn tail, refusing damage unless accepted) and
/// rebuilds state from snapshot + replay, reading the journal once: the replay's survey
/// is the one `open` repairs from.
pub fn recover(
    journal_config: &JournalConfig,
    exec_config: &ExecConfig,
    instruments: &Arc<InstrumentMaster>,
) -> Result<Recovered, RecoveryError> {
    let dir = &journal_config.dir;
    // Taken before reading: a second engine on this dir is refused before it reads.
    let lock = DirLock::acquire(dir)?;
    // (After the lock made the dir: the status is keyed by its canonical path.)
    journal::snapshot::status(dir).set_retain(journal_config.retain);
    let (r, survey) = replay(dir, exec_config, instruments, journal_config.accept_damaged)?;
    let survey = survey.ok_or_else(|| {
        journal::JournalError::io("read", dir)(std::io::Error::other("the data dir vanished"))
    })?;
    let (journal, open_report) = Journal::open_surveyed(journal_config, survey, lock)?;
    let next = r.last_seq.map_or(1, |s| s.0 + 1).max(journal.last_seq().map_or(1, |s| s.0 + 1));
    Ok(Recovered {
        exec: r.exec,
        mtm: r.mtm,
        journal,
        report: RecoveryReport {
            journal: open_report,
            snapshot_seq: r.snapshot_seq,
            skipped_snapshots: r.skipped_snapshots,
            replayed: r.replayed,
            next_seq: Seq(next),
        },
    })
}
