//! Stage 3, fanout: publishes what the WebSocket server consumes.
//!
//! - the latest quote per symbol, on a lock-free seqlock board ([`quotes::QuoteBoard`]);
//!   market data goes out at once (it is not state a restart could undo);
//! - order updates, on a bounded queue released only after the journal has passed them
//!   ([`updates`]).
//!
//! # Invariants
//! - The stage is the only writer of the board and the only sender of updates.
//! - Updates are queued in sequence order, so release order is journal order.
//!
//! # Known limitations
//! - The WebSocket server that reads this is the server issue's work; until then the
//!   demo and tests read the board and the queue directly.
//!
//! # Performance
//! A tick is one seqlock write (about 50 relaxed stores) and no allocation; an update is
//! one `try_send` into a preallocated array channel.

#![forbid(unsafe_code)]

pub mod quotes;
pub mod updates;

use crate::clock::mono_now_ns;
use crate::event::{Event, Input, StageOutput};
use quotes::QuoteBoard;
use std::sync::Arc;
use updates::UpdateSender;

/// The fanout stage.
#[derive(Debug)]
pub struct Fanout {
    board: Arc<QuoteBoard>,
    updates: UpdateSender,
}

impl Fanout {
    /// A fanout stage writing to `board` and `updates`.
    pub fn new(board: Arc<QuoteBoard>, updates: UpdateSender) -> Fanout {
        Fanout { board, updates }
    }

    /// Publishes one event's market data and order updates.
    #[inline]
    pub fn apply(&mut self, event: &Event, out: &StageOutput) {
        if let Input::Tick(tick) = &event.input {
            if tick.ltp.is_positive() {
                self.board.write(tick, mono_now_ns());
            }
        }
        for u in &out.updates {
            self.updates.send(event.header.seq, *u);
        }
    }
}
