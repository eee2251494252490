//! Routing replies from the journal stage back to whoever is waiting.
//!
//! A command's or query's reply is written by the stage that owns the data, carried in the
//! slot, and sent by the journal stage only after the journal has passed the event's
//! sequence. Waiters register a ticket and either block on a one-shot channel (threads)
//! or await a tokio one-shot (the REST handlers: no blocking-pool thread per request,
//! no extra runnable thread competing with the hot one).
//!
//! The waiters live in a fixed slab of cells, and a ticket names its cell: taking a cell
//! and handing it back are one compare-and-swap each on the cell's own state, so the
//! registering threads and the journal stage never wait on each other (no lock, and no
//! allocation besides the waiter's channel).
//!
//! # Invariants
//! - A cell's state is `FREE`, `BUSY`, or the ticket of the waiter it holds. Only the
//!   thread that moved the state to `BUSY` (by a compare-and-swap from `FREE` to
//!   register, or from the ticket to deliver or forget) touches the waiter, and it
//!   releases the cell by storing the next state with `Release`, which the next
//!   compare-and-swap acquires: accesses to a waiter are exclusive and ordered.
//! - Tickets are unique for the life of the router (a 52-bit counter beside the cell
//!   index), so a stale ticket (delivered, forgotten, or from a replayed journal) never
//!   matches a later waiter in the same cell.
//! - A reply is delivered at most once, to the waiter that registered its ticket; after a
//!   `forget` wins, `deliver` finds nothing (and the waiter's receiver is disconnected).
//!
//! # Known limitations
//! - Bounded: [`ReplyRouter::CAPACITY`] waiters at once; one more is refused
//!   ([`RouterFull`], which the engine reports as busy) rather than queued.

#![deny(unsafe_code)]

use crate::event::{OrderUpdate, Reply, Ticket};
use crate::types::Seq;
use crate::views::QueryReply;
use crossbeam_channel::{Receiver, Sender};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU64, Ordering};

/// What a command did, once durable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandOutcome {
    /// The command's sequence.
    pub seq: Seq,
    /// Execution's reply.
    pub reply: Reply,
    /// The order updates it caused (cancelled ids for cancel-all, fills, ...).
    pub updates: Vec<OrderUpdate>,
}

/// A reply of either kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// To a command.
    Command(CommandOutcome),
    /// To a query.
    Query(QueryReply),
}

/// Who waits for a reply.
#[derive(Debug)]
enum Waiter {
    /// A thread blocked in `recv_timeout`.
    Blocking(Sender<Response>),
    /// A task awaiting the one-shot.
    Async(tokio::sync::oneshot::Sender<Response>),
}

/// Every cell holds a waiter: the router refuses a new one until a reply or a `forget`
/// frees a cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0} requests already wait for a reply; retry once some are answered")]
pub struct RouterFull(pub usize);

/// A cell's state when it holds no waiter.
const FREE: u64 = 0;
/// A cell's state while one thread reads or writes its waiter.
const BUSY: u64 = 1;

/// One waiter's place.
#[derive(Debug, Default)]
struct Cell {
    /// `FREE`, `BUSY`, or the ticket of the waiter held (see the module invariants).
    state: AtomicU64,
    waiter: UnsafeCell<Option<Waiter>>,
}

// SAFETY: `waiter` is only accessed by the thread that moved `state` to `BUSY` (module
// invariants), so the cell may be shared; `Waiter` (channel senders) is `Send`.
#[allow(unsafe_code, reason = "the slab's cells; see the SAFETY argument")]
unsafe impl Sync for Cell {}

impl Cell {
    /// Takes the cell's waiter if it holds `ticket`'s, freeing the cell.
    #[inline]
    fn take(&self, ticket: u64) -> Option<Waiter> {
        if ticket <= BUSY {
            return None;
        }
        self.state.compare_exchange(ticket, BUSY, Ordering::Acquire, Ordering::Relaxed).ok()?;
        #[allow(unsafe_code, reason = "the slab's cells; see the SAFETY argument")]
        // SAFETY: the compare-and-swap above made this thread the cell's only user until
        // the store below (module invariants).
        let waiter = unsafe { (*self.waiter.get()).take() };
        self.state.store(FREE, Ordering::Release);
        waiter
    }

