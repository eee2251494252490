//! The whole measurement plan of `tickfill bench`, quick or full, and its results.

#![forbid(unsafe_code)]

use super::TempDir;
use super::baselines::{self, StagesThroughput};
use super::live::{self, LiveConfig, LiveResult};
use super::loadgen::LoadGen;
use super::resources::{self, Restart};
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use std::time::{Duration, Instant};
use tickfill::ring::Topology;

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Quick (smoke test) counts.
    pub quick: bool,
    /// The live run (its topology is the primary one, reported in full).
    pub live: LiveConfig,
    /// Variants run before the primary one in the same bench run, for the A/B table
    /// (each with the same workload; `fused` runs unpinned, as it always has).
    pub compare: Vec<Variant>,
    /// The primary run's own variant (its label in the A/B table).
    pub primary: Variant,
    /// Also measure the null engine (frames read and dropped) under the same load.
    pub null_engine: bool,
    /// The measured phase is split into this many rounds, and every round runs each
    /// variant (the null engine, the compared ones, the primary) in turn, so a change of
    /// the machine's background load during the run falls on all of them alike.
    pub rounds: u32,
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
    pub compared: Vec<(Variant, LiveResult)>,
    /// The null engine: the load generator's own floor under the same load.
    pub null: Option<super::null::NullResult>,
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

/// One row of the A/B table: a topology and the options that differ from the primary
/// run, written `topology[+option...]`: `noticks` (the WebSocket client subscribes to no
/// ticks), `wake` (order updates go through a wake-up of the WebSocket thread instead of
/// being written by the committing thread), `nosearch` (no sustainable-rate search),
/// `procgen` (the load generator runs as a process of its own, [`super::loadgen`]),
/// `ringN` (a ring of N slots instead of the topology's default, e.g. `inline+ring8192`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variant {
    /// The topology.
    pub topology: Topology,
    /// Whether the WebSocket client also subscribes to a few symbols' ticks.
    pub ws_ticks: bool,
    /// The committing thread writes order updates to the sockets itself (the default).
    pub direct: bool,
    /// Whether the run ends with the sustainable-rate search.
    pub search: bool,
    /// The open-loop sender runs as a separate process.
    pub procgen: bool,
    /// Ring slots, when not the topology's default.
    pub ring: Option<usize>,
}

impl Variant {
    /// The plain topology: ticks on, direct order updates, with the rate search.
    pub fn of(topology: Topology) -> Variant {
        Variant { topology, ws_ticks: true, direct: true, search: true, procgen: false, ring: None }
    }

    /// How the A/B table names it (the same syntax `--compare` takes).
    pub fn label(&self) -> String {
        let mut s = format!("{:?}", self.topology).to_lowercase();
        if !self.ws_ticks {
            s.push_str("+noticks");
        }
        if !self.direct {
            s.push_str("+wake");
        }
        if !self.search {
            s.push_str("+nosearch");
        }
        if self.procgen {
            s.push_str("+procgen");
        }
        if let Some(n) = self.ring {
            s.push_str(&format!("+ring{n}"));
        }
        s
    }

    /// Changes `cfg` (the primary run's) into this variant's.
    pub fn apply(&self, cfg: &mut LiveConfig) {
        cfg.pipeline.topology = self.topology;
        if self.topology.resolve() != Topology::Inline {
            cfg.cores = None;
        }
        if !self.ws_ticks {
            cfg.ws_tick_symbols = 0;
        }
        cfg.ws_direct = self.direct;
        if !self.search {
            cfg.search_rates.clear();
        }
        cfg.loadgen = if self.procgen { LoadGen::Process } else { LoadGen::Thread };
        cfg.pipeline.ring_size =
            self.ring.unwrap_or_else(|| tickfill::ring::pipeline::default_ring_size(self.topology));
    }
}

impl std::str::FromStr for Variant {
    type Err = String;

