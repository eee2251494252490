//! Funds reset (OPENALGO.md 3b): on the configured weekday and time, or on demand through
//! the journaled [`crate::event::CommandKind::ResetFunds`].
//!
//! # Invariants
//! - After a reset: available = starting capital, used margin, realized P&L and holdings
//!   are zero, no order is working (each is cancelled, with its update), every position
//!   row is flat with zero realized P&L; orders and trades stay; `reset_count` grows by
//!   one and `last_reset_ns` is the event's time.

use super::Exec;
use super::funds::Funds;
use crate::event::{Reply, StageOutput};
use crate::types::{Money, Price, Qty};

impl Exec {
    /// Resets the account at event time `t`.
    pub(crate) fn reset_funds(&mut self, t: i64, out: &mut StageOutput) -> Reply {
        for idx in 0..self.orders.len() {
            if self.orders[idx].status.is_working() {
                self.cancel_index(idx, t, out);
            }
        }
        for (pi, p) in self.positions.iter_mut().enumerate() {
            if p.qty.0 != 0 || p.realized.0 != 0 || p.margin.0 != 0 {
                p.qty = Qty::ZERO;
                p.avg = Price::ZERO;
                p.clear_realized();
                p.margin = Money::ZERO;
                out.positions.push(p.change(pi as u32));
            }
        }
        for h in std::mem::take(&mut self.holdings) {
            self.watch(h.symbol, -1);
        }
        let count = self.funds.reset_count.saturating_add(1);
        self.funds = Funds {
            reset_count: count,
            last_reset_ns: t,
            ..Funds::new(self.config.starting_capital)
        };
        out.funds_changed = true;
        Reply::Reset(count)
    }
}
