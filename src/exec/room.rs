//! Room reserved ahead: the vectors a tick pushes into are grown on the command path, so
//! that the tick path does not reallocate.
//!
//! What a tick can push, and the bound that is reserved after every event that is not a
//! tick ([`Exec::reserve_ahead`]):
//! - a trade per fill, and an order per GTT it fires: under the default fill model every
//!   order fills once and completes, so at most one trade per order and one order per
//!   GTT: `orders` keeps room for every GTT, `trades` for `orders + GTTs` in all;
//! - a position row per (symbol, product) first filled: at most one per order that
//!   could fill and at most three per symbol;
//! - the candidates scratch: room for the largest book so far (noted as orders enter a
//!   book);
//! - the book sets themselves: their growth rule is in [`super::book`].
//!
//! # Known limitations
//! Where no bound is known the vectors still grow, by amortized doubling, and keep what
//! they grew to:
//! - partial fills under `touch` and `depth`: an order can fill in many parts over many
//!   ticks, so trades can outnumber orders;
//! - an order reaching the venue on a tick under `--venue-latency`, or placed by a GTT the
//!   tick fires: its book (and so the next candidates) can outgrow the room before the
//!   next command;
//! - a tick that fills more orders than the ring slot's preallocated `StageOutput`
//!   vectors hold (`StageOutput::PREALLOCATED_UPDATES`); the slot keeps the grown vectors
//!   for later events.

use super::Exec;

impl Exec {
    /// Grows `orders`, `trades` and `positions` to the bounds of the module doc. A few
    /// capacity comparisons when nothing is due; called off the tick path.
    pub(crate) fn reserve_ahead(&mut self) {
        let gtts = self.gtts.len();
        self.orders.reserve(gtts);
        let orders = self.orders.len() + gtts;
        self.trades.reserve(orders.saturating_sub(self.trades.len()));
        let rows = orders.min(3 * self.books.len());
        self.positions.reserve(rows.saturating_sub(self.positions.len()));
        self.scratch.reserve(self.largest_book.saturating_sub(self.scratch.len()));
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{H, SBIN, req};
    use crate::types::{PriceType, Product, Side};

    #[test]
    fn ticks_that_fill_every_resting_order_reallocate_nothing() {
        let mut h = H::new();
        h.tick(SBIN, 100);
        for i in 0..100 {
            let (side, px) =
                if i % 2 == 0 { (Side::Buy, 90 - i % 7) } else { (Side::Sell, 110 + i % 7) };
            h.placed(req(SBIN, side, 1, PriceType::Limit, Product::Mis, px, 0));
        }
        let caps =
            |h: &H| (h.ex.orders.capacity(), h.ex.trades.capacity(), h.ex.positions.capacity());
        let (before, scratch) = (caps(&h), h.ex.scratch.capacity());
        assert!(scratch >= 50, "{scratch}");
        h.tick(SBIN, 80);
        h.tick(SBIN, 120);
        assert_eq!(h.ex.totals().1, 100, "every order filled");
        assert_eq!((caps(&h), h.ex.scratch.capacity()), (before, scratch));
    }
}