    fn from_str(s: &str) -> Result<Variant, String> {
        let mut parts = s.split('+');
        let topology: Topology = parts.next().unwrap_or_default().parse()?;
        let mut v = Variant::of(topology);
        for p in parts {
            match p {
                "noticks" => v.ws_ticks = false,
                "wake" => v.direct = false,
                "nosearch" => v.search = false,
                "procgen" => v.procgen = true,
                _ => match p.strip_prefix("ring").map(str::parse::<usize>) {
                    Some(Ok(n)) if n >= 4 => v.ring = Some(n),
                    Some(_) => {
                        return Err(format!(
                            "variant option {p:?} in {s:?}: ringN takes a slot count of at least 4, e.g. ring8192"
                        ));
                    }
                    None => {
                        return Err(format!(
                            "unknown variant option {p:?} in {s:?} (noticks, wake, nosearch, procgen or ringN)"
                        ));
                    }
                },
            }
        }
        Ok(v)
    }
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
    let rounds = plan.rounds.max(1);
    let slice = |cfg: &mut LiveConfig, round: u32| {
        cfg.seconds = plan.live.seconds / f64::from(rounds);
        if round + 1 < rounds {
            cfg.search_rates.clear();
        }
    };
    let mut null: Option<super::null::NullResult> = None;
    let mut compared: Vec<(Variant, LiveResult)> = Vec::new();
    let mut live: Option<LiveResult> = None;
    let mut polling = crate::harness::hist::new_ns();
    for round in 0..rounds {
        if plan.null_engine {
            bar.set_message(format!("round {}/{rounds}: null engine", round + 1));
            let mut cfg = plan.live.clone();
            slice(&mut cfg, round);
            let r = super::null::run(&cfg, &bar)?;
            match &mut null {
                Some(n) => n.merge(r)?,
                None => null = Some(r),
            }
        }
        for (i, v) in plan.compare.iter().enumerate() {
            let mut cfg = plan.live.clone();
            v.apply(&mut cfg);
            slice(&mut cfg, round);
            bar.set_message(format!("round {}/{rounds}: {}", round + 1, v.label()));
            let r = live::run(&cfg, &bar)?;
            match compared.get_mut(i) {
                Some((_, l)) => l.merge(r)?,
                None => compared.push((*v, r)),
            }
        }
        let mut cfg = plan.live.clone();
        slice(&mut cfg, round);
        bar.set_message(format!("round {}/{rounds}: {}", round + 1, plan.primary.label()));
        let r = live::run(&cfg, &bar)?;
        polling.add(baselines::polling_delay(
            &r.filled_crossings,
            r.main.start_ns,
            plan.poll_interval,
        ))?;
        match &mut live {
            Some(l) => l.merge(r)?,
            None => live = Some(r),
        }
    }
    let live = live.ok_or_else(|| anyhow::anyhow!("no live run"))?;
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
        null,
        echo,
        stages,
        polling,
        memory,
        restarts,
        elapsed: started.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_parse_and_print_the_same() {
        for s in [
            "fused",
            "inline+noticks",
            "inline+wake+nosearch",
            "fused+noticks+wake",
            "inline+procgen",
            "inline+procgen+ring8192",
        ] {
            let v: Variant = s.parse().expect(s);
            assert_eq!(v.label(), s);
        }
        let v: Variant = "inline+noticks".parse().unwrap();
        assert!(v.direct && !v.ws_ticks && v.search && v.topology == Topology::Inline);
        let e = "inline+fast".parse::<Variant>().unwrap_err();
        assert!(e.contains("\"fast\""), "{e}");
        assert!("sideways".parse::<Variant>().unwrap_err().contains("--topology"));
        assert_eq!("inline+ring8192".parse::<Variant>().unwrap().ring, Some(8192));
        let e = "inline+ringbig".parse::<Variant>().unwrap_err();
        assert!(e.contains("ringN takes a slot count"), "{e}");
    }

    #[test]
    fn a_variant_changes_only_its_own_settings() {
        let mut cfg = LiveConfig {
            symbols: 10,
            orders: 10,
            rate: 1_000,
            seconds: 1.0,
            pipeline: tickfill::ring::pipeline::PipelineConfig::default(),
            cross_period: Duration::from_millis(500),
            search_rates: vec![1_000],
            search_seconds: 0.5,
            ws_tick_symbols: 5,
            ws_direct: true,
            socket_buffer: None,
            loadgen: LoadGen::Thread,
            cores: None,
        };
        "fused+noticks+wake+nosearch".parse::<Variant>().unwrap().apply(&mut cfg);
        assert_eq!(cfg.pipeline.topology, Topology::Fused);
        assert_eq!(cfg.pipeline.ring_size, 8192, "the topology's default ring");
        assert_eq!(cfg.ws_tick_symbols, 0);
        assert_eq!(cfg.loadgen, LoadGen::Thread);
        assert!(cfg.search_rates.is_empty() && !cfg.ws_direct);
        assert_eq!((cfg.symbols, cfg.rate), (10, 1_000));
        "inline+procgen".parse::<Variant>().unwrap().apply(&mut cfg);
        assert_eq!(cfg.loadgen, LoadGen::Process);
        assert!(cfg.ws_direct, "a variant sets all of its own settings");
        assert_eq!(cfg.pipeline.ring_size, 1024, "inline's default ring");
        "inline+ring8192".parse::<Variant>().unwrap().apply(&mut cfg);
        assert_eq!(cfg.pipeline.ring_size, 8192);
    }
}
