//! Stage 2, mark-to-market: unrealized P&L of every position on each tick of its symbol,
//! and the totals that positionbook and funds report.
//!
//! MTM owns valuations. It learns positions from the [`PositionChange`]s execution writes
//! into the slot (so it never reads execution's state), and prices from ticks.
//!
//! # Invariants
//! - `unrealized_total` equals the sum of every row's `unrealized`, maintained
//!   incrementally (checked by `debug_assert!` on snapshots and in tests).
//! - A row's unrealized P&L is `(ltp - avg) x qty x cv` (signed qty covers both sides),
//!   zero when flat or when no price has been seen.
//!
//! # Freshness (OpenAlgo's MTM rule)
//! - The mark price of a symbol is decided again on each of its ticks, from event times
//!   only (`header.time_ns`, never the wall clock): the latest streamed price when it is
//!   at most `max_age` old (default 5 s), else the latest polled price (the stale streamed
//!   one while nothing was polled). There is no sticky "fallback" state: a fresh streamed
//!   tick wins again at once.
//!
//! # Known limitations
//! - A position is re-marked only on a tick of its symbol, not on timers.
//!
//! # Performance
//! A tick costs O(1) when its symbol has no position, else O(rows of that symbol).
//! No allocation on ticks; a new position row appends to two vectors.

#![forbid(unsafe_code)]

pub mod stage;

use crate::event::{
    Event, FundsView, Input, PositionChange, QueryKind, QuoteSource, StageOutput, Tick,
};
use crate::types::{ContractValue, Money, Price, Product, Qty, SymbolId, div_round};
use crate::views::{FundsRow, PositionRow, QueryReply};
use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Row {
    symbol: SymbolId,
    product: Product,
    qty: Qty,
    avg: Price,
    realized: Money,
    cv: ContractValue,
    unrealized: Money,
}

/// The MTM stage's state.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mtm {
    rows: Vec<Row>,
    /// Row indices per symbol (indexed by dense symbol id).
    by_symbol: Vec<Vec<u32>>,
    /// Last price per symbol (0 = none yet).
    ltp: Vec<Price>,
    funds: FundsView,
    unrealized_total: Money,
    /// Latest streamed price per symbol and its event time (epoch ns).
    streamed: Vec<(Price, i64)>,
    /// Latest polled (REST) price per symbol and its event time.
    polled: Vec<(Price, i64)>,
    /// A streamed price older than this (ns) gives way to a polled one.
    max_age_ns: i64,
}

/// The default MTM freshness limit: 5 s, as OpenAlgo's position manager.
pub const DEFAULT_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(5);

/// A snapshot that cannot be restored.
#[derive(Debug, Error)]
pub enum MtmSnapshotError {
    /// The bytes do not decode; the snapshot is corrupt or from another version.
    #[error("MTM snapshot does not decode: {0}")]
    Decode(#[from] postcard::Error),
}

impl Mtm {
    /// An empty valuation table for `symbols` instruments, with the starting funds.
    pub fn new(symbols: usize, funds: FundsView) -> Mtm {
        Mtm {
            rows: Vec::new(),
            by_symbol: vec![Vec::new(); symbols],
            ltp: vec![Price::ZERO; symbols],
            funds,
            unrealized_total: Money::ZERO,
            streamed: vec![(Price::ZERO, 0); symbols],
            polled: vec![(Price::ZERO, 0); symbols],
            max_age_ns: DEFAULT_MAX_AGE.as_nanos() as i64,
        }
    }

    /// Sets how old a streamed price may be and still mark positions (kept in snapshots,
    /// set again at every start from the configuration).
    pub fn set_max_age(&mut self, max_age: std::time::Duration) {
        self.max_age_ns = i64::try_from(max_age.as_nanos()).unwrap_or(i64::MAX);
    }

    /// Applies one event (ticks and the fills execution wrote for it).
    #[inline]
    pub fn apply(&mut self, event: &Event, out: &mut StageOutput) {
        for change in &out.positions {
            self.upsert(change);
        }
        if out.funds_changed {
            self.funds = out.funds;
        }
        if let Input::Tick(tick) = &event.input {
            if tick.ltp.is_positive() {
                let price = self.mark_price(tick, event.header.time_ns);
                self.mark(tick.symbol, price);
            }
        }
    }

    /// Records the tick's price by source and decides the mark price of its symbol now.
    #[inline]
    fn mark_price(&mut self, tick: &Tick, now_ns: i64) -> Price {
        let i = tick.symbol.index();
        let (Some(streamed), Some(polled)) = (self.streamed.get_mut(i), self.polled.get_mut(i))
        else {
            return tick.ltp;
        };
        match tick.source {
            QuoteSource::Stream => *streamed = (tick.ltp, now_ns),
            QuoteSource::Poll => *polled = (tick.ltp, now_ns),
        }
        let (s_px, s_time) = *streamed;
        let (p_px, _) = *polled;
        let stream_fresh = s_px.is_positive() && now_ns.saturating_sub(s_time) <= self.max_age_ns;
        if stream_fresh || !p_px.is_positive() { s_px } else { p_px }
    }

