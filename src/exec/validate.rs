//! Validation at placement and modification, with OpenAlgo's messages where it has them.
//! Every message names the field (quantity, price, trigger_price, product, exchange, symbol).

use super::config::ExecConfig;
use crate::event::OrderRequest;
use crate::instruments::{InstrumentKind, InstrumentMaster};
use crate::message::Msg;
use crate::msg;
use crate::types::{Price, PriceType, Product};

/// The largest quantity accepted in one order; keeps position arithmetic far from overflow.
pub const MAX_QTY: i64 = 1_000_000_000;

/// Checks the fields of an order against its instrument (not funds, not time).
pub fn order_fields(im: &InstrumentMaster, req: &OrderRequest) -> Result<(), Msg> {
    let Some(ins) = im.get(req.symbol) else {
        return Err(msg!(
            "Symbol not found: symbol id {} is not in the instrument master",
            req.symbol.0
        ));
    };
    let ex = ins.exchange.as_str();
    if ins.exchange.is_index() || ins.kind == InstrumentKind::Index {
        return Err(msg!(
            "Symbol {} on exchange {} is an index and quote-only; orders are not accepted",
            ins.symbol,
            ex
        ));
    }
    if ins.exchange.is_cash_equity() && req.product == Product::Nrml {
        return Err(msg!(
            "NRML product not allowed for {ex} equity segment. Use CNC for delivery or MIS for intraday."
        ));
    }
    if ins.exchange.is_derivative() && req.product == Product::Cnc {
        return Err(msg!(
            "CNC product not allowed for {ex} derivatives segment. Use NRML for carryforward or MIS for intraday."
        ));
    }
    quantity(req.qty.0, ins.exchange.is_derivative(), ins.lot_size)?;
    prices(req.price_type, req.price, req.trigger)
}

/// quantity: > 0, at most [`MAX_QTY`], a lot multiple on derivative exchanges.
pub fn quantity(qty: i64, derivative: bool, lot: i64) -> Result<(), Msg> {
    if qty <= 0 {
        return Err(msg!("Quantity must be positive"));
    }
    if qty > MAX_QTY {
        return Err(msg!("Quantity must be at most {MAX_QTY}"));
    }
    if derivative && lot > 1 && qty % lot != 0 {
        return Err(msg!("Quantity must be in multiples of lot size {lot}"));
    }
    Ok(())
}

/// price for LIMIT and SL, trigger_price for SL and SL-M.
pub fn prices(pt: PriceType, price: Price, trigger: Price) -> Result<(), Msg> {
    let label = pt.as_str();
    if matches!(pt, PriceType::Limit | PriceType::StopLimit) {
        if price.0 == 0 {
            return Err(msg!("{label} orders require price"));
        }
        if price.0 < 0 {
            return Err(msg!("Price must be positive"));
        }
    }
    if matches!(pt, PriceType::StopLimit | PriceType::StopMarket) {
        if trigger.0 == 0 {
            return Err(msg!("{label} orders require trigger_price"));
        }
        if trigger.0 < 0 {
            return Err(msg!("Trigger price must be positive (trigger_price)"));
        }
    }
    if price > Price::MAX_INPUT || trigger > Price::MAX_INPUT {
        return Err(msg!("price and trigger_price must be at most {}", Price::MAX_INPUT));
    }
    Ok(())
}

/// MIS between square-off and the morning open: refused unless the order reduces.
pub fn mis_window(
    cfg: &ExecConfig,
    im: &InstrumentMaster,
    req: &OrderRequest,
    minute: u32,
    reduces: bool,
) -> Result<(), Msg> {
    if req.product != Product::Mis || reduces {
        return Ok(());
    }
    let Some(ins) = im.get(req.symbol) else { return Ok(()) };
    match cfg.mis_blocked(ins.exchange, minute) {
        Some(sq) => Err(msg!(
            "MIS orders cannot be placed after square-off time ({:02}:{:02} IST). Trading resumes at {:02}:{:02} AM IST.",
            sq / 60,
            sq % 60,
            cfg.mis_open_minute / 60,
            cfg.mis_open_minute % 60
        )),
        None => Ok(()),
    }
}

/// CNC SELL against what is there: the CNC position (negative once shares were sold out of
/// holdings today) plus the settled holding. `Some(reason)` records a rejected order.
pub fn cnc_sell(im: &InstrumentMaster, req: &OrderRequest, pos: i64, held: i64) -> Option<Msg> {
    let sellable = pos.saturating_add(held).max(0);
    if req.qty.0 <= sellable {
        return None;
    }
    let name = im.get(req.symbol).map_or("", |i| i.symbol.as_str());
    Some(if sellable == 0 {
        msg!(
            "Cannot sell {name} in CNC. No positions or holdings available. CNC (delivery) requires existing shares. Use MIS for intraday short selling."
        )
    } else {
        msg!(
            "Cannot sell {} shares of {name} in CNC. Only {sellable} shares available (Position: {}, Holdings: {held})",
            req.qty.0,
            pos.max(0)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Qty, Side, SymbolId, Tag};

    #[test]
    fn cnc_sell_table() {
        let im = InstrumentMaster::from_csv_str(
            "symbol,exchange,lotsize,tick_size,instrumenttype\nSBIN,NSE,1,0.05,EQ\n",
        )
        .unwrap();
        // (qty, position, holdings, refused with)
        let rows = [
            (5, 5, 0, None),
            (5, 0, 5, None),
            (8, 3, 5, None),
            (4, -2, 6, None),
            (5, -2, 6, Some("Only 4 shares available (Position: 0, Holdings: 6)")),
            (1, 0, 0, Some("No positions or holdings available")),
            (6, 5, 0, Some("Only 5 shares available (Position: 5, Holdings: 0)")),
        ];
        for (qty, pos, held, want) in rows {
            let req = OrderRequest {
                symbol: SymbolId(0),
                side: Side::Sell,
                qty: Qty(qty),
                price_type: PriceType::Market,
                product: Product::Cnc,
                price: Price::ZERO,
                trigger: Price::ZERO,
                disclosed: Qty::ZERO,
                strategy: Tag::EMPTY,
            };
            let got = cnc_sell(&im, &req, pos, held);
            match want {
                None => assert!(got.is_none(), "{qty} {pos} {held}: {got:?}"),
                Some(text) => {
                    let m = got.unwrap_or_else(|| panic!("{qty} {pos} {held}: accepted"));
                    assert!(m.as_str().contains(text), "{qty} {pos} {held}: {m}");
                }
            }
        }
    }
}
