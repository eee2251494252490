//! Options shared by subcommands, mirrored by `TICKFILL_*` environment variables.

use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;
use tickfill::exec::ExecConfig;
use tickfill::exec::fill::{FillConfig, FillModel, MAX_OVERRIDES, PPM};
use tickfill::instruments::InstrumentMaster;
use tickfill::journal::retention::Retain;
use tickfill::journal::{JournalConfig, SyncLevel};
use tickfill::ring::pipeline::PipelineConfig;
use tickfill::ring::{IdleStrategy, Topology};
use tickfill::types::{Exchange, Money, Tag};

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
    /// `all` (default: every journal segment kept, the newest snapshots only), or the
    /// snapshots to keep as a count (at least 2) or an age (`6h`: those younger, and always
    /// the newest 2); then journal segments wholly before the oldest kept snapshot are
    /// deleted, so restart time and disk use stay bounded.
    #[arg(long, env = "TICKFILL_RETAIN", default_value = "all")]
    pub retain: Retain,
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
            retain: self.retain,
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

impl StorageArgs {
    /// The instrument master as the data dir's last start built it (nothing written to
    /// the data dir: the default universe's anchors are read, not rolled to today).
    pub fn stored_instruments(&self) -> anyhow::Result<Arc<InstrumentMaster>> {
        match &self.instruments {
            Some(_) => self.instruments(),
            None => Ok(Arc::new(
                tickfill::refdata::universe::stored_universe_for(&self.data_dir)
                    .with_context(|| format!("default universe of {}", self.data_dir.display()))?,
            )),
        }
    }
}

/// Threads and idling.
#[derive(Debug, Args)]
pub struct RingArgs {
    /// auto (inline below 6 cores), inline (the hot thread runs the stages), fused (one
    /// stage thread) or pipelined (one per stage).
    #[arg(long, env = "TICKFILL_TOPOLOGY", default_value = "auto")]
    pub topology: Topology,
    /// spin (isolated cores only) or backoff.
    #[arg(long, env = "TICKFILL_IDLE", default_value = "backoff")]
    pub idle: IdleStrategy,
    /// inline: HOT[,HOUSEKEEPING...], the hot thread's core then the cores for every
    /// other thread (default on 4+ cores: the last core is hot, not hard-pinned; none on 2-3 cores,
    /// where every layout measured worse on the shared VM). fused/pipelined: cores
    /// to pin the stage threads to, e.g. 2,3,4,5.
    #[arg(long, env = "TICKFILL_CORES", value_delimiter = ',')]
    pub cores: Vec<usize>,
    /// Ring slots (rounded up to a power of two); default 1024 for inline (one read batch
    /// at most), 8192 for fused and pipelined.
    #[arg(long)]
    pub ring_size: Option<usize>,
    /// inline: microseconds the hot thread keeps polling after the last input before it
    /// parks in epoll_wait.
    #[arg(long, env = "TICKFILL_BUSY_POLL_US", default_value_t = 200)]
    pub busy_poll_us: u64,
}

impl RingArgs {
    /// The pipeline settings.
    pub fn pipeline(&self) -> PipelineConfig {
        let inline = self.topology.resolve() == Topology::Inline;
        PipelineConfig {
            ring_size: self
                .ring_size
                .unwrap_or_else(|| tickfill::ring::pipeline::default_ring_size(self.topology)),
            topology: self.topology,
            idle: self.idle,
            // In inline, --cores is the hot/housekeeping layout, not stage threads.
            cores: if inline { Vec::new() } else { self.cores.clone() },
            busy_poll: std::time::Duration::from_micros(self.busy_poll_us),
        }
    }

    /// The hot/housekeeping layout (inline only; the other topologies pin stage threads).
    pub fn core_layout(&self) -> anyhow::Result<Option<tickfill::ring::cores::CoreLayout>> {
        if self.topology.resolve() != Topology::Inline {
            return Ok(None);
        }
        tickfill::ring::cores::CoreLayout::from_cores(&self.cores).map_err(anyhow::Error::msg)
    }
}

