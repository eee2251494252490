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

use crate::engine::wiring::split_snapshot;
use crate::event::{Event, StageOutput};
use crate::exec::stage::ExecStage;
use crate::exec::{Exec, ExecConfig};
use crate::health::Health;
use crate::instruments::InstrumentMaster;
use crate::interest::Interest;
use crate::journal::{self, DirLock, Journal, JournalConfig, JournalError, OpenReport, Survey};
use crate::mtm::Mtm;
use crate::mtm::stage::MtmStage;
use crate::ring::stage::Guarded;
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
    /// Poison inputs replay skipped (see [`super::quarantine`]), as `seq N: why`.
    pub quarantined: Vec<String>,
    /// Halts journaled by earlier runs after the snapshot, as `seq N: why`.
    pub halts: Vec<String>,
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
        for q in &self.quarantined {
            write!(f, "QUARANTINED (skipped) input at {q}; ")?;
        }
        for h in &self.halts {
            write!(f, "an earlier run halted at {h}; ")?;
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
    /// Poison inputs skipped, as `seq N: why`.
    pub quarantined: Vec<String>,
    /// Halt records after the snapshot, as `seq N: why`.
    pub halts: Vec<String>,
}

/// Rebuilds state read-only: the newest good snapshot, then every journaled event after
/// it through the same stage code that ran live. Damage in the middle is an error naming
/// the segment and offset; a torn tail ends the replay where the good records end.
pub fn rebuild(
    dir: &std::path::Path,
    exec_config: &ExecConfig,
    instruments: &Arc<InstrumentMaster>,
) -> Result<Rebuilt, RecoveryError> {
    Ok(replay(dir, exec_config, instruments, false, Poison::Skip)?.0)
}

/// What replay does with a poison input (one a stage panics on).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Poison {
    /// Skip it in this replay only (read-only replay changes no file).
    Skip,
    /// Skip it and add it to the dir's quarantine file (recovery).
    Quarantine,
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
    poison: Poison,
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
    let quarantine_io = |e: std::io::Error| {
        RecoveryError::Journal(JournalError::io("use the quarantine file in", dir)(e))
    };
    let mut quarantine = if dir.exists() {
        super::quarantine::load(dir).map_err(quarantine_io)?
    } else {
        Default::default()
    };
    for (seq, path) in candidates.into_iter().rev() {
        let base = || restore(seq, &path, exec_config, instruments);
        if let Err(why) = base() {
            skip(seq, why);
            continue;
        }
        let (mut rebuilt, survey) = replay_quarantining(
            dir,
            base,
            Some(seq),
            accept_damage,
            &mut quarantine,
            poison,
            instruments.len(),
        )?;
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
    let fresh = || {
        let exec = Exec::new(exec_config.clone(), Arc::clone(instruments));
        let mtm = Mtm::new(instruments.len(), exec.funds());
        Ok((exec, mtm))
    };
    let (mut rebuilt, survey) = replay_quarantining(
        dir,
        fresh,
        None,
        accept_damage,
        &mut quarantine,
        poison,
        instruments.len(),
    )?;
    rebuilt.skipped_snapshots = skipped;
    Ok((rebuilt, survey))
}

