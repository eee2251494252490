//! The pending-order index: per symbol, working orders sorted so that one comparison per
//! side says whether a tick can fill anything.
//!
//! Symbols are dense ids after interning, so books live in a `Vec` indexed directly by
//! [`SymbolId::index`](crate::types::SymbolId::index): a direct index beats probing an open-addressing table.
//!
//! Each set holds `(key, order index)`; the order index breaks price ties by time.
//! - `buy_limits`: key = -limit (best = highest limit first); fillable while LTP <= limit.
//! - `sell_limits`: key = limit (lowest first); fillable while LTP >= limit.
//! - `buy_stops`: key = trigger (lowest first); triggered while LTP >= trigger.
//! - `sell_stops`: key = -trigger (highest first); triggered while LTP <= trigger.
//! - `markets`: open MARKET orders (rested by the stale-quote guard), in time order.
//!
//! Open SL orders sit in the limit sets, keyed by their limit.

use super::rules::Quote;
use crate::types::{OrderStatus, Price, PriceType, Side};
use std::collections::BTreeSet;

/// Where a working order sits in its symbol's book.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// The limit set of its side.
    Limit,
    /// The stop set of its side.
    Stop,
    /// The open-market list.
    Market,
}

/// The slot of a working order from its type and status.
pub fn slot_of(pt: PriceType, status: OrderStatus) -> Slot {
    match (pt, status) {
        (PriceType::Market, _) => Slot::Market,
        (PriceType::Limit, _) | (PriceType::StopLimit, OrderStatus::Open) => Slot::Limit,
        (PriceType::StopMarket, OrderStatus::Open) => Slot::Market,
        _ => Slot::Stop,
    }
}

/// One symbol: its last quote, its working orders, its position rows.
///
/// The five order sets are boxed on the symbol's first order: most symbols of a large
/// universe never have one, and a book without orders is then 64 bytes, not 176.
#[derive(Debug, Default)]
pub struct SymbolBook {
    /// The last tick's prices.
    pub quote: Quote,
    /// Position row index per product (MIS, CNC, NRML); `u32::MAX` when none.
    pub positions: [u32; 3],
    /// The working orders; `None` until the first one (kept once created).
    orders: Option<Box<Orders>>,
}

/// The working orders of one symbol, sorted as the module doc says.
#[derive(Debug, Default)]
struct Orders {
    buy_limits: BTreeSet<(i64, u32)>,
    sell_limits: BTreeSet<(i64, u32)>,
    buy_stops: BTreeSet<(i64, u32)>,
    sell_stops: BTreeSet<(i64, u32)>,
    markets: BTreeSet<u32>,
}

/// The entry of an order: which set, and its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The order's side.
    pub side: Side,
    /// Which set.
    pub slot: Slot,
    /// Limit price for [`Slot::Limit`], trigger for [`Slot::Stop`].
    pub price: Price,
}

impl Orders {
    fn set(&mut self, side: Side, slot: Slot) -> Option<&mut BTreeSet<(i64, u32)>> {
        match (side, slot) {
            (Side::Buy, Slot::Limit) => Some(&mut self.buy_limits),
            (Side::Sell, Slot::Limit) => Some(&mut self.sell_limits),
            (Side::Buy, Slot::Stop) => Some(&mut self.buy_stops),
            (Side::Sell, Slot::Stop) => Some(&mut self.sell_stops),
            (_, Slot::Market) => None,
        }
    }

    fn key(e: Entry) -> i64 {
        match (e.side, e.slot) {
            (Side::Buy, Slot::Limit) | (Side::Sell, Slot::Stop) => -e.price.0,
            _ => e.price.0,
        }
    }

    fn insert(&mut self, e: Entry, order: u32) {
        let key = Self::key(e);
        match self.set(e.side, e.slot) {
            Some(s) => s.insert((key, order)),
            None => self.markets.insert(order),
        };
    }

