//! Spec-like helpers for the integration tests: start a real engine on a temp data dir
//! (fused topology, backoff idle, as every test must on a 2-core machine), build orders,
//! and read answers.

#![allow(dead_code, reason = "each test binary uses a subset")]

#[allow(
    clippy::duplicate_mod,
    reason = "every helper family includes the shared module; a test using two loads it twice"
)]
#[path = "../common/mod.rs"]
pub mod common;

use std::path::Path;
use tickfill::clock::mono_now_ns;
use tickfill::engine::{Engine, EngineConfig, EngineHandle};
use tickfill::event::{CommandKind, OrderRequest, QueryKind, Reply, Tick};
use tickfill::types::{OrderId, Price, PriceType, Side, SymbolId};
use tickfill::views::{FundsRow, Order, PositionRow, QueryReply};

/// An engine config for tests: see [`common::engine_config`].
pub fn config(dir: &Path) -> EngineConfig {
    common::engine_config(dir)
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

/// A CNC order with strategy "test".
pub fn order(symbol: SymbolId, side: Side, qty: i64, pt: PriceType, price: f64) -> OrderRequest {
    common::cnc_order(symbol, side, qty, pt, price, "test")
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

pub fn orders(h: &EngineHandle) -> Vec<Order> {
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
