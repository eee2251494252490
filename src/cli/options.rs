//! Options shared by subcommands, mirrored by `TICKFILL_*` environment variables.

use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;
use tickfill::instruments::InstrumentMaster;
use tickfill::journal::{JournalConfig, SyncLevel};
use tickfill::ring::pipeline::PipelineConfig;
use tickfill::ring::{IdleStrategy, Topology};

/// Where state lives and how durable it is.
#[derive(Debug, Args)]
pub struct StorageArgs {
    /// Data directory (journal segments and snapshots).
    #[arg(long, env = "TICKFILL_DATA_DIR", default_value = "data-dir")]
    pub data_dir: PathBuf,
    /// Journal sync level: none (survives a process crash), msync or fsync (per batch).
    #[arg(long, env = "TICKFILL_SYNC", default_value = "none")]
    pub sync: SyncLevel,
    /// Journal segment size in MiB.
    #[arg(long, env = "TICKFILL_SEGMENT_MIB", default_value_t = 64)]
    pub segment_mib: u64,
    /// Start even if the journal is damaged in the middle (keeps what precedes the damage).
    #[arg(long)]
    pub accept_damaged_journal: bool,
    /// Instrument master CSV (OpenAlgo columns); the embedded universe when absent.
    #[arg(long, env = "TICKFILL_INSTRUMENTS")]
    pub instruments: Option<PathBuf>,
}

impl StorageArgs {
    /// The journal settings.
    pub fn journal(&self) -> JournalConfig {
        JournalConfig {
            dir: self.data_dir.clone(),
            segment_bytes: self.segment_mib.max(1) * 1024 * 1024,
            sync: self.sync,
            accept_damaged: self.accept_damaged_journal,
        }
    }

    /// The instrument master.
    pub fn instruments(&self) -> anyhow::Result<Arc<InstrumentMaster>> {
        Ok(Arc::new(match &self.instruments {
            Some(p) => InstrumentMaster::load(p)
                .with_context(|| format!("--instruments {}", p.display()))?,
            None => InstrumentMaster::default_universe(),
        }))
    }
}

/// Threads and idling.
#[derive(Debug, Args)]
pub struct RingArgs {
    /// auto (fused below 6 cores), fused (one stage thread) or pipelined (one per stage).
    #[arg(long, env = "TICKFILL_TOPOLOGY", default_value = "auto")]
    pub topology: Topology,
    /// spin (isolated cores only) or backoff.
    #[arg(long, env = "TICKFILL_IDLE", default_value = "backoff")]
    pub idle: IdleStrategy,
    /// Cores to pin stage threads to, e.g. 2,3,4,5.
    #[arg(long, env = "TICKFILL_CORES", value_delimiter = ',')]
    pub cores: Vec<usize>,
    /// Ring slots (rounded up to a power of two).
    #[arg(long, default_value_t = 8192)]
    pub ring_size: usize,
}

impl RingArgs {
    /// The pipeline settings.
    pub fn pipeline(&self) -> PipelineConfig {
        PipelineConfig {
            ring_size: self.ring_size,
            topology: self.topology,
            idle: self.idle,
            cores: self.cores.clone(),
        }
    }
}