/// Execution rules that change results: every start and replay of one data dir must use
/// the same values.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Starting capital in rupees.
    #[arg(long, env = "TICKFILL_CAPITAL", default_value = "10000000", value_parser = capital)]
    pub capital: Money,
    /// MIS auto square-off times in IST, per exchange, e.g. `NSE=15:15,MCX=23:30`
    /// (defaults: NSE/BSE/NFO/BFO 15:15, CDS/BCD 16:45, MCX 23:30, NCDEX 17:00).
    /// `EXCHANGE=off` turns that exchange's MIS cut-off and auto square-off off (paper
    /// trading after hours; scripts and tests that must not depend on the time of day).
    #[arg(long, env = "TICKFILL_SQUARE_OFF", value_delimiter = ',', value_parser = square_off)]
    pub square_off: Vec<(Exchange, Option<u32>)>,
    // OpenAlgo's sandbox settings (its key names, its defaults), then trading days.
    /// Leverage of intraday (MIS) equity (OpenAlgo `equity_mis_leverage`).
    #[arg(long, env = "TICKFILL_EQUITY_MIS_LEVERAGE", default_value_t = 5, value_parser = leverage)]
    pub equity_mis_leverage: i64,
    /// Leverage of delivery equity, CNC and NRML (OpenAlgo `equity_cnc_leverage`).
    #[arg(long, env = "TICKFILL_EQUITY_CNC_LEVERAGE", default_value_t = 1, value_parser = leverage)]
    pub equity_cnc_leverage: i64,
    /// Leverage of futures (OpenAlgo `futures_leverage`).
    #[arg(long, env = "TICKFILL_FUTURES_LEVERAGE", default_value_t = 10, value_parser = leverage)]
    pub futures_leverage: i64,
    /// Leverage of option buys (OpenAlgo `option_buy_leverage`).
    #[arg(long, env = "TICKFILL_OPTION_BUY_LEVERAGE", default_value_t = 1, value_parser = leverage)]
    pub option_buy_leverage: i64,
    /// Leverage of option sells (OpenAlgo `option_sell_leverage`).
    #[arg(long, env = "TICKFILL_OPTION_SELL_LEVERAGE", default_value_t = 1, value_parser = leverage)]
    pub option_sell_leverage: i64,
    /// Session boundary, IST HH:MM: books restart and today's realized P&L resets.
    #[arg(long, env = "TICKFILL_SESSION_BOUNDARY", default_value = "03:00", value_parser = hhmm)]
    pub session_boundary: u32,
    /// Scheduled funds reset day (OpenAlgo `reset_day`): never, or Monday..Sunday.
    #[arg(long, env = "TICKFILL_RESET_DAY", default_value = "never", value_parser = reset_day)]
    pub reset_day: ResetDay,
    /// Scheduled funds reset time, IST HH:MM (OpenAlgo `reset_time`).
    #[arg(long, env = "TICKFILL_RESET_TIME", default_value = "00:00", value_parser = hhmm)]
    pub reset_time: u32,
    // Fill models (README "Fill models"): the knobs act under touch and depth only.
    /// Fill model: openalgo (OpenAlgo's sandbox rules), touch (fills at the touch; a
    /// resting limit needs a trade through) or depth (walks the visible levels: partial
    /// fills, queue position).
    #[arg(long, env = "TICKFILL_FILL_MODEL", default_value = "openalgo", value_parser = fill_model)]
    pub fill_model: FillModel,
    /// depth: visible levels a marketable order may walk on one event (1 to 5); what is
    /// left of a MARKET order walks the next book.
    #[arg(long, env = "TICKFILL_FILL_DEPTH_LEVELS", default_value_t = 5, value_parser = depth_levels)]
    pub fill_depth_levels: u8,
    /// touch: probability (0 to 1) that a resting LIMIT fills when the LTP only touches
    /// its price.
    #[arg(long, env = "TICKFILL_FILL_TOUCH_PROBABILITY", default_value = "0", value_parser = probability)]
    pub fill_touch_probability: u32,
    /// touch and depth: probability (0 to 1) that a MARKET, triggered stop or marketable
    /// LIMIT fill slips one tick against the order (never past its limit).
    #[arg(long, env = "TICKFILL_FILL_SLIPPAGE_PROBABILITY", default_value = "0", value_parser = probability)]
    pub fill_slippage_probability: u32,
    /// Seed of the generator the fill probabilities draw from (the generator's state is
    /// in snapshots; replay draws the same numbers).
    #[arg(long, env = "TICKFILL_FILL_SEED", default_value_t = 0)]
    pub fill_seed: u64,
    /// Venue latency (`5ms`, `1s`; default 0): a client's placements, modifies and
    /// cancels take effect this long after they arrive, in event time.
    #[arg(long, env = "TICKFILL_VENUE_LATENCY", default_value = "0s", value_parser = event_delay)]
    pub venue_latency: i64,
    /// Venue latency jitter: a seeded uniform draw from 0 to this is added to each delay.
    #[arg(long, env = "TICKFILL_VENUE_LATENCY_JITTER", default_value = "0s", value_parser = event_delay)]
    pub venue_latency_jitter: i64,
    /// Per-strategy fill models, STRATEGY=MODEL (comma separated, at most 4): orders whose
    /// strategy tag matches fill under that model instead of --fill-model.
    #[arg(long, env = "TICKFILL_FILL_MODEL_FOR", value_delimiter = ',', value_parser = strategy_model)]
    pub fill_model_for: Vec<(Tag, FillModel)>,
}

