//! The whole measurement plan of `tickfill bench`, quick or full, and its results.

#![forbid(unsafe_code)]

use super::TempDir;
use super::baselines::{self, StagesThroughput};
use super::live::{self, LiveConfig, LiveResult};
use super::resources::{self, Restart};
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use std::time::{Duration, Instant};

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Quick (smoke test) counts.
    pub quick: bool,
    /// The live run (its topology is the primary one, reported in full).
    pub live: LiveConfig,
    /// Topologies run before the primary one in the same bench run, for the A/B table
    /// (each with the same workload; `fused` runs unpinned, as it always has).
    pub compare: Vec<crate::ring::Topology>,
    /// Echo round trips.
    pub echo_samples: u64,
    /// Events through the four stages, ring and crossbeam each.
    pub stage_events: u64,
    /// The polling baseline's interval.
    pub poll_interval: Duration,
    /// Universe sizes of the memory probes.
    pub memory_symbols: Vec<usize>,
    /// Journal sizes of the restart measurements.
    pub restart_events: Vec<u64>,
    /// The command line, as typed.
    pub command: String,
}

/// What the plan measured.
#[derive(Debug)]
pub struct Results {
    /// The live run of the primary topology.
    pub live: LiveResult,
    /// The live runs of [`Plan::compare`], same workload, same bench run.
    pub compared: Vec<(crate::ring::Topology, LiveResult)>,
    /// Loopback tungstenite echo round trips.
    pub echo: Histogram<u64>,
    /// Ring against crossbeam channels.
    pub stages: StagesThroughput,
    /// Polling engine's fill delay over the crossings of the live run.
    pub polling: Histogram<u64>,
    /// (symbols, RSS growth bytes) per memory probe.
    pub memory: Vec<(usize, u64)>,
    /// Restart measurements.
    pub restarts: Vec<Restart>,
    /// Wall time of the whole plan.
    pub elapsed: Duration,
}

fn bar() -> ProgressBar {
    let b = ProgressBar::new(1);
    b.set_style(
        ProgressStyle::with_template("{elapsed_precise} {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    b
}

/// Runs `plan`; `memory_probe(symbols)` returns the RSS growth of an engine of that size
/// measured in a fresh process.
pub fn execute(
    plan: &Plan,
    memory_probe: &dyn Fn(usize) -> anyhow::Result<u64>,
) -> anyhow::Result<Results> {
    let started = Instant::now();
    let bar = bar();
    let mut memory = Vec::new();
    bar.set_message("engine memory probes");
    bar.set_length(plan.memory_symbols.len() as u64);
    for &n in &plan.memory_symbols {
        memory.push((n, memory_probe(n)?));
        bar.inc(1);
    }
    bar.set_message("tungstenite echo round trips");
    let echo = baselines::echo_rtt(plan.echo_samples, 400)?;
    bar.set_message("four stages: ring and crossbeam channels");
    let dir = TempDir::new("stages")?;
    let stages = baselines::stages_throughput(
        plan.stage_events,
        plan.live.pipeline.topology.resolve(),
        plan.live.pipeline.idle,
        dir.path(),
    )?;
    drop(dir);
    let mut compared = Vec::new();
    for &t in &plan.compare {
        let mut cfg = plan.live.clone();
        cfg.pipeline.topology = t;
        if t.resolve() != crate::ring::Topology::Inline {
            cfg.cores = None;
        }
        bar.set_message(format!("live run: {t:?}"));
        compared.push((t, live::run(&cfg, &bar)?));
    }
    let live = live::run(&plan.live, &bar)?;
    let polling =
        baselines::polling_delay(&live.filled_crossings, live.main.start_ns, plan.poll_interval);
    let mut restarts = Vec::new();
    for &n in &plan.restart_events {
        bar.set_message(format!("restart: writing {n} journaled events, then recovering"));
        bar.set_length(n);
        bar.set_position(0);
        let dir = TempDir::new("restart")?;
        restarts.push(resources::restart(n, dir.path(), &|done| bar.set_position(done))?);
    }
    bar.finish_and_clear();
    Ok(Results {
        live,
        compared,
        echo,
        stages,
        polling,
        memory,
        restarts,
        elapsed: started.elapsed(),
    })
}
