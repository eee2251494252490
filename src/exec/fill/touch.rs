//! `touch`: fills at the touch, and resting limits only when the market trades through.
//!
//! - MARKET, a triggered SL-M, and a marketable LIMIT (or triggered SL) fill the whole
//!   quantity at the touch: the ask for a BUY, the bid for a SELL. A LIMIT is marketable
//!   when the touch is at or better than its limit; without a touch in the quote, when the
//!   LTP is strictly better than the limit (a trade through), at the LTP.
//! - A resting LIMIT (or open SL) fills at its limit only when the market trades through
//!   it: BUY when LTP < limit or the ask is at or below the limit; SELL when LTP > limit or
//!   the bid is at or above it. An LTP equal to the limit fills it only with the
//!   `touch_fill_ppm` probability.
//! - Triggers compare against LTP, as OpenAlgo's.

use super::draw::Draws;
use super::{Decision, FillConfig, Legs, Rest};
use crate::exec::rules::{Quote, limit_met, trigger_met};
use crate::types::{OrderStatus, Price, PriceType, Qty, Side};

/// A working order as the models see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Working {
    /// BUY or SELL.
    pub side: Side,
    /// Price type.
    pub price_type: PriceType,
    /// `open` or `trigger pending` (a new order is `open`).
    pub status: OrderStatus,
    /// Limit price.
    pub limit: Price,
    /// Trigger price.
    pub trigger: Price,
    /// Quantity still to fill.
    pub remaining: Qty,
}

/// The touch of the order's side: ask for BUY, bid for SELL; zero when not quoted.
#[inline]
pub fn touch(q: &Quote, side: Side) -> Price {
    match side {
        Side::Buy => q.ask,
        Side::Sell => q.bid,
    }
}

/// Strictly better than the limit (a trade through): BUY LTP < limit, SELL LTP > limit.
#[inline]
pub fn through(side: Side, price: Price, limit: Price) -> bool {
    match side {
        Side::Buy => price < limit,
        Side::Sell => price > limit,
    }
}

/// The price a marketable LIMIT takes now, if it is marketable: the touch when quoted and
/// at or better than the limit; without a touch, the LTP when it trades through.
pub fn marketable(q: &Quote, side: Side, limit: Price) -> Option<Price> {
    let t = touch(q, side);
    if t.is_positive() {
        limit_met(side, t, limit).then_some(t)
    } else {
        through(side, q.ltp, limit).then_some(q.ltp)
    }
}

fn take(w: &Working, price: Price) -> Decision {
    Decision { legs: Legs::one(w.remaining, price, true), rest: Rest::Same }
}

fn rest(status: Rest) -> Decision {
    Decision { legs: Legs::NONE, rest: status }
}

/// The placement decision of a new order.
pub fn at_placement(w: &Working, q: &Quote) -> Decision {
    if !q.can_fill() {
        return rest(match w.price_type {
            PriceType::Market | PriceType::Limit => Rest::Open,
            PriceType::StopLimit | PriceType::StopMarket => Rest::TriggerPending,
        });
    }
    match w.price_type {
        PriceType::Market => take(w, q.market_price(w.side)),
        PriceType::Limit => marketable(q, w.side, w.limit).map_or(rest(Rest::Open), |p| take(w, p)),
        PriceType::StopMarket if trigger_met(w.side, q.ltp, w.trigger) => {
            take(w, q.market_price(w.side))
        }
        PriceType::StopLimit if trigger_met(w.side, q.ltp, w.trigger) => {
            marketable(q, w.side, w.limit).map_or(rest(Rest::Open), |p| take(w, p))
        }
        PriceType::StopMarket | PriceType::StopLimit => rest(Rest::TriggerPending),
    }
}

