//! Crash-only restart: the newest good snapshot, then the journal after it, replayed
//! through the same stage code that ran live.

#![forbid(unsafe_code)]

use crate::engine::stages::split_snapshot;
use crate::event::{FundsView, StageOutput};
use crate::exec::{Exec, ExecConfig};
use crate::instruments::InstrumentMaster;
use crate::journal::{self, Journal, JournalConfig, OpenReport};
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
        write!(f, "journal: {}; ", self.journal)?;
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

/// Opens the journal and rebuilds state from snapshot + replay.
pub fn recover(
    journal_config: &JournalConfig,
    exec_config: &ExecConfig,
    instruments: &Arc<InstrumentMaster>,
) -> Result<Recovered, RecoveryError> {
    let (journal, open_report) = Journal::open(journal_config)?;
    let mut exec = Exec::new(exec_config.clone(), Arc::clone(instruments));
    let mut mtm = Mtm::new(instruments.len(), exec.funds());
    let mut snapshot_seq = None;
    if let Some((seq, bytes)) = journal::latest_snapshot(&journal_config.dir)? {
        let bad = |why: String| RecoveryError::Snapshot { seq: seq.0, why };
        let (e, m) = split_snapshot(&bytes).ok_or_else(|| bad("truncated".into()))?;
        exec = Exec::restore(exec_config.clone(), Arc::clone(instruments), e)
            .map_err(|x| bad(x.to_string()))?;
        mtm = Mtm::restore(m).map_err(|x| bad(x.to_string()))?;
        snapshot_seq = Some(seq);
    }
    let mut out = StageOutput::new();
    let mut replayed = 0;
    let mut last = snapshot_seq;
    for event in journal::read_events(&journal_config.dir, snapshot_seq)? {
        let event = event?;
        out.clear();
        exec.apply(&event, &mut out);
        mtm.apply(&event, &mut out);
        replayed += 1;
        last = Some(event.header.seq);
    }
    let next = last.map_or(1, |s| s.0 + 1).max(journal.last_seq().map_or(1, |s| s.0 + 1));
    Ok(Recovered {
        exec,
        mtm,
        journal,
        report: RecoveryReport {
            journal: open_report,
            snapshot_seq,
            replayed,
            next_seq: Seq(next),
        },
    })
}

/// Starting funds of a fresh engine (for MTM before any event).
pub fn starting_funds(config: &ExecConfig) -> FundsView {
    FundsView { available: config.starting_capital, ..FundsView::default() }
}
