//! Orders: placement, modification, cancellation and the fill itself.

use super::Exec;
use super::book::{Entry, OrderSet, set_of};
use super::fill::FillModel;
use super::funds::margin;
use super::positions::Position;
use super::rules::{Placement, Quote, at_placement};
use super::validate;
use crate::clock::ist_minute_of_day;
use crate::event::{
    Fill, ModifyRequest, OrderRequest, OrderUpdate, RejectStatus, Reply, StageOutput,
};
use crate::message::Msg;
use crate::msg;
use crate::types::{
    ContractValue, Money, OrderId, OrderStatus, Price, PriceType, Product, Qty, Side, SymbolId,
    div_round,
};
use crate::views::Order;
use serde::{Deserialize, Serialize};

impl Order {
    /// The order's entry in its symbol's book.
    pub fn entry(&self) -> Entry {
        let set = set_of(self.price_type, self.status);
        let price = if set == OrderSet::Stop { self.trigger } else { self.price };
        Entry { side: self.side, set, price }
    }

    /// The request this order was placed with (its current values).
    pub fn request(&self) -> OrderRequest {
        OrderRequest {
            symbol: self.symbol,
            side: self.side,
            qty: self.qty,
            price_type: self.price_type,
            product: self.product,
            price: self.price,
            trigger: self.trigger,
            disclosed: self.disclosed,
            strategy: self.strategy,
        }
    }

    /// The update record for stage outputs: this row, the fill the event made, its time.
    pub fn update(&self, fill: Option<Fill>, time_ns: i64) -> OrderUpdate {
        OrderUpdate { order: *self, fill, time_ns }
    }
}

/// Whether a placement must be decided against a fresh quote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pricing {
    /// A client's order: a quote older than the freshness limit decides nothing (the REST
    /// layer fetched a fresh one first, so a stale one here means none could be had).
    Fresh,
    /// The engine's own closing order (square-off): the last quote, however old, so that
    /// a position is not left open for want of a tick.
    LastKnown,
}

/// One trade: a fill of the whole order, or of part of it (`touch`, `depth`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trade {
    /// Trade ordinal (1-based).
    pub trade_no: u64,
    /// Index of the order it filled.
    pub order: u32,
    /// Fill price.
    pub price: Price,
    /// Quantity filled (unsigned).
    pub qty: Qty,
    /// Fill time, epoch ns.
    pub time_ns: i64,
}

pub(crate) fn bad(message: Msg) -> Reply {
    Reply::Rejected { status: RejectStatus::BadRequest, message }
}

impl Exec {
    /// Puts order `idx` into its symbol's book under its current entry, noting the
    /// largest book for the candidates scratch (reserved off the tick path, `room.rs`:
    /// the scratch itself is taken out of `self` while a tick walks it).
    pub(crate) fn index(&mut self, idx: usize) {
        let o = &self.orders[idx];
        let book = &mut self.books[o.symbol.index()];
        book.insert(o.entry(), idx as u32);
        self.largest_book = self.largest_book.max(book.len());
    }

    /// Takes order `idx` out of its symbol's book (call before changing its entry).
    pub(crate) fn unindex(&mut self, idx: usize) {
        let o = &self.orders[idx];
        self.books[o.symbol.index()].remove(o.entry(), idx as u32);
    }

    /// The order index of an id, if the id is ours.
    pub(crate) fn order_index(&self, id: OrderId) -> Option<usize> {
        let ordinal = (id.0 % 100_000_000) as usize;
        let idx = ordinal.checked_sub(1)?;
        self.orders.get(idx).filter(|o| o.id == id).map(|_| idx)
    }

    /// Signed net quantity of a position (0 when there is none).
    pub(crate) fn position_qty(&self, symbol: SymbolId, product: Product) -> i64 {
        self.books
            .get(symbol.index())
            .and_then(|b| self.positions.get(b.positions[product as usize] as usize))
            .map_or(0, |p| p.qty.0)
    }

    /// placeorder.
    pub(crate) fn place(&mut self, req: &OrderRequest, t: i64, out: &mut StageOutput) -> Reply {
        self.place_priced(req, t, out, Pricing::Fresh)
    }

    /// Places an order deciding against the quote `pricing` allows.
    pub(crate) fn place_priced(
        &mut self,
        req: &OrderRequest,
        t: i64,
        out: &mut StageOutput,
        pricing: Pricing,
    ) -> Reply {
        match self.try_place(req, t, out, pricing) {
            Ok(id) => Reply::Placed(id),
            Err(m) => bad(m),
        }
    }

