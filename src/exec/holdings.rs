//! CNC holdings and T+1 settlement (OPENALGO.md 3b).
//!
//! At 00:00 IST every open CNC position moves into holdings: a long adds its shares at its
//! average price (its margin leaves used margin; the cash stays spent), a short (shares
//! sold out of holdings earlier) takes its shares out of the holding and credits the sale
//! proceeds, realizing `proceeds - cost of the shares sold`. The position row goes flat.
//!
//! # Invariants
//! - `available + used_margin + sum(holding.cost) == capital + realized` (the funds
//!   invariant of [`super`] with the cash that bought the holdings counted).
//! - A holding's `qty > 0`; a holding sold down to zero is removed. `cost` is exact (a
//!   sum of fill notionals minus the cost of shares sold), so the average never drifts.
//! - A CNC SELL may sell at most the CNC position plus the holding, less what working CNC
//!   SELL orders of the symbol will already sell (**Better**: OpenAlgo checks each order
//!   alone, so two resting sells can sell the same shares twice).
//!
//! # Known limitations
//! - A CNC short that exceeds the holding at settlement (impossible through validation)
//!   settles only what the holding has.

use super::Exec;
use crate::event::StageOutput;
use crate::types::{Money, Price, Product, Qty, SymbolId, div_round};
use crate::views::HoldingRow;
use serde::{Deserialize, Serialize};

/// One settled holding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holding {
    /// Instrument.
    pub symbol: SymbolId,
    /// Shares held (> 0).
    pub qty: i64,
    /// What the shares cost in total.
    pub cost: Money,
    /// IST day of the latest settlement into it.
    pub settlement_day: i64,
}

impl Holding {
    /// Average cost per share.
    pub fn avg(&self) -> Price {
        if self.qty == 0 {
            return Price::ZERO;
        }
        Price(div_round(i128::from(self.cost.0), i128::from(self.qty)) as i64)
    }

    /// Takes `n` shares out: returns the cost of those shares (pro rata, exact at zero).
    pub fn take(&mut self, n: i64) -> Money {
        let n = n.clamp(0, self.qty);
        let out = if n == self.qty {
            self.cost
        } else {
            Money(div_round(i128::from(self.cost.0) * i128::from(n), i128::from(self.qty)) as i64)
        };
        self.qty -= n;
        self.cost = self.cost.minus(out);
        out
    }
}

impl Exec {
    /// Shares of `symbol` held (0 when none).
    pub(crate) fn held(&self, symbol: SymbolId) -> i64 {
        self.holdings.iter().find(|h| h.symbol == symbol).map_or(0, |h| h.qty)
    }

    /// Shares of `symbol` that working CNC SELL orders (other than `except`) will sell.
    pub(crate) fn pending_cnc_sells(&self, symbol: SymbolId, except: Option<usize>) -> i64 {
        let Some(book) = self.books.get(symbol.index()) else { return 0 };
        book.sells()
            .map(|i| i as usize)
            .filter(|&i| Some(i) != except)
            .map(|i| &self.orders[i])
            .filter(|o| o.side == crate::types::Side::Sell && o.product == Product::Cnc)
            .map(|o| o.qty.0 - o.filled.0)
            .sum()
    }

    /// Sum of holdings cost (for the funds invariant).
    pub fn holdings_cost(&self) -> Money {
        self.holdings.iter().fold(Money::ZERO, |a, h| a.plus(h.cost))
    }

    /// The holdings query: rows with their last price.
    pub(crate) fn holding_rows(&self) -> Vec<HoldingRow> {
        self.holdings
            .iter()
            .map(|h| HoldingRow {
                symbol: h.symbol,
                qty: Qty(h.qty),
                avg_price: h.avg(),
                cost: h.cost,
                ltp: self.books.get(h.symbol.index()).map_or(Price::ZERO, |b| b.quote.ltp),
                settlement_day: h.settlement_day,
            })
            .collect()
    }

    /// T+1 at 00:00 IST of `day`: every open CNC position settles into holdings.
    pub(crate) fn settle_cnc(&mut self, day: i64, _t: i64, out: &mut StageOutput) {
        for pi in 0..self.positions.len() {
            let p = self.positions[pi];
            if p.product != Product::Cnc || p.qty.0 == 0 {
                continue;
            }
            let n = p.qty.0.saturating_abs();
            let notional = p.contract_value.value(p.avg, Qty(n));
            let slot = self.holdings.iter().position(|h| h.symbol == p.symbol);
            if p.qty.0 > 0 {
                // Margin leaves used margin; the cash stays spent on the shares (any
                // difference between the margin blocked and the fill notional returns).
                self.funds.used_margin = self.funds.used_margin.minus(p.margin);
                self.funds.available = self.funds.available.plus(p.margin).minus(notional);
                match slot {
                    Some(i) => {
                        let h = &mut self.holdings[i];
                        h.qty += n;
                        h.cost = h.cost.plus(notional);
                        h.settlement_day = day;
                    }
                    None => {
                        self.holdings.push(Holding {
                            symbol: p.symbol,
                            qty: n,
                            cost: notional,
                            settlement_day: day,
                        });
                        self.watch(p.symbol, 1);
                    }
                }
            } else {
                // Shares sold out of the holding: proceeds credited, P&L realized.
                self.funds.release(p.margin, Money::ZERO);
                if let Some(i) = slot {
                    let h = &mut self.holdings[i];
                    let sold = n.min(h.qty);
                    let cost = h.take(sold);
                    let proceeds = p.contract_value.value(p.avg, Qty(sold));
                    self.funds.credit(proceeds, proceeds.minus(cost));
                    if h.qty == 0 {
                        self.holdings.remove(i);
                        self.watch(p.symbol, -1);
                    }
                }
            }
            let p = &mut self.positions[pi];
            p.qty = Qty::ZERO;
            p.avg = Price::ZERO;
            p.margin = Money::ZERO;
            out.positions.push(p.change(pi as u32));
            out.funds_changed = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_is_pro_rata_and_exact_at_zero() {
        // (qty, cost in paise-scale units, take, expected cost out, qty left)
        let rows = [(10, 1_000, 5, 500, 5), (3, 1_000, 1, 333, 2), (3, 1_000, 3, 1_000, 0)];
        for (qty, cost, n, out, left) in rows {
            let mut h = Holding { symbol: SymbolId(0), qty, cost: Money(cost), settlement_day: 0 };
            assert_eq!(h.take(n), Money(out));
            assert_eq!(h.qty, left);
            assert_eq!(h.cost, Money(cost - out));
        }
        let h = Holding { symbol: SymbolId(0), qty: 4, cost: Money(1_000), settlement_day: 0 };
        assert_eq!(h.avg(), Price(250));
    }
}
