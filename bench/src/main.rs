//! `tickfill-bench`, run as `tickfill bench`: the latency benchmark harness
//! ([`harness`]), quick or full, writing a report folder under `--out`. It is its own
//! package so the engine crate carries no load generator; it drives the engine through
//! the `tickfill` library and, for the relay mode, the `tickfill` binary built beside it.

#![forbid(unsafe_code)]

mod harness;
#[path = "../../src/cli/logging.rs"]
#[allow(dead_code, reason = "the engine's log setup, shared; LogArgs is serve's")]
mod logging;

use anyhow::{Context, bail};
use clap::Parser;
use harness::live::LiveConfig;
use harness::report::{self, Machine};
use harness::run::{self, Plan, Variant};
use harness::{TempDir, resources};
use std::path::PathBuf;
use std::time::Duration;
use tickfill::ring::pipeline::PipelineConfig;
use tickfill::ring::{IdleStrategy, Topology};

/// The latency benchmark harness: the engine driven over loopback by an open-loop feed,
/// REST and WebSocket clients, with baselines; writes a report folder.
#[derive(Debug, Parser)]
#[command(name = "tickfill bench", bin_name = "tickfill bench", version)]
#[command(args_conflicts_with_subcommands = true)]
struct BenchArgs {
    /// Internal subcommands.
    #[command(subcommand)]
    internal: Option<Internal>,
    /// Small counts, finishes in under a minute (a smoke test; writes to a temp dir
    /// unless --out is given).
    #[arg(long)]
    quick: bool,
    /// Where the report folder goes (and whose README.md indexes it).
    #[arg(long)]
    out: Option<PathBuf>,
    /// The topology reported in full: inline (the hot thread runs the stages), fused (one
    /// stage thread) or pipelined (one per stage).
    #[arg(long, default_value = "inline")]
    topology: Topology,
    /// Variants run first with the same workload, for the A/B table of the report
    /// (comma-separated; `none` for none). A variant is `topology[+option...]`, options
    /// `noticks` (the WebSocket client subscribes to no ticks), `wake` (order updates go
    /// through a wake-up of the WebSocket thread instead of being written by the thread
    /// that commits the journal), `nosearch` (no rate search), `procgen` (the load
    /// generator runs as a process of its own), e.g. `fused,inline+wake+nosearch,inline+procgen`.
    #[arg(long, value_delimiter = ',', default_value = "fused", value_parser = compare)]
    compare: Vec<Option<Variant>>,
    /// The primary run's WebSocket client subscribes to no ticks (only order updates).
    #[arg(long)]
    no_ws_ticks: bool,
    /// The primary run's order updates go through a wake-up of the WebSocket thread
    /// (instead of being written by the thread that commits the journal).
    #[arg(long)]
    ws_wake: bool,
    /// Rounds the measured phase is split into; each round runs every variant in turn
    /// (default 3; quick 1), so the machine's changing background load falls on all alike.
    #[arg(long)]
    rounds: Option<u32>,
    /// Skip the null engine (frames read and dropped, the load generator's own floor).
    #[arg(long)]
    no_null: bool,
    /// inline: HOT[,HOUSEKEEPING...] (default on 4+ cores: the last core hot, the rest
    /// for everything else, load generator included). fused/pipelined: cores to pin the
    /// stage threads to, e.g. 2,3,4,5.
    #[arg(long, value_delimiter = ',')]
    cores: Vec<usize>,
    /// inline: no hot/housekeeping layout (nothing pinned or confined).
    #[arg(long)]
    no_pin: bool,
    /// inline: microseconds the hot thread polls after the last input before it parks.
    #[arg(long, default_value_t = 200)]
    busy_poll_us: u64,
    /// spin (isolated cores only) or backoff.
    #[arg(long, default_value = "backoff")]
    idle: IdleStrategy,
    /// Symbols fed (default 1,000; quick 100).
    #[arg(long)]
    symbols: Option<usize>,
    /// Resting orders (default 10,000; quick 1,000).
    #[arg(long)]
    orders: Option<usize>,
    /// Ticks per second of the measured phase (default 100,000; quick 20,000).
    #[arg(long)]
    rate: Option<u64>,
    /// Seconds of the measured phase (default 40; quick 3).
    #[arg(long)]
    seconds: Option<f64>,
    /// Where the primary run's open-loop sender runs: `thread` (in this process) or
    /// `process` (`tickfill-bench loadgen`, confined to the housekeeping cores of
    /// `--cores`); compare both with a `+procgen` variant.
    #[arg(long, default_value = "thread")]
    loadgen: harness::loadgen::LoadGen,
    /// `SO_RCVBUF` of the engine's upstream socket and `SO_SNDBUF` of the load generator's,
    /// bytes, for the whole run (0: the kernel's autotuning, which can bank tens of MiB of
    /// frames the engine has not read and so pass a rate step the engine did not keep up
    /// with).
    #[arg(long, default_value_t = 256 << 10)]
    socket_buffer: u32,
    /// Internal: print the RSS growth of an engine over N symbols and exit.
    #[arg(long, hide = true)]
    probe_memory: Option<usize>,
    /// Relay mode: the relay path (relay -> JetStream -> engine, each its own process)
    /// against the direct feed in one run, with each process's CPU and memory
    /// (`--quick`, `--out`, `--symbols`, `--rate`, `--seconds` apply; needs nats-server,
    /// from tools/nats-server or TICKFILL_NATS_SERVER).
    #[arg(long)]
    relay: bool,
}

/// Subcommands the harness runs itself, not for typing.
#[derive(Debug, clap::Subcommand)]
enum Internal {
    /// The open-loop load generator as a process of its own (`--loadgen process`): its
    /// parent drives it over stdin and stdout.
    #[command(hide = true)]
    Loadgen(harness::loadgen::LoadgenArgs),
}

