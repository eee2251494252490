//! Spec-like helpers for the integration tests: start a real engine on a temp data dir
//! (fused topology, backoff idle, as every test must on a 2-core machine), build orders,
//! and read answers.

#![allow(dead_code, reason = "each test binary uses a subset")]

use std::path::Path;
use std::time::Duration;
use tickfill::clock::mono_now_ns;
use tickfill::engine::{Engine, EngineConfig, EngineHandle};
use tickfill::event::{CommandKind, OrderRequest, QueryKind, Reply, Tick};
use tickfill::journal::JournalConfig;
use tickfill::ring::{IdleStrategy, Topology};
use tickfill::types::{OrderId, Price, PriceType, Product, Qty, Side, SymbolId, Tag};
use tickfill::views::{FundsRow, OrderRow, PositionRow, QueryReply};

/// An engine config for tests: fused, backoff, small segments, fast timers.
pub fn config(dir: &Path) -> EngineConfig {
    let mut journal = JournalConfig::new(dir);
    journal.segment_bytes = 1 << 20;
    let mut c = EngineConfig::new(journal);
    // TICKFILL_TEST_TOPOLOGY=inline runs the same tests on the inline topology.
    c.pipeline.topology = std::env::var("TICKFILL_TEST_TOPOLOGY")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(Topology::Fused);
    c.pipeline.idle = IdleStrategy::Backoff;
    c.pipeline.ring_size = 1024;
    c.timer_interval = Duration::from_millis(200);
    // The universe `serve` builds for a data dir: derivatives expiring after today.
    c.instruments = std::sync::Arc::new(
        tickfill::refdata::universe::default_universe_for(dir).expect("default universe"),
    );
    c
}

/// The nearest `name` future on NFO that has not expired, from the engine's master.
pub fn near_future(h: &EngineHandle, name: &str) -> String {
    use tickfill::instruments::InstrumentKind;
    use tickfill::refdata::{compact_expiry, options, today_ist};
    let ex = tickfill::types::Exchange::Nfo;
    let e = options::expiries(&h.instruments, name, ex, InstrumentKind::Future, today_ist());
    format!("{name}{}FUT", compact_expiry(*e.first().expect("a live future")))
}

pub fn start(dir: &Path) -> Engine {
    Engine::start(config(dir)).expect("engine starts")
}

pub fn sym(h: &EngineHandle, exchange: &str, symbol: &str) -> SymbolId {
    let ex = tickfill::types::Exchange::parse(exchange).expect("exchange");
    h.instruments.lookup(ex, symbol).expect("symbol in the default universe")
}

pub fn tick(symbol: SymbolId, ltp: f64) -> Tick {
    let p = Price::from_f64(ltp).expect("price");
    Tick {
        symbol,
        ltp: p,
        bid: Price(p.0 - 500),
        ask: Price(p.0 + 500),
        mode: 2,
        ..Tick::default()
    }
}

pub fn send(h: &EngineHandle, t: Tick) {
    h.send_tick(t, mono_now_ns()).expect("engine running");
}

pub fn order(symbol: SymbolId, side: Side, qty: i64, pt: PriceType, price: f64) -> OrderRequest {
    OrderRequest {
        symbol,
        side,
        qty: Qty(qty),
        price_type: pt,
        // CNC: valid at any hour (MIS is refused outside market hours, and tests run at
        // any hour of the day).
        product: Product::Cnc,
        price: Price::from_f64(price).expect("price"),
        trigger: Price::ZERO,
        disclosed: Qty::ZERO,
        strategy: Tag::new("test").expect("tag"),
    }
}

pub fn place(h: &EngineHandle, o: OrderRequest) -> Reply {
    h.submit(CommandKind::Place(o)).expect("reply").reply
}

pub fn placed(h: &EngineHandle, o: OrderRequest) -> OrderId {
    match place(h, o) {
        Reply::Placed(id) => id,
        other => panic!("expected Placed, got {other:?}"),
    }
}

pub fn orders(h: &EngineHandle) -> Vec<OrderRow> {
    match h.query(QueryKind::OrderBook).expect("answer") {
        QueryReply::Orders(o) => o,
        other => panic!("unexpected {other:?}"),
    }
}

pub fn positions(h: &EngineHandle) -> Vec<PositionRow> {
    match h.query(QueryKind::PositionBook).expect("answer") {
        QueryReply::Positions(p) => p,
        other => panic!("unexpected {other:?}"),
    }
}

pub fn funds(h: &EngineHandle) -> FundsRow {
    match h.query(QueryKind::Funds).expect("answer") {
        QueryReply::Funds(f) => f,
        other => panic!("unexpected {other:?}"),
    }
}

pub fn state_hash(h: &EngineHandle) -> u64 {
    match h.query(QueryKind::StateHash).expect("answer") {
        QueryReply::StateHash(d) => d,
        other => panic!("unexpected {other:?}"),
    }
}