    fn try_place(
        &mut self,
        req: &OrderRequest,
        t: i64,
        out: &mut StageOutput,
        pricing: Pricing,
    ) -> Result<OrderId, Msg> {
        validate::order_fields(&self.instruments, req)?;
        let pos = self.position_qty(req.symbol, req.product);
        let signed = req.side.sign() * req.qty.0;
        // An opposite-direction order counts as reducing (OPENALGO.md 3b).
        let reduces = pos != 0 && pos.signum() != signed.signum();
        validate::mis_window(&self.config, &self.instruments, req, ist_minute_of_day(t), reduces)?;
        if req.side == Side::Sell && req.product == Product::Cnc {
            let held = self.held(req.symbol);
            let pending = self.pending_cnc_sells(req.symbol, None);
            if let Some(why) = validate::cnc_sell(&self.instruments, req, pos - pending, held) {
                let idx = self.new_order(req, t, OrderStatus::Rejected, Money::ZERO);
                self.orders[idx].rejection = why;
                out.updates.push(self.orders[idx].update(None, t));
                return Ok(self.orders[idx].id);
            }
        }
        let quote = self.placement_quote(req.symbol, t, pricing);
        let reference = self.reference_price(req, &quote)?;
        let required = self.margin_for(req, pos, reference);
        self.funds.check(required)?;
        let idx = self.new_order(req, t, OrderStatus::Open, required);
        self.funds.block(required);
        out.funds_changed = true;
        if self.delays() {
            // Accepted now (id, margin); it reaches the venue's book later.
            out.updates.push(self.orders[idx].update(None, t));
            let last_known = pricing == Pricing::LastKnown;
            self.defer(idx, super::venue::Action::Place { last_known }, t);
        } else {
            self.settle(idx, &quote, t, out);
        }
        Ok(self.orders[idx].id)
    }

    /// The quote a placement is decided against: the symbol's last quote when `pricing`
    /// accepts it, else an empty one (MARKET refused, other types rest).
    pub(crate) fn placement_quote(&self, symbol: SymbolId, t: i64, pricing: Pricing) -> Quote {
        let q = self.books.get(symbol.index()).map_or_else(Quote::default, |b| b.quote);
        match pricing {
            Pricing::LastKnown => q,
            Pricing::Fresh if q.is_fresh(t, self.config.quote_max_age_ns) => q,
            Pricing::Fresh => Quote::default(),
        }
    }

    /// The margin reference: LTP for MARKET, the limit for LIMIT, the trigger for SL/SL-M.
    fn reference_price(&self, req: &OrderRequest, quote: &Quote) -> Result<Price, Msg> {
        Ok(match req.price_type {
            PriceType::Market => {
                let ltp = quote.ltp;
                if !ltp.is_positive() {
                    let name = self.instruments.get(req.symbol).map_or("", |i| i.symbol.as_str());
                    return Err(msg!(
                        "Cannot place MARKET order for {name} - unable to fetch current price. Please try again later or use LIMIT order with a specific price."
                    ));
                }
                ltp
            }
            PriceType::Limit => req.price,
            PriceType::StopLimit | PriceType::StopMarket => req.trigger,
        })
    }

    /// Margin to block: none for CNC SELL, the excess only against an opposite position.
    fn margin_for(&self, req: &OrderRequest, pos: i64, reference: Price) -> Money {
        if req.side == Side::Sell && req.product == Product::Cnc {
            return Money::ZERO;
        }
        let n = req.qty.0;
        let opposite = pos != 0 && pos.signum() != req.side.sign();
        let excess = if opposite { (n - pos.saturating_abs()).max(0) } else { n };
        let inst = self.instruments.get(req.symbol);
        let lev = inst.map_or(1, |i| self.config.leverage_for(i.kind, req.product, req.side));
        let cv = inst.map_or(ContractValue::ONE, |i| i.contract_value);
        margin(Qty(excess), reference, cv, lev)
    }

    fn new_order(
        &mut self,
        req: &OrderRequest,
        t: i64,
        status: OrderStatus,
        blocked: Money,
    ) -> usize {
        let ordinal = self.orders.len() as u64 + 1;
        let id = OrderId::new(crate::clock::ist_yymmdd(t), ordinal);
        self.orders.push(Order {
            id,
            symbol: req.symbol,
            side: req.side,
            qty: req.qty,
            price_type: req.price_type,
            product: req.product,
            price: req.price,
            trigger: req.trigger,
            disclosed: req.disclosed,
            strategy: req.strategy,
            status,
            filled: Qty::ZERO,
            avg: Price::ZERO,
            blocked,
            rejection: Msg::EMPTY,
            time_ns: t,
            queue: 0,
        });
        self.orders.len() - 1
    }

