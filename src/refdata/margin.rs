//! The margin the sandbox would block for a basket of positions (`margin` without an
//! upstream): the placement rule of OPENALGO.md section 3, `|qty| x reference x contract
//! value / leverage`, with the reference the limit price (LIMIT), the trigger (SL, SL-M)
//! or the LTP (MARKET), and the leverage of the contract kind and product (option sells:
//! the option-sell leverage, as placement uses).
//!
//! # Known limitations
//! - There is no SPAN or exposure split and no hedge benefit: the sandbox blocks the
//!   leverage rule's amount for each order, so `span_margin` is that total and
//!   `exposure_margin` is 0.

#![forbid(unsafe_code)]

use crate::exec::config::ExecConfig;
use crate::instruments::InstrumentKind;
use crate::types::{Money, PriceType, Product, Qty, Side};

/// One position of a margin request, resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Leg {
    /// Kind of contract.
    pub kind: InstrumentKind,
    /// Action (option sells have their own leverage).
    pub side: Side,
    /// Product.
    pub product: Product,
    /// Price type.
    pub price_type: PriceType,
    /// Quantity.
    pub qty: Qty,
    /// Limit price.
    pub price: crate::types::Price,
    /// Trigger price.
    pub trigger: crate::types::Price,
    /// The latest price.
    pub ltp: crate::types::Price,
    /// Contract value.
    pub contract_value: crate::types::ContractValue,
}

impl Leg {
    /// The price margin is computed on.
    pub fn reference(&self) -> crate::types::Price {
        match self.price_type {
            PriceType::Market => self.ltp,
            PriceType::Limit => self.price,
            PriceType::StopLimit | PriceType::StopMarket => self.trigger,
        }
    }
}

/// The margin of one leg.
pub fn leg_margin(config: &ExecConfig, leg: &Leg) -> Money {
    let lev = config.leverage_for(leg.kind, leg.product, leg.side);
    crate::exec::funds::margin(leg.qty, leg.reference(), leg.contract_value, lev)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Price;

    #[test]
    fn margin_follows_the_leverage_table() {
        let c = ExecConfig { leverage_option_sell: 4, ..ExecConfig::default() };
        let leg = |kind, side, product, price_type| Leg {
            kind,
            side,
            product,
            price_type,
            qty: Qty(75),
            price: Price(100 * Price::SCALE),
            trigger: Price(90 * Price::SCALE),
            ltp: Price(200 * Price::SCALE),
            contract_value: crate::types::ContractValue::ONE,
        };
        let (buy, sell) = (Side::Buy, Side::Sell);
        let table = [
            (InstrumentKind::Future, buy, Product::Nrml, PriceType::Market, 75 * 200 / 10),
            (InstrumentKind::Future, sell, Product::Nrml, PriceType::Market, 75 * 200 / 10),
            (InstrumentKind::Option, buy, Product::Nrml, PriceType::Limit, 75 * 100),
            (InstrumentKind::Option, sell, Product::Nrml, PriceType::Limit, 75 * 100 / 4),
            (InstrumentKind::Equity, buy, Product::Mis, PriceType::StopLimit, 75 * 90 / 5),
            (InstrumentKind::Equity, sell, Product::Cnc, PriceType::Market, 75 * 200),
        ];
        for (kind, side, product, pt, want) in table {
            let m = leg_margin(&c, &leg(kind, side, product, pt));
            assert_eq!(m, Money(want * Money::SCALE), "{kind:?} {side:?} {product:?} {pt:?}");
        }
    }
}
