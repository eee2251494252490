//! A seeded random walk with a bid/ask spread, 5 depth levels, day OHLC and volume.
//!
//! Deterministic for a given seed and call sequence, so tests and benchmarks are
//! reproducible. Prices move by whole ticks of each instrument's tick size.
//!
//! Depth sizes are whole lots of the instrument, drawn per level and per step from the
//! same counter-based generator (so a REST snapshot shows the book the last tick showed):
//! each level holds 0.5x to 1.5x of `base x (level + 1)` lots, larger away from the touch,
//! where `base` gives the touch about [`TOUCH_NOTIONAL_RUPEES`] of notional (futures:
//! [`FUTURE_TOUCH_NOTIONAL_RUPEES`]; at least one lot). [`RandomWalk::set_liquidity`] scales a symbol's book (`factor` 0.05 leaves a
//! twentieth: a thin book where a market order walks several levels), never below one
//! lot a level.
//!
//! Two ways to drive it:
//! - [`RandomWalk::next_tick`]: round-robin over every symbol from one shared generator
//!   (the demo and the benchmarks).
//! - [`RandomWalk::step`]: one chosen symbol, from a counter-based generator keyed by
//!   (seed, symbol, step number), so a symbol's path depends only on the seed and how many
//!   steps it has taken, not on which other symbols are walked (the simulated broker,
//!   which walks only what clients subscribe to).

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
    /// Steps taken through [`RandomWalk::step`]; the counter of its generator.
    steps: u64,
    /// Units in one lot (1 for cash equities).
    lot: i64,
    /// Lots at the touch before the per-level growth and the draw: liquidity in lots.
    base_lots: i64,
    /// Liquidity factor in millionths (1_000_000 = the normal book).
    liquidity_ppm: i64,
}

/// Notional the touch level carries on average in the normal book, rupees: a liquid NSE
/// name (or an option's premium) shows a few lakh at the best bid and ask.
pub const TOUCH_NOTIONAL_RUPEES: i64 = 500_000;

/// The same for futures, rupees: index and stock futures are the deepest books on the
/// exchange (a couple of crore, about ten NIFTY lots, at the touch).
pub const FUTURE_TOUCH_NOTIONAL_RUPEES: i64 = 20_000_000;

/// The largest liquidity factor `set_liquidity` takes (a book 100x deeper than normal).
pub const MAX_LIQUIDITY_FACTOR: f64 = 100.0;

/// The walk over a set of instruments.
#[derive(Debug, Clone)]
pub struct RandomWalk {
    walkers: Vec<Walker>,
    /// Walker index of each symbol id (`u32::MAX` = not walked).
    by_symbol: Vec<u32>,
    seed: u64,
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
                    steps: 0,
                    lot: i.lot_size.max(1),
                    base_lots: base_lots(close, i.lot_size.max(1), i.kind),
                    liquidity_ppm: 1_000_000,
                })
            })
            .collect::<Vec<_>>();
        let mut by_symbol = vec![u32::MAX; master.len()];
        for (i, w) in walkers.iter().enumerate() {
            by_symbol[w.symbol.index()] = i as u32;
        }
        RandomWalk { walkers, by_symbol, seed, rng: SmallRng::seed_from_u64(seed), next: 0 }
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
        self.index_of(symbol).map(|i| Price(self.walkers[i].ltp))
    }

    /// The walker index of a symbol (for [`RandomWalk::step`]), if walked.
    #[inline]
    pub fn index_of(&self, symbol: SymbolId) -> Option<usize> {
        let i = *self.by_symbol.get(symbol.index())?;
        (i != u32::MAX).then_some(i as usize)
    }

    /// The symbol of a walker index.
    ///
    /// # Panics
    /// When `index >= self.len()`.
    #[inline]
    pub fn symbol(&self, index: usize) -> SymbolId {
        self.walkers[index].symbol
    }

    /// One step of the walker at `index` (see [`RandomWalk::index_of`]): -2..=+2 ticks,
    /// from the counter-based generator, so the path depends on the seed and the
    /// symbol's own step count only.
    ///
    /// # Panics
    /// When `index >= self.len()`.
    pub fn step(&mut self, index: usize, ltt_ms: i64) -> Tick {
        let seed = self.seed;
        let w = &mut self.walkers[index];
        let h = mix(seed, w.symbol.0 as u64, w.steps);
        w.steps += 1;
        let step = (h % 5) as i64 - 2;
        let qty = ((h >> 32) % 50) as i64 + 1;
        advance(w, step, qty);
        quote(w, seed, qty, ltt_ms)
    }

    /// The current state of the walker at `index` as a tick, without moving it (REST quotes).
    ///
    /// # Panics
    /// When `index >= self.len()`.
    pub fn snapshot(&self, index: usize, ltt_ms: i64) -> Tick {
        quote(&self.walkers[index], self.seed, 0, ltt_ms)
    }

    /// Moves the walker at `index` to `ltp` (rounded to its tick size, at least one tick);
    /// the day high and low widen to include it. Returns the price set.
    ///
    /// # Panics
    /// When `index >= self.len()`.
    pub fn set_ltp(&mut self, index: usize, ltp: Price) -> Price {
        let w = &mut self.walkers[index];
        let ticks = (ltp.0 + w.tick_size / 2) / w.tick_size;
        w.ltp = (ticks * w.tick_size).max(w.tick_size);
        w.high = w.high.max(w.ltp);
        w.low = w.low.min(w.ltp);
        Price(w.ltp)
    }

    /// Scales the depth sizes of the walker at `index` by `factor` (1.0 = the normal book,
    /// 0.05 = a twentieth of it; at least one lot a level stays). Returns the factor set,
    /// or `None` when it is not a finite number in (0, [`MAX_LIQUIDITY_FACTOR`]].
    ///
    /// # Panics
    /// When `index >= self.len()`.
    pub fn set_liquidity(&mut self, index: usize, factor: f64) -> Option<f64> {
        let ppm = liquidity_ppm(factor)?;
        self.walkers[index].liquidity_ppm = ppm;
        Some(factor)
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
        let seed = self.seed;
        let w = &mut self.walkers[i];
        advance(w, step, qty);
        w.steps += 1;
        Some(quote(w, seed, qty, ltt_ms))
    }
}

