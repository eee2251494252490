//! Validation at placement and modification, with OpenAlgo's messages where it has them.
//! Every message names the field (quantity, price, trigger_price, product, exchange, symbol).

use super::config::ExecConfig;
use crate::event::{Msg, OrderRequest};
use crate::instruments::{InstrumentKind, InstrumentMaster};
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
