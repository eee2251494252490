//! Stage 3, fanout: publishes what the WebSocket server consumes.
//!
//! - the latest quote per symbol, on a lock-free seqlock board ([`quotes::QuoteBoard`]);
//!   market data goes out at once (it is not state a restart could undo);
//! - every tick of a symbol some client subscribed to, in order, for the WebSocket
//!   server ([`ticks`]), so a client that keeps up sees each one;
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
pub mod stage;
pub mod ticks;
pub mod updates;

use crate::clock::mono_now_ns;
use crate::event::{Event, Input, StageOutput};
use quotes::QuoteBoard;
use std::sync::Arc;
use ticks::TickSender;
use updates::UpdateSender;

/// The fanout stage.
#[derive(Debug)]
pub struct Fanout {
    board: Arc<QuoteBoard>,
    updates: UpdateSender,
    ticks: Option<TickSender>,
}

impl Fanout {
    /// A fanout stage writing to `board` and `updates`.
    pub fn new(board: Arc<QuoteBoard>, updates: UpdateSender) -> Fanout {
        Fanout { board, updates, ticks: None }
    }

    /// Also streams every subscribed tick to `ticks` (the WebSocket server's feed).
    pub fn with_ticks(mut self, ticks: TickSender) -> Fanout {
        self.ticks = Some(ticks);
        self
    }

    /// Publishes one event's market data and order updates.
    #[inline]
    pub fn apply(&mut self, event: &Event, out: &StageOutput) {
        if let Input::Tick(tick) = &event.input {
            if tick.ltp.is_positive() {
                let version = self.board.write(tick, mono_now_ns());
                if let Some(ticks) = &self.ticks {
                    ticks.send(tick, version);
                }
            }
        }
        for u in &out.updates {
            self.updates.send(event.header.seq, *u);
        }
    }
}