/// The decision for a working order on a tick.
pub fn on_tick(w: &Working, q: &Quote, cfg: &FillConfig, draws: &mut Draws) -> Decision {
    if !q.can_fill() {
        return Decision::HOLD;
    }
    match (w.status, w.price_type) {
        (OrderStatus::Open, PriceType::Limit | PriceType::StopLimit) => {
            let t = touch(q, w.side);
            let crossed = t.is_positive() && limit_met(w.side, t, w.limit);
            // A touch fills only with its probability (drawn only when it is a touch).
            let through = through(w.side, q.ltp, w.limit) || crossed;
            if through || (q.ltp == w.limit && draws.chance(cfg.touch_fill_ppm)) {
                passive(w)
            } else {
                Decision::HOLD
            }
        }
        (OrderStatus::Open, PriceType::Market | PriceType::StopMarket) => {
            take(w, q.market_price(w.side))
        }
        (OrderStatus::TriggerPending, PriceType::StopMarket) => {
            if trigger_met(w.side, q.ltp, w.trigger) {
                take(w, q.market_price(w.side))
            } else {
                Decision::HOLD
            }
        }
        (OrderStatus::TriggerPending, PriceType::StopLimit) => {
            if !trigger_met(w.side, q.ltp, w.trigger) {
                Decision::HOLD
            } else {
                marketable(q, w.side, w.limit).map_or(rest(Rest::Open), |p| take(w, p))
            }
        }
        _ => Decision::HOLD,
    }
}

