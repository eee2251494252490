//! Routing replies from the journal stage back to whoever is waiting.
//!
//! A command's or query's reply is written by the stage that owns the data, carried in the
//! slot, and sent by the journal stage only after the journal has passed the event's
//! sequence. Waiters register a ticket and either block on a one-shot channel (threads)
//! or await a tokio one-shot (the REST handlers: no blocking-pool thread per request,
//! no extra runnable thread competing with the hot one).
//!
//! # Known limitations
//! The ticket map is one `Mutex<HashMap>`: taken once per command by the registering
//! thread and once by the journal stage when it delivers. Uncontended at REST rates;
//! a lock-free slab indexed by ticket would remove it.

#![forbid(unsafe_code)]

use crate::event::{OrderUpdate, Reply, Ticket};
use crate::types::Seq;
use crate::views::QueryReply;
use crossbeam_channel::{Receiver, Sender};
use std::collections::HashMap;
use std::sync::Mutex;
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

/// Tickets to waiters.
#[derive(Debug, Default)]
pub struct ReplyRouter {
    next: AtomicU64,
    waiters: Mutex<HashMap<u64, Waiter>>,
}

impl ReplyRouter {
    /// An empty router.
    pub fn new() -> ReplyRouter {
        ReplyRouter { next: AtomicU64::new(1), waiters: Mutex::default() }
    }

    /// A new ticket and the receiver its reply will arrive on.
    pub fn register(&self) -> (Ticket, Receiver<Response>) {
        let t = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = crossbeam_channel::bounded(1);
        self.waiters.lock().unwrap_or_else(|e| e.into_inner()).insert(t, Waiter::Blocking(tx));
        (Ticket(t), rx)
    }

    /// A new ticket and the one-shot its reply will arrive on (for async callers).
    pub fn register_async(&self) -> (Ticket, tokio::sync::oneshot::Receiver<Response>) {
        let t = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.waiters.lock().unwrap_or_else(|e| e.into_inner()).insert(t, Waiter::Async(tx));
        (Ticket(t), rx)
    }

    /// Forgets a ticket whose waiter gave up.
    pub fn forget(&self, ticket: Ticket) {
        self.waiters.lock().unwrap_or_else(|e| e.into_inner()).remove(&ticket.0);
    }

    /// Delivers a reply (journal stage). Unknown tickets (replay, or a waiter that gave up)
    /// are ignored.
    pub fn deliver(&self, ticket: Ticket, response: Response) {
        if ticket.0 == 0 {
            return;
        }
        let tx = self.waiters.lock().unwrap_or_else(|e| e.into_inner()).remove(&ticket.0);
        match tx {
            Some(Waiter::Blocking(tx)) => {
                let _ = tx.try_send(response);
            }
            Some(Waiter::Async(tx)) => {
                let _ = tx.send(response);
            }
            None => {}
        }
    }
}
