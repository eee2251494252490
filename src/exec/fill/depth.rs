//! `depth`: marketable orders walk the visible book; resting limits wait in a queue.
//!
//! - The visible book of a symbol is the last tick's depth (five levels a side on
//!   OpenAlgo's depth feed), or its best bid and ask with their sizes when the tick has no
//!   depth but quotes sizes. A tick with neither leaves the book as it was.
//! - A MARKET order (or a triggered SL-M) takes the opposite side level by level, at each
//!   level's price, up to its size, over at most `depth_levels` levels: one fill per level.
//!   What it takes is gone from the book until the next tick refreshes it, so the engine's
//!   own orders never take the same liquidity twice. What is left waits (still `open`) and
//!   walks the next refreshed book.
//! - A marketable LIMIT (or a triggered SL) walks the levels at or better than its limit;
//!   the rest rests `open` at the limit.
//! - A resting LIMIT's queue is estimated at placement: the visible size at its price on
//!   its side plus the engine's own earlier orders there. Volume traded at its price
//!   (`volume` deltas, else `last_trade_quantity` of a new trade) works the queue down;
//!   volume beyond the queue fills the order, at its limit. A trade through the limit
//!   fills all of it; an opposite level that crosses the limit fills up to that level's
//!   size, at the limit.
//! - With no book ever seen for the symbol, the model falls back to `touch`.

use super::draw::Draws;
use super::touch::{self, Working, through};
use super::{Decision, FillConfig, Legs, Rest};
use crate::event::Tick;
use crate::exec::rules::{Quote, limit_met, trigger_met};
use crate::types::{OrderStatus, Price, PriceType, Qty, Side};
use serde::{Deserialize, Serialize};

/// One visible level: a price and the quantity still available there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Level {
    /// Price (0 = empty level).
    pub price: Price,
    /// Quantity left at this price (what the engine's fills took is subtracted).
    pub qty: i64,
}

/// A symbol's visible book and the traded volume of its last tick.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visible {
    /// Bids, best first.
    pub bids: [Level; 5],
    /// Asks, best first.
    pub asks: [Level; 5],
    /// True once any tick carried sizes (otherwise the model falls back to `touch`).
    pub known: bool,
    /// Day volume of the last tick that carried one (0 = none yet).
    pub volume: i64,
    /// Exchange time of the last trade seen, epoch ms (tells a new trade from a repeat).
    pub ltt_ms: i64,
    /// Volume traded since the tick before, at the last tick's LTP.
    pub traded: i64,
}

impl Visible {
    /// Takes in a tick: the traded volume since the previous one, and the refreshed book.
    pub fn observe(&mut self, tick: &Tick) {
        self.traded = if tick.volume > 0 {
            let delta = if self.volume > 0 { tick.volume - self.volume } else { 0 };
            self.volume = tick.volume;
            delta.max(0)
        } else if tick.last_qty > 0 && tick.ltt_ms != self.ltt_ms {
            tick.last_qty
        } else {
            0
        };
        self.ltt_ms = tick.ltt_ms;
        let levels = usize::from(tick.depth.levels.min(5));
        if levels > 0 {
            for i in 0..5 {
                let (b, a) = (tick.depth.buy[i], tick.depth.sell[i]);
                let keep = i < levels;
                self.bids[i] = if keep { level(b.price, b.quantity) } else { Level::default() };
                self.asks[i] = if keep { level(a.price, a.quantity) } else { Level::default() };
            }
            self.known = true;
        } else if tick.bid_qty > 0 || tick.ask_qty > 0 {
            self.bids = [Level::default(); 5];
            self.asks = [Level::default(); 5];
            self.bids[0] = level(tick.bid, tick.bid_qty);
            self.asks[0] = level(tick.ask, tick.ask_qty);
            self.known = true;
        }
    }

    /// The levels an order of `side` takes from (asks for a BUY).
    fn opposite(&mut self, side: Side) -> &mut [Level; 5] {
        match side {
            Side::Buy => &mut self.asks,
            Side::Sell => &mut self.bids,
        }
    }

    /// Visible quantity on `side`'s own side at exactly `price` (the queue ahead of a new
    /// resting order there, before the engine's own orders).
    pub fn size_at(&self, side: Side, price: Price) -> i64 {
        let own = match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        };
        own.iter().filter(|l| l.price == price).map(|l| l.qty).sum()
    }

    /// Quantity left on the side a `side` order takes from (all levels).
    pub fn available(&self, side: Side) -> i64 {
        let opp = match side {
            Side::Buy => &self.asks,
            Side::Sell => &self.bids,
        };
        opp.iter().map(|l| l.qty).sum()
    }
}