/// Replays onto the base `base()` builds; when a stage panics on an input, quarantines it
/// and replays again from a fresh base without it (so no half-applied input stays in the
/// state), until a replay passes.
fn replay_quarantining(
    dir: &std::path::Path,
    base: impl Fn() -> Result<(Exec, Mtm), String>,
    snapshot_seq: Option<Seq>,
    accept_damage: bool,
    quarantine: &mut std::collections::BTreeMap<u64, String>,
    poison: Poison,
    symbols: usize,
) -> Result<(Rebuilt, Option<Survey>), RecoveryError> {
    loop {
        let state = base()
            .map_err(|why| RecoveryError::Snapshot { seq: snapshot_seq.map_or(0, |s| s.0), why })?;
        match replay_from(dir, state, snapshot_seq, accept_damage, quarantine, symbols)? {
            Replayed::Done(done) => return Ok(*done),
            Replayed::Poison { seq, why } => {
                let kept = match poison {
                    Poison::Quarantine => format!(
                        "replay skips it from now on (listed in {}/{})",
                        dir.display(),
                        super::quarantine::FILE
                    ),
                    Poison::Skip => "skipped in this read-only replay (not recorded)".to_string(),
                };
                tracing::error!(error = %why, kept = %kept, "recovery: QUARANTINED the journaled input at seq {seq}");
                if poison == Poison::Quarantine {
                    super::quarantine::add(dir, seq, &why).map_err(|e| {
                        RecoveryError::Journal(JournalError::io(
                            "write the quarantine file in",
                            dir,
                        )(e))
                    })?;
                }
                quarantine.insert(seq, why);
            }
        }
    }
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

/// How one replay pass ended.
enum Replayed {
    /// Every event applied (or skipped as quarantined).
    Done(Box<(Rebuilt, Option<Survey>)>),
    /// A stage panicked on the event at `seq`: the state is spoilt, start over without it.
    Poison {
        /// The event's sequence.
        seq: u64,
        /// The panic, as the stage guard reported it.
        why: String,
    },
}

/// Replays every journaled event after `snapshot_seq` onto `base`, in one pass, through
/// the same guarded stage adapters the live engine runs (execution, then MTM), skipping
/// the quarantined sequences.
fn replay_from(
    dir: &std::path::Path,
    (exec, mtm): (Exec, Mtm),
    snapshot_seq: Option<Seq>,
    accept_damage: bool,
    quarantine: &std::collections::BTreeMap<u64, String>,
    symbols: usize,
) -> Result<Replayed, RecoveryError> {
    // Replay's own health: a panic marks it, and is then a poison input, not a halt.
    let health = Arc::new(Health::new());
    let interest = Arc::new(Interest::new(symbols));
    let mut exec =
        Guarded::new(ExecStage::new(exec, Arc::clone(&health), interest), Arc::clone(&health));
    let mut mtm = Guarded::new(MtmStage { mtm }, Arc::clone(&health));
    let mut out = StageOutput::new();
    let mut replayed = 0;
    let mut last_seq = snapshot_seq;
    let mut quarantined = Vec::new();
    let mut events = journal::read_events(dir, snapshot_seq)?;
    let mut event = Event::default();
    loop {
        match events.next_into(&mut event) {
            Ok(true) => {}
            Ok(false) => break,
            Err(JournalError::Damaged { .. }) if accept_damage => break,
            Err(e) => return Err(e.into()),
        }
        last_seq = Some(event.header.seq);
        if let Some(why) = quarantine.get(&event.header.seq.0) {
            quarantined.push(format!("seq {}: {why}", event.header.seq.0));
            continue;
        }
        out.clear();
        exec.on_event(&event, &mut out);
        mtm.on_event(&event, &mut out);
        if health.refusing_orders() {
            let why = health.reason().unwrap_or_default();
            return Ok(Replayed::Poison { seq: event.header.seq.0, why });
        }
        replayed += 1;
    }
    let halts = events.halts().iter().map(|h| format!("seq {}: {}", h.seq.0, h.why)).collect();
    let rebuilt = Rebuilt {
        exec: exec.into_inner().exec,
        mtm: mtm.into_inner().mtm,
        snapshot_seq,
        skipped_snapshots: Vec::new(),
        replayed,
        last_seq,
        quarantined,
        halts,
    };
    Ok(Replayed::Done(Box::new((rebuilt, events.into_survey()))))
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
    let (r, survey) =
        replay(dir, exec_config, instruments, journal_config.accept_damaged, Poison::Quarantine)?;
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
            quarantined: r.quarantined,
            halts: r.halts,
        },
    })
}