    /// Puts `waiter` in the cell if it is free, under `ticket`.
    #[inline]
    fn put(&self, ticket: u64, waiter: Waiter) -> Result<(), Waiter> {
        if self.state.compare_exchange(FREE, BUSY, Ordering::Acquire, Ordering::Relaxed).is_err() {
            return Err(waiter);
        }
        #[allow(unsafe_code, reason = "the slab's cells; see the SAFETY argument")]
        // SAFETY: the compare-and-swap above made this thread the cell's only user until
        // the store below (module invariants).
        unsafe {
            *self.waiter.get() = Some(waiter);
        }
        self.state.store(ticket, Ordering::Release);
        Ok(())
    }
}

/// Tickets to waiters: a slab of cells, each ticket naming its cell.
#[derive(Debug)]
pub struct ReplyRouter {
    /// Ticket counter (the high bits of each ticket).
    next: AtomicU64,
    cells: Box<[Cell]>,
}

impl Default for ReplyRouter {
    fn default() -> Self {
        ReplyRouter::new()
    }
}

impl ReplyRouter {
    /// Waiters a router holds at once (REST handlers and blocking callers waiting for
    /// their replies).
    pub const CAPACITY: usize = 8192;

    /// An empty router of [`ReplyRouter::CAPACITY`] cells.
    pub fn new() -> ReplyRouter {
        ReplyRouter::with_capacity(Self::CAPACITY)
    }

    /// An empty router of `capacity` cells (rounded up to a power of two, at least 2).
    pub fn with_capacity(capacity: usize) -> ReplyRouter {
        let n = capacity.next_power_of_two().max(2);
        ReplyRouter { next: AtomicU64::new(1), cells: (0..n).map(|_| Cell::default()).collect() }
    }

    /// Cells (waiters held at once).
    pub fn capacity(&self) -> usize {
        self.cells.len()
    }

    /// Bits of a ticket that name its cell.
    #[inline]
    fn index_bits(&self) -> u32 {
        self.cells.len().trailing_zeros()
    }

    /// Files `waiter` in a free cell: the first free one from a rotating start, so cells
    /// are reused evenly. The ticket is `(counter << index_bits) | cell`, never 0 or 1.
    fn file(&self, mut waiter: Waiter) -> Result<Ticket, RouterFull> {
        let g = self.next.fetch_add(1, Ordering::Relaxed);
        let mask = self.cells.len() - 1;
        for probe in 0..self.cells.len() {
            let i = (g as usize).wrapping_add(probe) & mask;
            let ticket = (g << self.index_bits()) | i as u64;
            match self.cells[i].put(ticket, waiter) {
                Ok(()) => return Ok(Ticket(ticket)),
                Err(w) => waiter = w,
            }
        }
        Err(RouterFull(self.cells.len()))
    }

    /// A new ticket and the receiver its reply will arrive on; refused when every cell
    /// holds a waiter.
    pub fn register(&self) -> Result<(Ticket, Receiver<Response>), RouterFull> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        Ok((self.file(Waiter::Blocking(tx))?, rx))
    }

    /// A new ticket and the one-shot its reply will arrive on (for async callers);
    /// refused when every cell holds a waiter.
    pub fn register_async(
        &self,
    ) -> Result<(Ticket, tokio::sync::oneshot::Receiver<Response>), RouterFull> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        Ok((self.file(Waiter::Async(tx))?, rx))
    }

    /// The cell a ticket names.
    #[inline]
    fn cell(&self, ticket: Ticket) -> &Cell {
        &self.cells[ticket.0 as usize & (self.cells.len() - 1)]
    }

    /// Forgets a ticket whose waiter gave up (its receiver is then disconnected); true
    /// when the waiter was still there (no reply had been delivered).
    pub fn forget(&self, ticket: Ticket) -> bool {
        self.cell(ticket).take(ticket.0).is_some()
    }

    /// Delivers a reply (journal stage); true when a waiter had the ticket. Unknown
    /// tickets (replay, or a waiter that gave up) are ignored.
    #[inline]
    pub fn deliver(&self, ticket: Ticket, response: Response) -> bool {
        match self.cell(ticket).take(ticket.0) {
            Some(Waiter::Blocking(tx)) => {
                let _ = tx.try_send(response);
                true
            }
            Some(Waiter::Async(tx)) => {
                let _ = tx.send(response);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
#[path = "reply_tests.rs"]
mod tests;