impl ExecArgs {
    /// Applies the options over `config`.
    pub fn apply(&self, config: &mut ExecConfig) {
        config.starting_capital = self.capital;
        for &(exchange, minute) in &self.square_off {
            config.square_off_minute[exchange.index()] = minute;
        }
        config.leverage_equity_mis = self.equity_mis_leverage;
        config.leverage_equity_delivery = self.equity_cnc_leverage;
        config.leverage_futures = self.futures_leverage;
        config.leverage_options = self.option_buy_leverage;
        config.leverage_option_sell = self.option_sell_leverage;
        config.session_minute = self.session_boundary;
        config.funds_reset = self.reset_day.0.map(|day| (day, self.reset_time));
        config.fill = FillConfig {
            model: self.fill_model,
            depth_levels: self.fill_depth_levels,
            touch_fill_ppm: self.fill_touch_probability,
            slippage_ppm: self.fill_slippage_probability,
            seed: self.fill_seed,
            latency_ns: self.venue_latency,
            jitter_ns: self.venue_latency_jitter,
            overrides: [None; MAX_OVERRIDES],
        };
        // More than MAX_OVERRIDES is refused by `ExecArgs::check` before this runs.
        for (slot, o) in config.fill.overrides.iter_mut().zip(&self.fill_model_for) {
            *slot = Some(*o);
        }
    }

    /// Refuses option combinations clap cannot check alone (call before `config`).
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.fill_model_for.len() <= MAX_OVERRIDES,
            "--fill-model-for takes at most {MAX_OVERRIDES} STRATEGY=MODEL pairs, not {}",
            self.fill_model_for.len()
        );
        Ok(())
    }

    /// The execution config these options give.
    pub fn config(&self) -> ExecConfig {
        let mut c = ExecConfig::default();
        self.apply(&mut c);
        c
    }
}

fn capital(s: &str) -> Result<Money, String> {
    Money::parse(s)
        .filter(|p| p.is_positive())
        .ok_or_else(|| format!("--capital must be a positive amount in rupees, not {s:?}"))
}

fn square_off(s: &str) -> Result<(Exchange, Option<u32>), String> {
    let bad = || {
        format!(
            "--square-off takes EXCHANGE=HH:MM (IST) or EXCHANGE=off, e.g. NSE=15:15, not {s:?}"
        )
    };
    let (ex, time) = s.split_once('=').ok_or_else(bad)?;
    let exchange = Exchange::parse(ex).ok_or_else(bad)?;
    if time.eq_ignore_ascii_case("off") {
        return Ok((exchange, None));
    }
    let (h, m) = time.split_once(':').ok_or_else(bad)?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok((exchange, Some(h * 60 + m)))
}

fn leverage(s: &str) -> Result<i64, String> {
    s.trim()
        .parse::<i64>()
        .ok()
        .filter(|v| (1..=1_000).contains(v))
        .ok_or_else(|| format!("leverage must be a whole number from 1 to 1000, not {s:?}"))
}

