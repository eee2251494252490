//! The tick path: update the quote, then fill what the price allows.
//!
//! A tick that fills nothing costs one quote copy and at most five comparisons
//! ([`SymbolBook::may_fill`](super::book::SymbolBook::may_fill)). Candidates are gathered
//! into a scratch vector owned by [`Exec`] (allocated once, reused).

use super::Exec;
use super::rules::{OnTick, Quote, on_tick};
use crate::event::{StageOutput, Tick};
use crate::types::OrderStatus;

impl Exec {
    /// Applies one tick.
    pub(crate) fn on_tick(&mut self, tick: &Tick, t: i64, out: &mut StageOutput) {
        // Ticks with LTP <= 0 carry no price: ignored entirely.
        if !tick.ltp.is_positive() {
            return;
        }
        let Some(book) = self.books.get_mut(tick.symbol.index()) else { return };
        book.quote = Quote {
            ltp: tick.ltp,
            bid: tick.bid,
            ask: tick.ask,
            high: tick.high,
            low: tick.low,
            time_ns: t,
        };
        // The other fill models take their own path; the default's stays as it was.
        if self.config.fill.modelled() {
            return self.on_tick_modelled(tick, t, out);
        }
        // Stale-quote guard: LTP outside the day's range defers every fill.
        if book.quote.is_stale() {
            return;
        }
        if !self.gtts.is_empty() {
            self.check_gtts(tick.symbol, tick.ltp, t, out);
        }
        let Some(book) = self.books.get_mut(tick.symbol.index()) else { return };
        if !book.may_fill(tick.ltp) {
            return;
        }
        let quote = book.quote;
        let mut scratch = std::mem::take(&mut self.scratch);
        book.candidates(tick.ltp, &mut scratch);
        for &idx in &scratch {
            let idx = idx as usize;
            let o = self.orders[idx];
            debug_assert!(o.status.is_working(), "only working orders are indexed");
            match on_tick(o.side, o.price_type, o.status, &quote, o.price, o.trigger) {
                OnTick::Hold => {}
                OnTick::Fill(p) => {
                    self.unindex(idx);
                    self.fill(idx, p, t, out);
                }
                OnTick::Trigger => {
                    // A triggered SL whose limit is not met becomes open (moves to the limit
                    // set, into room reserved ahead: no reallocation here).
                    self.unindex(idx);
                    self.orders[idx].status = OrderStatus::Open;
                    self.index(idx);
                    out.updates.push(self.orders[idx].update(None, t));
                }
            }
        }
        self.scratch = scratch;
    }
}
