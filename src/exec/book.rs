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
//!
//! # Performance
//! A set is a sorted `Vec` ([`Ladder`]) stored worst first, so its best entry is the last:
//! a tick reads `last()`, and a fill (always of the best entries) removes from the end
//! without moving the rest. Placing or modifying shifts the entries behind the new one
//! (a `memmove` of 16-byte entries; books hold tens of orders, not millions).
//!
//! Storage is reserved ahead, off the tick path. The growth rule, applied after every
//! insertion ([`Orders::reserve_ahead`]): each set keeps room for one more entry, each
//! side's limit set keeps room for every stop of that side, and the market list for every
//! stop. A tick only removes entries or moves a triggered stop into its side's limit set
//! (SL) or the market list (SL-M), which that room covers: **the tick path never
//! reallocates a set**. Growth (amortized doubling, by `Vec::reserve`) happens when a
//! placement or modify inserts; the one insertion that can land on a tick event is an order
//! reaching the venue under `--venue-latency` (the room for one more covers the first
//! arrival per set between two commands). Sets never shrink.

use super::rules::Quote;
use crate::types::{OrderStatus, Price, PriceType, Side};

/// Which of its side's order sets a working order sits in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderSet {
    /// The limit set of its side.
    Limit,
    /// The stop set of its side.
    Stop,
    /// The open-market list.
    Market,
}

/// The set of a working order from its type and status.
pub fn set_of(pt: PriceType, status: OrderStatus) -> OrderSet {
    match (pt, status) {
        (PriceType::Market, _) => OrderSet::Market,
        (PriceType::Limit, _) | (PriceType::StopLimit, OrderStatus::Open) => OrderSet::Limit,
        (PriceType::StopMarket, OrderStatus::Open) => OrderSet::Market,
        _ => OrderSet::Stop,
    }
}

/// One symbol: its last quote, its working orders, its position rows.
///
/// The five order sets are boxed on the symbol's first order: most symbols of a large
/// universe never have one, and a book without orders is then 72 bytes.
#[derive(Debug, Default)]
pub struct SymbolBook {
    /// The last tick's prices.
    pub quote: Quote,
    /// Position row index per product (MIS, CNC, NRML); `u32::MAX` when none.
    pub positions: [u32; 3],
    /// Other reasons the symbol's quotes are needed: its active GTTs, its operations on
    /// their way to the venue and its holding (0 or 1), counted where they change so that
    /// [`Exec::needs_quotes`](super::Exec::needs_quotes) is O(1).
    pub watchers: u32,
    /// The working orders; `None` until the first one (kept once created).
    orders: Option<Box<Orders>>,
}

/// One set of `(key, order index)` entries, sorted descending: the best (lowest key,
/// then oldest order) is the last.
#[derive(Debug, Default)]
struct Ladder(Vec<(i64, u32)>);

impl Ladder {
    fn with_capacity(n: usize) -> Ladder {
        Ladder(Vec::with_capacity(n))
    }

    /// Where `e` is (`Ok`) or belongs (`Err`).
    fn find(&self, e: (i64, u32)) -> Result<usize, usize> {
        // Descending: an entry greater than `e` comes before it.
        self.0.binary_search_by(|probe| e.cmp(probe))
    }

    fn insert(&mut self, e: (i64, u32)) {
        if let Err(at) = self.find(e) {
            self.0.insert(at, e);
        }
    }

    fn remove(&mut self, e: (i64, u32)) -> bool {
        self.find(e).map(|at| self.0.remove(at)).is_ok()
    }

    #[inline]
    fn best_key(&self) -> Option<i64> {
        self.0.last().map(|&(k, _)| k)
    }

    /// Entries best first.
    fn best_first(&self) -> impl Iterator<Item = &(i64, u32)> {
        self.0.iter().rev()
    }

    /// The orders at exactly `key`, oldest first.
    fn at(&self, key: i64) -> impl Iterator<Item = u32> + '_ {
        let lo = self.0.partition_point(|&(k, _)| k > key);
        let hi = self.0.partition_point(|&(k, _)| k >= key);
        self.0[lo..hi].iter().rev().map(|&(_, i)| i)
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

/// Entries each set is created with on the symbol's first order.
const INITIAL_ENTRIES: usize = 4;

/// The working orders of one symbol, sorted as the module doc says.
#[derive(Debug)]
struct Orders {
    buy_limits: Ladder,
    sell_limits: Ladder,
    buy_stops: Ladder,
    sell_stops: Ladder,
    /// Open MARKET order indices, ascending (time order).
    markets: Vec<u32>,
}

/// The entry of an order: which set, and its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The order's side.
    pub side: Side,
    /// Which set.
    pub set: OrderSet,
    /// Limit price for [`OrderSet::Limit`], trigger for [`OrderSet::Stop`].
    pub price: Price,
}