    /// Applies the placement table to a new order: fill, or rest in the index. An order
    /// that fills at once is first reported `open`, then `complete` (as OpenAlgo's sandbox
    /// does).
    pub(crate) fn settle(&mut self, idx: usize, quote: &Quote, t: i64, out: &mut StageOutput) {
        if self.config.fill.modelled() {
            return self.settle_modelled(idx, quote, t, out);
        }
        let o = self.orders[idx];
        match at_placement(o.side, o.price_type, quote, o.price, o.trigger) {
            Placement::Fill(p) => {
                out.updates.push(o.update(None, t));
                self.fill(idx, p, t, out);
            }
            rest => {
                self.orders[idx].status = match rest {
                    Placement::TriggerPending => OrderStatus::TriggerPending,
                    _ => OrderStatus::Open,
                };
                self.index(idx);
                out.updates.push(self.orders[idx].update(None, t));
            }
        }
    }

    /// Fills the rest of an order at `price` (the order is not in the index any more).
    pub(crate) fn fill(&mut self, idx: usize, price: Price, t: i64, out: &mut StageOutput) {
        let o = &self.orders[idx];
        let rest = Qty(o.qty.0 - o.filled.0);
        self.fill_part(idx, rest, price, t, out);
    }

    /// Fills `qty` of an order at `price`: one trade, the volume-weighted average, the
    /// order's margin passed to the position in proportion (all of what is left on the
    /// last part), one position change and one order update. The order is `complete` once
    /// all of it has filled; until then it keeps its status (OpenAlgo has no partial one).
    pub(crate) fn fill_part(
        &mut self,
        idx: usize,
        qty: Qty,
        price: Price,
        t: i64,
        out: &mut StageOutput,
    ) {
        self.trade_no += 1;
        let trade_no = self.trade_no;
        let o = &mut self.orders[idx];
        let (before, left) = (o.filled.0, o.qty.0 - o.filled.0);
        let n = qty.0.clamp(0, left);
        o.avg = if before == 0 {
            price
        } else {
            let num =
                i128::from(before) * i128::from(o.avg.0) + i128::from(n) * i128::from(price.0);
            Price(div_round(num, i128::from(before + n)) as i64)
        };
        o.filled = Qty(before + n);
        let blocked = if n == left {
            o.status = OrderStatus::Complete;
            std::mem::replace(&mut o.blocked, Money::ZERO)
        } else {
            let part =
                Money(div_round(i128::from(o.blocked.0) * i128::from(n), i128::from(left)) as i64);
            o.blocked = o.blocked.minus(part);
            part
        };
        let o = *o;
        self.trades.push(Trade { trade_no, order: idx as u32, price, qty: Qty(n), time_ns: t });
        let book = &mut self.books[o.symbol.index()];
        let slot = &mut book.positions[o.product as usize];
        if *slot == u32::MAX {
            let cv =
                self.instruments.get(o.symbol).map_or(ContractValue::ONE, |i| i.contract_value);
            *slot = self.positions.len() as u32;
            self.positions.push(Position::new(o.symbol, o.product, cv));
        }
        let pi = *slot;
        let pos = &mut self.positions[pi as usize];
        let fx = pos.apply_fill(o.side, Qty(n), price, blocked);
        self.funds.release(fx.released, fx.realized);
        out.positions.push(pos.change(pi));
        out.updates.push(o.update(Some(Fill { trade_no, price, qty: Qty(n) }), t));
        out.funds_changed = true;
    }

    /// cancelorder.
    pub(crate) fn cancel(&mut self, id: OrderId, t: i64, out: &mut StageOutput) -> Reply {
        let Some(idx) = self.order_index(id) else {
            return Reply::Rejected {
                status: RejectStatus::NotFound,
                message: msg!("Order {id} not found"),
            };
        };
        let st = self.orders[idx].status;
        if !st.is_working() {
            return bad(msg!("Cannot cancel order in {} status", st.as_str()));
        }
        if self.delays() {
            self.defer(idx, super::venue::Action::Cancel, t);
        } else {
            self.cancel_index(idx, t, out);
        }
        Reply::Cancelled(id)
    }

    /// Cancels a working order: out of the index at once, its margin released.
    pub(crate) fn cancel_index(&mut self, idx: usize, t: i64, out: &mut StageOutput) {
        let o = self.orders[idx];
        self.unindex(idx);
        self.funds.release(o.blocked, Money::ZERO);
        let o = &mut self.orders[idx];
        o.blocked = Money::ZERO;
        o.status = OrderStatus::Cancelled;
        out.updates.push(o.update(None, t));
        out.funds_changed = true;
    }