/// A resting LIMIT's fill: the whole remainder at its own price, no slippage.
fn passive(w: &Working) -> Decision {
    Decision { legs: Legs::one(w.remaining, w.limit, false), rest: Rest::Same }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderStatus::{Open, TriggerPending};
    use PriceType::{Limit, Market, StopLimit, StopMarket};
    use Side::{Buy, Sell};

    fn p(r: i64) -> Price {
        Price(r * Price::SCALE)
    }

    /// LTP, bid, ask (0 = not quoted).
    fn quote(ltp: i64, bid: i64, ask: i64) -> Quote {
        Quote { ltp: p(ltp), bid: p(bid), ask: p(ask), high: p(1000), low: p(1), time_ns: 0 }
    }

    fn w(side: Side, pt: PriceType, status: OrderStatus, limit: i64, trigger: i64) -> Working {
        Working {
            side,
            price_type: pt,
            status,
            limit: p(limit),
            trigger: p(trigger),
            remaining: Qty(10),
        }
    }

    /// `Some(price)` for a whole fill, `None` for no fill; and the rest status.
    fn seen(d: Decision) -> (Option<i64>, Rest) {
        let l = d.legs.as_slice();
        assert!(l.len() <= 1 && l.iter().all(|l| l.qty == Qty(10)), "{d:?}");
        (l.first().map(|l| l.price.0 / Price::SCALE), d.rest)
    }

    #[test]
    fn placement_table() {
        use Rest::{Open as O, Same, TriggerPending as T};
        // (side, type, ltp, bid, ask, limit, trigger, fill price, rest)
        let rows = [
            (Buy, Market, 100, 99, 101, 0, 0, Some(101), Same),
            (Sell, Market, 100, 99, 101, 0, 0, Some(99), Same),
            (Buy, Market, 100, 0, 0, 0, 0, Some(100), Same),
            // Marketable limits fill at the touch, not at LTP.
            (Buy, Limit, 100, 99, 101, 101, 0, Some(101), Same),
            (Buy, Limit, 100, 99, 101, 105, 0, Some(101), Same),
            // LTP <= limit but the ask is above it: OpenAlgo fills, touch rests.
            (Buy, Limit, 100, 99, 101, 100, 0, None, O),
            (Sell, Limit, 100, 99, 101, 99, 0, Some(99), Same),
            (Sell, Limit, 100, 99, 101, 100, 0, None, O),
            // No touch: only a trade through fills, at LTP.
            (Buy, Limit, 100, 0, 0, 100, 0, None, O),
            (Buy, Limit, 100, 0, 0, 101, 0, Some(100), Same),
            (Sell, Limit, 100, 0, 0, 99, 0, Some(100), Same),
            (Buy, StopMarket, 100, 99, 101, 0, 100, Some(101), Same),
            (Buy, StopMarket, 100, 99, 101, 0, 101, None, T),
            (Sell, StopMarket, 100, 99, 101, 0, 100, Some(99), Same),
            (Buy, StopLimit, 100, 99, 101, 102, 98, Some(101), Same),
            (Buy, StopLimit, 100, 99, 101, 100, 98, None, O),
            (Buy, StopLimit, 100, 99, 101, 105, 101, None, T),
            (Sell, StopLimit, 100, 99, 101, 98, 102, Some(99), Same),
        ];
        for (i, (side, pt, ltp, bid, ask, limit, trig, fill, rest)) in rows.into_iter().enumerate()
        {
            let got = seen(at_placement(&w(side, pt, Open, limit, trig), &quote(ltp, bid, ask)));
            let want = (fill, if fill.is_some() { Rest::Same } else { rest });
            assert_eq!(got, want, "row {i}: {side:?} {pt:?}");
        }
    }

    #[test]
    fn tick_table() {
        let cfg = FillConfig::default();
        let mut d = Draws::new(0);
        // (side, type, status, ltp, bid, ask, limit, trigger, fill price)
        let rows = [
            // A resting limit is not filled by a touch...
            (Buy, Limit, Open, 100, 99, 101, 100, 0, None),
            (Sell, Limit, Open, 100, 99, 101, 100, 0, None),
            // ...only by a trade through, or a touch that crosses it, at the limit.
            (Buy, Limit, Open, 99, 98, 101, 100, 0, Some(100)),
            (Buy, Limit, Open, 101, 99, 100, 100, 0, Some(100)),
            (Sell, Limit, Open, 101, 99, 102, 100, 0, Some(100)),
            (Sell, Limit, Open, 99, 100, 101, 100, 0, Some(100)),
            (Buy, Market, Open, 100, 99, 101, 0, 0, Some(101)),
            (Sell, StopMarket, TriggerPending, 100, 99, 101, 0, 100, Some(99)),
            (Sell, StopMarket, TriggerPending, 101, 100, 102, 0, 100, None),
            (Buy, StopLimit, TriggerPending, 100, 99, 101, 102, 100, Some(101)),
            (Buy, StopLimit, Open, 101, 99, 100, 100, 98, Some(100)),
        ];
        for (i, (side, pt, st, ltp, bid, ask, limit, trig, fill)) in rows.into_iter().enumerate() {
            let got =
                seen(on_tick(&w(side, pt, st, limit, trig), &quote(ltp, bid, ask), &cfg, &mut d)).0;
            assert_eq!(got, fill, "row {i}: {side:?} {pt:?} {st:?}");
        }
        assert_eq!(d.drawn(), 0, "no probability set: nothing drawn");
        // A triggered SL whose limit the touch does not meet becomes open.
        let got = on_tick(
            &w(Buy, StopLimit, TriggerPending, 100, 100),
            &quote(100, 99, 101),
            &cfg,
            &mut d,
        );
        assert_eq!(got, Decision { legs: Legs::NONE, rest: Rest::Open });
    }

    #[test]
    fn a_touch_fills_with_the_configured_probability_and_draws_reproducibly() {
        let cfg = FillConfig { touch_fill_ppm: super::super::PPM / 2, ..FillConfig::default() };
        let order = w(Buy, Limit, Open, 100, 0);
        let run = |seed| {
            let mut d = Draws::new(seed);
            (0..200)
                .map(|_| !on_tick(&order, &quote(100, 99, 101), &cfg, &mut d).legs.is_empty())
                .collect::<Vec<_>>()
        };
        let a = run(3);
        assert_eq!(a, run(3));
        let hits = a.iter().filter(|&&x| x).count();
        assert!((60..140).contains(&hits), "{hits}");
        let always = FillConfig { touch_fill_ppm: super::super::PPM, ..cfg };
        let got = on_tick(&order, &quote(100, 99, 101), &always, &mut Draws::new(0));
        assert_eq!(got.legs, Legs::one(Qty(10), p(100), false));
    }
}
