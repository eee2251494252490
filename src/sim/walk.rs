//! A seeded random walk with a bid/ask spread, 5 depth levels, day OHLC and volume.
//!
//! Deterministic for a given seed and call sequence, so tests and benchmarks are
//! reproducible. Prices move by whole ticks of each instrument's tick size.

#![forbid(unsafe_code)]

use crate::event::{Depth, Level, QuoteSource, Tick};
use crate::instruments::{InstrumentKind, InstrumentMaster};
use crate::types::{Price, SymbolId};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

#[derive(Debug, Clone)]
struct Walker {
    symbol: SymbolId,
    tick_size: i64,
    ltp: i64,
    open: i64,
    high: i64,
    low: i64,
    close: i64,
    volume: i64,
}

/// The walk over a set of instruments.
#[derive(Debug, Clone)]
pub struct RandomWalk {
    walkers: Vec<Walker>,
    rng: SmallRng,
    next: usize,
}

impl RandomWalk {
    /// A walk over every instrument of `master` that has a reference price, seeded.
    pub fn new(master: &InstrumentMaster, seed: u64) -> RandomWalk {
        let walkers = master
            .iter()
            .filter_map(|i| {
                let close = i.prev_close?.0;
                (close > 0).then(|| Walker {
                    symbol: i.id,
                    tick_size: i.tick_size.0.max(1),
                    ltp: close,
                    open: close,
                    high: close,
                    low: close,
                    close,
                    volume: 0,
                })
            })
            .collect();
        RandomWalk { walkers, rng: SmallRng::seed_from_u64(seed), next: 0 }
    }

    /// Only tradable instruments (indices excluded), for order placement.
    pub fn tradable(master: &InstrumentMaster) -> Vec<SymbolId> {
        master
            .iter()
            .filter(|i| i.kind != InstrumentKind::Index && i.prev_close.is_some())
            .map(|i| i.id)
            .collect()
    }

    /// Number of symbols walked.
    pub fn len(&self) -> usize {
        self.walkers.len()
    }

    /// True when no instrument had a reference price.
    pub fn is_empty(&self) -> bool {
        self.walkers.is_empty()
    }

    /// The current last price of a symbol, if walked.
    pub fn ltp(&self, symbol: SymbolId) -> Option<Price> {
        self.walkers.iter().find(|w| w.symbol == symbol).map(|w| Price(w.ltp))
    }

    /// The next tick, round-robin over symbols: one step of -2..=+2 ticks.
    pub fn next_tick(&mut self, ltt_ms: i64) -> Option<Tick> {
        if self.walkers.is_empty() {
            return None;
        }
        let i = self.next;
        self.next = (self.next + 1) % self.walkers.len();
        let step: i64 = self.rng.random_range(-2..=2);
        let qty: i64 = self.rng.random_range(1..=50);
        let w = &mut self.walkers[i];
        w.ltp = (w.ltp + step * w.tick_size).max(w.tick_size);
        w.high = w.high.max(w.ltp);
        w.low = w.low.min(w.ltp);
        w.volume += qty;
        let spread = w.tick_size;
        let mut depth = Depth { levels: 5, ..Depth::default() };
        for k in 0..5 {
            let off = spread * k as i64;
            depth.buy[k] = Level {
                price: Price(w.ltp - spread - off),
                quantity: 100 * (k as i64 + 1),
                orders: 3,
            };
            depth.sell[k] = Level {
                price: Price(w.ltp + spread + off),
                quantity: 120 * (k as i64 + 1),
                orders: 4,
            };
        }
        Some(Tick {
            symbol: w.symbol,
            ltp: Price(w.ltp),
            bid: Price(w.ltp - spread),
            ask: Price(w.ltp + spread),
            bid_qty: 100,
            ask_qty: 120,
            open: Price(w.open),
            high: Price(w.high),
            low: Price(w.low),
            close: Price(w.close),
            volume: w.volume,
            last_qty: qty,
            avg_price: Price((w.open + w.ltp) / 2),
            total_buy_qty: 1500,
            total_sell_qty: 1800,
            oi: 0,
            ltt_ms,
            mode: 3,
            source: QuoteSource::Stream,
            depth,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_ticks_and_quotes_are_consistent() {
        let m = InstrumentMaster::default_universe();
        let mut a = RandomWalk::new(&m, 7);
        let mut b = RandomWalk::new(&m, 7);
        assert!(a.len() > 100);
        for _ in 0..10_000 {
            let (x, y) = (a.next_tick(0).unwrap(), b.next_tick(0).unwrap());
            assert_eq!(x, y);
            assert!(x.bid < x.ltp && x.ltp < x.ask);
            assert!(x.low <= x.ltp && x.ltp <= x.high);
        }
    }
}