    /// modifyorder: OpenAlgo changes quantity, price and trigger price only. The order
    /// keeps its symbol, action, product and price type whatever the request says; a price
    /// sent for MARKET or SL-M is ignored, and a trigger for MARKET or LIMIT; a zero price
    /// or trigger keeps the current one. Nothing fills
    /// here: the modified order is re-checked on the next tick like any resting order.
    /// Margin moves by the difference only (**Better**: a raise is refused with
    /// "Insufficient funds" when the extra cannot be blocked; OpenAlgo skips the check).
    pub(crate) fn modify(&mut self, m: &ModifyRequest, t: i64, out: &mut StageOutput) -> Reply {
        if self.delays() {
            if let Some(idx) = self.order_index(m.order_id) {
                if self.orders[idx].status.is_working() {
                    self.defer_modify(idx, m, t);
                    return Reply::Modified(m.order_id);
                }
            }
        }
        self.modify_now(m, t, out)
    }

    /// modifyorder at the venue (at once without venue latency).
    pub(crate) fn modify_now(&mut self, m: &ModifyRequest, t: i64, out: &mut StageOutput) -> Reply {
        let Some(idx) = self.order_index(m.order_id) else {
            return Reply::Rejected {
                status: RejectStatus::NotFound,
                message: msg!("Order {} not found", m.order_id),
            };
        };
        let o = self.orders[idx];
        if !o.status.is_working() {
            return bad(msg!("Cannot modify order in {} status", o.status.as_str()));
        }
        // A zero price or trigger means "not given" (the SDK sends "0" by default) and
        // keeps the current one: zero is never valid where the type uses it.
        let takes_price = matches!(o.price_type, PriceType::Limit | PriceType::StopLimit)
            && m.order.price.is_positive();
        let takes_trigger = matches!(o.price_type, PriceType::StopLimit | PriceType::StopMarket)
            && m.order.trigger.is_positive();
        let new = OrderRequest {
            qty: m.order.qty,
            price: if takes_price { m.order.price } else { o.price },
            trigger: if takes_trigger { m.order.trigger } else { o.trigger },
            disclosed: m.order.disclosed,
            symbol: o.symbol,
            side: o.side,
            price_type: o.price_type,
            product: o.product,
            strategy: o.strategy,
        };
        if let Err(e) = validate::order_fields(&self.instruments, &new) {
            return bad(e);
        }
        // A partly filled order (touch, depth) keeps what filled: the new quantity must
        // exceed it, and margin covers what is left.
        if o.filled.0 > 0 && new.qty <= o.filled {
            return bad(msg!(
                "Quantity must be greater than the filled quantity {} of this order",
                o.filled.0
            ));
        }
        let unfilled = OrderRequest { qty: Qty(new.qty.0 - o.filled.0), ..new };
        if o.side == Side::Sell && o.product == Product::Cnc {
            let pos = self.position_qty(o.symbol, o.product);
            let pending = self.pending_cnc_sells(o.symbol, Some(idx));
            if let Some(why) =
                validate::cnc_sell(&self.instruments, &unfilled, pos - pending, self.held(o.symbol))
            {
                return bad(why);
            }
        }
        let quote = self.books[o.symbol.index()].quote;
        let reference = match self.reference_price(&new, &quote) {
            Ok(r) => r,
            Err(e) => return bad(e),
        };
        let pos = self.position_qty(o.symbol, o.product);
        let required = self.margin_for(&unfilled, pos, reference);
        if required > o.blocked {
            let extra = required.minus(o.blocked);
            if let Err(e) = self.funds.check(extra) {
                return bad(e);
            }
            self.funds.block(extra);
        } else {
            self.funds.release(o.blocked.minus(required), Money::ZERO);
        }
        self.unindex(idx);
        let w = &mut self.orders[idx];
        w.qty = new.qty;
        w.price = new.price;
        w.trigger = new.trigger;
        w.disclosed = new.disclosed;
        w.blocked = required;
        let w = *w;
        if self.delayed.is_empty() || !self.in_flight(idx) {
            self.index(idx);
            if self.config.fill.model_for(w.strategy) == FillModel::Depth {
                self.orders[idx].queue = self.queue_ahead(idx);
            }
        }
        out.updates.push(w.update(None, t));
        out.funds_changed = true;
        Reply::Modified(m.order_id)
    }
}