impl Orders {
    fn new() -> Orders {
        let ladder = || Ladder::with_capacity(INITIAL_ENTRIES);
        Orders {
            buy_limits: ladder(),
            sell_limits: ladder(),
            buy_stops: ladder(),
            sell_stops: ladder(),
            markets: Vec::with_capacity(INITIAL_ENTRIES),
        }
    }

    fn ladder(&mut self, side: Side, set: OrderSet) -> Option<&mut Ladder> {
        match (side, set) {
            (Side::Buy, OrderSet::Limit) => Some(&mut self.buy_limits),
            (Side::Sell, OrderSet::Limit) => Some(&mut self.sell_limits),
            (Side::Buy, OrderSet::Stop) => Some(&mut self.buy_stops),
            (Side::Sell, OrderSet::Stop) => Some(&mut self.sell_stops),
            (_, OrderSet::Market) => None,
        }
    }

    fn key(e: Entry) -> i64 {
        match (e.side, e.set) {
            (Side::Buy, OrderSet::Limit) | (Side::Sell, OrderSet::Stop) => -e.price.0,
            _ => e.price.0,
        }
    }

    fn insert(&mut self, e: Entry, order: u32) {
        let key = Self::key(e);
        match self.ladder(e.side, e.set) {
            Some(s) => s.insert((key, order)),
            None => {
                if let Err(at) = self.markets.binary_search(&order) {
                    self.markets.insert(at, order);
                }
            }
        }
        self.reserve_ahead();
    }

    /// The growth rule of the module doc: room for one more entry in every set, and for
    /// every stop to trigger into its limit set or the market list. A no-op (capacity
    /// comparisons) unless an insertion used the last of that room.
    fn reserve_ahead(&mut self) {
        let (bs, ss) = (self.buy_stops.len(), self.sell_stops.len());
        self.buy_limits.0.reserve(bs + 1);
        self.sell_limits.0.reserve(ss + 1);
        self.buy_stops.0.reserve(1);
        self.sell_stops.0.reserve(1);
        self.markets.reserve(bs + ss + 1);
    }

    /// True while a trigger or a removal cannot reallocate (the growth rule holds).
    #[cfg(test)]
    fn has_room(&self) -> bool {
        let spare = |v: &Vec<(i64, u32)>| v.capacity() - v.len();
        let (bs, ss) = (self.buy_stops.len(), self.sell_stops.len());
        spare(&self.buy_limits.0) > bs
            && spare(&self.sell_limits.0) > ss
            && spare(&self.buy_stops.0) > 0
            && spare(&self.sell_stops.0) > 0
            && self.markets.capacity() - self.markets.len() > bs + ss
    }

    fn remove(&mut self, e: Entry, order: u32) -> bool {
        let key = Self::key(e);
        match self.ladder(e.side, e.set) {
            Some(s) => s.remove((key, order)),
            None => self.markets.binary_search(&order).map(|at| self.markets.remove(at)).is_ok(),
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
        self.may_fill_at(l, l, l)
    }

    /// As [`Orders::may_fill`], with buy limits reached at `b`, sell limits at `s` and
    /// stops at `l` (the fill models fill limits on the touch too).
    #[inline]
    fn may_fill_at(&self, b: i64, s: i64, l: i64) -> bool {
        !self.markets.is_empty()
            || self.buy_limits.best_key().is_some_and(|k| b <= -k)
            || self.sell_limits.best_key().is_some_and(|k| s >= k)
            || self.buy_stops.best_key().is_some_and(|k| l >= k)
            || self.sell_stops.best_key().is_some_and(|k| l <= -k)
    }

    fn candidates_at(&self, b: i64, s: i64, l: i64, out: &mut Vec<u32>) {
        let order = |&(_, o): &(i64, u32)| o;
        out.extend(self.markets.iter().copied());
        out.extend(self.buy_limits.best_first().take_while(|&&(k, _)| b <= -k).map(order));
        out.extend(self.sell_limits.best_first().take_while(|&&(k, _)| s >= k).map(order));
        out.extend(self.buy_stops.best_first().take_while(|&&(k, _)| l >= k).map(order));
        out.extend(self.sell_stops.best_first().take_while(|&&(k, _)| l <= -k).map(order));
    }
}

impl SymbolBook {
    /// An empty book with no positions.
    pub fn new() -> SymbolBook {
        SymbolBook { positions: [u32::MAX; 3], ..SymbolBook::default() }
    }

