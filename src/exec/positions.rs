//! Positions netted per (symbol, product): the add / reduce / reverse / flat rules.

use crate::event::PositionChange;
use crate::types::{ContractValue, Money, Price, Product, Qty, Side, SymbolId, div_round};
use serde::{Deserialize, Serialize};

/// One position row. Rows are never removed: a flat row keeps today's realized P&L.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Instrument.
    pub symbol: SymbolId,
    /// Product.
    pub product: Product,
    /// Signed net quantity.
    pub qty: Qty,
    /// Average price of the open quantity (0 when flat).
    pub avg: Price,
    /// Realized P&L today.
    pub realized: Money,
    /// Margin held by the open quantity.
    pub margin: Money,
    /// Contract value (underlying units per contract, from the instrument master).
    pub contract_value: ContractValue,
    /// The part of realized P&L below one money unit, in [`ContractValue::SCALE`]ths of
    /// it (`0..SCALE`): a fractional contract value (0.001 BTC) can realize less than a
    /// money unit per fill, and carrying the rest keeps the running total exact over any
    /// number of fills (`realized` is the floor of the exact sum).
    pub realized_rem: i64,
}

/// What a fill did to funds: margin released and P&L realized.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FillEffect {
    /// Margin leaving used margin.
    pub released: Money,
    /// P&L realized by the fill.
    pub realized: Money,
}

impl Position {
    /// A flat row.
    pub fn new(symbol: SymbolId, product: Product, contract_value: ContractValue) -> Position {
        Position {
            symbol,
            product,
            qty: Qty::ZERO,
            avg: Price::ZERO,
            realized: Money::ZERO,
            margin: Money::ZERO,
            contract_value,
            realized_rem: 0,
        }
    }

    /// Applies a fill of `qty` (unsigned) at `price`; `blocked` is the margin the order
    /// held, which passes to the position (or is released when the fill flattens it).
    pub fn apply_fill(&mut self, side: Side, qty: Qty, price: Price, blocked: Money) -> FillEffect {
        let n = qty.0.max(0);
        let signed = side.sign().saturating_mul(n);
        let old = self.qty.0;
        let old_abs = old.saturating_abs();
        let mut fx = FillEffect::default();
        if old == 0 || old.signum() == signed.signum() {
            // New, reopened, or adding the same direction.
            let total = i128::from(old_abs) + i128::from(n);
            if total > 0 {
                let num = i128::from(old_abs) * i128::from(self.avg.0)
                    + i128::from(n) * i128::from(price.0);
                self.avg = Price(div_round(num, total).clamp(0, i128::from(i64::MAX)) as i64);
            }
            self.qty = Qty(old.saturating_add(signed));
            self.margin = self.margin.plus(blocked);
            return fx;
        }
        // Opposite direction: reduce, flatten or reverse.
        let reduced = n.min(old_abs);
        let per_unit = if old > 0 { price.minus(self.avg) } else { self.avg.minus(price) };
        fx.realized = self.realize(per_unit, Qty(reduced));
        if n < old_abs {
            let part = div_round(i128::from(self.margin.0) * i128::from(n), i128::from(old_abs));
            fx.released = Money(part as i64);
            self.margin = self.margin.minus(fx.released).plus(blocked);
            self.qty = Qty(old.saturating_add(signed));
        } else if n == old_abs {
            fx.released = self.margin.plus(blocked);
            self.margin = Money::ZERO;
            self.qty = Qty::ZERO;
            self.avg = Price::ZERO;
        } else {
            fx.released = self.margin;
            self.margin = blocked;
            self.qty = Qty(old.saturating_add(signed));
            self.avg = price;
        }
        fx
    }

    /// Adds `per_unit x qty x contract value` to the exact running total and returns how
    /// much the money-unit part of `realized` moved (what funds book).
    fn realize(&mut self, per_unit: Price, qty: Qty) -> Money {
        let scale = i128::from(ContractValue::SCALE);
        let total = i128::from(self.realized.0) * scale
            + i128::from(self.realized_rem)
            + self.contract_value.exact(per_unit, qty);
        let whole = total.div_euclid(scale).clamp(i128::from(i64::MIN), i128::from(i64::MAX));
        self.realized_rem = total.rem_euclid(scale) as i64;
        let before = self.realized;
        self.realized = Money(whole as i64);
        self.realized.minus(before)
    }

    /// Clears realized P&L and its remainder (a funds reset starts from nothing; a session
    /// boundary zeroes only `realized` and keeps the remainder, so lifetime funds stay exact).
    pub fn clear_realized(&mut self) {
        self.realized = Money::ZERO;
        self.realized_rem = 0;
    }

