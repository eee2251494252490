//! The four stages wired alone around an execution state, with a fresh journal and
//! health and nothing upstream (no sequencer, feed or API): what the stage benchmarks
//! push events through (`benches/pipeline.rs` and `tickfill-bench`'s ring-vs-channels
//! baseline), so both measure the same wiring the engine runs.

#![forbid(unsafe_code)]

use super::wiring::{StageParts, wire};
use crate::exec::Exec;
use crate::exec::stage::ExecStage;
use crate::fanout::quotes::QuoteBoard;
use crate::fanout::stage::FanoutStage;
use crate::fanout::updates;
use crate::health::Health;
use crate::interest::Interest;
use crate::journal::stage::JournalStage;
use crate::journal::{Journal, JournalConfig, JournalError};
use crate::latency::SharedLatency;
use crate::mtm::Mtm;
use crate::mtm::stage::MtmStage;
use crate::reply::ReplyRouter;
use std::path::Path;
use std::sync::Arc;

/// The four stages, in ring order.
pub type Stages = (ExecStage, MtmStage, FanoutStage, JournalStage);

/// Wires the four stages around `exec` (over `symbols` instruments) with a fresh journal
/// in `dir` (256 MiB segments, so a benchmark never waits on a segment roll) and a fresh
/// health. The order-update channel's reader is dropped: nobody reads it.
pub fn stages(
    exec: Exec,
    symbols: usize,
    dir: &Path,
) -> Result<(Stages, Arc<Health>), JournalError> {
    let health = Arc::new(Health::new());
    let mut jc = JournalConfig::new(dir);
    jc.segment_bytes = 256 << 20;
    let (journal, _) = Journal::open(&jc)?;
    let (tx, rx) = updates::channel(1 << 16, Arc::clone(&health));
    let mtm = Mtm::new(symbols, exec.funds());
    let stages = wire(StageParts {
        exec,
        mtm,
        journal,
        data_dir: dir.to_path_buf(),
        board: Arc::new(QuoteBoard::new(symbols)),
        updates: tx,
        update_signal: rx.signal(),
        router: Arc::new(ReplyRouter::new()),
        health: Arc::clone(&health),
        latency: Arc::new(SharedLatency::default()),
        interest: Arc::new(Interest::new(symbols)),
        ticks: None,
    });
    Ok((stages, health))
}
