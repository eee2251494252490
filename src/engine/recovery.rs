//! Crash-only restart: the newest good snapshot, then the journal after it, replayed
//! through the same stage code that ran live.

#![forbid(unsafe_code)]

use crate::engine::stages::split_snapshot;
use crate::event::{Event, StageOutput};
use crate::exec::{Exec, ExecConfig, ExecSnapshotError};
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
}

/// What recovery found and did.
#[derive(Debug)]
pub struct RecoveryReport {
    /// The journal's open report (records, torn tail, damage).
    pub journal: OpenReport,
    /// The snapshot used, if any.
    pub snapshot_seq: Option<Seq>,
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

/// Snapshot + one pass over the journal. With `accept_damage`, damage in the middle ends
/// the replay where the good records end (the state then holds exactly what `open` keeps)
/// instead of failing. Also returns the journal's survey, complete, for
/// [`Journal::open_surveyed`] (`None` when the dir does not exist).
fn replay(
    dir: &std::path::Path,
    exec_config: &ExecConfig,
    instruments: &Arc<InstrumentMaster>,
    accept_damage: bool,
) -> Result<(Rebuilt, Option<Survey>), RecoveryError> {
    let mut exec = Exec::new(exec_config.clone(), Arc::clone(instruments));
    let mut mtm = Mtm::new(instruments.len(), exec.funds());
    let mut snapshot_seq = None;
    if let Some((seq, bytes)) = journal::latest_snapshot(dir)? {
        let bad = |why: String| RecoveryError::Snapshot { seq: seq.0, why };
        let (e, m) = split_snapshot(&bytes).ok_or_else(|| bad("truncated".into()))?;
        match Exec::restore(exec_config.clone(), Arc::clone(instruments), e) {
            Ok(restored) => {
                exec = restored;
                mtm = Mtm::restore(m).map_err(|x| bad(x.to_string()))?;
                snapshot_seq = Some(seq);
            }
            // Written by another build (its state layout differs): the journal is never pruned,
            // so replaying it from the start rebuilds the same state in this build's format.
            Err(ExecSnapshotError::Version { found, expected }) => eprintln!(
                "warning: snapshot at seq {} has format version {found} (this build reads \
                 {expected}); replaying the journal from the start",
                seq.0
            ),
            Err(x) => return Err(bad(x.to_string())),
        }
    }
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
    Ok((Rebuilt { exec, mtm, snapshot_seq, replayed, last_seq }, events.into_survey()))
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
            replayed: r.replayed,
            next_seq: Seq(next),
        },
    })
}
