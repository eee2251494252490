//! `tickfill relay`: the only process that talks to the broker; every tick it receives
//! goes to the JetStream stream `TICKS` for any number of engines (`serve --feed
//! nats://...`). Runs until SIGINT or SIGTERM. See `tickfill::relay`.

use anyhow::{Context, bail};
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tickfill::instruments::InstrumentMaster;
use tickfill::relay::{Relay, RelayConfig, Retention};
use tickfill::sequencer::FeedConfig;
use tickfill::sim::{self, SimConfig, SimServer};
use tickfill::watchdog::parse_duration;

fn duration(setting: &'static str) -> impl Fn(&str) -> Result<Duration, String> + Clone {
    move |s| parse_duration(setting, s).map_err(|e| e.to_string())
}

/// Options of `tickfill relay`.
#[derive(Debug, Args)]
pub struct RelayArgs {
    /// NATS server(s) with JetStream, `nats://HOST:PORT` (comma-separated for a cluster).
    #[arg(long, env = "TICKFILL_NATS", default_value = "nats://127.0.0.1:4222")]
    pub nats: String,
    /// Market data: `sim` (the embedded simulated broker) or an OpenAlgo WebSocket feed
    /// `ws://HOST:PORT`.
    #[arg(long, env = "TICKFILL_FEED", default_value = "sim")]
    pub feed: String,
    /// The key the upstream feed expects (not needed with `sim`).
    #[arg(long, env = "TICKFILL_FEED_API_KEY")]
    pub feed_api_key: Option<String>,
    /// Symbols always subscribed upstream, besides what engines announce
    /// (`EXCHANGE:SYMBOL`, repeat or comma-separate).
    #[arg(long, value_delimiter = ',')]
    pub symbols: Vec<String>,
    /// `TICKS` keeps messages this long.
    #[arg(long, default_value = "26h", value_parser = duration("--max-age"))]
    pub max_age: Duration,
    /// `TICKS` keeps at most this many MiB (0 = no limit; a limit is reserved on the
    /// server's storage up front).
    #[arg(long, default_value_t = 0)]
    pub max_mib: i64,
    /// `TICKS` keeps at most this many messages (0 = no limit).
    #[arg(long, default_value_t = 0)]
    pub max_messages: i64,
    /// Copies of `TICKS` in a cluster (1 on one server, 3 on a 3-node cluster).
    #[arg(long, default_value_t = 1)]
    pub replicas: usize,
    /// Symbols per upstream connection (more symbols open more connections).
    #[arg(long, default_value_t = 1000)]
    pub symbols_per_connection: usize,
    /// Instrument master CSV; the embedded universe for today (as `tickfill sim` and a
    /// data dir anchored today use) when absent. Use the engines' master.
    #[arg(long, env = "TICKFILL_INSTRUMENTS")]
    pub instruments: Option<PathBuf>,
    /// Simulator WebSocket address (with `--feed sim`).
    #[arg(long, default_value = sim::DEFAULT_WS_ADDR)]
    pub sim_ws: SocketAddr,
    /// Simulator REST and control address (with `--feed sim`): engines poll it for
    /// fallback quotes with `--upstream-rest`.
    #[arg(long, default_value = sim::DEFAULT_REST_ADDR)]
    pub sim_rest: SocketAddr,
    /// Simulator ticks per second over all subscribed symbols.
    #[arg(long, default_value_t = 2_000)]
    pub sim_rate: u64,
    /// Simulator seed.
    #[arg(long, default_value_t = 42)]
    pub sim_seed: u64,
    /// Print a status line this often (0 = never).
    #[arg(long, default_value = "10s", value_parser = duration("--status-every"))]
    pub status_every: Duration,
}

