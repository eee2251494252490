//! Order updates for WebSocket clients, released only once the journal has passed them.
//!
//! The fanout stage runs before the journal stage, so it queues every order update
//! tagged with its event's sequence; the reader hands one out only when the journal's
//! durable sequence has reached it. No client ever sees an order state that a restart
//! would undo.
//!
//! The reader's thread sleeps in its own poll between turns; [`UpdateSignal`] lets the
//! journal stage wake it right after a commit made updates durable, so an order update
//! goes out within microseconds of its commit instead of on the next timed turn.
//!
//! The queue is bounded. If the reader falls that far behind, the stage counts an
//! overflow (in [`Health::fanout_overflows`]) instead of blocking the ring, and the reader
//! reports the gap ([`Next::Gap`]) so the server can close the affected subscribers with a
//! documented code and let them resync from the orderbook.

#![forbid(unsafe_code)]

use crate::event::OrderUpdate;
use crate::health::Health;
use crate::types::Seq;
use crossbeam_channel::{Receiver, Sender, TrySendError};
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

/// One queued update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Queued {
    /// The event that caused it.
    pub seq: Seq,
    /// Running number of updates (1-based); a jump means updates were lost to overflow.
    pub number: u64,
    /// The update.
    pub update: OrderUpdate,
}

/// The stage side.
#[derive(Debug)]
pub struct UpdateSender {
    tx: Sender<Queued>,
    number: u64,
    health: Arc<Health>,
}

/// The reader side (one consumer: the WebSocket server thread).
#[derive(Debug)]
pub struct UpdateReader {
    rx: Receiver<Queued>,
    held: Option<Queued>,
    expected: u64,
    health: Arc<Health>,
    signal: Arc<UpdateSignal>,
}

/// A hand-off run on the committing thread: delivers the durable updates itself and
/// returns true, or returns false (busy, gone) and the reader's thread is woken instead.
pub type DirectDelivery = Arc<dyn Fn() -> bool + Send + Sync>;

/// Wakes the reader's thread when updates become durable. The reader's thread registers
/// its poll's waker once; until then (or with no reader) a notification does nothing.
/// A reader may also register a [`DirectDelivery`], tried first.
#[derive(Default)]
pub struct UpdateSignal {
    waker: OnceLock<Arc<mio::Waker>>,
    direct: OnceLock<DirectDelivery>,
}

impl std::fmt::Debug for UpdateSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateSignal")
            .field("waker", &self.waker.get().is_some())
            .field("direct", &self.direct.get().is_some())
            .finish()
    }
}

impl UpdateSignal {
    /// Registers the waker of the thread that reads updates (the first one set stays).
    pub fn set_waker(&self, waker: Arc<mio::Waker>) {
        let _ = self.waker.set(waker);
    }

    /// Registers a direct delivery (the first one set stays).
    pub fn set_direct(&self, direct: DirectDelivery) {
        let _ = self.direct.set(direct);
    }

    /// Delivers through the direct path when one is registered and takes it, else wakes
    /// the reader (one eventfd write); called by the journal stage after a commit that
    /// made order updates durable.
    #[inline]
    pub fn notify(&self) {
        if self.direct.get().is_some_and(|d| d()) {
            return;
        }
        if let Some(w) = self.waker.get() {
            let _ = w.wake();
        }
    }
}

/// What [`UpdateReader::poll`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// An update the journal has passed.
    Update(Queued),
    /// Updates were lost to overflow before this one; resync, then take it.
    Gap {
        /// How many were lost.
        lost: u64,
        /// The next update (already durable).
        next: Queued,
    },
    /// Nothing durable yet.
    Empty,
}

/// A queue of `capacity` updates.
pub fn channel(capacity: usize, health: Arc<Health>) -> (UpdateSender, UpdateReader) {
    let (tx, rx) = crossbeam_channel::bounded(capacity);
    (
        UpdateSender { tx, number: 0, health: Arc::clone(&health) },
        UpdateReader { rx, held: None, expected: 1, health, signal: Arc::default() },
    )
}

impl UpdateSender {
    /// Queues an update without blocking; on overflow counts it and drops it.
    #[inline]
    pub fn send(&mut self, seq: Seq, update: OrderUpdate) {
        self.number += 1;
        match self.tx.try_send(Queued { seq, number: self.number, update }) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(_)) => {
                self.health.fanout_overflows.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

impl UpdateSender {
    /// Counts `lost` updates as lost before the next one, so this channel's reader reports
    /// the same gap another reader reported (a tee passing updates on, see
    /// `relay::events`).
    pub fn skip(&mut self, lost: u64) {
        self.number += lost;
    }
}

impl UpdateReader {
    /// The signal that wakes this reader's thread (for the journal stage).
    pub fn signal(&self) -> Arc<UpdateSignal> {
        Arc::clone(&self.signal)
    }

    /// The next update the journal has made durable, if any. Never blocks.
    pub fn poll(&mut self) -> Next {
        let q = match self.held.take() {
            Some(q) => q,
            None => match self.rx.try_recv() {
                Ok(q) => q,
                Err(_) => return Next::Empty,
            },
        };
        if q.seq.0 > self.health.durable_seq.load(Ordering::Acquire) {
            self.held = Some(q);
            return Next::Empty;
        }
        let lost = q.number - self.expected;
        self.expected = q.number + 1;
        if lost > 0 { Next::Gap { lost, next: q } } else { Next::Update(q) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Msg;
    use crate::types::*;

    fn update(n: u64) -> OrderUpdate {
        let order = crate::views::Order {
            id: OrderId(n),
            symbol: SymbolId(0),
            side: Side::Buy,
            qty: Qty(1),
            price_type: PriceType::Market,
            product: Product::Mis,
            price: Price::ZERO,
            trigger: Price::ZERO,
            disclosed: Qty::ZERO,
            strategy: Tag::EMPTY,
            status: OrderStatus::Complete,
            filled: Qty(1),
            avg: Price(1),
            blocked: Money::ZERO,
            rejection: Msg::EMPTY,
            time_ns: 0,
            queue: 0,
        };
        OrderUpdate { order, fill: None, time_ns: 0 }
    }

    #[test]
    fn held_until_durable_then_in_order() {
        let h = Arc::new(Health::new());
        let (mut tx, mut rx) = channel(8, Arc::clone(&h));
        tx.send(Seq(5), update(1));
        tx.send(Seq(6), update(2));
        assert_eq!(rx.poll(), Next::Empty);
        h.durable_seq.store(5, Ordering::Release);
        assert!(matches!(rx.poll(), Next::Update(q) if q.update.order.id == OrderId(1)));
        assert_eq!(rx.poll(), Next::Empty);
        h.durable_seq.store(6, Ordering::Release);
        assert!(matches!(rx.poll(), Next::Update(q) if q.update.order.id == OrderId(2)));
    }

    #[test]
    fn overflow_is_counted_and_reported_as_a_gap() {
        let h = Arc::new(Health::new());
        let (mut tx, mut rx) = channel(2, Arc::clone(&h));
        for i in 1..=4 {
            tx.send(Seq(i), update(i));
        }
        assert_eq!(h.fanout_overflows.load(Ordering::Relaxed), 2);
        h.durable_seq.store(10, Ordering::Release);
        assert!(matches!(rx.poll(), Next::Update(_)));
        assert!(matches!(rx.poll(), Next::Update(_)));
        tx.send(Seq(5), update(5));
        assert!(matches!(rx.poll(), Next::Gap { lost: 2, .. }));
    }
}
