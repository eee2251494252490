//! Workload: events per second through all four stages (execution, MTM, fanout, journal
//! with sync `none` on a temp dir), 1,000 symbols with 10,000 resting orders, ticks
//! walking inside the books' spread. Three wirings of the same stage code, same run:
//!
//! - `inline`: the publishing thread itself runs the four stages (`Publisher::drain`);
//! - `fused`: the ring with one consumer thread running the four stages in order;
//! - `pipelined`: the ring with one thread per stage (on a 2-core machine this
//!   oversubscribes the cores; it is here to be measured, not recommended there);
//! - `crossbeam_channels`: the baseline a Rust user would write: four threads joined by
//!   bounded crossbeam channels, each event moved through them with its output area.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tickfill::engine::standalone::{self, Stages};
use tickfill::event::{Input, StageOutput};
use tickfill::health::Health;
use tickfill::ring::channels::ChannelStages;
use tickfill::ring::pipeline::PipelineConfig;
use tickfill::ring::{IdleStrategy, Pipeline, Topology};
use tickfill::types::Seq;

mod common;
use common::*;

const SYMBOLS: usize = 1_000;
const ORDERS: usize = 10_000;
const BATCH: u64 = 100_000;

struct Setup {
    stages: Stages,
    health: Arc<Health>,
    first_seq: u64,
    _dir: tempfile::TempDir,
}

fn setup() -> Setup {
    let master = universe(SYMBOLS);
    let mut exec = exec(&master);
    let first_seq = rest_orders(&mut exec, SYMBOLS, ORDERS);
    let dir = tempfile::tempdir().expect("temp dir");
    let (stages, health) =
        standalone::stages(exec, master.len(), dir.path()).expect("journal opens");
    Setup { stages, health, first_seq, _dir: dir }
}

fn tick_input(i: u64) -> Input {
    // Inside every book's spread: 999.96 ..= 1000.04.
    let ltp = 1000_0000 + (i % 9) as i64 * 100 - 400;
    Input::Tick(tick((i % SYMBOLS as u64) as u32, ltp))
}

fn ring(c: &mut Criterion, name: &str, topology: Topology) {
    let s = setup();
    let config = PipelineConfig {
        ring_size: 1 << 14,
        topology,
        idle: IdleStrategy::Backoff,
        ..PipelineConfig::default()
    };
    let (mut publisher, running) =
        Pipeline::start(&config, Seq(s.first_seq), s.stages, Arc::clone(&s.health)).expect("start");
    let mut g = c.benchmark_group("four_stages");
    g.throughput(Throughput::Elements(BATCH));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));
    let mut i = 0u64;
    g.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                for _ in 0..BATCH {
                    i += 1;
                    publisher.publish(tick_input(i), t0(), 0);
                }
                let last = publisher.next_seq().0 - 1;
                // Inline: this thread runs the stages (a no-op with stage threads).
                publisher.drain();
                while s.health.durable_seq.load(Ordering::Acquire) < last {
                    std::hint::spin_loop();
                }
            }
            start.elapsed()
        });
    });
    g.finish();
    drop(publisher);
    running.join().expect("stages stop");
}

fn crossbeam(c: &mut Criterion) {
    let s = setup();
    let baseline = ChannelStages::start(s.stages, 1 << 14);
    let mut g = c.benchmark_group("four_stages");
    g.throughput(Throughput::Elements(BATCH));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));
    let mut seq = s.first_seq;
    g.bench_function("crossbeam_channels", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                for _ in 0..BATCH {
                    let ev = event(seq, tick_input(seq));
                    seq += 1;
                    baseline.input.send((ev, StageOutput::new())).expect("stage 1 running");
                }
                while s.health.durable_seq.load(Ordering::Acquire) < seq - 1 {
                    std::hint::spin_loop();
                }
            }
            start.elapsed()
        });
    });
    g.finish();
    baseline.join();
}

fn benches(c: &mut Criterion) {
    ring(c, "inline", Topology::Inline);
    ring(c, "fused", Topology::Fused);
    ring(c, "pipelined", Topology::Pipelined);
    crossbeam(c);
}

criterion_group!(group, benches);
criterion_main!(group);
