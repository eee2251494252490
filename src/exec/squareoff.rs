//! Bulk commands and the clock: smart orders, cancel-all, close-position, auto square-off.

use super::Exec;
use super::orders::bad;
use crate::clock::{ist_day, ist_minute_of_day};
use crate::event::{OrderRequest, Reply, StageOutput};
use crate::msg;
use crate::types::{Exchange, Price, PriceType, Product, Qty, Side, Tag};

/// The strategy tag of square-off orders.
pub const AUTO_SQUARE_OFF: &str = "AUTO_SQUARE_OFF";

impl Exec {
    /// placesmartorder: an order for the difference between the target and the position,
    /// honouring the request's price type (**Better** than OpenAlgo, which forces MARKET).
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
        let diff = target.saturating_sub(current);
        if diff == 0 {
            return Reply::AlreadyMatched;
        }
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
    /// `keep` selects, in row order. Returns (closed, failed).
    pub(crate) fn close_positions(
        &mut self,
        strategy: Tag,
        t: i64,
        out: &mut StageOutput,
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
            match self.place(&req, t, out) {
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

    /// A timer event: square off every exchange whose time has come, once per IST day.
    pub(crate) fn on_timer(&mut self, t: i64, out: &mut StageOutput) {
        if !self.gtts.is_empty() {
            self.expire_gtts(t, out);
        }
        let minute = ist_minute_of_day(t);
        let day = ist_day(t);
        for ex in Exchange::ALL {
            let Some(sq) = self.config.square_off(ex) else { continue };
            if minute < sq || self.squared_day[ex.index()] == day {
                continue;
            }
            self.squared_day[ex.index()] = day;
            self.square_off(ex, t, out);
        }
    }

    fn square_off(&mut self, ex: Exchange, t: i64, out: &mut StageOutput) {
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
        self.close_positions(tag, t, out, |s, pi| {
            let p = &s.positions[pi];
            p.product == Product::Mis && on_ex(s, p.symbol)
        });
    }
}
