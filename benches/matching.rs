//! Workload: one tick's matching cost in the execution stage with 10,000 resting LIMIT
//! orders over 1,000 symbols (DESIGN.md target: a tick costs O(1) plus O(fills)).
//!
//! - `tick_no_fill`: a tick inside every book's spread: the O(1) path (one comparison per
//!   side), which is what almost every tick in a real session takes.
//! - `place_fill_reset`: a BUY LIMIT at 999.99 placed (rests: the market is 1000.00), the
//!   tick at 999.99 that fills it (index pop, position, funds), and a tick back to 1000.00
//!   (no fill: every resting order sits at 999.95 or lower).
//! - `measurement_overhead`: the loop and event construction alone.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use tickfill::event::{Command, CommandKind, Input, OrderRequest, StageOutput};
use tickfill::types::{Price, PriceType, Product, Qty, Side, SymbolId, Tag};

mod common;
use common::*;

const SYMBOLS: usize = 1_000;
const ORDERS: usize = 10_000;

fn matching(c: &mut Criterion) {
    let master = universe(SYMBOLS);
    let mut g = c.benchmark_group("matching_10k_orders_1k_symbols");
    g.throughput(Throughput::Elements(1));

    g.bench_function("measurement_overhead", |b| {
        let mut seq = 1u64;
        b.iter(|| {
            seq += 1;
            black_box(event(seq, Input::Tick(tick((seq % SYMBOLS as u64) as u32, 1000_0000))));
        });
    });

    let mut exec = exec(&master);
    let mut seq = rest_orders(&mut exec, SYMBOLS, ORDERS);
    let mut out = StageOutput::new();
    g.bench_function("tick_no_fill", |b| {
        b.iter(|| {
            seq += 1;
            let ev = event(seq, Input::Tick(tick((seq % SYMBOLS as u64) as u32, 1000_0000)));
            out.clear();
            exec.apply(black_box(&ev), &mut out);
            debug_assert!(out.updates.is_empty());
        });
    });

    g.bench_function("place_fill_reset", |b| {
        b.iter_batched(
            || (),
            |()| {
                seq += 3;
                let symbol = SymbolId((seq % SYMBOLS as u64) as u32);
                let order = OrderRequest {
                    symbol,
                    side: Side::Buy,
                    qty: Qty(1),
                    price_type: PriceType::Limit,
                    product: Product::Mis,
                    price: Price(999_9900),
                    trigger: Price::ZERO,
                    disclosed: Qty::ZERO,
                    strategy: Tag::EMPTY,
                };
                let place = event(
                    seq,
                    Input::Command(Command {
                        ticket: Default::default(),
                        kind: CommandKind::Place(order),
                    }),
                );
                out.clear();
                exec.apply(&place, &mut out);
                let fill = event(seq + 1, Input::Tick(tick(symbol.0, 999_9900)));
                out.clear();
                exec.apply(black_box(&fill), &mut out);
                debug_assert_eq!(out.updates.len(), 1);
                let reset = event(seq + 2, Input::Tick(tick(symbol.0, 1000_0000)));
                out.clear();
                exec.apply(&reset, &mut out);
            },
            BatchSize::SmallInput,
        );
    });
    g.finish();
}

criterion_group!(benches, matching);
criterion_main!(benches);