    fn remove(&mut self, e: Entry, order: u32) -> bool {
        let key = Self::key(e);
        match self.set(e.side, e.slot) {
            Some(s) => s.remove(&(key, order)),
            None => self.markets.remove(&order),
        }
    }

    fn len(&self) -> usize {
        self.buy_limits.len()
            + self.sell_limits.len()
            + self.buy_stops.len()
            + self.sell_stops.len()
            + self.markets.len()
    }

    #[inline]
    fn may_fill(&self, l: i64) -> bool {
        !self.markets.is_empty()
            || self.buy_limits.first().is_some_and(|&(k, _)| l <= -k)
            || self.sell_limits.first().is_some_and(|&(k, _)| l >= k)
            || self.buy_stops.first().is_some_and(|&(k, _)| l >= k)
            || self.sell_stops.first().is_some_and(|&(k, _)| l <= -k)
    }

    /// As [`Orders::may_fill`], with buy limits reached at `b`, sell limits at `s` and
    /// stops at `l` (the fill models fill limits on the touch too).
    fn may_fill_at(&self, b: i64, s: i64, l: i64) -> bool {
        !self.markets.is_empty()
            || self.buy_limits.first().is_some_and(|&(k, _)| b <= -k)
            || self.sell_limits.first().is_some_and(|&(k, _)| s >= k)
            || self.buy_stops.first().is_some_and(|&(k, _)| l >= k)
            || self.sell_stops.first().is_some_and(|&(k, _)| l <= -k)
    }

    fn candidates_at(&self, b: i64, s: i64, l: i64, out: &mut Vec<u32>) {
        out.extend(self.markets.iter().copied());
        out.extend(self.buy_limits.iter().take_while(|&&(k, _)| b <= -k).map(|&(_, o)| o));
        out.extend(self.sell_limits.iter().take_while(|&&(k, _)| s >= k).map(|&(_, o)| o));
        out.extend(self.buy_stops.iter().take_while(|&&(k, _)| l >= k).map(|&(_, o)| o));
        out.extend(self.sell_stops.iter().take_while(|&&(k, _)| l <= -k).map(|&(_, o)| o));
    }

    fn candidates(&self, l: i64, out: &mut Vec<u32>) {
        out.extend(self.markets.iter().copied());
        out.extend(self.buy_limits.iter().take_while(|&&(k, _)| l <= -k).map(|&(_, o)| o));
        out.extend(self.sell_limits.iter().take_while(|&&(k, _)| l >= k).map(|&(_, o)| o));
        out.extend(self.buy_stops.iter().take_while(|&&(k, _)| l >= k).map(|&(_, o)| o));
        out.extend(self.sell_stops.iter().take_while(|&&(k, _)| l <= -k).map(|&(_, o)| o));
    }
}

impl SymbolBook {
    /// An empty book with no positions.
    pub fn new() -> SymbolBook {
        SymbolBook { positions: [u32::MAX; 3], ..SymbolBook::default() }
    }

    /// Adds an order (the symbol's first allocates its sets, once).
    pub fn insert(&mut self, e: Entry, order: u32) {
        self.orders.get_or_insert_with(Box::default).insert(e, order);
    }

    /// Removes an order; true when it was there.
    pub fn remove(&mut self, e: Entry, order: u32) -> bool {
        self.orders.as_mut().is_some_and(|o| o.remove(e, order))
    }

    /// Orders in the index.
    pub fn len(&self) -> usize {
        self.orders.as_ref().map_or(0, |o| o.len())
    }

