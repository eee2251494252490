//! The four stages wired in ring order from their parts: the one place this is done (the
//! engine, the harness's baselines, the benches and the tests all call [`wire`]). Each
//! stage's ring adapter lives in its own folder ([`crate::exec::stage`],
//! [`crate::mtm::stage`], [`crate::fanout::stage`], [`crate::journal::stage`]).

#![forbid(unsafe_code)]

use crate::exec::Exec;
use crate::exec::stage::ExecStage;
use crate::fanout::Fanout;
use crate::fanout::stage::FanoutStage;
use crate::fanout::updates::UpdateSignal;
use crate::health::Health;
use crate::interest::Interest;
use crate::journal::Journal;
use crate::journal::stage::JournalStage;
use crate::latency::SharedLatency;
use crate::mtm::Mtm;
use crate::mtm::stage::MtmStage;
use crate::reply::ReplyRouter;
use std::path::PathBuf;
use std::sync::Arc;

/// Splits snapshot bytes into execution's and MTM's parts: `[u64 LE exec_len][exec][mtm]`
/// (execution writes the length and its part, MTM appends its own).
pub fn split_snapshot(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
    let len = usize::try_from(len).ok()?;
    let rest = &bytes[8..];
    (len <= rest.len()).then(|| rest.split_at(len))
}

/// What the four stages are built from: their state (recovered, or fresh in benches and
/// tests) and the handles they share with the rest of the engine.
#[derive(Debug)]
pub struct StageParts {
    /// Execution state.
    pub exec: Exec,
    /// MTM state.
    pub mtm: Mtm,
    /// The journal, open for appending.
    pub journal: Journal,
    /// Where snapshots go.
    pub data_dir: PathBuf,
    /// The latest quote per symbol, written by fanout.
    pub board: Arc<crate::fanout::quotes::QuoteBoard>,
    /// Order updates to the WebSocket server.
    pub updates: crate::fanout::updates::UpdateSender,
    /// Wakes the order-update reader after a commit.
    pub update_signal: Arc<UpdateSignal>,
    /// Reply waiters.
    pub router: Arc<ReplyRouter>,
    /// Health, shared.
    pub health: Arc<Health>,
    /// Published latency histograms.
    pub latency: Arc<SharedLatency>,
    /// Which symbols need quotes.
    pub interest: Arc<Interest>,
    /// Every subscribed tick, in order, to the WebSocket server (`None`: conflated
    /// quotes from the board only, as in benches that have no WebSocket clients).
    pub ticks: Option<crate::fanout::ticks::TickSender>,
}

/// The four stages in ring order, wired from their parts: the one place this is done
/// (the engine, the harness's baselines, the benches and the tests all call it).
pub fn wire(p: StageParts) -> (ExecStage, MtmStage, FanoutStage, JournalStage) {
    (
        ExecStage::new(p.exec, Arc::clone(&p.health), p.interest),
        MtmStage { mtm: p.mtm },
        FanoutStage {
            fanout: match p.ticks {
                Some(ticks) => Fanout::new(p.board, p.updates).with_ticks(ticks),
                None => Fanout::new(p.board, p.updates),
            },
        },
        JournalStage::new(p.journal, p.data_dir, p.router, p.health, p.latency, p.update_signal),
    )
}
