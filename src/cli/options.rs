//! Options shared by subcommands, mirrored by `TICKFILL_*` environment variables.

use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;
use tickfill::exec::ExecConfig;
use tickfill::instruments::InstrumentMaster;
use tickfill::journal::{JournalConfig, SyncLevel};
use tickfill::ring::pipeline::PipelineConfig;
use tickfill::ring::{IdleStrategy, Topology};
use tickfill::types::{Exchange, Price};

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
            // The embedded master grown with derivatives expiring after the data dir's
            // anchor date (stored on first start): the same universe on every restart.
            None => tickfill::refdata::universe::default_universe_for(&self.data_dir)
                .with_context(|| format!("default universe of {}", self.data_dir.display()))?,
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

/// Execution rules that change results: every start and replay of one data dir must use
/// the same values.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Starting capital in rupees.
    #[arg(long, env = "TICKFILL_CAPITAL", default_value = "10000000", value_parser = capital)]
    pub capital: Price,
    /// MIS auto square-off times in IST, per exchange, e.g. `NSE=15:15,MCX=23:30`
    /// (defaults: NSE/BSE/NFO/BFO 15:15, CDS/BCD 16:45, MCX 23:30, NCDEX 17:00).
    #[arg(long, env = "TICKFILL_SQUARE_OFF", value_delimiter = ',', value_parser = square_off)]
    pub square_off: Vec<(Exchange, u32)>,
}

impl ExecArgs {
    /// Applies the options over `config`.
    pub fn apply(&self, config: &mut ExecConfig) {
        config.starting_capital = self.capital;
        for &(exchange, minute) in &self.square_off {
            config.square_off_minute[exchange.index()] = Some(minute);
        }
    }

    /// The execution config these options give.
    pub fn config(&self) -> ExecConfig {
        let mut c = ExecConfig::default();
        self.apply(&mut c);
        c
    }
}

fn capital(s: &str) -> Result<Price, String> {
    Price::parse(s)
        .filter(|p| p.is_positive())
        .ok_or_else(|| format!("--capital must be a positive amount in rupees, not {s:?}"))
}

fn square_off(s: &str) -> Result<(Exchange, u32), String> {
    let bad = || format!("--square-off takes EXCHANGE=HH:MM (IST), e.g. NSE=15:15, not {s:?}");
    let (ex, time) = s.split_once('=').ok_or_else(bad)?;
    let exchange = Exchange::parse(ex).ok_or_else(bad)?;
    let (h, m) = time.split_once(':').ok_or_else(bad)?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok((exchange, h * 60 + m))
}
