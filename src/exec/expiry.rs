//! F&O expiry (OPENALGO.md 3b): at its exchange's close on expiry day a contract's working
//! orders are cancelled and its open positions settled at the last price.
//!
//! # Invariants
//! - After the boundary no order on an expired contract is working and no position on it
//!   is open; settlement realizes P&L and releases all the position's margin, as a closing
//!   fill would (no order or trade is recorded).
//! - Settlement price: options at the last LTP, or 0 when none was seen; futures at the
//!   last LTP, or the position's average when none was seen.
//!
//! # Known limitations
//! - Contracts without an `expiry` in the instrument master never expire.

use super::Exec;
use crate::event::StageOutput;
use crate::instruments::InstrumentKind;
use crate::types::{Exchange, Money, Price, Side};

/// The settlement price of a contract: `ltp` when positive, else 0 for options and the
/// average for anything else.
pub fn settlement_price(kind: InstrumentKind, ltp: Price, avg: Price) -> Price {
    match (ltp.is_positive(), kind) {
        (true, _) => ltp,
        (false, InstrumentKind::Option) => Price::ZERO,
        (false, _) => avg,
    }
}

impl Exec {
    fn expires(&self, symbol: crate::types::SymbolId, ex: Exchange, day: i64) -> bool {
        self.instruments
            .get(symbol)
            .is_some_and(|i| i.exchange == ex && i.expiry_day() == Some(day))
    }

    /// Expires every contract of `ex` whose expiry is `day`.
    pub(crate) fn expire(&mut self, ex: Exchange, day: i64, t: i64, out: &mut StageOutput) {
        for idx in 0..self.orders.len() {
            let o = self.orders[idx];
            if o.status.is_working() && self.expires(o.symbol, ex, day) {
                self.cancel_index(idx, t, out);
            }
        }
        for pi in 0..self.positions.len() {
            let p = self.positions[pi];
            if p.qty.0 == 0 || !self.expires(p.symbol, ex, day) {
                continue;
            }
            let kind = self.instruments.get(p.symbol).map_or(InstrumentKind::Future, |i| i.kind);
            let ltp = self.books[p.symbol.index()].quote.ltp;
            let price = settlement_price(kind, ltp, p.avg);
            let side = if p.qty.0 > 0 { Side::Sell } else { Side::Buy };
            let pos = &mut self.positions[pi];
            let fx = pos.apply_fill(side, p.qty.abs(), price, Money::ZERO);
            self.funds.release(fx.released, fx.realized);
            out.positions.push(pos.change(pi as u32));
            out.funds_changed = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use InstrumentKind::{Equity, Future, Option};

    #[test]
    fn settlement_price_table() {
        let (ltp, avg) = (Price(1_000), Price(900));
        let rows = [
            (Option, ltp, ltp),
            (Option, Price::ZERO, Price::ZERO),
            (Future, ltp, ltp),
            (Future, Price::ZERO, avg),
            (Equity, Price::ZERO, avg),
        ];
        for (kind, last, want) in rows {
            assert_eq!(settlement_price(kind, last, avg), want, "{kind:?} {last:?}");
        }
    }
}