/// Runs the relay until a signal.
pub fn run(args: RelayArgs) -> anyhow::Result<()> {
    tickfill::sequencer::nats::validate_url(&args.nats).map_err(anyhow::Error::msg)?;
    if args.replicas == 0 || args.replicas > 5 {
        bail!("--replicas must be from 1 to 5 (JetStream's limit), not {}", args.replicas);
    }
    let (stop_tx, stop_rx) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop_tx.send(());
    })
    .context("installing the SIGINT/SIGTERM handler")?;
    let instruments = Arc::new(match &args.instruments {
        Some(p) => {
            InstrumentMaster::load(p).with_context(|| format!("--instruments {}", p.display()))?
        }
        None => tickfill::refdata::universe::default_universe_on(tickfill::refdata::today_ist())?,
    });
    let (feed, simulator) = if args.feed == "sim" {
        let mut sc = SimConfig::new(Arc::clone(&instruments));
        sc.ws_addr = args.sim_ws;
        sc.rest_addr = args.sim_rest;
        sc.rate = args.sim_rate;
        sc.seed = args.sim_seed;
        let server = SimServer::start(sc.clone()).with_context(|| {
            format!(
                "starting the simulated broker on {} and {} (choose others with --sim-ws and --sim-rest)",
                args.sim_ws, args.sim_rest
            )
        })?;
        let feed =
            FeedConfig::Upstream { url: format!("ws://{}", server.ws_addr()), api_key: sc.api_key };
        (feed, Some(server))
    } else if args.feed.starts_with("ws://") {
        let key = args.feed_api_key.clone().context("--feed ws://... needs --feed-api-key")?;
        (FeedConfig::Upstream { url: args.feed.clone(), api_key: key }, None)
    } else {
        bail!("--feed must be `sim` or a ws://HOST:PORT URL, not {:?}", args.feed);
    };
    feed.validate().map_err(anyhow::Error::msg)?;
    let retention = Retention {
        max_age: args.max_age,
        max_bytes: args.max_mib.max(0) * 1024 * 1024,
        max_messages: args.max_messages.max(0),
        replicas: args.replicas,
    };
    let relay = Relay::start(RelayConfig {
        nats: args.nats.clone(),
        feed,
        instruments,
        symbols: args.symbols.clone(),
        retention,
        symbols_per_connection: args.symbols_per_connection,
    })?;
    println!(
        "tickfill relay: NATS {} -> stream TICKS (subjects ticks.<EXCHANGE>.<SYMBOL>)",
        args.nats
    );
    if let Some(s) = &simulator {
        println!(
            "tickfill relay: simulated broker ws://{} (REST http://{}: pass it to engines as --upstream-rest)",
            s.ws_addr(),
            s.rest_addr()
        );
    }
    println!("tickfill relay: ready; Ctrl-C stops");
    loop {
        let wait =
            if args.status_every.is_zero() { Duration::from_secs(3600) } else { args.status_every };
        match stop_rx.recv_timeout(wait) {
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if !args.status_every.is_zero() {
                    let s = &relay.stats;
                    println!(
                        "tickfill relay: published {} ticks ({} failed), {} engines, {} symbols upstream",
                        s.published.load(Ordering::Relaxed),
                        s.publish_errors.load(Ordering::Relaxed),
                        s.engines.load(Ordering::Relaxed),
                        s.symbols.load(Ordering::Relaxed),
                    );
                }
            }
            _ => break,
        }
    }
    println!("tickfill relay: stopping");
    let stats = Arc::clone(&relay.stats);
    relay.stop();
    if let Some(s) = simulator {
        s.stop();
    }
    println!(
        "tickfill relay: stopped after publishing {} ticks ({} failed)",
        stats.published.load(Ordering::Relaxed),
        stats.publish_errors.load(Ordering::Relaxed)
    );
    Ok(())
}

/// Options of `serve` for `--feed nats://...` (ignored with other feeds).
#[derive(Debug, Args)]
pub struct NatsServeArgs {
    /// This engine's name towards the relay (its interest announcements) and its account
    /// in the EVENTS subjects; default: the data dir's name.
    #[arg(long, env = "TICKFILL_ACCOUNT")]
    pub account: Option<String>,
    /// With nothing journaled from the stream yet: `new` (ticks from now on) or `all`
    /// (everything the stream still holds). A data dir that has consumed the stream
    /// always resumes right after its last journaled tick.
    #[arg(long, default_value = "new")]
    pub nats_start: tickfill::sequencer::nats::StartAt,
    /// How often the wanted symbols are announced to the relay (they expire there after
    /// three times this).
    #[arg(long, default_value = "2s", value_parser = duration("--nats-announce-every"))]
    pub nats_announce_every: Duration,
}

impl NatsServeArgs {
    /// The feed settings for `url`, resuming after what `data_dir`'s journal holds.
    pub fn config(
        &self,
        url: &str,
        data_dir: &std::path::Path,
    ) -> anyhow::Result<tickfill::sequencer::nats::NatsFeedConfig> {
        use tickfill::sequencer::nats::{NatsFeedConfig, resume};
        let account = match &self.account {
            Some(a) if !a.trim().is_empty() => a.trim().to_owned(),
            Some(_) => bail!("--account must not be empty"),
            None => std::fs::canonicalize(data_dir)
                .unwrap_or_else(|_| data_dir.to_path_buf())
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "default".into()),
        };
        if self.nats_announce_every < Duration::from_millis(100) {
            bail!("--nats-announce-every must be at least 100ms");
        }
        let resume_after = resume::last_stream_seq(data_dir)
            .with_context(|| format!("reading the stream position in {}", data_dir.display()))?;
        Ok(NatsFeedConfig {
            url: url.to_owned(),
            account,
            resume_after,
            start: self.nats_start,
            announce_every: self.nats_announce_every,
        })
    }
}
