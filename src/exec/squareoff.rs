//! Bulk commands: smart orders, cancel-all, close-position, auto square-off of one
//! exchange (when it runs: [`super::session`]).

use super::Exec;
use super::orders::{Pricing, bad};
use crate::event::{OrderRequest, Reply, StageOutput};
use crate::msg;
use crate::types::{Exchange, Price, PriceType, Product, Qty, Side, Tag};

/// The strategy tag of square-off orders.
pub const AUTO_SQUARE_OFF: &str = "AUTO_SQUARE_OFF";

impl Exec {
    /// placesmartorder, OpenAlgo's rules in their order (OPENALGO.md section 3, smart
    /// orders; current = the signed position of the symbol and product):
    /// 1. target 0, current 0, quantity != 0: a fresh trade, the request's own order;
    /// 2. target == current: nothing ("No OpenPosition Found..." when quantity is 0);
    /// 3. otherwise the difference target - current (closing, opening or adjusting).
    ///
    /// The order keeps the request's price type, price and trigger.
    pub(crate) fn smart(
        &mut self,
        order: &OrderRequest,
        target: i64,
        t: i64,
        out: &mut StageOutput,
    ) -> Reply {
        if self.instruments.get(order.symbol).is_none() {
            return bad(msg!(
                "Symbol not found: symbol id {} is not in the instrument master",
                order.symbol.0
            ));
        }
        let current = self.position_qty(order.symbol, order.product);
        if target == 0 && current == 0 && order.qty.0 != 0 {
            return self.place(order, t, out);
        }
        if target == current {
            return if order.qty.0 == 0 { Reply::NoOpenPosition } else { Reply::AlreadyMatched };
        }
        let diff = target.saturating_sub(current);
        let side = if diff > 0 { Side::Buy } else { Side::Sell };
        let req = OrderRequest { side, qty: Qty(diff.saturating_abs()), ..*order };
        self.place(&req, t, out)
    }

    /// cancelallorder: every working order, oldest first.
    pub(crate) fn cancel_all(&mut self, t: i64, out: &mut StageOutput) -> Reply {
        let mut cancelled = 0u32;
        for idx in 0..self.orders.len() {
            if self.orders[idx].status.is_working() {
                self.cancel_index(idx, t, out);
                cancelled += 1;
            }
        }
        Reply::CancelledAll { cancelled, failed: 0 }
    }

    /// closeposition (and square-off): a MARKET order opposite every open position that
    /// `keep` selects, in row order, priced as `pricing` allows. Returns (closed, failed).
    pub(crate) fn close_positions(
        &mut self,
        strategy: Tag,
        t: i64,
        out: &mut StageOutput,
        pricing: Pricing,
        keep: impl Fn(&Self, usize) -> bool,
    ) -> (u32, u32) {
        let (mut closed, mut failed) = (0u32, 0u32);
        // Closing orders only touch existing rows, so the row count is stable.
        for pi in 0..self.positions.len() {
            let p = self.positions[pi];
            if p.qty.0 == 0 || !keep(self, pi) {
                continue;
            }
            let req = OrderRequest {
                symbol: p.symbol,
                side: if p.qty.0 > 0 { Side::Sell } else { Side::Buy },
                qty: p.qty.abs(),
                price_type: PriceType::Market,
                product: p.product,
                price: Price::ZERO,
                trigger: Price::ZERO,
                disclosed: Qty::ZERO,
                strategy,
            };
            match self.place_priced(&req, t, out, pricing) {
                Reply::Placed(id)
                    if self.order_index(id).is_some_and(|i| {
                        self.orders[i].status != crate::types::OrderStatus::Rejected
                    }) =>
                {
                    closed += 1
                }
                _ => failed += 1,
            }
        }
        (closed, failed)
    }

    /// Square-off of one exchange: cancel its working MIS orders, close its MIS positions
    /// with MARKET orders tagged [`AUTO_SQUARE_OFF`].
    pub(crate) fn square_off(&mut self, ex: Exchange, t: i64, out: &mut StageOutput) {
        let on_ex = |s: &Self, sym: crate::types::SymbolId| {
            s.instruments.get(sym).is_some_and(|i| i.exchange == ex)
        };
        for idx in 0..self.orders.len() {
            let o = self.orders[idx];
            if o.status.is_working() && o.product == Product::Mis && on_ex(self, o.symbol) {
                self.cancel_index(idx, t, out);
            }
        }
        let tag = Tag::new(AUTO_SQUARE_OFF).unwrap_or(Tag::EMPTY);
        self.close_positions(tag, t, out, Pricing::LastKnown, |s, pi| {
            let p = &s.positions[pi];
            p.product == Product::Mis && on_ex(s, p.symbol)
        });
    }
}
