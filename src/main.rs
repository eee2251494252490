//! The `tickfill` command line. See `tickfill --help`.

use clap::{Parser, Subcommand};

mod cli;

/// tickfill: a low-latency paper-trading execution engine compatible with OpenAlgo.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The latency benchmark harness: the engine driven over loopback by an open-loop
    /// feed, REST and WebSocket clients, with baselines; writes a report folder. Runs
    /// `tickfill-bench` from beside this executable (`cargo build --release --workspace`).
    Bench(Box<cli::bench::BenchArgs>),
    /// Run the engine over a generated tick stream with resting orders, printing fills and
    /// per-stage latency percentiles.
    Demo(cli::demo::DemoArgs),
    /// Verify a data dir's journal and print the state it rebuilds.
    Replay(cli::replay::ReplayArgs),
    /// Run the simulated broker alone (OpenAlgo WebSocket feed + REST quotes).
    Sim(cli::sim::SimArgs),
    /// Run the engine with its feed, the OpenAlgo REST API, the WebSocket server and the
    /// frontend.
    Serve(Box<cli::serve::ServeArgs>),
    /// Relay the broker feed into the NATS JetStream stream TICKS for many engines
    /// (`serve --feed nats://...`).
    Relay(Box<cli::relay::RelayArgs>),
    /// Replay one generated tick stream with one scripted strategy through every fill
    /// model and tabulate fills, slippage against LTP and P&L per model.
    Compare(Box<cli::compare::CompareArgs>),
}

fn main() -> anyhow::Result<()> {
    let command = Args::parse().command;
    let format = match &command {
        Command::Serve(a) => a.log.log_format,
        Command::Sim(a) => a.log.log_format,
        _ => cli::logging::LogFormat::Text,
    };
    cli::logging::init(format)?;
    match command {
        Command::Bench(a) => cli::bench::run(*a),
        Command::Demo(a) => cli::demo::run(a),
        Command::Replay(a) => cli::replay::run(a),
        Command::Sim(a) => cli::sim::run(a),
        Command::Serve(a) => cli::serve::run(*a),
        Command::Relay(a) => cli::relay::run(*a),
        Command::Compare(a) => cli::compare::run(*a),
    }
}