/// `HH:MM` (IST) as minutes since midnight.
fn hhmm(s: &str) -> Result<u32, String> {
    let bad = || format!("takes HH:MM (IST, 24-hour), e.g. 03:00, not {s:?}");
    let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// The scheduled reset's weekday (0 = Monday .. 6 = Sunday), or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResetDay(pub Option<u8>);

/// `never` or a weekday name (0 = Monday .. 6 = Sunday).
fn reset_day(s: &str) -> Result<ResetDay, String> {
    const DAYS: [&str; 7] =
        ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
    let t = s.trim().to_ascii_lowercase();
    if t == "never" || t.is_empty() {
        return Ok(ResetDay(None));
    }
    DAYS.iter()
        .position(|d| *d == t || d[..3] == t)
        .map(|i| ResetDay(Some(i as u8)))
        .ok_or_else(|| format!("--reset-day takes never or a weekday (Monday..Sunday), not {s:?}"))
}

fn fill_model(s: &str) -> Result<FillModel, String> {
    FillModel::parse(s)
        .ok_or_else(|| format!("--fill-model takes openalgo, touch or depth, not {s:?}"))
}

fn depth_levels(s: &str) -> Result<u8, String> {
    s.trim()
        .parse::<u8>()
        .ok()
        .filter(|v| (1..=5).contains(v))
        .ok_or_else(|| format!("--fill-depth-levels takes a whole number from 1 to 5, not {s:?}"))
}

/// `STRATEGY=MODEL`, one per-strategy fill model.
fn strategy_model(s: &str) -> Result<(Tag, FillModel), String> {
    let bad = || format!("--fill-model-for takes STRATEGY=openalgo|touch|depth, not {s:?}");
    let (tag, model) = s.trim().rsplit_once('=').ok_or_else(bad)?;
    let tag = Tag::new(tag.trim()).filter(|t| !t.as_str().is_empty()).ok_or_else(bad)?;
    Ok((tag, FillModel::parse(model).ok_or_else(bad)?))
}

/// A delay (`250ms`, `2s`, humantime) as nanoseconds, at most an hour.
fn event_delay(s: &str) -> Result<i64, String> {
    humantime::parse_duration(s.trim())
        .ok()
        .filter(|d| d.as_secs() <= 3_600)
        .map(|d| d.as_nanos() as i64)
        .ok_or_else(|| format!("a venue latency is a duration up to 1h, e.g. 5ms, not {s:?}"))
}

/// A probability from 0 to 1 as parts per million.
fn probability(s: &str) -> Result<u32, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|p| (0.0..=1.0).contains(p))
        .map(|p| (p * f64::from(PPM)).round() as u32)
        .ok_or_else(|| format!("a fill probability is a number from 0 to 1, e.g. 0.25, not {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_and_reset_values() {
        assert_eq!(hhmm("03:00"), Ok(180));
        assert_eq!(hhmm("23:59"), Ok(1_439));
        assert!(hhmm("24:00").is_err() && hhmm("3").is_err());
        assert_eq!(reset_day("never"), Ok(ResetDay(None)));
        assert_eq!(reset_day("Sunday"), Ok(ResetDay(Some(6))));
        assert_eq!(reset_day("mon"), Ok(ResetDay(Some(0))));
        assert!(reset_day("funday").unwrap_err().contains("--reset-day"));
        assert_eq!(leverage("5"), Ok(5));
        assert!(leverage("0").is_err());
        assert_eq!(fill_model("Depth"), Ok(FillModel::Depth));
        assert!(fill_model("queue").unwrap_err().contains("--fill-model"));
        assert_eq!(depth_levels("3"), Ok(3));
        assert!(depth_levels("6").is_err() && depth_levels("0").is_err());
        assert_eq!(probability("0.25"), Ok(250_000));
        assert_eq!(probability("1"), Ok(PPM));
        assert!(probability("1.5").is_err() && probability("NaN").is_err());
        assert_eq!(event_delay("5ms"), Ok(5_000_000));
        let (tag, m) = strategy_model("scalper=depth").unwrap();
        assert_eq!((tag.as_str(), m), ("scalper", FillModel::Depth));
        assert!(strategy_model("scalper").unwrap_err().contains("--fill-model-for"));
        assert!(strategy_model("=touch").is_err() && strategy_model("x=queue").is_err());
        assert!(event_delay("2h").is_err() && event_delay("soon").is_err());
    }
}

/// TLS of the upstream connections (`--feed wss://`, `--upstream-rest https://`).
#[derive(Debug, Args)]
pub struct TlsArgs {
    /// Extra CA certificates (PEM) to trust for the upstream feed and REST server, for a
    /// private deployment; the system's roots are always trusted.
    #[arg(long, alias = "tls-ca-file", env = "TICKFILL_UPSTREAM_CA", value_name = "FILE")]
    pub upstream_ca: Option<PathBuf>,
}
