//! Venue latency: a client's placements, modifies and cancels take effect at the venue a
//! configured delay later in event time (`--venue-latency`, plus a seeded uniform jitter
//! up to `--venue-latency-jitter`), so a strategy sees the fills it would have got at its
//! real distance from the exchange.
//!
//! The command itself is decided at once (validation, margin, the order id, the reply):
//! that is the broker accepting it. What reaches the venue later is the order's entry into
//! the book (and its placement fill check), the modification, or the cancellation. The
//! delayed operations are state (in the snapshot) and run, in due-time order, at the start
//! of the first journaled event whose time has reached them, before that event is
//! applied: a tick then sees the order already resting. One order's operations keep their
//! order (a cancel never overtakes its placement), as on one connection.
//!
//! # Invariants
//! - An order whose placement is in flight is `open` but not in its symbol's index.
//! - With no latency configured nothing is deferred and `delayed` stays empty.
//!
//! # Known limitations
//! - One delay (plus jitter) for every operation; no separate insert, modify and cancel
//!   latencies. Operations become due only when a journaled event arrives (at worst the
//!   engine's one-second timer), and run stamped with their due time.
//!
//! # Performance
//! Without latency the default path pays one `is_empty` per journaled event. With it,
//! the queue is a sorted `Vec` (insertion and the due scan are linear in the operations
//! in flight, which are few).

use super::Exec;
use super::orders::Pricing;
use crate::event::{ModifyRequest, OrderRequest, StageOutput};
use crate::types::{Price, Qty};
use serde::{Deserialize, Serialize};

/// An operation on its way to the venue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// The order enters the book (placement check first); `last_known` for the engine's
    /// own closing orders, which may use an old quote.
    Place {
        /// Decide against the last quote however old (square-off).
        last_known: bool,
    },
    /// The order is cancelled, if it still works.
    Cancel,
    /// The order takes these values, if it still works.
    Modify {
        /// New quantity.
        qty: Qty,
        /// New limit price (0 keeps the current one).
        price: Price,
        /// New trigger (0 keeps the current one).
        trigger: Price,
        /// New disclosed quantity.
        disclosed: Qty,
    },
}

/// A delayed operation on order `order` (its index), due at `due_ns` (event time).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delayed {
    /// When it reaches the venue, epoch ns.
    pub due_ns: i64,
    /// The order's index.
    pub order: u32,
    /// What happens then.
    pub action: Action,
}

impl Exec {
    /// True when client operations are delayed.
    #[inline]
    pub(crate) fn delays(&self) -> bool {
        self.config.fill.latency_ns > 0 || self.config.fill.jitter_ns > 0
    }

    /// Queues `action` on order `idx`, sent at `t`: due after the latency plus a jitter
    /// draw, never before the order's earlier operations.
    pub(crate) fn defer(&mut self, idx: usize, action: Action, t: i64) {
        let c = self.config.fill;
        let jitter = self.fills.draws.up_to(c.jitter_ns.max(0) as u64) as i64;
        let after = self.delayed.iter().filter(|d| d.order as usize == idx).map(|d| d.due_ns).max();
        let due =
            t.saturating_add(c.latency_ns).saturating_add(jitter).max(after.unwrap_or(i64::MIN));
        let at = self.delayed.partition_point(|d| d.due_ns <= due);
        self.delayed.insert(at, Delayed { due_ns: due, order: idx as u32, action });
        self.watch(self.orders[idx].symbol, 1);
    }

    /// True while order `idx`'s placement has not reached the venue.
    pub(crate) fn in_flight(&self, idx: usize) -> bool {
        self.delayed
            .iter()
            .any(|d| d.order as usize == idx && matches!(d.action, Action::Place { .. }))
    }

    /// Runs every operation due at or before `t`, in due order, each at its due time.
    pub(crate) fn run_due(&mut self, t: i64, out: &mut StageOutput) {
        while let Some(d) = self.delayed.first().copied().filter(|d| d.due_ns <= t) {
            self.delayed.remove(0);
            let idx = d.order as usize;
            let o = self.orders[idx];
            self.watch(o.symbol, -1);
            if !o.status.is_working() {
                continue;
            }
            match d.action {
                Action::Place { last_known } => {
                    let pricing = if last_known { Pricing::LastKnown } else { Pricing::Fresh };
                    let quote = self.placement_quote(o.symbol, d.due_ns, pricing);
                    self.settle(idx, &quote, d.due_ns, out);
                }
                Action::Cancel => self.cancel_index(idx, d.due_ns, out),
                Action::Modify { qty, price, trigger, disclosed } => {
                    let order = OrderRequest { qty, price, trigger, disclosed, ..o.request() };
                    // A modify the venue refuses (funds, quantity) leaves the order as it was.
                    let _ =
                        self.modify_now(&ModifyRequest { order_id: o.id, order }, d.due_ns, out);
                }
            }
        }
    }

    /// Delayed form of a client's modify: accepted now for a working order, applied at
    /// the venue later.
    pub(crate) fn defer_modify(&mut self, idx: usize, m: &ModifyRequest, t: i64) {
        let r = m.order;
        let action = Action::Modify {
            qty: r.qty,
            price: r.price,
            trigger: r.trigger,
            disclosed: r.disclosed,
        };
        self.defer(idx, action, t);
    }

    /// The orders whose placement is in flight, for the snapshot's index rebuild.
    pub(crate) fn placing(&self) -> impl Iterator<Item = usize> + '_ {
        self.delayed
            .iter()
            .filter(|d| matches!(d.action, Action::Place { .. }))
            .map(|d| d.order as usize)
    }
}
