//! The sequencer: the only thread that publishes into the ring.
//!
//! It drains the intake channel (ticks, commands, queries), stamps each input with wall
//! time and sequence, publishes it, and adds its own events: a timer every
//! `timer_interval` (drives MIS square-off) and a snapshot every `snapshot_every`
//! journaled events.
//!
//! # Known limitations
//! - This is the in-process intake. The mio reader of upstream feed sockets (feeds issue)
//!   joins here as another input source of the same thread.

#![forbid(unsafe_code)]

use crate::clock::{mono_now_ns, wall_now_ns};
use crate::event::{Command, Input, Query, Tick};
use crate::ring::Publisher;
use crossbeam_channel::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// Something to sequence.
#[allow(
    clippy::large_enum_variant,
    reason = "moved by value through a preallocated channel; boxing would allocate per tick"
)]
#[derive(Debug, Clone, Copy)]
pub enum Inbound {
    /// Market data, with its monotonic receive time.
    Tick(Tick, u64),
    /// A command.
    Command(Command),
    /// A query.
    Query(Query),
    /// Take a snapshot now.
    Snapshot,
}

/// Sequencer settings.
#[derive(Debug, Clone, Copy)]
pub struct SequencerConfig {
    /// Timer event period.
    pub timer_interval: Duration,
    /// Journaled events between snapshots (0 = never, except on request).
    pub snapshot_every: u64,
}

/// Runs until every sender of `rx` is dropped; returns the publisher (dropping it stops
/// the stages after they drain the ring).
pub fn run(mut publisher: Publisher, rx: Receiver<Inbound>, config: SequencerConfig) -> Publisher {
    let mut next_timer = Instant::now() + config.timer_interval;
    let mut since_snapshot = 0u64;
    loop {
        let wait = next_timer.saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok(first) => {
                let mut item = Some(first);
                // Drain what is already queued without waiting again.
                while let Some(inbound) = item {
                    let journaled = publish(&mut publisher, inbound);
                    since_snapshot += u64::from(journaled);
                    if config.snapshot_every > 0 && since_snapshot >= config.snapshot_every {
                        publisher.publish(Input::Snapshot, wall_now_ns(), mono_now_ns());
                        since_snapshot = 0;
                    }
                    item = rx.try_recv().ok();
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return publisher,
        }
        if Instant::now() >= next_timer {
            publisher.publish(Input::Timer, wall_now_ns(), mono_now_ns());
            next_timer = Instant::now() + config.timer_interval;
        }
    }
}

fn publish(publisher: &mut Publisher, inbound: Inbound) -> bool {
    let now = wall_now_ns();
    match inbound {
        Inbound::Tick(t, recv) => {
            publisher.publish(Input::Tick(t), now, recv);
            true
        }
        Inbound::Command(c) => {
            publisher.publish(Input::Command(c), now, mono_now_ns());
            true
        }
        Inbound::Query(q) => {
            publisher.publish(Input::Query(q), now, mono_now_ns());
            false
        }
        Inbound::Snapshot => {
            publisher.publish(Input::Snapshot, now, mono_now_ns());
            false
        }
    }
}