fn level(price: Price, qty: i64) -> Level {
    if price.is_positive() && qty > 0 { Level { price, qty } } else { Level::default() }
}

/// Takes up to `want` from the levels opposite `side`, best first, over at most
/// `max_levels` levels, stopping at the first level beyond `limit` (when given); each
/// level's take is one leg at the level's price (or at `at` when given: a resting order
/// crossed by the book fills at its own price). Consumes what it takes.
pub fn walk(
    book: &mut Visible,
    side: Side,
    want: i64,
    limit: Option<Price>,
    max_levels: u8,
    at: Option<Price>,
) -> Legs {
    let mut legs = Legs { aggressive: at.is_none(), ..Legs::NONE };
    let mut left = want;
    for l in book.opposite(side).iter_mut().take(usize::from(max_levels.clamp(1, 5))) {
        if left == 0 || !l.price.is_positive() {
            break;
        }
        if limit.is_some_and(|lim| !limit_met(side, l.price, lim)) {
            break;
        }
        let n = l.qty.min(left);
        l.qty -= n;
        left -= n;
        legs.push(Qty(n), at.unwrap_or(l.price));
    }
    legs
}

fn decided(legs: Legs, rest: Rest) -> Decision {
    Decision { legs, rest }
}

/// The placement decision of a new order. `book` is the symbol's visible book.
pub fn at_placement(w: &Working, q: &Quote, book: &mut Visible, cfg: &FillConfig) -> Decision {
    if !q.can_fill() || !book.known {
        return touch::at_placement(w, q);
    }
    let n = w.remaining.0;
    let levels = cfg.depth_levels;
    match w.price_type {
        PriceType::Market => decided(walk(book, w.side, n, None, levels, None), Rest::Open),
        PriceType::Limit => decided(walk(book, w.side, n, Some(w.limit), levels, None), Rest::Open),
        PriceType::StopMarket if trigger_met(w.side, q.ltp, w.trigger) => {
            decided(walk(book, w.side, n, None, levels, None), Rest::Open)
        }
        PriceType::StopLimit if trigger_met(w.side, q.ltp, w.trigger) => {
            decided(walk(book, w.side, n, Some(w.limit), levels, None), Rest::Open)
        }
        PriceType::StopMarket | PriceType::StopLimit => decided(Legs::NONE, Rest::TriggerPending),
    }
}

/// The decision for a working order on a tick. `ahead` is the order's queue estimate,
/// worked down here by the volume traded at its price.
pub fn on_tick(
    w: &Working,
    ahead: &mut i64,
    q: &Quote,
    book: &mut Visible,
    cfg: &FillConfig,
    draws: &mut Draws,
) -> Decision {
    if !q.can_fill() {
        return Decision::HOLD;
    }
    if !book.known {
        return touch::on_tick(w, q, cfg, draws);
    }
    let n = w.remaining.0;
    let levels = cfg.depth_levels;
    match (w.status, w.price_type) {
        (OrderStatus::Open, PriceType::Limit | PriceType::StopLimit) => {
            decided(resting(w, ahead, q, book), Rest::Same)
        }
        (OrderStatus::Open, PriceType::Market | PriceType::StopMarket) => {
            decided(walk(book, w.side, n, None, levels, None), Rest::Same)
        }
        (OrderStatus::TriggerPending, PriceType::StopMarket)
            if trigger_met(w.side, q.ltp, w.trigger) =>
        {
            decided(walk(book, w.side, n, None, levels, None), Rest::Open)
        }
        (OrderStatus::TriggerPending, PriceType::StopLimit)
            if trigger_met(w.side, q.ltp, w.trigger) =>
        {
            decided(walk(book, w.side, n, Some(w.limit), levels, None), Rest::Open)
        }
        _ => Decision::HOLD,
    }
}