    /// The change record for stage outputs.
    pub fn change(&self, index: u32) -> PositionChange {
        PositionChange {
            index,
            symbol: self.symbol,
            product: self.product,
            qty: self.qty,
            avg_price: self.avg,
            realized: self.realized,
            contract_value: self.contract_value,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs(r: i64) -> Price {
        Price(r * Price::SCALE)
    }

    fn amt(r: i64) -> Money {
        Money(r * Money::SCALE)
    }

    #[test]
    fn add_reduce_reverse_flat_by_hand() {
        let mut p = Position::new(SymbolId(0), Product::Mis, ContractValue::ONE);
        // Buy 10 @ 100, margin 200.
        assert_eq!(p.apply_fill(Side::Buy, Qty(10), rs(100), amt(200)), FillEffect::default());
        // Add 30 @ 120: avg = (10*100 + 30*120)/40 = 115, margin 200 + 720.
        p.apply_fill(Side::Buy, Qty(30), rs(120), amt(720));
        assert_eq!((p.qty, p.avg, p.margin), (Qty(40), rs(115), amt(920)));
        // Sell 10 @ 125: realized (125-115)*10 = 100; release 920*10/40 = 230.
        let fx = p.apply_fill(Side::Sell, Qty(10), rs(125), Money::ZERO);
        assert_eq!(fx, FillEffect { released: amt(230), realized: amt(100) });
        assert_eq!((p.qty, p.avg, p.margin), (Qty(30), rs(115), amt(690)));
        // Sell 50 @ 110: realize (110-115)*30 = -150, release 690, short 20 @ 110, margin 440.
        let fx = p.apply_fill(Side::Sell, Qty(50), rs(110), amt(440));
        assert_eq!(fx, FillEffect { released: amt(690), realized: amt(-150) });
        assert_eq!((p.qty, p.avg, p.margin), (Qty(-20), rs(110), amt(440)));
        // Buy 20 @ 100: short realizes (110-100)*20 = 200, flat, all margin released.
        let fx = p.apply_fill(Side::Buy, Qty(20), rs(100), Money::ZERO);
        assert_eq!(fx, FillEffect { released: amt(440), realized: amt(200) });
        assert_eq!((p.qty, p.avg, p.margin, p.realized), (Qty(0), rs(0), amt(0), amt(150)));
    }

    #[test]
    fn contract_value_scales_realized() {
        let mut p = Position::new(SymbolId(0), Product::Nrml, ContractValue::whole(1000).unwrap());
        p.apply_fill(Side::Sell, Qty(2), rs(80), Money::ZERO);
        let fx = p.apply_fill(Side::Buy, Qty(1), rs(79), Money::ZERO);
        assert_eq!(fx.realized, amt(1000));
    }

    #[test]
    fn fractional_contract_value_realizes_a_thousandth() {
        // BTCUSDFUT: 0.001 BTC a contract; 10 contracts moving 100 USD make 1 USD.
        let cv = ContractValue::parse("0.001").unwrap();
        let mut p = Position::new(SymbolId(0), Product::Nrml, cv);
        p.apply_fill(Side::Buy, Qty(10), rs(90_000), Money::ZERO);
        let fx = p.apply_fill(Side::Sell, Qty(10), rs(90_100), Money::ZERO);
        assert_eq!(fx.realized, amt(1));
        assert_eq!((p.realized, p.realized_rem, p.qty), (amt(1), 0, Qty(0)));
    }

    #[test]
    fn many_sub_unit_fills_do_not_drift() {
        // Each round trip realizes 0.00005 (one price unit x 1 contract x 0.5): below one
        // money unit. Rounding each fill would book 0.0001 (or 0) every time; the carried
        // remainder books exactly half a unit per trip.
        let cv = ContractValue::parse("0.5").unwrap();
        let mut p = Position::new(SymbolId(0), Product::Nrml, cv);
        let mut booked = Money::ZERO;
        let trips = 100_001i64;
        for _ in 0..trips {
            booked = booked
                .plus(p.apply_fill(Side::Buy, Qty(1), Price(1_000_000), Money::ZERO).realized);
            booked = booked
                .plus(p.apply_fill(Side::Sell, Qty(1), Price(1_000_001), Money::ZERO).realized);
        }
        // Exact: trips x 0.5 units = 50_000.5 units; realized is its floor, remainder the half.
        assert_eq!(p.realized, Money(50_000));
        assert_eq!(p.realized_rem, ContractValue::SCALE / 2);
        assert_eq!(booked, p.realized, "funds see exactly the position's realized P&L");
        // Losses round the same way (floor), and a loss of the same size returns to zero.
        for _ in 0..trips {
            p.apply_fill(Side::Buy, Qty(1), Price(1_000_001), Money::ZERO);
            p.apply_fill(Side::Sell, Qty(1), Price(1_000_000), Money::ZERO);
        }
        assert_eq!((p.realized, p.realized_rem), (Money::ZERO, 0));
    }

    #[test]
    fn odd_contract_values_sum_exactly() {
        // 0.00037 x 7 contracts x 12.3456 a fill, 10_000 fills: compare with i128 by hand.
        let cv = ContractValue::parse("0.00037").unwrap();
        let mut p = Position::new(SymbolId(0), Product::Nrml, cv);
        let mut booked = Money::ZERO;
        for _ in 0..10_000 {
            p.apply_fill(Side::Sell, Qty(7), Price(1_123_456), Money::ZERO);
            booked = booked
                .plus(p.apply_fill(Side::Buy, Qty(7), Price(1_000_000), Money::ZERO).realized);
        }
        let exact: i128 = 10_000 * 123_456 * 7 * 37_000;
        let scale = i128::from(ContractValue::SCALE);
        assert_eq!(i128::from(p.realized.0), exact / scale);
        assert_eq!(i128::from(p.realized_rem), exact % scale);
        assert_eq!(booked, p.realized);
    }
}