fn compare(s: &str) -> Result<Option<Variant>, String> {
    if s == "none" { Ok(None) } else { s.parse().map(Some) }
}

fn plan(a: &BenchArgs, command: String) -> anyhow::Result<Plan> {
    let q = a.quick;
    let symbols = a.symbols.unwrap_or(if q { 100 } else { 1_000 });
    let orders = a.orders.unwrap_or(if q { 1_000 } else { 10_000 });
    if symbols == 0 || orders < symbols || symbols > 100_000 {
        bail!(
            "--symbols must be 1..=100000 and --orders at least --symbols (one order per symbol)"
        );
    }
    if orders / symbols > 1000 {
        bail!("--orders must be at most 1000 x --symbols (the price ladder below 999.00 ends)");
    }
    let rate = a.rate.unwrap_or(if q { 20_000 } else { 100_000 });
    let seconds = a.seconds.unwrap_or(if q { 3.0 } else { 40.0 });
    if rate == 0 || seconds <= 0.0 {
        bail!("--rate and --seconds must be positive");
    }
    let inline = a.topology.resolve() == Topology::Inline;
    let layout = if inline && !a.no_pin {
        tickfill::ring::cores::CoreLayout::from_cores(&a.cores).map_err(anyhow::Error::msg)?
    } else {
        None
    };
    let primary = Variant {
        topology: a.topology,
        ws_ticks: !a.no_ws_ticks,
        direct: !a.ws_wake,
        search: true,
        procgen: a.loadgen == harness::loadgen::LoadGen::Process,
        ring: None,
    };
    Ok(Plan {
        quick: q,
        compare: a.compare.iter().flatten().copied().collect(),
        primary,
        null_engine: !a.no_null,
        rounds: a.rounds.unwrap_or(if q { 1 } else { 3 }).max(1),
        live: LiveConfig {
            symbols,
            orders,
            rate,
            seconds,
            pipeline: PipelineConfig {
                ring_size: tickfill::ring::pipeline::default_ring_size(a.topology),
                topology: a.topology,
                idle: a.idle,
                cores: if inline { Vec::new() } else { a.cores.clone() },
                busy_poll: Duration::from_micros(a.busy_poll_us),
            },
            cores: layout,
            cross_period: Duration::from_millis(if q { 500 } else { 5_000 }),
            search_rates: if q {
                vec![20_000, 50_000, 100_000]
            } else {
                vec![10_000, 25_000, 50_000, 75_000, 100_000, 200_000, 400_000, 700_000, 1_000_000]
            },
            search_seconds: if q { 0.5 } else { 3.0 },
            ws_tick_symbols: if a.no_ws_ticks { 0 } else { 5 },
            ws_direct: !a.ws_wake,
            socket_buffer: (a.socket_buffer > 0).then_some(a.socket_buffer),
            loadgen: a.loadgen,
        },
        echo_samples: if q { 2_000 } else { 20_000 },
        stage_events: if q { 100_000 } else { 2_000_000 },
        poll_interval: if q { Duration::from_millis(500) } else { Duration::from_secs(5) },
        memory_symbols: vec![1_000, 10_000, 100_000],
        restart_events: if q { vec![20_000] } else { vec![1_000_000, 10_000_000] },
        command,
    })
}

/// Runs a fresh `tickfill-bench --probe-memory N` and reads its answer.
fn probe_in_child(symbols: usize) -> anyhow::Result<u64> {
    let exe = std::env::current_exe().context("finding this executable")?;
    let out = std::process::Command::new(exe)
        .args(["--probe-memory", &symbols.to_string()])
        .output()
        .context("running the memory probe")?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim().strip_prefix("rss_growth_bytes ").and_then(|n| n.parse().ok()).with_context(|| {
        format!("memory probe of {symbols} symbols: {}", String::from_utf8_lossy(&out.stderr))
    })
}

fn main() -> anyhow::Result<()> {
    let a = BenchArgs::parse();
    logging::init(logging::LogFormat::Text)?;
    if let Some(Internal::Loadgen(l)) = &a.internal {
        return harness::loadgen::main(l);
    }
    if let Some(n) = a.probe_memory {
        let dir = TempDir::new("memory")?;
        println!("rss_growth_bytes {}", resources::engine_memory(n, dir.path())?);
        return Ok(());
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = format!("tickfill bench {}", args.join(" ")).trim_end().to_owned();
    if a.relay {
        return harness::relay::bench(a.quick, a.out, a.symbols, a.rate, a.seconds, command);
    }
    let plan = plan(&a, command)?;
    let mut machine = Machine::detect();
    let quick_out;
    let out = match (&a.out, a.quick) {
        (Some(o), _) => o.clone(),
        (None, false) => PathBuf::from("latency-reports"),
        (None, true) => {
            quick_out = TempDir::new("quick-report")?;
            let p = quick_out.path().to_path_buf();
            std::mem::forget(quick_out);
            p
        }
    };
    eprintln!(
        "tickfill bench: {} mode, {} symbols, {} orders, {} ticks/s for {} s, {:?}/{:?}",
        if plan.quick { "quick" } else { "full" },
        plan.live.symbols,
        plan.live.orders,
        plan.live.rate,
        plan.live.seconds,
        plan.live.pipeline.topology,
        plan.live.pipeline.idle
    );
    let results = run::execute(&plan, &probe_in_child)?;
    machine.loadavg = Machine::detect().loadavg;
    let dir = report::write(&out, &plan, &results, &machine)?;
    println!("tickfill bench: report {}", dir.display());
    print!("{}", std::fs::read_to_string(dir.join("summary.md")).unwrap_or_default());
    Ok(())
}
