//! `tickfill sim`: the simulated broker alone (OpenAlgo WebSocket feed + REST quotes), for
//! an engine or any other OpenAlgo client to point at. Runs until SIGINT or SIGTERM.

use anyhow::Context;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tickfill::instruments::InstrumentMaster;
use tickfill::sim::{self, SimConfig, SimServer};

/// Options of `tickfill sim`.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// WebSocket feed address.
    #[arg(long, env = "TICKFILL_SIM_WS", default_value = sim::DEFAULT_WS_ADDR)]
    pub ws: SocketAddr,
    /// REST address (quotes, multiquotes, depth, /sim/control, /sim/status).
    #[arg(long, env = "TICKFILL_SIM_REST", default_value = sim::DEFAULT_REST_ADDR)]
    pub rest: SocketAddr,
    /// The API key clients must authenticate with.
    #[arg(long, env = "TICKFILL_SIM_API_KEY", default_value = sim::DEFAULT_API_KEY)]
    pub api_key: String,
    /// Random-walk seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Symbols served: 0 = the instrument master; more adds synthetic NSE equities
    /// SIMnnnnn (up to 100,000 in all).
    #[arg(long, default_value_t = 0)]
    pub symbols: usize,
    /// Total ticks per second over all subscribed symbols (up to 1,000,000).
    #[arg(long, default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(0..=sim::MAX_RATE))]
    pub rate: u64,
    /// Instrument master CSV (OpenAlgo columns with prev_close); the embedded universe
    /// when absent.
    #[arg(long, env = "TICKFILL_INSTRUMENTS")]
    pub instruments: Option<PathBuf>,
    /// Start paused: no price moves and nothing sent until `resume`.
    #[arg(long)]
    pub paused: bool,
    /// Start muted: connections stay open but no market data is sent until `resume`.
    #[arg(long)]
    pub muted: bool,
    #[command(flatten)]
    pub log: super::logging::LogArgs,
}

/// Runs the simulator until a termination signal.
pub fn run(args: SimArgs) -> anyhow::Result<()> {
    let instruments = Arc::new(match &args.instruments {
        Some(p) => {
            InstrumentMaster::load(p).with_context(|| format!("--instruments {}", p.display()))?
        }
        // The same generated universe `serve` builds for a data dir anchored today.
        None => tickfill::refdata::universe::default_universe_on(tickfill::refdata::today_ist())?,
    });
    let config = SimConfig {
        ws_addr: args.ws,
        rest_addr: args.rest,
        api_key: args.api_key,
        seed: args.seed,
        symbols: args.symbols,
        rate: args.rate,
        instruments,
        paused: args.paused,
        muted: args.muted,
        control_keys: None,
    };
    let (tx, rx) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = tx.send(());
    })
    .context("installing the SIGINT/SIGTERM handler")?;
    let server = SimServer::start(config).context("starting the simulated broker")?;
    let status = server.status();
    println!(
        "tickfill sim: WebSocket ws://{}  REST http://{}",
        server.ws_addr(),
        server.rest_addr()
    );
    println!(
        "tickfill sim: {} symbols, {} ticks/s, seed {}{}{}",
        status.symbols,
        status.rate,
        args.seed,
        if status.paused { ", paused" } else { "" },
        if status.muted { ", muted" } else { "" },
    );
    println!(
        "tickfill sim: control with POST http://{}/sim/control {{\"action\":\"pause|mute|resume|set_price|set_clock|liquidity\"}}",
        server.rest_addr()
    );
    let _ = rx.recv();
    let status = server.status();
    server.stop();
    println!(
        "tickfill sim: stopped after {} ticks ({} frames sent, {} dropped)",
        status.ticks_generated, status.ticks_sent, status.frames_dropped
    );
    Ok(())
}