/// SplitMix64's finalizer over (seed, symbol, step): a stateless, well-mixed generator.
fn mix(seed: u64, symbol: u64, step: u64) -> u64 {
    let mut z = seed
        ^ symbol.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ step.wrapping_mul(0xD1B5_4A32_D192_ED03).rotate_left(17);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn advance(w: &mut Walker, step: i64, qty: i64) {
    w.ltp = (w.ltp + step * w.tick_size).max(w.tick_size);
    w.high = w.high.max(w.ltp);
    w.low = w.low.min(w.ltp);
    w.volume += qty;
}

/// A liquidity factor as millionths, when it is a finite number in (0, max].
pub(crate) fn liquidity_ppm(factor: f64) -> Option<i64> {
    (factor.is_finite() && factor > 0.0 && factor <= MAX_LIQUIDITY_FACTOR)
        .then(|| ((factor * 1e6).round() as i64).max(1))
}

/// Lots at the touch that make about [`TOUCH_NOTIONAL_RUPEES`] (futures:
/// [`FUTURE_TOUCH_NOTIONAL_RUPEES`]) at `price` (at least one).
fn base_lots(price: i64, lot: i64, kind: InstrumentKind) -> i64 {
    let notional = match kind {
        InstrumentKind::Future => FUTURE_TOUCH_NOTIONAL_RUPEES,
        _ => TOUCH_NOTIONAL_RUPEES,
    };
    let lot_value = (price / Price::SCALE).max(1).saturating_mul(lot);
    (notional / lot_value).max(1)
}

/// Units at depth level `k` (0 = touch) of one side: `base x (k + 1)` lots drawn from
/// 0.5x to 1.5x, scaled by the liquidity factor, at least one lot.
fn level_qty(w: &Walker, h: u64, k: usize) -> i64 {
    let mean = w.base_lots * (k as i64 + 1);
    let draw = 500 + (h % 1001) as i64; // per mille, 500..=1500
    let lots = (mean * draw / 1000).max(1) * w.liquidity_ppm / 1_000_000;
    lots.max(1) * w.lot
}

/// The walker's state as a depth tick: one tick of spread, 5 levels a side, sizes drawn
/// from (seed, symbol, steps taken) so a snapshot repeats the last step's book.
fn quote(w: &Walker, seed: u64, qty: i64, ltt_ms: i64) -> Tick {
    let spread = w.tick_size;
    let mut depth = Depth { levels: 5, ..Depth::default() };
    let (mut total_buy, mut total_sell) = (0, 0);
    for k in 0..5 {
        let off = spread * k as i64;
        let h = mix(seed ^ 0xD3B7_u64.wrapping_mul(k as u64 + 1), w.symbol.0 as u64, w.steps);
        let (bq, sq) = (level_qty(w, h, k), level_qty(w, h >> 20, k));
        let orders = |q: i64| (q / w.lot / w.base_lots.max(1)).clamp(1, 40) + (h % 3) as i64;
        depth.buy[k] =
            Level { price: Price(w.ltp - spread - off), quantity: bq, orders: orders(bq) };
        depth.sell[k] =
            Level { price: Price(w.ltp + spread + off), quantity: sq, orders: orders(sq) };
        total_buy += bq;
        total_sell += sq;
    }
    Tick {
        symbol: w.symbol,
        ltp: Price(w.ltp),
        bid: Price(w.ltp - spread),
        ask: Price(w.ltp + spread),
        bid_qty: depth.buy[0].quantity,
        ask_qty: depth.sell[0].quantity,
        open: Price(w.open),
        high: Price(w.high),
        low: Price(w.low),
        close: Price(w.close),
        volume: w.volume,
        last_qty: qty,
        avg_price: Price((w.open + w.ltp) / 2),
        // The visible five levels times ten: the exchange's whole book behind them.
        total_buy_qty: total_buy * 10,
        total_sell_qty: total_sell * 10,
        oi: 0,
        ltt_ms,
        mode: 3,
        source: QuoteSource::Stream,
        depth,
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
        assert!(a.len() > 50, "the embedded master walks every symbol: {}", a.len());
        for _ in 0..10_000 {
            let (x, y) = (a.next_tick(0).unwrap(), b.next_tick(0).unwrap());
            assert_eq!(x, y);
            assert!(x.bid < x.ltp && x.ltp < x.ask);
            assert!(x.low <= x.ltp && x.ltp <= x.high);
        }
    }

    #[test]
    fn a_symbols_steps_do_not_depend_on_other_symbols() {
        let m = InstrumentMaster::default_universe();
        let mut a = RandomWalk::new(&m, 9);
        let mut b = RandomWalk::new(&m, 9);
        let mut c = RandomWalk::new(&m, 10);
        let (mut same, mut differ) = (true, false);
        for _ in 0..200 {
            let x = a.step(3, 0);
            b.step(4, 0);
            let y = b.step(3, 0);
            let z = c.step(3, 0);
            same &= x == y;
            differ |= x.ltp != z.ltp;
            assert!(x.bid < x.ltp && x.ltp < x.ask && x.low <= x.ltp && x.ltp <= x.high);
        }
        assert!(same && differ);
        assert_eq!(a.snapshot(3, 0).ltp, a.ltp(a.symbol(3)).unwrap());
    }

    #[test]
    fn set_ltp_rounds_to_the_tick_and_widens_the_range() {
        let m = InstrumentMaster::default_universe();
        let mut w = RandomWalk::new(&m, 1);
        let before = w.snapshot(0, 0);
        let tick = before.ask.minus(before.ltp);
        let up = Price(before.high.0 + 50 * tick.0);
        let odd = Price(up.0 + tick.0 / 2 - 1);
        assert_eq!(w.set_ltp(0, odd), up, "rounds to the nearest tick");
        assert_eq!(w.set_ltp(0, up), up);
        let t = w.snapshot(0, 0);
        assert_eq!((t.ltp, t.high, t.low), (up, up, before.low));
        assert!(w.step(0, 0).high >= up);
        assert_eq!(w.index_of(w.symbol(0)), Some(0));
    }

    #[test]
    fn depth_sizes_are_lots_that_vary_grow_away_from_the_touch_and_thin_on_demand() {
        let m = InstrumentMaster::from_csv_str(
            "symbol,exchange,lotsize,tick_size,instrumenttype,prev_close\n\
             SBIN,NSE,1,0.05,EQ,812.50\nNIFTYFUT,NFO,75,0.05,FUT,24000\n",
        )
        .unwrap();
        let mut w = RandomWalk::new(&m, 5);
        let nifty = m.iter().find(|i| i.lot_size == 75).unwrap();
        let n = w.index_of(nifty.id).unwrap();
        let (mut touch, mut far, mut distinct) = (0, 0, std::collections::HashSet::new());
        let mut last = w.step(n, 0);
        for _ in 0..200 {
            last = w.step(n, 0);
            for l in last.depth.buy.iter().chain(&last.depth.sell) {
                assert!(l.quantity > 0 && l.quantity % nifty.lot_size == 0, "whole lots: {l:?}");
                distinct.insert(l.quantity);
            }
            touch += last.depth.sell[0].quantity;
            far += last.depth.sell[4].quantity;
            assert_eq!(
                (last.bid_qty, last.ask_qty),
                (last.depth.buy[0].quantity, last.depth.sell[0].quantity)
            );
        }
        assert!(distinct.len() > 20, "sizes vary per level and tick: {distinct:?}");
        assert!(far > 3 * touch, "deeper away from the touch: {far} vs {touch}");
        assert_eq!(w.snapshot(n, 0).depth, last.depth, "a snapshot shows the last step's book");
        let mut v = RandomWalk::new(&m, 5);
        let mut again = v.step(n, 0);
        for _ in 0..200 {
            again = v.step(n, 0);
        }
        assert_eq!(again.depth, last.depth, "same seed, same books");

        let normal: i64 = w.snapshot(n, 0).depth.sell.iter().map(|l| l.quantity).sum();
        assert_eq!(w.set_liquidity(n, 0.05), Some(0.05));
        let thin: i64 = w.snapshot(n, 0).depth.sell.iter().map(|l| l.quantity).sum();
        assert!(thin * 10 < normal, "thinned: {thin} of {normal}");
        assert!(w.snapshot(n, 0).depth.sell.iter().all(|l| l.quantity >= nifty.lot_size));
        assert_eq!(w.set_liquidity(n, 0.0), None);
        assert_eq!(w.set_liquidity(n, f64::NAN), None);
        assert_eq!(w.set_liquidity(n, 101.0), None);
    }
}