    fn mark(&mut self, symbol: SymbolId, ltp: Price) {
        let Some(slot) = self.ltp.get_mut(symbol.index()) else { return };
        *slot = ltp;
        let Some(indices) = self.by_symbol.get(symbol.index()) else { return };
        for &i in indices {
            let row = &mut self.rows[i as usize];
            let new = unrealized(row, ltp);
            self.unrealized_total = self.unrealized_total.plus(new.minus(row.unrealized));
            row.unrealized = new;
        }
    }

    fn upsert(&mut self, c: &PositionChange) {
        let i = c.index as usize;
        if i >= self.rows.len() {
            // Rows are created densely in index order by execution; fill any gap defensively.
            while self.rows.len() <= i {
                self.rows.push(Row {
                    symbol: c.symbol,
                    product: c.product,
                    qty: Qty::ZERO,
                    avg: Price::ZERO,
                    realized: Money::ZERO,
                    cv: ContractValue::ONE,
                    unrealized: Money::ZERO,
                });
            }
            if let Some(list) = self.by_symbol.get_mut(c.symbol.index()) {
                list.push(c.index);
            }
        }
        let ltp = self.ltp.get(c.symbol.index()).copied().unwrap_or(Price::ZERO);
        let row = &mut self.rows[i];
        row.symbol = c.symbol;
        row.product = c.product;
        row.qty = c.qty;
        row.avg = c.avg_price;
        row.realized = c.realized;
        row.cv = c.contract_value;
        let new = unrealized(row, ltp);
        self.unrealized_total = self.unrealized_total.plus(new.minus(row.unrealized));
        row.unrealized = new;
    }

    /// Answers PositionBook and Funds; `None` for other kinds.
    pub fn answer(&self, query: &QueryKind) -> Option<QueryReply> {
        match query {
            QueryKind::PositionBook => Some(QueryReply::Positions(self.positions())),
            QueryKind::Funds => Some(QueryReply::Funds(self.funds_row())),
            _ => None,
        }
    }

    /// The positionbook rows, marked to market: open ones, and flat ones while they carry
    /// realized P&L of this session (OPENALGO.md 3b; execution zeroes that at the session
    /// boundary and moves CNC rows into holdings).
    pub fn positions(&self) -> Vec<PositionRow> {
        self.rows
            .iter()
            .filter(|r| r.qty.0 != 0 || r.realized.0 != 0)
            .map(|r| {
                let ltp = self.ltp[r.symbol.index()];
                let pnl = r.realized.plus(r.unrealized);
                let basis = r.cv.value(r.avg, r.qty).0.unsigned_abs();
                let pnl_percent_bp = if r.qty.0 == 0 || basis == 0 {
                    0
                } else {
                    div_round(i128::from(pnl.0) * 10_000, i128::from(basis)) as i64
                };
                PositionRow {
                    symbol: r.symbol,
                    product: r.product,
                    qty: r.qty,
                    avg_price: r.avg,
                    ltp,
                    unrealized: r.unrealized,
                    realized: r.realized,
                    pnl,
                    pnl_percent_bp,
                }
            })
            .collect()
    }

    /// Funds with MTM.
    pub fn funds_row(&self) -> FundsRow {
        let gross = self.rows.iter().fold(Money::ZERO, |acc, r| {
            let ltp = self.ltp[r.symbol.index()];
            let px = if ltp.is_positive() { ltp } else { r.avg };
            acc.plus(Money(r.cv.value(px, r.qty).0.saturating_abs()))
        });
        FundsRow {
            available: self.funds.available,
            used_margin: self.funds.used_margin,
            unrealized: self.unrealized_total,
            realized: self.funds.realized,
            gross_exposure: gross,
            today_realized: self.funds.today_realized,
            reset_count: self.funds.reset_count,
            last_reset_ns: self.funds.last_reset_ns,
        }
    }

    /// Sum of unrealized P&L.
    pub fn unrealized_total(&self) -> Money {
        self.unrealized_total
    }

    /// Serialized state (postcard, deterministic).
    pub fn snapshot(&self) -> Vec<u8> {
        debug_assert_eq!(
            self.rows.iter().fold(Money::ZERO, |a, r| a.plus(r.unrealized)),
            self.unrealized_total
        );
        postcard::to_stdvec(self).unwrap_or_default()
    }

    /// Rebuilds from [`Mtm::snapshot`] bytes.
    pub fn restore(bytes: &[u8]) -> Result<Mtm, MtmSnapshotError> {
        Ok(postcard::from_bytes(bytes)?)
    }

