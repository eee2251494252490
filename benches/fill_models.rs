//! Workload: the tick that fills nothing, under each fill model, with 10,000 resting
//! LIMIT orders over 1,000 symbols (the book of `benches/matching.rs`), to price the
//! models against the default (issue 15: `depth` may cost at most a few hundred ns more
//! per tick that fills nothing).
//!
//! - `openalgo_quote` / `touch_quote`: a quote tick (LTP, bid, ask) inside every spread.
//! - `openalgo_depth` / `depth_depth`: a five-level depth tick inside every spread; under
//!   `depth` the visible book is copied and the traded volume worked out on every tick.
//! - `measurement_overhead`: the loop and event construction alone.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use tickfill::event::{Depth, Input, Level, StageOutput, Tick};
use tickfill::exec::fill::{FillConfig, FillModel};
use tickfill::exec::{Exec, ExecConfig};
use tickfill::types::{Money, Price};

mod common;
use common::*;

const SYMBOLS: usize = 1_000;
const ORDERS: usize = 10_000;

fn engine(model: FillModel) -> (Exec, u64) {
    let master = universe(SYMBOLS);
    let fill = FillConfig { model, ..FillConfig::default() };
    let config =
        ExecConfig { starting_capital: Money(i64::MAX / 4), fill, ..ExecConfig::default() };
    let mut exec = Exec::new(config, master);
    let seq = rest_orders(&mut exec, SYMBOLS, ORDERS);
    (exec, seq)
}

/// A depth tick at 1000.00: bids 999.95 down, asks 1000.05 up, sizes 100..500.
fn depth_tick(symbol: u32, seq: u64) -> Tick {
    let mut t = tick(symbol, 1000_0000);
    let mut d = Depth { levels: 5, ..Depth::default() };
    for i in 0..5 {
        let away = 500 * (i as i64 + 1);
        let quantity = 100 * (i as i64 + 1);
        d.buy[i] = Level { price: Price(1000_0000 - away), quantity, orders: 1 };
        d.sell[i] = Level { price: Price(1000_0000 + away), quantity, orders: 1 };
    }
    t.depth = d;
    t.mode = 3;
    t.volume = seq as i64;
    t
}

fn fill_models(c: &mut Criterion) {
    let mut g = c.benchmark_group("fill_models_10k_orders_1k_symbols");
    g.throughput(Throughput::Elements(1));
    g.bench_function("measurement_overhead", |b| {
        let mut seq = 1u64;
        b.iter(|| {
            seq += 1;
            black_box(event(seq, Input::Tick(depth_tick((seq % SYMBOLS as u64) as u32, seq))));
        });
    });
    let cases: [(&str, FillModel, bool); 4] = [
        ("openalgo_quote", FillModel::OpenAlgo, false),
        ("touch_quote", FillModel::Touch, false),
        ("openalgo_depth", FillModel::OpenAlgo, true),
        ("depth_depth", FillModel::Depth, true),
    ];
    for (name, model, with_depth) in cases {
        let (mut exec, mut seq) = engine(model);
        let mut out = StageOutput::new();
        g.bench_function(name, |b| {
            b.iter(|| {
                seq += 1;
                let s = (seq % SYMBOLS as u64) as u32;
                let t = if with_depth { depth_tick(s, seq) } else { tick(s, 1000_0000) };
                let ev = event(seq, Input::Tick(t));
                out.clear();
                exec.apply(black_box(&ev), &mut out);
                debug_assert!(out.updates.is_empty());
            });
        });
    }
    g.finish();
}

criterion_group!(benches, fill_models);
criterion_main!(benches);
