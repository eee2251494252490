//! Routing replies from the journal stage back to whoever is waiting.
//!
//! A command's or query's reply is written by the stage that owns the data, carried in the
//! slot, and sent by the journal stage only after the journal has passed the event's
//! sequence. Waiters register a ticket and block on a one-shot channel.

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

/// Tickets to waiters.
#[derive(Debug, Default)]
pub struct ReplyRouter {
    next: AtomicU64,
    waiters: Mutex<HashMap<u64, Sender<Response>>>,
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
        self.waiters.lock().unwrap_or_else(|e| e.into_inner()).insert(t, tx);
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
        if let Some(tx) = tx {
            let _ = tx.try_send(response);
        }
    }
}
