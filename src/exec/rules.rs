//! Fill rules as pure functions of the order and the last quote (OPENALGO.md section 3).
//!
//! Every comparison is against LTP. The sandbox fills the whole quantity at once.

use crate::types::{OrderStatus, Price, PriceType, Side};
use serde::{Deserialize, Serialize};

/// The last quote of a symbol, as execution needs it. Zero means "not known".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    /// Last traded price.
    pub ltp: Price,
    /// Best bid.
    pub bid: Price,
    /// Best ask.
    pub ask: Price,
    /// Day high.
    pub high: Price,
    /// Day low.
    pub low: Price,
    /// Event time of the tick that set it, epoch ns (0 = never quoted).
    pub time_ns: i64,
}

impl Quote {
    /// True when the quote has a price no older than `max_age_ns` at event time `now_ns`
    /// (OPENALGO.md section 3, data freshness: placement decides against fresh prices only).
    #[inline]
    pub fn is_fresh(&self, now_ns: i64, max_age_ns: i64) -> bool {
        self.ltp.is_positive() && now_ns.saturating_sub(self.time_ns) <= max_age_ns
    }

    /// Stale-quote guard: the quote carries a day range and LTP lies outside it.
    #[inline]
    pub fn is_stale(&self) -> bool {
        self.high.is_positive()
            && self.low.is_positive()
            && (self.ltp < self.low || self.ltp > self.high)
    }

    /// True when the quote can fill orders now: a positive LTP that is not stale.
    #[inline]
    pub fn can_fill(&self) -> bool {
        self.ltp.is_positive() && !self.is_stale()
    }

    /// The price a market order fills at: ask for BUY, bid for SELL, LTP when unknown.
    #[inline]
    pub fn market_price(&self, side: Side) -> Price {
        let touch = match side {
            Side::Buy => self.ask,
            Side::Sell => self.bid,
        };
        if touch.is_positive() { touch } else { self.ltp }
    }
}

/// What a new order does at placement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Fills at once at this price.
    Fill(Price),
    /// Rests as `open`.
    Open,
    /// Rests as `trigger pending`.
    TriggerPending,
}

/// What a working order does on a tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnTick {
    /// Fills at this price.
    Fill(Price),
    /// A trigger-pending SL whose trigger is met but limit is not: becomes `open`.
    Trigger,
    /// Nothing happens.
    Hold,
}

/// BUY limit met: LTP <= limit; SELL: LTP >= limit.
#[inline]
pub fn limit_met(side: Side, ltp: Price, limit: Price) -> bool {
    match side {
        Side::Buy => ltp <= limit,
        Side::Sell => ltp >= limit,
    }
}

/// BUY trigger met: LTP >= trigger; SELL: LTP <= trigger.
#[inline]
pub fn trigger_met(side: Side, ltp: Price, trigger: Price) -> bool {
    match side {
        Side::Buy => ltp >= trigger,
        Side::Sell => ltp <= trigger,
    }
}

/// The placement table. A quote that cannot fill (no LTP, or stale) rests every order.
pub fn at_placement(
    side: Side,
    pt: PriceType,
    q: &Quote,
    limit: Price,
    trigger: Price,
) -> Placement {
    if !q.can_fill() {
        return match pt {
            PriceType::Market | PriceType::Limit => Placement::Open,
            PriceType::StopLimit | PriceType::StopMarket => Placement::TriggerPending,
        };
    }
    let ltp = q.ltp;
    match pt {
        PriceType::Market => Placement::Fill(q.market_price(side)),
        PriceType::Limit if limit_met(side, ltp, limit) => Placement::Fill(ltp),
        PriceType::Limit => Placement::Open,
        PriceType::StopMarket if trigger_met(side, ltp, trigger) => Placement::Fill(ltp),
        PriceType::StopMarket => Placement::TriggerPending,
        PriceType::StopLimit if !trigger_met(side, ltp, trigger) => Placement::TriggerPending,
        PriceType::StopLimit if limit_met(side, ltp, limit) => Placement::Fill(ltp),
        PriceType::StopLimit => Placement::Open,
    }
}

