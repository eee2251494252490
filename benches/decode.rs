//! Workload: the sequencer's decode of one upstream `market_data` frame, per mode (LTP,
//! Quote, Depth with five levels a side), as OpenAlgo sends them (written by
//! `openalgo_wire::market_data::write`, about 100 B, 600 B and 1.3 KB).
//!
//! - `simd_json_tape/<mode>`: the hot path: [`Decoder::decode`] with buffers reused across
//!   frames (simd-json tape, borrowed strings, symbol interned, `Tick` built).
//! - `serde_json_value/<mode>`: the external baseline: `serde_json::from_slice` into a
//!   `Value` and the same fields read from it (a fresh allocation tree per frame).
//! - `fields_one_pass/<mode>` against `fields_by_lookup/<mode>`: the quote fields of the
//!   frame's `data` object, found in one pass over its keys (the hot path) or by one
//!   `get` per name and alias (the reference it replaced), the parse included in both.
//! - `measurement_overhead`: copying the frame bytes alone.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::Value;
use std::hint::black_box;
use tickfill::event::{Level, Tick};
use tickfill::instruments::InstrumentMaster;
use tickfill::sequencer::decode::{
    DecodeError, Decoder, Frame, quote_fields, quote_fields_by_lookup,
};
use tickfill::types::{Exchange, Price};

fn px(v: f64) -> Price {
    Price::from_f64(v).expect("price")
}

fn frames(master: &InstrumentMaster) -> Vec<(&'static str, Vec<u8>)> {
    let symbol = master.lookup(Exchange::Nse, "RELIANCE").expect("in the default universe");
    let mut t = Tick {
        symbol,
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
        total_buy_qty: 512_000,
        total_sell_qty: 498_000,
        ltt_ms: 1_746_171_226_000,
        ..Tick::default()
    };
    t.depth.levels = 5;
    for k in 0..5 {
        let step = k as f64 * 0.05;
        t.depth.buy[k] =
            Level { price: px(1424.45 - step), quantity: 100 * (k as i64 + 1), orders: 3 };
        t.depth.sell[k] =
            Level { price: px(1424.55 + step), quantity: 90 * (k as i64 + 1), orders: 2 };
    }
    [("ltp", 1u8), ("quote", 2), ("depth", 3)]
        .into_iter()
        .map(|(name, mode)| {
            let mut buf = Vec::new();
            tickfill::openalgo_wire::market_data::write(
                &mut buf,
                "RELIANCE",
                "NSE",
                mode,
                &t,
                1_746_171_226_123,
                "sandbox",
            );
            (name, buf)
        })
        .collect()
}

/// The baseline: the same fields, read from a serde_json `Value`.
fn serde_decode(bytes: &[u8], master: &InstrumentMaster) -> Option<Tick> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    let ex = Exchange::parse(v.get("exchange")?.as_str()?)?;
    let symbol = master.lookup(ex, v.get("symbol")?.as_str()?)?;
    let d = v.get("data")?;
    let p =
        |k: &str| d.get(k).and_then(Value::as_f64).and_then(Price::from_f64).unwrap_or_default();
    let i = |k: &str| d.get(k).and_then(Value::as_i64).unwrap_or_default();
    let mut t = Tick {
        symbol,
        ltp: p("ltp"),
        bid: p("bid_price"),
        ask: p("ask_price"),
        bid_qty: i("bid_size"),
        ask_qty: i("ask_size"),
        open: p("open"),
        high: p("high"),
        low: p("low"),
        close: p("close"),
        volume: i("volume"),
        last_qty: i("last_trade_quantity"),
        avg_price: p("average_price"),
        total_buy_qty: i("total_buy_quantity"),
        total_sell_qty: i("total_sell_quantity"),
        oi: i("oi"),
        ltt_ms: i("ltt"),
        mode: v.get("mode")?.as_u64()? as u8,
        ..Tick::default()
    };
    if let Some(depth) = d.get("depth") {
        for (side, out) in [("buy", &mut t.depth.buy), ("sell", &mut t.depth.sell)] {
            for (k, l) in depth.get(side)?.as_array()?.iter().take(5).enumerate() {
                out[k] = Level {
                    price: l.get("price").and_then(Value::as_f64).and_then(Price::from_f64)?,
                    quantity: l.get("quantity").and_then(Value::as_i64)?,
                    orders: l.get("orders").and_then(Value::as_i64).unwrap_or_default(),
                };
            }
        }
        t.depth.levels = 5;
    }
    Some(t)
}

fn decode(c: &mut Criterion) {
    let master = InstrumentMaster::default_universe();
    let frames = frames(&master);
    let mut g = c.benchmark_group("decode_market_data");
    g.throughput(Throughput::Elements(1));
    let mut scratch = Vec::with_capacity(4096);
    g.bench_function("measurement_overhead", |b| {
        b.iter(|| {
            scratch.clear();
            scratch.extend_from_slice(black_box(&frames[2].1));
            black_box(scratch.len())
        })
    });
    for (name, bytes) in &frames {
        let mut decoder = Decoder::new();
        // Both decoders agree on every frame before anything is timed.
        let Ok(Frame::Tick(ours)) = decoder.decode(bytes, &master) else { panic!("{name}") };
        let theirs = serde_decode(bytes, &master).expect("serde decodes");
        assert_eq!(ours.ltp, theirs.ltp);
        assert_eq!(ours.depth.buy, theirs.depth.buy);
        g.bench_function(format!("simd_json_tape/{name}"), |b| {
            b.iter(|| black_box(decoder.decode(black_box(bytes), &master)))
        });
        g.bench_function(format!("serde_json_value/{name}"), |b| {
            b.iter(|| black_box(serde_decode(black_box(bytes), &master)))
        });
        type Fields = fn(simd_json::tape::Value<'_, '_>) -> Result<Tick, DecodeError>;
        let ways: [(&str, Fields); 2] =
            [("fields_one_pass", quote_fields), ("fields_by_lookup", quote_fields_by_lookup)];
        for (way, f) in ways {
            g.bench_function(format!("{way}/{name}"), |b| {
                b.iter(|| {
                    black_box(decoder.with_root(black_box(bytes), |root| {
                        root.get("data").map_or(Err(DecodeError::Missing("data")), f)
                    }))
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