    /// A deterministic digest of the state.
    pub fn digest(&self) -> u64 {
        crate::digest::fnv1a(&self.snapshot())
    }
}

#[inline]
fn unrealized(row: &Row, ltp: Price) -> Money {
    if row.qty.0 == 0 || !ltp.is_positive() {
        return Money::ZERO;
    }
    row.cv.value(ltp.minus(row.avg), row.qty)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Header;

    fn tick(symbol: u32, ltp: i64) -> Event {
        Event {
            header: Header::default(),
            input: Input::Tick(Tick {
                symbol: SymbolId(symbol),
                ltp: Price(ltp),
                ..Tick::default()
            }),
        }
    }

    fn change(index: u32, symbol: u32, qty: i64, avg: i64, realized: i64) -> PositionChange {
        PositionChange {
            index,
            symbol: SymbolId(symbol),
            product: Product::Mis,
            qty: Qty(qty),
            avg_price: Price(avg),
            realized: Money(realized),
            contract_value: ContractValue::ONE,
        }
    }

    #[test]
    fn long_and_short_marked_on_their_symbols_ticks() {
        let mut m = Mtm::new(4, FundsView::default());
        let mut out = StageOutput::new();
        out.positions.push(change(0, 1, 10, 100_0000, 0)); // long 10 @ 100
        out.positions.push(change(1, 2, -5, 200_0000, 0)); // short 5 @ 200
        m.apply(&tick(3, 1), &mut out);
        out.clear();
        m.apply(&tick(1, 105_0000), &mut out); // +5 x 10 = +50
        m.apply(&tick(2, 190_0000), &mut out); // short gains 10 x 5 = +50
        let rows = m.positions();
        assert_eq!(rows[0].unrealized, Money(50_0000));
        assert_eq!(rows[1].unrealized, Money(50_0000));
        assert_eq!(m.unrealized_total(), Money(100_0000));
        // pnl% = 50 / (100 x 10) = 5% = 500 bp
        assert_eq!(rows[0].pnl_percent_bp, 500);
        m.apply(&tick(1, 95_0000), &mut out);
        assert_eq!(m.unrealized_total(), Money(-50_0000 + 50_0000));
    }

    #[test]
    fn flat_row_keeps_realized_and_has_no_unrealized() {
        let mut m = Mtm::new(2, FundsView::default());
        let mut out = StageOutput::new();
        out.positions.push(change(0, 1, 0, 0, 123_0000));
        m.apply(&tick(1, 50_0000), &mut out);
        let rows = m.positions();
        assert_eq!(rows[0].unrealized, Money::ZERO);
        assert_eq!(rows[0].pnl, Money(123_0000));
        assert_eq!(rows[0].pnl_percent_bp, 0);
    }

    fn at(symbol: u32, ltp: i64, source: QuoteSource, secs: i64) -> Event {
        Event {
            header: Header { time_ns: secs * 1_000_000_000, ..Header::default() },
            input: Input::Tick(Tick {
                symbol: SymbolId(symbol),
                ltp: Price(ltp),
                source,
                ..Tick::default()
            }),
        }
    }

    #[test]
    fn streamed_price_wins_while_fresh_then_polled_then_streamed_again() {
        use QuoteSource::{Poll, Stream};
        let mut m = Mtm::new(2, FundsView::default());
        m.set_max_age(std::time::Duration::from_secs(5));
        let mut out = StageOutput::new();
        out.positions.push(change(0, 1, 1, 100_0000, 0)); // long 1 @ 100
        let table = [
            // (event, expected mark)
            (at(1, 101_0000, Stream, 10), 101_0000), // streamed
            (at(1, 150_0000, Poll, 12), 101_0000),   // stream 2 s old: still fresh
            (at(1, 102_0000, Poll, 15), 101_0000),   // exactly 5 s: still fresh
            (at(1, 103_0000, Poll, 16), 103_0000),   // 6 s: stale, the polled price
            (at(1, 104_0000, Stream, 17), 104_0000), // fresh stream wins again, no stickiness
            (at(1, 105_0000, Poll, 30), 105_0000),   // stale stream, newer poll
        ];
        for (k, (event, want)) in table.iter().enumerate() {
            m.apply(event, &mut out);
            out.clear();
            assert_eq!(m.positions()[0].ltp, Price(*want), "step {k}");
            assert_eq!(m.unrealized_total(), Money(*want - 100_0000), "step {k}");
        }
        let r = Mtm::restore(&m.snapshot()).unwrap();
        assert_eq!(r, m, "freshness state survives a snapshot");
    }

    #[test]
    fn snapshot_round_trip() {
        let mut m = Mtm::new(2, FundsView::default());
        let mut out = StageOutput::new();
        out.positions.push(change(0, 1, 3, 10_0000, 0));
        m.apply(&tick(1, 11_0000), &mut out);
        let r = Mtm::restore(&m.snapshot()).unwrap();
        assert_eq!(r, m);
        assert_eq!(r.digest(), m.digest());
        assert!(Mtm::restore(&[0xff, 0xff]).is_err());
    }
}
