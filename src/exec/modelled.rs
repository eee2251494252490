//! The placement and tick paths of the `touch` and `depth` fill models ([`super::fill`]),
//! and of every order once per-strategy models are configured (each order decided under
//! its strategy's model, `openalgo` included).
//!
//! The default never comes here: [`Exec::on_tick`] and the placement branch once on the
//! configuration, so OpenAlgo parity keeps its own tick path unchanged. Here a
//! decision may fill part of an order (one trade, one order update, one position change
//! per leg), change its status, and (depth) move its queue estimate; an order whose entry
//! changes leaves the index first and goes back with its new entry while it still works.

use super::Exec;
use super::fill::touch::{self, Working};
use super::fill::{Decision, FillModel, Legs, Rest};
use super::fill::{depth, openalgo};
use super::rules::Quote;
use crate::event::{StageOutput, Tick};
use crate::types::{OrderStatus, Price, PriceType, Qty, Side};
use crate::views::Order;

/// The order as the models see it.
fn working(o: &Order) -> Working {
    Working {
        side: o.side,
        price_type: o.price_type,
        status: o.status,
        limit: o.price,
        trigger: o.trigger,
        remaining: Qty(o.qty.0 - o.filled.0),
    }
}

fn status_after(d: &Decision, now: OrderStatus) -> OrderStatus {
    match d.rest {
        Rest::Same => now,
        Rest::Open => OrderStatus::Open,
        Rest::TriggerPending => OrderStatus::TriggerPending,
    }
}

/// The lowest price a BUY limit can be reached at (LTP or the ask) and the highest a SELL
/// limit can (LTP or the bid): the models fill resting limits on the touch as well.
fn reach(q: &Quote, best_ask: Price, best_bid: Price) -> (Price, Price) {
    let mut buy = q.ltp;
    for a in [q.ask, best_ask] {
        if a.is_positive() && a < buy {
            buy = a;
        }
    }
    let sell = q.ltp.max(q.bid).max(best_bid);
    (buy, sell)
}

