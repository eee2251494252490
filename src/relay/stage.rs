//! The relay's ring stage: every tick the upstream feed sequenced becomes one message for
//! the publisher task (subject and payload), in sequence order.
//!
//! The relay runs the same sequencer and upstream feed as an engine (reconnect,
//! resubscribe, decode, validation), with this stage in place of execution; the other
//! three places of the ring hold [`Pass`].
//!
//! # Performance
//! One allocation per tick (the payload and the subject are owned by the message handed
//! to the async publisher); the NATS client copies them into its write buffer anyway.

#![forbid(unsafe_code)]

use super::{subject, wire};
use crate::event::{Event, Input, QuoteSource, StageOutput};
use crate::instruments::InstrumentMaster;
use crate::ring::Stage;
use std::sync::Arc;
use tokio::sync::mpsc::Sender;

/// One message for `TICKS`.
#[derive(Debug)]
pub struct Outgoing {
    /// `ticks.<EXCHANGE>.<SYMBOL>`.
    pub subject: String,
    /// [`wire`] payload.
    pub payload: Vec<u8>,
}

/// Turns sequenced ticks into [`Outgoing`] messages.
#[derive(Debug)]
pub struct RelayStage {
    instruments: Arc<InstrumentMaster>,
    subjects: Vec<Option<String>>,
    tx: Sender<Outgoing>,
}

impl RelayStage {
    /// A stage naming subjects from `instruments`, sending to `tx` (bounded: a publisher
    /// that falls behind slows the feed reader, never drops a tick).
    pub fn new(instruments: Arc<InstrumentMaster>, tx: Sender<Outgoing>) -> RelayStage {
        let subjects = vec![None; instruments.len()];
        RelayStage { instruments, subjects, tx }
    }
}

impl Stage for RelayStage {
    const NAME: &'static str = "relay";

    fn on_event(&mut self, event: &Event, _out: &mut StageOutput) {
        let Input::Tick(tick) = &event.input else { return };
        if tick.source != QuoteSource::Stream {
            return; // only what the broker streamed is relayed
        }
        let Some(slot) = self.subjects.get_mut(tick.symbol.index()) else { return };
        let subject = match slot {
            Some(s) => s.clone(),
            None => {
                let Some(ins) = self.instruments.get(tick.symbol) else { return };
                let s = subject::tick_subject(ins.exchange.as_str(), &ins.symbol);
                slot.insert(s).clone()
            }
        };
        let mut payload = Vec::with_capacity(64);
        wire::encode(tick, event.header.seq, event.header.time_ns, &mut payload);
        // Err only when the publisher task has ended (the relay is stopping).
        let _ = self.tx.blocking_send(Outgoing { subject, payload });
    }
}

/// A ring place that does nothing (the relay needs one stage of four).
#[derive(Debug, Default)]
pub struct Pass;

impl Stage for Pass {
    const NAME: &'static str = "pass";

    fn on_event(&mut self, _event: &Event, _out: &mut StageOutput) {}
}