    /// Adds an order (the symbol's first allocates its sets, once), then reserves ahead
    /// as the module doc says.
    pub fn insert(&mut self, e: Entry, order: u32) {
        self.orders.get_or_insert_with(|| Box::new(Orders::new())).insert(e, order);
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
            let (limits, stops) = (o.sell_limits.0.iter(), o.sell_stops.0.iter());
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
        let key = Orders::key(Entry { side, set: OrderSet::Limit, price });
        self.orders.iter().flat_map(move |o| {
            let set = match side {
                Side::Buy => &o.buy_limits,
                Side::Sell => &o.sell_limits,
            };
            set.at(key)
        })
    }

    /// Pushes into `out` (cleared first) every order the tick may touch, best first:
    /// open markets, buy limits, sell limits, buy stops, sell stops. Costs O(candidates).
    pub fn candidates(&self, ltp: Price, out: &mut Vec<u32>) {
        self.candidates_at(ltp, ltp, ltp, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn a_book_without_orders_is_small_and_empty_again_after_its_last_order() {
        // 72 bytes: the quote (with its event time, for the freshness rule), the position
        // rows, the watcher count and the boxed order sets' pointer.
        assert!(std::mem::size_of::<SymbolBook>() <= 72, "{}", std::mem::size_of::<SymbolBook>());
        let mut b = SymbolBook::new();
        assert!(
            !b.may_fill(Price(1)) && b.is_empty() && !b.remove(e(Side::Buy, OrderSet::Limit, 5), 0)
        );
        b.insert(e(Side::Buy, OrderSet::Limit, 5), 0);
        let px = |r: i64| Price(r * Price::SCALE);
        assert!(b.may_fill(px(5)) && b.may_fill(px(4)) && !b.may_fill(px(6)));
        assert!(b.remove(e(Side::Buy, OrderSet::Limit, 5), 0));
        assert!(b.is_empty() && !b.may_fill(Price(1)));
    }

    fn e(side: Side, set: OrderSet, r: i64) -> Entry {
        Entry { side, set, price: Price(r * Price::SCALE) }
    }

    #[test]
    fn one_comparison_decides_and_candidates_are_best_first() {
        let mut b = SymbolBook::new();
        b.insert(e(Side::Buy, OrderSet::Limit, 99), 0);
        b.insert(e(Side::Buy, OrderSet::Limit, 98), 1);
        b.insert(e(Side::Sell, OrderSet::Limit, 102), 2);
        b.insert(e(Side::Buy, OrderSet::Stop, 105), 3);
        b.insert(e(Side::Sell, OrderSet::Stop, 95), 4);
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
        assert!(b.remove(e(Side::Buy, OrderSet::Limit, 99), 0));
        assert!(!b.remove(e(Side::Buy, OrderSet::Limit, 99), 0));
        assert_eq!(b.len(), 4);
    }

    #[test]
    fn triggers_and_fills_never_reallocate_a_set() {
        let mut b = SymbolBook::new();
        for i in 0..50 {
            b.insert(e(Side::Buy, OrderSet::Stop, 100 + i64::from(i % 7)), i);
            b.insert(e(Side::Sell, OrderSet::Limit, 110 + i64::from(i % 5)), 100 + i);
        }
        let o = b.orders.as_ref().expect("orders");
        assert!(o.has_room());
        let caps = |o: &Orders| {
            [o.buy_limits.0.capacity(), o.sell_limits.0.capacity(), o.markets.capacity()]
        };
        let before = caps(o);
        // Every buy stop triggers: half into the limit set (SL), half into markets (SL-M).
        for i in 0..50u32 {
            let stop = e(Side::Buy, OrderSet::Stop, 100 + i64::from(i % 7));
            assert!(b.remove(stop, i));
            let set = if i % 2 == 0 { OrderSet::Limit } else { OrderSet::Market };
            b.insert(e(Side::Buy, set, 120), i);
        }
        assert_eq!(caps(b.orders.as_ref().expect("orders")), before);
    }

    /// The book as it was (`BTreeSet`s): the reference the sorted vectors must match.
    #[derive(Default)]
    struct Reference {
        sets: [BTreeSet<(i64, u32)>; 4],
        markets: BTreeSet<u32>,
    }

    impl Reference {
        fn set(&mut self, e: Entry) -> Option<&mut BTreeSet<(i64, u32)>> {
            let i = match (e.side, e.set) {
                (Side::Buy, OrderSet::Limit) => 0,
                (Side::Sell, OrderSet::Limit) => 1,
                (Side::Buy, OrderSet::Stop) => 2,
                (Side::Sell, OrderSet::Stop) => 3,
                (_, OrderSet::Market) => return None,
            };
            Some(&mut self.sets[i])
        }

        fn candidates(&self, b: i64, s: i64, l: i64) -> Vec<u32> {
            let mut v: Vec<u32> = self.markets.iter().copied().collect();
            let [bl, sl, bs, ss] = &self.sets;
            v.extend(bl.iter().take_while(|&&(k, _)| b <= -k).map(|&(_, o)| o));
            v.extend(sl.iter().take_while(|&&(k, _)| s >= k).map(|&(_, o)| o));
            v.extend(bs.iter().take_while(|&&(k, _)| l >= k).map(|&(_, o)| o));
            v.extend(ss.iter().take_while(|&&(k, _)| l <= -k).map(|&(_, o)| o));
            v
        }
    }

    fn entry() -> impl Strategy<Value = (Entry, u32)> {
        (any::<bool>(), 0u8..3, 95i64..=105, 0u32..40).prop_map(|(buy, set, px, order)| {
            let side = if buy { Side::Buy } else { Side::Sell };
            let set = [OrderSet::Limit, OrderSet::Stop, OrderSet::Market][usize::from(set)];
            (e(side, set, px), order)
        })
    }

    proptest! {
        #[test]
        fn sorted_vectors_answer_as_the_btree_sets_did(
            ops in prop::collection::vec((any::<bool>(), entry(), 94i64..=106, -1i64..=1), 1..300)
        ) {
            let (mut book, mut reference) = (SymbolBook::new(), Reference::default());
            for (insert, (en, order), l, spread) in ops {
                let key = Orders::key(en);
                if insert {
                    book.insert(en, order);
                    match reference.set(en) {
                        Some(s) => { s.insert((key, order)); }
                        None => { reference.markets.insert(order); }
                    }
                } else {
                    let had = match reference.set(en) {
                        Some(s) => s.remove(&(key, order)),
                        None => reference.markets.remove(&order),
                    };
                    prop_assert_eq!(book.remove(en, order), had);
                }
                let px = |r: i64| Price(r * Price::SCALE);
                let (b, s, l) = (px(l + spread), px(l - spread), px(l));
                let mut got = Vec::new();
                book.candidates_at(b, s, l, &mut got);
                let want = reference.candidates(b.0, s.0, l.0);
                prop_assert_eq!(book.may_fill_at(b, s, l), !want.is_empty());
                prop_assert_eq!(&got, &want);
                let total: usize =
                    reference.sets.iter().map(BTreeSet::len).sum::<usize>() + reference.markets.len();
                prop_assert_eq!(book.len(), total);
                for side in [Side::Buy, Side::Sell] {
                    let at = Orders::key(Entry { side, set: OrderSet::Limit, price: l });
                    let i = if side == Side::Buy { 0 } else { 1 };
                    let want: Vec<u32> = reference.sets[i]
                        .range((at, 0)..=(at, u32::MAX)).map(|&(_, o)| o).collect();
                    prop_assert_eq!(book.limits_at(side, l).collect::<Vec<_>>(), want);
                }
                let mut sells: Vec<u32> = book.sells().collect();
                sells.sort_unstable();
                let mut want: Vec<u32> = reference.sets[1].iter().chain(&reference.sets[3])
                    .map(|&(_, o)| o).collect();
                // Markets of either side sit in one list: `sells` lists them all (the
                // caller filters by side), as the BTreeSet version did.
                want.extend(reference.markets.iter().copied());
                want.sort_unstable();
                prop_assert_eq!(sells, want);
                if let Some(o) = &book.orders {
                    prop_assert!(o.has_room());
                }
            }
        }
    }
}