impl Exec {
    /// A tick under `touch` or `depth` (the quote is already stored by the caller).
    pub(crate) fn on_tick_modelled(&mut self, tick: &Tick, t: i64, out: &mut StageOutput) {
        let depth = self.config.fill.any_depth();
        let (mut best_ask, mut best_bid) = (Price::ZERO, Price::ZERO);
        if depth {
            let v = self.fills.visible_mut(tick.symbol);
            v.observe(tick);
            (best_ask, best_bid) = (v.asks[0].price, v.bids[0].price);
        }
        let quote = self.books[tick.symbol.index()].quote;
        if quote.is_stale() {
            return;
        }
        if !self.gtts.is_empty() {
            self.check_gtts(tick.symbol, tick.ltp, t, out);
        }
        let (buy_at, sell_at) = reach(&quote, best_ask, best_bid);
        let book = &self.books[tick.symbol.index()];
        if !book.may_fill_at(buy_at, sell_at, tick.ltp) {
            return;
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        book.candidates_at(buy_at, sell_at, tick.ltp, &mut scratch);
        for &idx in &scratch {
            self.decide_on_tick(idx as usize, &quote, t, out);
        }
        self.scratch = scratch;
    }

    fn decide_on_tick(&mut self, idx: usize, quote: &Quote, t: i64, out: &mut StageOutput) {
        let o = self.orders[idx];
        if !o.status.is_working() {
            return;
        }
        let w = working(&o);
        let cfg = self.config.fill;
        let mut ahead = o.queue;
        let d = match cfg.model_for(o.strategy) {
            FillModel::Depth => {
                let (v, draws) = self.fills.book_and_draws(o.symbol);
                depth::on_tick(&w, &mut ahead, quote, v, &cfg, draws)
            }
            FillModel::Touch => touch::on_tick(&w, quote, &cfg, &mut self.fills.draws),
            FillModel::OpenAlgo => openalgo::on_tick(&w, quote),
        };
        self.orders[idx].queue = ahead;
        let status = status_after(&d, o.status);
        if d.legs.is_empty() && status == o.status {
            return;
        }
        self.unindex(idx);
        self.orders[idx].status = status;
        if d.legs.is_empty() {
            // A triggered SL whose limit is not met: now an open limit, queued from here.
            self.orders[idx].queue = self.queue_ahead(idx);
            out.updates.push(self.orders[idx].update(None, t));
        } else {
            self.take_legs(idx, d.legs, t, out);
        }
        if self.orders[idx].status.is_working() {
            self.index(idx);
        }
    }

    /// The placement of a new order (already `open`, margin blocked, not indexed) under
    /// `touch` or `depth`. As OpenAlgo, an order that fills at once is first reported
    /// `open`; then one update per fill; what is left rests in the index.
    pub(crate) fn settle_modelled(
        &mut self,
        idx: usize,
        quote: &Quote,
        t: i64,
        out: &mut StageOutput,
    ) {
        let o = self.orders[idx];
        let w = working(&o);
        let cfg = self.config.fill;
        let model = cfg.model_for(o.strategy);
        let d = match model {
            FillModel::Depth => {
                depth::at_placement(&w, quote, self.fills.visible_mut(o.symbol), &cfg)
            }
            FillModel::Touch => touch::at_placement(&w, quote),
            FillModel::OpenAlgo => openalgo::at_placement(&w, quote),
        };
        self.orders[idx].status = status_after(&d, OrderStatus::Open);
        if !d.legs.is_empty() {
            out.updates.push(self.orders[idx].update(None, t));
            self.take_legs(idx, d.legs, t, out);
        }
        if !self.orders[idx].status.is_working() {
            return;
        }
        if model == FillModel::Depth {
            self.orders[idx].queue = self.queue_ahead(idx);
        }
        self.index(idx);
        if d.legs.is_empty() {
            out.updates.push(self.orders[idx].update(None, t));
        }
    }

    /// Fills the legs of a decision, one trade each; an aggressive decision first slips a
    /// tick against the order with the configured probability (never past its limit).
    fn take_legs(&mut self, idx: usize, mut legs: Legs, t: i64, out: &mut StageOutput) {
        let o = self.orders[idx];
        if legs.aggressive && self.fills.draws.chance(self.config.fill.slippage_ppm) {
            let tick = self
                .instruments
                .get(o.symbol)
                .map(|i| i.tick_size)
                .filter(|p| p.is_positive())
                .unwrap_or(Price(500));
            let limit =
                matches!(o.price_type, PriceType::Limit | PriceType::StopLimit).then_some(o.price);
            legs.slip(o.side == Side::Buy, tick, limit);
        }
        for leg in legs.as_slice() {
            self.fill_part(idx, leg.qty, leg.price, t, out);
        }
    }

    /// Depth: the queue ahead of a resting limit, from the visible size at its price on its
    /// side plus the engine's own earlier working orders there (not yet filled part).  A
    /// modified order's queue is estimated again (it loses its place, as on an exchange).
    pub(crate) fn queue_ahead(&mut self, idx: usize) -> i64 {
        let o = self.orders[idx];
        if self.config.fill.model_for(o.strategy) != FillModel::Depth {
            return 0;
        }
        if !matches!(o.price_type, PriceType::Limit | PriceType::StopLimit)
            || o.status != OrderStatus::Open
        {
            return 0;
        }
        let visible = self.fills.visible_mut(o.symbol).size_at(o.side, o.price);
        let own: i64 = self.books[o.symbol.index()]
            .limits_at(o.side, o.price)
            .map(|i| i as usize)
            .filter(|&i| i < idx)
            .map(|i| self.orders[i].qty.0 - self.orders[i].filled.0)
            .sum();
        visible + own
    }
}
