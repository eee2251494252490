//! The latest quote per symbol, written by the fanout stage and read by any thread
//! without locks.
//!
//! Each symbol's quote is a seqlock built from atomics (so no `unsafe`): the writer bumps
//! the version to odd, stores the fields, and bumps it to even; a reader retries while the
//! version is odd or changed under it. Readers never block the writer, and the writer
//! never waits. The version also tells a conflating reader (the WebSocket server) whether
//! a symbol changed since it last looked.

#![forbid(unsafe_code)]

use crate::event::{Depth, Level, Tick};
use crate::types::{Price, SymbolId};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

const SCALARS: usize = 17;
const DEPTH_FIELDS: usize = 30;

/// Field positions in a cell.
mod f {
    pub const LTP: usize = 0;
    pub const BID: usize = 1;
    pub const ASK: usize = 2;
    pub const BID_QTY: usize = 3;
    pub const ASK_QTY: usize = 4;
    pub const OPEN: usize = 5;
    pub const HIGH: usize = 6;
    pub const LOW: usize = 7;
    pub const CLOSE: usize = 8;
    pub const VOLUME: usize = 9;
    pub const LAST_QTY: usize = 10;
    pub const AVG: usize = 11;
    pub const TBQ: usize = 12;
    pub const TSQ: usize = 13;
    pub const OI: usize = 14;
    pub const LTT: usize = 15;
    pub const META: usize = 16; // mode | levels << 8 | polled << 16
}

#[derive(Debug)]
struct Cell {
    version: AtomicU64,
    /// Monotonic ns when last written (for freshness).
    updated_ns: AtomicU64,
    scalars: [AtomicI64; SCALARS],
    /// Set on the first depth tick (before the version that publishes it goes even).
    depth: OnceLock<Box<[AtomicI64; DEPTH_FIELDS]>>,
}

impl Cell {
    fn new() -> Cell {
        Cell {
            version: AtomicU64::new(0),
            updated_ns: AtomicU64::new(0),
            scalars: std::array::from_fn(|_| AtomicI64::new(0)),
            depth: OnceLock::new(),
        }
    }
}

/// A consistent copy of one symbol's latest quote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QuoteSnapshot {
    /// The tick as last written (symbol, prices, depth).
    pub tick: Tick,
    /// The cell's version (even); changes on every write.
    pub version: u64,
    /// Monotonic ns of the write.
    pub updated_ns: u64,
}

/// Latest quote of every symbol.
#[derive(Debug)]
pub struct QuoteBoard {
    cells: Box<[Cell]>,
    ticks: AtomicU64,
}