    /// True when no order is indexed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every working SELL order of the symbol (order indices, any order).
    pub fn sells(&self) -> impl Iterator<Item = u32> + '_ {
        self.orders.iter().flat_map(|o| {
            let (limits, stops) = (o.sell_limits.iter(), o.sell_stops.iter());
            limits.chain(stops).map(|&(_, i)| i).chain(o.markets.iter().copied())
        })
    }

    /// O(1): can a tick at `ltp` touch any order? One comparison per set.
    #[inline]
    pub fn may_fill(&self, ltp: Price) -> bool {
        self.orders.as_ref().is_some_and(|o| o.may_fill(ltp.0))
    }

    /// As [`SymbolBook::may_fill`] for the fill models: buy limits reached at `buy` (the
    /// lower of LTP and the ask), sell limits at `sell`, stops at `ltp`.
    pub fn may_fill_at(&self, buy: Price, sell: Price, ltp: Price) -> bool {
        self.orders.as_ref().is_some_and(|o| o.may_fill_at(buy.0, sell.0, ltp.0))
    }

    /// As [`SymbolBook::candidates`] with the prices of [`SymbolBook::may_fill_at`].
    pub fn candidates_at(&self, buy: Price, sell: Price, ltp: Price, out: &mut Vec<u32>) {
        out.clear();
        if let Some(o) = &self.orders {
            o.candidates_at(buy.0, sell.0, ltp.0, out);
        }
    }

    /// The working limits of `side` at exactly `price`, in time order.
    pub fn limits_at(&self, side: Side, price: Price) -> impl Iterator<Item = u32> + '_ {
        let key = Orders::key(Entry { side, slot: Slot::Limit, price });
        self.orders.iter().flat_map(move |o| {
            let set = match side {
                Side::Buy => &o.buy_limits,
                Side::Sell => &o.sell_limits,
            };
            set.range((key, 0)..=(key, u32::MAX)).map(|&(_, i)| i)
        })
    }

    /// Pushes into `out` (cleared first) every order the tick may touch, best first:
    /// open markets, buy limits, sell limits, buy stops, sell stops. Costs O(candidates).
    pub fn candidates(&self, ltp: Price, out: &mut Vec<u32>) {
        out.clear();
        if let Some(o) = &self.orders {
            o.candidates(ltp.0, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_book_without_orders_is_small_and_empty_again_after_its_last_order() {
        // 72 bytes: the quote (with its event time, for the freshness rule) and the boxed
        // order sets' pointer.
        assert!(std::mem::size_of::<SymbolBook>() <= 72, "{}", std::mem::size_of::<SymbolBook>());
        let mut b = SymbolBook::new();
        assert!(
            !b.may_fill(Price(1)) && b.is_empty() && !b.remove(e(Side::Buy, Slot::Limit, 5), 0)
        );
        b.insert(e(Side::Buy, Slot::Limit, 5), 0);
        let px = |r: i64| Price(r * Price::SCALE);
        assert!(b.may_fill(px(5)) && b.may_fill(px(4)) && !b.may_fill(px(6)));
        assert!(b.remove(e(Side::Buy, Slot::Limit, 5), 0));
        assert!(b.is_empty() && !b.may_fill(Price(1)));
    }

    fn e(side: Side, slot: Slot, r: i64) -> Entry {
        Entry { side, slot, price: Price(r * Price::SCALE) }
    }

    #[test]
    fn one_comparison_decides_and_candidates_are_best_first() {
        let mut b = SymbolBook::new();
        b.insert(e(Side::Buy, Slot::Limit, 99), 0);
        b.insert(e(Side::Buy, Slot::Limit, 98), 1);
        b.insert(e(Side::Sell, Slot::Limit, 102), 2);
        b.insert(e(Side::Buy, Slot::Stop, 105), 3);
        b.insert(e(Side::Sell, Slot::Stop, 95), 4);
        let px = |r: i64| Price(r * Price::SCALE);
        assert!(!b.may_fill(px(100)));
        assert!(b.may_fill(px(99)));
        let mut v = Vec::new();
        b.candidates(px(98), &mut v);
        assert_eq!(v, vec![0, 1]);
        b.candidates(px(106), &mut v);
        assert_eq!(v, vec![2, 3]);
        b.candidates(px(94), &mut v);
        assert_eq!(v, vec![0, 1, 4]);
        assert!(b.remove(e(Side::Buy, Slot::Limit, 99), 0));
        assert!(!b.remove(e(Side::Buy, Slot::Limit, 99), 0));
        assert_eq!(b.len(), 4);
    }
}