/// A resting LIMIT on a tick: a trade through fills it all; an opposite level crossing
/// it fills up to that level's size; volume traded at its price beyond the queue ahead
/// fills that much. Every fill is at the limit (the order was there first).
fn resting(w: &Working, ahead: &mut i64, q: &Quote, book: &mut Visible) -> Legs {
    let n = w.remaining.0;
    if through(w.side, q.ltp, w.limit) {
        *ahead = 0;
        return Legs::one(w.remaining, w.limit, false);
    }
    let mut legs = walk(book, w.side, n, Some(w.limit), 5, Some(w.limit));
    let left = n - legs.total();
    if q.ltp == w.limit && book.traded > 0 && left > 0 {
        let beyond = book.traded - *ahead;
        *ahead = (*ahead - book.traded).max(0);
        if beyond > 0 {
            legs.push(Qty(beyond.min(left)), w.limit);
        }
    }
    legs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Depth, Level as FeedLevel};
    use OrderStatus::{Open, TriggerPending};
    use PriceType::{Limit, Market, StopMarket};
    use Side::{Buy, Sell};

    fn p(r: i64) -> Price {
        Price(r * Price::SCALE)
    }

    fn quote(ltp: i64) -> Quote {
        Quote {
            ltp: p(ltp),
            bid: p(ltp - 1),
            ask: p(ltp + 1),
            high: p(1000),
            low: p(1),
            time_ns: 0,
        }
    }

    /// A depth tick at `ltp`: bids ltp-1.., asks ltp+1.., sizes 10, 20, 30, 40, 50.
    fn depth_tick(ltp: i64, volume: i64) -> Tick {
        let mut d = Depth { levels: 5, ..Depth::default() };
        for i in 0..5 {
            let size = 10 * (i as i64 + 1);
            d.buy[i] = FeedLevel { price: p(ltp - 1 - i as i64), quantity: size, orders: 1 };
            d.sell[i] = FeedLevel { price: p(ltp + 1 + i as i64), quantity: size, orders: 1 };
        }
        Tick {
            ltp: p(ltp),
            bid: p(ltp - 1),
            ask: p(ltp + 1),
            volume,
            mode: 3,
            depth: d,
            ..Tick::default()
        }
    }

    fn book(ltp: i64) -> Visible {
        let mut v = Visible::default();
        v.observe(&depth_tick(ltp, 0));
        v
    }

    fn w(
        side: Side,
        pt: PriceType,
        status: OrderStatus,
        limit: i64,
        trigger: i64,
        qty: i64,
    ) -> Working {
        Working {
            side,
            price_type: pt,
            status,
            limit: p(limit),
            trigger: p(trigger),
            remaining: Qty(qty),
        }
    }

    /// (qty, price in rupees) per leg.
    fn legs(d: &Decision) -> Vec<(i64, i64)> {
        d.legs.as_slice().iter().map(|l| (l.qty.0, l.price.0 / Price::SCALE)).collect()
    }

    #[test]
    fn marketable_orders_walk_the_levels_and_consume_them() {
        let cfg = FillConfig::default();
        // (side, type, limit, qty, expected legs, rest)
        type Row = (Side, PriceType, i64, i64, &'static [(i64, i64)]);
        let rows: [Row; 6] = [
            (Buy, Market, 0, 5, &[(5, 101)]),
            (Buy, Market, 0, 35, &[(10, 101), (20, 102), (5, 103)]),
            (Sell, Market, 0, 25, &[(10, 99), (15, 98)]),
            // A limit walks only the levels at or better than its price.
            (Buy, Limit, 102, 100, &[(10, 101), (20, 102)]),
            (Sell, Limit, 99, 100, &[(10, 99)]),
            (Buy, Limit, 100, 100, &[]),
        ];
        for (i, (side, pt, limit, qty, want)) in rows.into_iter().enumerate() {
            let mut b = book(100);
            let d = at_placement(&w(side, pt, Open, limit, 0, qty), &quote(100), &mut b, &cfg);
            assert_eq!(legs(&d), want, "row {i}");
            assert_eq!(d.rest, Rest::Open, "row {i}: what is left rests open");
            assert!(d.legs.total() <= qty);
        }
        // Walking 150 takes the whole side (10+20+30+40+50); then nothing is left.
        let mut b = book(100);
        let d = at_placement(&w(Buy, Market, Open, 0, 0, 200), &quote(100), &mut b, &cfg);
        assert_eq!(d.legs.total(), 150);
        assert_eq!(b.available(Buy), 0);
        let again = at_placement(&w(Buy, Market, Open, 0, 0, 5), &quote(100), &mut b, &cfg);
        assert!(again.legs.is_empty(), "consumed liquidity is not available again");
        // ... until the book refreshes.
        b.observe(&depth_tick(100, 0));
        assert_eq!(b.available(Buy), 150);
    }

    #[test]
    fn the_walk_is_limited_to_the_configured_levels() {
        let cfg = FillConfig { depth_levels: 2, ..FillConfig::default() };
        let mut b = book(100);
        let d = at_placement(&w(Buy, Market, Open, 0, 0, 100), &quote(100), &mut b, &cfg);
        assert_eq!(legs(&d), [(10, 101), (20, 102)]);
        // The rest of the MARKET order walks the next book, on a later tick.
        let mut ahead = 0;
        let rest = w(Buy, Market, Open, 0, 0, 70);
        let mut draws = Draws::new(0);
        let d = on_tick(&rest, &mut ahead, &quote(100), &mut b, &cfg, &mut draws);
        assert!(d.legs.is_empty(), "the same book has nothing left within two levels");
        b.observe(&depth_tick(101, 0));
        let d = on_tick(&rest, &mut ahead, &quote(101), &mut b, &cfg, &mut draws);
        assert_eq!(legs(&d), [(10, 102), (20, 103)]);
    }

    #[test]
    fn a_resting_limit_waits_for_its_queue() {
        let cfg = FillConfig::default();
        let mut draws = Draws::new(0);
        let order = w(Buy, Limit, Open, 99, 0, 15);
        let mut b = book(100);
        // Placed at 99, the best bid with 10 visible: 10 ahead.
        let mut ahead = b.size_at(Buy, p(99));
        assert_eq!(ahead, 10);
        // The market trades 6 at 99: 4 ahead, nothing filled.
        b.observe(&depth_tick(100, 1_000));
        let mut t = depth_tick(99, 1_006);
        t.depth.sell[0].price = p(100); // the book moves down but does not cross 99
        b.observe(&t);
        let d = on_tick(&order, &mut ahead, &quote(99), &mut b, &cfg, &mut draws);
        assert!(d.legs.is_empty());
        assert_eq!(ahead, 4);
        // 12 more at 99: 4 clear the queue, 8 fill the order, at its limit.
        let mut t = depth_tick(99, 1_018);
        t.depth.sell[0].price = p(100);
        b.observe(&t);
        let d = on_tick(&order, &mut ahead, &quote(99), &mut b, &cfg, &mut draws);
        assert_eq!(legs(&d), [(8, 99)]);
        assert_eq!(ahead, 0);
        assert!(!d.legs.aggressive, "a passive fill never slips");
        // A trade through 99 fills the rest.
        let rest = w(Buy, Limit, Open, 99, 0, 7);
        let d = on_tick(&rest, &mut ahead, &quote(98), &mut b, &cfg, &mut draws);
        assert_eq!(legs(&d), [(7, 99)]);
    }

    #[test]
    fn a_book_crossing_a_resting_limit_fills_up_to_its_size_at_the_limit() {
        let cfg = FillConfig::default();
        let mut draws = Draws::new(0);
        let mut b = book(100);
        // Asks 101 x10, 102 x20 ... ; a resting SELL at 101 is crossed by bids? No: a
        // resting BUY at 102 is crossed by the asks at 101 and 102 (30 in all).
        let order = w(Buy, Limit, Open, 102, 0, 50);
        let mut ahead = 0;
        let d = on_tick(&order, &mut ahead, &quote(103), &mut b, &cfg, &mut draws);
        assert_eq!(legs(&d), [(30, 102)]);
        assert_eq!(b.available(Buy), 120);
    }

    #[test]
    fn stops_trigger_on_ltp_then_walk() {
        let cfg = FillConfig::default();
        let mut draws = Draws::new(0);
        let mut b = book(100);
        let mut ahead = 0;
        let sl = w(Sell, StopMarket, TriggerPending, 0, 100, 15);
        let d = on_tick(&sl, &mut ahead, &quote(101), &mut b, &cfg, &mut draws);
        assert_eq!(d, Decision::HOLD);
        let d = on_tick(&sl, &mut ahead, &quote(100), &mut b, &cfg, &mut draws);
        assert_eq!((legs(&d), d.rest), (vec![(10, 99), (5, 98)], Rest::Open));
    }

    #[test]
    fn no_book_falls_back_to_touch_and_a_quote_with_sizes_is_a_one_level_book() {
        let cfg = FillConfig::default();
        let mut b = Visible::default();
        let d = at_placement(&w(Buy, Market, Open, 0, 0, 500), &quote(100), &mut b, &cfg);
        assert_eq!(legs(&d), [(500, 101)]);
        b.observe(&Tick {
            ltp: p(100),
            bid: p(99),
            ask: p(101),
            bid_qty: 7,
            ask_qty: 9,
            ..Tick::default()
        });
        let d = at_placement(&w(Buy, Market, Open, 0, 0, 500), &quote(100), &mut b, &cfg);
        assert_eq!(legs(&d), [(9, 101)]);
        // A later LTP-only tick leaves the (consumed) book as it was.
        b.observe(&Tick { ltp: p(100), ..Tick::default() });
        assert_eq!(b.available(Buy), 0);
        assert!(b.known);
    }
}
