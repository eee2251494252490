//! A/B of the two ways the decoder finds a Quote object's fields, robust to a shared
//! machine: both run in the same process in alternating batches, and each reports its
//! fastest batch (preemption and neighbours only ever add time, so the minimum is the
//! cost of the code). Criterion's mean on the 2-core VM under other tenants' builds
//! could not tell them apart.
//!
//! `cargo run --release --example decode_ab`

use std::hint::black_box;
use std::time::Instant;
use tickfill::event::{Level, Tick};
use tickfill::sequencer::decode::{DecodeError, Decoder, quote_fields, quote_fields_by_lookup};
use tickfill::types::Price;

type Fields = fn(simd_json::tape::Value<'_, '_>) -> Result<Tick, DecodeError>;

fn frame(mode: u8) -> Vec<u8> {
    let px = |v: f64| Price::from_f64(v).expect("price");
    let mut t = Tick {
        ltp: px(1424.5),
        bid: px(1424.45),
        ask: px(1424.55),
        bid_qty: 1200,
        ask_qty: 900,
        open: px(1410.0),
        high: px(1431.2),
        low: px(1405.1),
        close: px(1400.0),
        volume: 4_512_300,
        last_qty: 25,
        avg_price: px(1419.87),
        ..Tick::default()
    };
    t.depth.levels = 5;
    for k in 0..5 {
        t.depth.buy[k] = Level { price: px(1424.45 - k as f64 * 0.05), quantity: 100, orders: 3 };
        t.depth.sell[k] = Level { price: px(1424.55 + k as f64 * 0.05), quantity: 90, orders: 2 };
    }
    let mut buf = Vec::new();
    tickfill::openalgo_wire::market_data::write(
        &mut buf, "RELIANCE", "NSE", mode, &t, 1, "sandbox",
    );
    buf
}

fn main() {
    const BATCH: u32 = 2_000;
    const BATCHES: u32 = 400;
    let ways: [(&str, Fields); 2] =
        [("one pass", quote_fields), ("lookup per name", quote_fields_by_lookup)];
    for (name, mode) in [("ltp", 1), ("quote", 2), ("depth", 3)] {
        let bytes = frame(mode);
        let mut decoder = Decoder::new();
        let mut best = [f64::MAX; 2];
        for _ in 0..BATCHES {
            for (w, (_, f)) in ways.iter().enumerate() {
                let t = Instant::now();
                for _ in 0..BATCH {
                    let r = decoder.with_root(black_box(&bytes), |root| {
                        root.get("data").map_or(Err(DecodeError::Missing("data")), f)
                    });
                    black_box(r.is_ok());
                }
                best[w] = best[w].min(t.elapsed().as_nanos() as f64 / f64::from(BATCH));
            }
        }
        println!(
            "{name:>5} ({} B): {} {:.0} ns, {} {:.0} ns (parse included), {:.2}x",
            bytes.len(),
            ways[0].0,
            best[0],
            ways[1].0,
            best[1],
            best[1] / best[0]
        );
    }
}
