//! What every family of integration-test helpers shares (`util`, `api_util`, `ws_support`,
//! `feed_support` include it): the engine config every test starts from, the CNC order
//! every test places, and waiting on a fact with a bound.
//!
//! Included with `#[path = "../common/mod.rs"] pub mod common;` from each family's
//! `mod.rs`, so a test binary that uses several families compiles it once per family (the
//! functions are small; the alternative, one more `mod common;` line in every test file,
//! touches every test).

#![allow(dead_code, reason = "each test binary uses a subset")]

use std::path::Path;
use std::time::{Duration, Instant};
use tickfill::engine::EngineConfig;
use tickfill::event::OrderRequest;
use tickfill::journal::JournalConfig;
use tickfill::ring::{IdleStrategy, Topology};
use tickfill::types::{Price, PriceType, Product, Qty, Side, SymbolId, Tag};

/// An engine config for tests: fused (or `TICKFILL_TEST_TOPOLOGY=inline`), backoff idle
/// (as every test must on a 2-core machine), 1 MiB segments, a 1,024-slot ring, 200 ms
/// timers.
pub fn engine_config(dir: &Path) -> EngineConfig {
    let mut journal = JournalConfig::new(dir);
    journal.segment_bytes = 1 << 20;
    let mut c = EngineConfig::new(journal);
    c.pipeline.topology = std::env::var("TICKFILL_TEST_TOPOLOGY")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(Topology::Fused);
    c.pipeline.idle = IdleStrategy::Backoff;
    c.pipeline.ring_size = 1024;
    c.timer_interval = Duration::from_millis(200);
    // MIS at any hour (`serve --square-off EXCHANGE=off`): a test must not depend on the
    // time of day it runs at. The cut-off and square-off are tested in exec's unit tests
    // at explicit times.
    c.exec.square_off_minute = [None; tickfill::types::Exchange::COUNT];
    // The universe `serve` builds for a data dir: derivatives expiring after today.
    c.instruments = std::sync::Arc::new(
        tickfill::refdata::universe::default_universe_for(dir).expect("default universe"),
    );
    c
}

/// A CNC order (valid at any hour: MIS is refused outside market hours, and tests run at
/// any hour of the day) with strategy tag `strategy`.
pub fn cnc_order(
    symbol: SymbolId,
    side: Side,
    qty: i64,
    pt: PriceType,
    price: f64,
    strategy: &str,
) -> OrderRequest {
    OrderRequest {
        symbol,
        side,
        qty: Qty(qty),
        price_type: pt,
        product: Product::Cnc,
        price: Price::from_f64(price).expect("price"),
        trigger: Price::ZERO,
        disclosed: Qty::ZERO,
        strategy: Tag::new(strategy).expect("tag"),
    }
}

/// Waits until `cond` holds, looking every `every`; panics naming `what` after
/// `timeout`. Returns how long it took.
pub fn wait_until(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut cond: impl FnMut() -> bool,
) -> Duration {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(every);
    }
    start.elapsed()
}