/// The later-tick table, for a working order of status `status`.
pub fn on_tick(
    side: Side,
    pt: PriceType,
    status: OrderStatus,
    q: &Quote,
    limit: Price,
    trigger: Price,
) -> OnTick {
    if !q.can_fill() {
        return OnTick::Hold;
    }
    let ltp = q.ltp;
    let fill_if = |c: bool, p: Price| if c { OnTick::Fill(p) } else { OnTick::Hold };
    match (status, pt) {
        (OrderStatus::Open, PriceType::Limit) => fill_if(limit_met(side, ltp, limit), limit),
        (OrderStatus::Open, PriceType::StopLimit) => {
            fill_if(trigger_met(side, ltp, trigger) && limit_met(side, ltp, limit), ltp)
        }
        (OrderStatus::Open, PriceType::Market) => OnTick::Fill(q.market_price(side)),
        (OrderStatus::Open, PriceType::StopMarket) => OnTick::Fill(ltp),
        (OrderStatus::TriggerPending, PriceType::StopMarket) => {
            fill_if(trigger_met(side, ltp, trigger), ltp)
        }
        (OrderStatus::TriggerPending, PriceType::StopLimit) => {
            if !trigger_met(side, ltp, trigger) {
                OnTick::Hold
            } else if limit_met(side, ltp, limit) {
                OnTick::Fill(ltp)
            } else {
                OnTick::Trigger
            }
        }
        _ => OnTick::Hold,
    }
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

    #[test]
    fn placement_table_both_sides() {
        use Placement::{Fill, Open as O, TriggerPending as T};
        // (side, type, ltp, limit, trigger, expected)
        let rows = [
            (Buy, Market, 100, 0, 0, Fill(p(101))),
            (Sell, Market, 100, 0, 0, Fill(p(99))),
            (Buy, Limit, 100, 100, 0, Fill(p(100))),
            (Buy, Limit, 100, 105, 0, Fill(p(100))),
            (Buy, Limit, 100, 99, 0, O),
            (Sell, Limit, 100, 100, 0, Fill(p(100))),
            (Sell, Limit, 100, 95, 0, Fill(p(100))),
            (Sell, Limit, 100, 101, 0, O),
            (Buy, StopMarket, 100, 0, 100, Fill(p(100))),
            (Buy, StopMarket, 100, 0, 95, Fill(p(100))),
            (Buy, StopMarket, 100, 0, 101, T),
            (Sell, StopMarket, 100, 0, 100, Fill(p(100))),
            (Sell, StopMarket, 100, 0, 105, Fill(p(100))),
            (Sell, StopMarket, 100, 0, 99, T),
            (Buy, StopLimit, 100, 102, 98, Fill(p(100))),
            (Buy, StopLimit, 100, 99, 98, O),
            (Buy, StopLimit, 100, 105, 101, T),
            (Sell, StopLimit, 100, 98, 102, Fill(p(100))),
            (Sell, StopLimit, 100, 101, 102, O),
            (Sell, StopLimit, 100, 95, 99, T),
        ];
        for (i, (side, pt, ltp, limit, trig, want)) in rows.into_iter().enumerate() {
            let got = at_placement(side, pt, &quote(ltp), p(limit), p(trig));
            assert_eq!(got, want, "row {i}: {side:?} {pt:?}");
        }
    }

    #[test]
    fn market_without_touch_fills_at_ltp() {
        let q = Quote { ltp: p(100), ..Quote::default() };
        assert_eq!(at_placement(Buy, Market, &q, p(0), p(0)), Placement::Fill(p(100)));
        assert_eq!(at_placement(Sell, Market, &q, p(0), p(0)), Placement::Fill(p(100)));
    }

    #[test]
    fn stale_or_missing_quote_rests_everything() {
        let stale = Quote { ltp: p(100), high: p(99), low: p(90), ..Quote::default() };
        assert!(stale.is_stale());
        assert_eq!(at_placement(Buy, Market, &stale, p(0), p(0)), Placement::Open);
        assert_eq!(at_placement(Buy, Limit, &stale, p(200), p(0)), Placement::Open);
        assert_eq!(at_placement(Sell, StopMarket, &stale, p(0), p(200)), Placement::TriggerPending);
        assert_eq!(on_tick(Buy, Limit, Open, &stale, p(200), p(0)), OnTick::Hold);
        let none = Quote::default();
        assert_eq!(at_placement(Buy, Limit, &none, p(200), p(0)), Placement::Open);
    }

    #[test]
    fn tick_table_both_sides() {
        use OnTick::{Fill, Hold, Trigger};
        // (side, type, status, ltp, limit, trigger, expected)
        let rows = [
            (Buy, Limit, Open, 100, 100, 0, Fill(p(100))),
            (Buy, Limit, Open, 97, 100, 0, Fill(p(100))),
            (Buy, Limit, Open, 101, 100, 0, Hold),
            (Sell, Limit, Open, 100, 100, 0, Fill(p(100))),
            (Sell, Limit, Open, 103, 100, 0, Fill(p(100))),
            (Sell, Limit, Open, 99, 100, 0, Hold),
            (Buy, StopLimit, Open, 100, 102, 98, Fill(p(100))),
            (Buy, StopLimit, Open, 103, 102, 98, Hold),
            (Buy, StopLimit, Open, 97, 102, 98, Hold),
            (Sell, StopLimit, Open, 100, 98, 102, Fill(p(100))),
            (Sell, StopLimit, Open, 97, 98, 102, Hold),
            (Sell, StopLimit, Open, 103, 98, 102, Hold),
            (Buy, Market, Open, 100, 0, 0, Fill(p(101))),
            (Sell, Market, Open, 100, 0, 0, Fill(p(99))),
            (Buy, StopMarket, TriggerPending, 100, 0, 100, Fill(p(100))),
            (Buy, StopMarket, TriggerPending, 99, 0, 100, Hold),
            (Sell, StopMarket, TriggerPending, 100, 0, 100, Fill(p(100))),
            (Sell, StopMarket, TriggerPending, 101, 0, 100, Hold),
            (Buy, StopLimit, TriggerPending, 100, 101, 99, Fill(p(100))),
            (Buy, StopLimit, TriggerPending, 100, 99, 98, Trigger),
            (Buy, StopLimit, TriggerPending, 97, 101, 98, Hold),
            (Sell, StopLimit, TriggerPending, 100, 99, 101, Fill(p(100))),
            (Sell, StopLimit, TriggerPending, 100, 101, 102, Trigger),
            (Sell, StopLimit, TriggerPending, 103, 99, 102, Hold),
        ];
        for (i, (side, pt, st, ltp, limit, trig, want)) in rows.into_iter().enumerate() {
            let got = on_tick(side, pt, st, &quote(ltp), p(limit), p(trig));
            assert_eq!(got, want, "row {i}: {side:?} {pt:?} {st:?}");
        }
    }
}