impl QuoteBoard {
    /// A board for `symbols` instruments.
    pub fn new(symbols: usize) -> QuoteBoard {
        QuoteBoard { cells: (0..symbols).map(|_| Cell::new()).collect(), ticks: AtomicU64::new(0) }
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// True when sized for no symbols.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Ticks written so far.
    pub fn ticks(&self) -> u64 {
        self.ticks.load(Ordering::Relaxed)
    }

    /// Writes a tick (the fanout stage: the only writer); returns the symbol's new
    /// version (0 for a symbol outside the board).
    #[inline]
    pub fn write(&self, tick: &Tick, now_ns: u64) -> u64 {
        let Some(cell) = self.cells.get(tick.symbol.index()) else { return 0 };
        let v = cell.version.load(Ordering::Relaxed);
        cell.version.store(v.wrapping_add(1), Ordering::Relaxed);
        std::sync::atomic::fence(Ordering::Release);
        let s = &cell.scalars;
        let put = |i: usize, x: i64| s[i].store(x, Ordering::Relaxed);
        put(f::LTP, tick.ltp.0);
        put(f::BID, tick.bid.0);
        put(f::ASK, tick.ask.0);
        put(f::BID_QTY, tick.bid_qty);
        put(f::ASK_QTY, tick.ask_qty);
        put(f::OPEN, tick.open.0);
        put(f::HIGH, tick.high.0);
        put(f::LOW, tick.low.0);
        put(f::CLOSE, tick.close.0);
        put(f::VOLUME, tick.volume);
        put(f::LAST_QTY, tick.last_qty);
        put(f::AVG, tick.avg_price.0);
        put(f::TBQ, tick.total_buy_qty);
        put(f::TSQ, tick.total_sell_qty);
        put(f::OI, tick.oi);
        put(f::LTT, tick.ltt_ms);
        let polled = i64::from(tick.source == crate::event::QuoteSource::Poll);
        put(f::META, i64::from(tick.mode) | i64::from(tick.depth.levels) << 8 | polled << 16);
        if tick.depth.levels > 0 {
            let depth =
                cell.depth.get_or_init(|| Box::new(std::array::from_fn(|_| AtomicI64::new(0))));
            for (i, l) in tick.depth.buy.iter().chain(tick.depth.sell.iter()).enumerate() {
                depth[i * 3].store(l.price.0, Ordering::Relaxed);
                depth[i * 3 + 1].store(l.quantity, Ordering::Relaxed);
                depth[i * 3 + 2].store(l.orders, Ordering::Relaxed);
            }
        }
        cell.updated_ns.store(now_ns, Ordering::Relaxed);
        cell.version.store(v.wrapping_add(2), Ordering::Release);
        self.ticks.fetch_add(1, Ordering::Relaxed);
        v.wrapping_add(2)
    }

    /// The version of a symbol's cell (cheap change detection); 0 = never written.
    #[inline]
    pub fn version(&self, symbol: SymbolId) -> u64 {
        self.cells.get(symbol.index()).map_or(0, |c| c.version.load(Ordering::Acquire))
    }

    /// A consistent copy of a symbol's latest quote; `None` if never written.
    pub fn read(&self, symbol: SymbolId) -> Option<QuoteSnapshot> {
        let cell = self.cells.get(symbol.index())?;
        loop {
            let v1 = cell.version.load(Ordering::Acquire);
            if v1 == 0 {
                return None;
            }
            if v1 % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let g = |i: usize| cell.scalars[i].load(Ordering::Relaxed);
            let meta = g(f::META);
            let mut tick = Tick {
                symbol,
                ltp: Price(g(f::LTP)),
                bid: Price(g(f::BID)),
                ask: Price(g(f::ASK)),
                bid_qty: g(f::BID_QTY),
                ask_qty: g(f::ASK_QTY),
                open: Price(g(f::OPEN)),
                high: Price(g(f::HIGH)),
                low: Price(g(f::LOW)),
                close: Price(g(f::CLOSE)),
                volume: g(f::VOLUME),
                last_qty: g(f::LAST_QTY),
                avg_price: Price(g(f::AVG)),
                total_buy_qty: g(f::TBQ),
                total_sell_qty: g(f::TSQ),
                oi: g(f::OI),
                ltt_ms: g(f::LTT),
                mode: (meta & 0xff) as u8,
                source: if meta >> 16 & 1 == 1 {
                    crate::event::QuoteSource::Poll
                } else {
                    crate::event::QuoteSource::Stream
                },
                depth: Depth { levels: (meta >> 8 & 0xff) as u8, ..Depth::default() },
            };
            // A torn read may show levels before the box exists: the version check below
            // then fails and the read is retried.
            if let Some(depth) = cell.depth.get().filter(|_| tick.depth.levels > 0) {
                let d = |i: usize| depth[i].load(Ordering::Relaxed);
                let level = |k: usize| Level {
                    price: Price(d(k * 3)),
                    quantity: d(k * 3 + 1),
                    orders: d(k * 3 + 2),
                };
                tick.depth.buy = std::array::from_fn(level);
                tick.depth.sell = std::array::from_fn(|k| level(k + 5));
            }
            let updated_ns = cell.updated_ns.load(Ordering::Relaxed);
            std::sync::atomic::fence(Ordering::Acquire);
            if cell.version.load(Ordering::Relaxed) == v1 {
                return Some(QuoteSnapshot { tick, version: v1, updated_ns });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn reads_back_what_was_written() {
        let b = QuoteBoard::new(4);
        assert!(b.read(SymbolId(1)).is_none());
        let mut t = Tick {
            symbol: SymbolId(1),
            ltp: Price(100),
            bid: Price(99),
            mode: 3,
            ..Tick::default()
        };
        t.depth.levels = 5;
        t.depth.sell[4] = Level { price: Price(105), quantity: 7, orders: 2 };
        b.write(&t, 42);
        let s = b.read(SymbolId(1)).unwrap();
        assert_eq!(s.tick, t);
        assert_eq!(s.updated_ns, 42);
        assert_eq!(b.version(SymbolId(1)), 2);
        assert!(b.read(SymbolId(9)).is_none());
    }

    #[test]
    fn depth_is_boxed_on_the_first_depth_tick_and_a_cell_stays_small() {
        assert!(std::mem::size_of::<Cell>() <= 168, "{}", std::mem::size_of::<Cell>());
        let b = QuoteBoard::new(2);
        let quote = Tick { symbol: SymbolId(0), ltp: Price(10), mode: 2, ..Tick::default() };
        b.write(&quote, 1);
        assert!(b.cells[0].depth.get().is_none());
        let mut deep = Tick { mode: 3, ..quote };
        deep.depth.levels = 1;
        deep.depth.buy[0] = Level { price: Price(9), quantity: 3, orders: 1 };
        b.write(&deep, 2);
        assert_eq!(b.read(SymbolId(0)).unwrap().tick, deep);
        // Back to a quote: no depth levels shown, the box stays for the next depth tick.
        b.write(&quote, 3);
        assert_eq!(b.read(SymbolId(0)).unwrap().tick, quote);
        assert!(b.cells[0].depth.get().is_some());
    }

    #[test]
    fn concurrent_reader_never_sees_a_torn_quote() {
        let b = Arc::new(QuoteBoard::new(1));
        let n = if cfg!(miri) { 50 } else { 50_000 };
        let r = Arc::clone(&b);
        let reader = std::thread::spawn(move || {
            let mut seen = 0;
            while seen < n / 10 {
                if let Some(s) = r.read(SymbolId(0)) {
                    // The writer keeps bid = ltp - 1 and ask = ltp + 1 in every write.
                    assert_eq!(s.tick.bid.0, s.tick.ltp.0 - 1);
                    assert_eq!(s.tick.ask.0, s.tick.ltp.0 + 1);
                    seen += 1;
                }
            }
        });
        for i in 1..=n {
            let t = Tick {
                symbol: SymbolId(0),
                ltp: Price(i),
                bid: Price(i - 1),
                ask: Price(i + 1),
                ..Tick::default()
            };
            b.write(&t, 0);
            if reader.is_finished() {
                break;
            }
        }
        // Keep writing until the reader has seen enough.
        let mut i = n;
        while !reader.is_finished() {
            i += 1;
            b.write(
                &Tick {
                    symbol: SymbolId(0),
                    ltp: Price(i),
                    bid: Price(i - 1),
                    ask: Price(i + 1),
                    ..Tick::default()
                },
                0,
            );
        }
        reader.join().unwrap();
    }
}
