//! The sequencer: the only thread that publishes into the ring.
//!
//! One `mio::Poll` waits on every upstream feed socket and on a `Waker` that the senders
//! of the intake channel (commands, queries and ticks from
//! [`crate::engine::EngineHandle`], polled quotes from the watchdog) ring when the
//! sequencer sleeps. Each input gets a wall time and a sequence number and is published;
//! the sequencer adds its own events: a `Timer` every `timer_interval` (drives MIS
//! square-off) and a `Snapshot` every `snapshot_every` journaled events.
//!
//! ```text
//!  loop {
//!    drain intake (a bounded batch)           commands, queries, injected/polled ticks
//!    poll sockets (0 when work is pending     frames -> decode -> intern -> publish,
//!       or within the busy-poll window,       at most READ_BUDGET frames per connection
//!       else until the next deadline)
//!    timers, reconnects, interest diff        Timer events, (un)subscribe
//!    drain the ring (inline topology only)    stages 1-4 on this thread, replies out
//!  }
//! ```
//!
//! In the `inline` topology this is the engine's hot thread: it publishes a batch and
//! then runs the stages over it itself ([`Publisher::drain`]), so a tick is matched,
//! marked, fanned out and journaled before the next read, with no thread hand-off.
//!
//! # Invariants
//! - Publishing happens only on this thread, so the sequence is the total order.
//! - Shutdown drains the intake before the publisher is returned: nothing accepted is lost.
//!
//! # Known limitations
//! - tungstenite allocates one buffer per received message; decoding after it does not
//!   allocate.
//! - With a feed configured the loop wakes at least every 20 ms to notice changes of the
//!   wanted symbols (the interest registry has no waker of its own).
//!
//! # Performance
//! A sender rings the waker (a syscall) only when the sequencer has announced it is about
//! to sleep; under load the loop never sleeps and senders never syscall. After the last
//! input it keeps polling (non-blocking `epoll_wait`) for `busy_poll` before it parks, so
//! at steady rates a tick finds it awake instead of paying a scheduler wake-up.

#![forbid(unsafe_code)]

pub mod decode;
pub mod feed;
pub mod nats;
pub mod ratelog;
pub mod upstream;

use crate::clock::{mono_now_ns, wall_now_ns};
use crate::event::{Command, Input, Query, Tick};
use crate::ring::Publisher;
use crossbeam_channel::{Receiver, Sender, TryRecvError};
use feed::Feed;
pub use feed::{FeedConfig, FeedShared};
use mio::{Events, Poll, Token, Waker};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};

/// Something to sequence.
#[allow(
    clippy::large_enum_variant,
    reason = "moved by value through a preallocated channel; boxing would allocate per tick"
)]
#[derive(Debug, Clone)]
pub enum Inbound {
    /// Market data, with its monotonic receive time.
    Tick(Tick, u64),
    /// A command.
    Command(Command),
    /// A query.
    Query(Query),
    /// Take a snapshot now.
    Snapshot,
    /// A tick consumed from the relay's JetStream stream ([`nats`]): sequenced with the
    /// relay's time, so every engine reading the stream journals the same tick times, and
    /// with its position there, journaled so a restart resumes right after it.
    StreamTick {
        /// The tick, its symbol interned in this engine's master.
        tick: Tick,
        /// The relay's wall time for it, epoch ns.
        time_ns: i64,
        /// Monotonic receive time here, ns.
        recv_ns: u64,
        /// Its sequence in the stream (never 0).
        stream_seq: u64,
    },
    /// A command or query whose sender waits for it to be sequenced only until a
    /// deadline ([`Claim`]): sequenced when the sequencer takes the claim first, dropped
    /// unsequenced (never journaled) when the sender gave up first.
    Admitted(Claim, Input),
}

/// Who got to a bounded command first: the sequencer (it is sequenced, and the sender
/// waits for its durable reply) or its sender at the deadline (it is refused as busy and
/// the sequencer drops it unseen). One compare-and-swap each side decides it, so a
/// command is never both refused and journaled (issue 14 item 2).
#[derive(Debug, Clone, Default)]
pub struct Claim(Arc<AtomicU8>);

const WAITING: u8 = 0;
const TAKEN: u8 = 1;
const ABANDONED: u8 = 2;

impl Claim {
    /// A claim nobody has taken yet.
    pub fn new() -> Self {
        Claim::default()
    }

    /// The sequencer's side: true when it may sequence the input (the sender still waits
    /// and will now wait for the durable reply).
    #[inline]
    pub fn take(&self) -> bool {
        self.0.compare_exchange(WAITING, TAKEN, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    /// The sender's side at its deadline: true when the input will never be sequenced
    /// (refuse it as busy); false when the sequencer took it already (wait for the reply).
    pub fn abandon(&self) -> bool {
        self.0.compare_exchange(WAITING, ABANDONED, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }
}

/// Sequencer settings.
#[derive(Debug, Clone)]
pub struct SequencerConfig {
    /// Timer event period.
    pub timer_interval: Duration,
    /// Journaled events between snapshots (0 = never, except on request).
    pub snapshot_every: u64,
    /// Core to pin the sequencer thread to.
    pub core: Option<usize>,
    /// Cores the sequencer confines itself to when `core` is not set (empty: inherit
    /// the starting thread's, which may be confined to the housekeeping cores).
    pub cores: Vec<usize>,
    /// Symbols per upstream connection (more symbols open more connections).
    pub symbols_per_connection: usize,
    /// `SO_RCVBUF` of each upstream socket (`None`: the kernel's autotuning); see
    /// [`crate::engine::EngineConfig::feed_rcvbuf`].
    pub feed_rcvbuf: Option<u32>,
    /// How long to keep polling without blocking after the last input before parking
    /// in `epoll_wait` (0 = park at once).
    pub busy_poll: Duration,
    /// The time timer events are due on (a test advances a manual one).
    pub clock: crate::clock::Clock,
}

impl Default for SequencerConfig {
    fn default() -> Self {
        SequencerConfig {
            timer_interval: Duration::from_secs(1),
            snapshot_every: 1_000_000,
            core: None,
            cores: Vec::new(),
            symbols_per_connection: 1000,
            feed_rcvbuf: None,
            busy_poll: Duration::ZERO,
            clock: crate::clock::Clock::system(),
        }
    }
}

const WAKER: Token = Token(0);
/// Inputs drained per loop turn before the sockets get their turn.
const BATCH: usize = 256;
/// Longest sleep while an upstream feed is configured: interest changes made by the
/// execution stage are noticed within this.
const FEED_TICK: Duration = Duration::from_millis(20);

#[derive(Debug)]
struct Signal {
    waker: Waker,
    sleeping: AtomicBool,
    stop: AtomicBool,
}

impl Signal {
    #[inline]
    fn notify(&self) {
        // Only a sleeping sequencer needs the syscall; see `Sequencer::wait`.
        if self.sleeping.swap(false, Ordering::SeqCst) {
            let _ = self.waker.wake();
        }
    }
}

/// The sending side of the intake: a bounded channel that wakes the sequencer's poll.
#[derive(Debug, Clone)]
pub struct Intake {
    tx: Sender<Inbound>,
    signal: Arc<Signal>,
}

/// Why [`Intake::try_send`] did not queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TrySendError {
    /// The intake is full: the sequencer is behind; retry later.
    #[error("the intake is full")]
    Full,
    /// The sequencer has stopped; nothing will be accepted.
    #[error("the sequencer has stopped")]
    Stopped,
}

/// Why [`Intake::send`] did not queue: the sequencer has stopped, so the input was not
/// taken (the engine is shutting down).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the sequencer has stopped")]
pub struct SendError;

impl Intake {
    /// Queues an input, blocking while the channel is full (backpressure, never a drop).
    #[inline]
    pub fn send(&self, inbound: Inbound) -> Result<(), SendError> {
        self.tx.send(inbound).map_err(|_| SendError)?;
        self.signal.notify();
        Ok(())
    }

    /// Queues an input without blocking; `Err(Full)` hands it back when the channel is
    /// full (async callers must not block their runtime thread: retry or report busy).
    #[inline]
    pub fn try_send(&self, inbound: Inbound) -> Result<(), TrySendError> {
        match self.tx.try_send(inbound) {
            Ok(()) => {
                self.signal.notify();
                Ok(())
            }
            Err(crossbeam_channel::TrySendError::Full(_)) => Err(TrySendError::Full),
            Err(crossbeam_channel::TrySendError::Disconnected(_)) => Err(TrySendError::Stopped),
        }
    }

    /// Inputs queued and not yet drained by the sequencer (`/health` reads it to see
    /// whether a busy episode is over).
    pub fn queued(&self) -> usize {
        self.tx.len()
    }

    /// Asks the sequencer to drain what is queued and stop.
    pub fn stop(&self) {
        self.signal.stop.store(true, Ordering::SeqCst);
        let _ = self.signal.waker.wake();
    }
}

/// The receiving side, moved into the sequencer thread.
#[derive(Debug)]
pub struct IntakeReceiver {
    rx: Receiver<Inbound>,
    poll: Poll,
    signal: Arc<Signal>,
}

/// A bounded intake of `capacity` inputs.
pub fn intake(capacity: usize) -> std::io::Result<(Intake, IntakeReceiver)> {
    let poll = Poll::new()?;
    let waker = Waker::new(poll.registry(), WAKER)?;
    let signal =
        Arc::new(Signal { waker, sleeping: AtomicBool::new(false), stop: AtomicBool::new(false) });
    let (tx, rx) = crossbeam_channel::bounded(capacity);
    Ok((Intake { tx, signal: Arc::clone(&signal) }, IntakeReceiver { rx, poll, signal }))
}

/// Starts the sequencer thread. It runs until [`Intake::stop`] or until every [`Intake`]
/// is dropped, then returns the publisher (dropping it stops the stages after they drain).
pub fn spawn(
    publisher: Publisher,
    intake: IntakeReceiver,
    config: SequencerConfig,
    feed: FeedConfig,
    shared: FeedShared,
) -> std::io::Result<std::thread::JoinHandle<Publisher>> {
    std::thread::Builder::new().name("tickfill-sequencer".into()).spawn(move || {
        if let Some(core) = config.core {
            crate::ring::cores::pin_current(core, "sequencer");
        } else if !config.cores.is_empty() {
            crate::ring::cores::confine_current(&config.cores);
        }
        let feed =
            feed::Feed::new(&feed, config.symbols_per_connection, config.feed_rcvbuf, shared);
        Sequencer::new(publisher, intake, config, feed).run()
    })
}

struct Sequencer {
    publisher: Publisher,
    intake: IntakeReceiver,
    config: SequencerConfig,
    feed: Option<feed::Feed>,
    events: Events,
    /// When the next timer event is due ([`SequencerConfig::clock`] ns).
    next_timer: u64,
    since_snapshot: u64,
    /// Until when to keep polling without blocking (last input + `busy_poll`).
    spin_until: Instant,
}

impl Sequencer {
    fn new(
        publisher: Publisher,
        intake: IntakeReceiver,
        config: SequencerConfig,
        feed: Option<feed::Feed>,
    ) -> Sequencer {
        let next_timer = config.clock.now_ns() + nanos(config.timer_interval);
        Sequencer {
            publisher,
            intake,
            config,
            feed,
            events: Events::with_capacity(256),
            next_timer,
            since_snapshot: 0,
            spin_until: Instant::now(),
        }
    }

    fn run(mut self) -> Publisher {
        loop {
            // 1. Intake: a bounded batch, so sockets are never starved by senders.
            let (drained, disconnected) = self.drain_intake(BATCH);
            if disconnected || self.intake.signal.stop.load(Ordering::SeqCst) {
                // Everything queued before the stop is sequenced, then we leave.
                self.drain_intake(usize::MAX);
                self.publisher.drain();
                return self.publisher;
            }
            // Inline: commands and queries just published run now, so their replies go
            // out before this thread can park (else they waited for the next wake-up:
            // REST round trips of 20 ms, the feed's maintenance tick).
            if self.publisher.drain() > 0 || drained > 0 {
                self.spin_until = Instant::now() + self.config.busy_poll;
            }
            // 2. Sockets: don't sleep while work is queued, a feed has frames left over
            //    from its read budget, or the busy-poll window is open.
            let unread = self.feed.as_ref().is_some_and(Feed::has_unread);
            let busy = drained == BATCH || !self.intake.rx.is_empty() || unread;
            let ticks = self.wait(busy);
            // 3. Timers and feed upkeep.
            let now = Instant::now();
            let clock_now = self.config.clock.now_ns();
            if clock_now >= self.next_timer {
                self.publisher.publish(Input::Timer, wall_now_ns(), mono_now_ns());
                self.journaled(1);
                self.next_timer = clock_now + nanos(self.config.timer_interval);
            }
            if let Some(feed) = &mut self.feed {
                feed.maintain(now, self.intake.poll.registry());
            }
            // 4. Inline: run the stages over what this turn published (replies go out
            //    from the journal stage here), before reading again.
            let ran = self.publisher.drain();
            if drained > 0 || ticks > 0 || ran > 0 {
                self.spin_until = now + self.config.busy_poll;
            }
        }
    }

    /// Publishes up to `max` queued inputs; returns how many, and whether every sender
    /// is gone.
    fn drain_intake(&mut self, max: usize) -> (usize, bool) {
        let mut n = 0;
        while n < max {
            match self.intake.rx.try_recv() {
                Ok(inbound) => {
                    n += 1;
                    let journaled = publish(&mut self.publisher, inbound);
                    self.journaled(u64::from(journaled));
                }
                Err(TryRecvError::Empty) => return (n, false),
                Err(TryRecvError::Disconnected) => return (n, true),
            }
        }
        (n, false)
    }

    fn journaled(&mut self, n: u64) {
        self.since_snapshot += n;
        if self.config.snapshot_every > 0 && self.since_snapshot >= self.config.snapshot_every {
            self.publisher.publish(Input::Snapshot, wall_now_ns(), mono_now_ns());
            self.since_snapshot = 0;
        }
    }

    /// Polls the sockets: without blocking when `busy` or inside the busy-poll window,
    /// else until the next deadline or a wake-up, announcing the sleep so that senders
    /// ring the waker. Returns the ticks published.
    fn wait(&mut self, busy: bool) -> u64 {
        let timeout =
            if busy || (!self.config.busy_poll.is_zero() && Instant::now() < self.spin_until) {
                Some(Duration::ZERO)
            } else {
                let now = Instant::now();
                let mut until = now + self.config.clock.wait_for(self.next_timer);
                if let Some(feed) = &self.feed {
                    until = until.min(now + FEED_TICK);
                    if let Some(d) = feed.deadline() {
                        until = until.min(d);
                    }
                }
                self.intake.signal.sleeping.store(true, Ordering::SeqCst);
                // A send between the drain and the store above is seen here; one after the
                // store finds `sleeping` set and rings the waker.
                if !self.intake.rx.is_empty() || self.intake.signal.stop.load(Ordering::SeqCst) {
                    Some(Duration::ZERO)
                } else {
                    Some(until.saturating_duration_since(now))
                }
            };
        if let Err(e) = self.intake.poll.poll(&mut self.events, timeout) {
            if e.kind() != std::io::ErrorKind::Interrupted {
                tracing::error!(error = %e, "sequencer: poll failed");
            }
        }
        self.intake.signal.sleeping.store(false, Ordering::SeqCst);
        let Some(feed) = &mut self.feed else { return 0 };
        // Connections that stopped at their read budget last turn read on first (the
        // intake has been drained in between); readiness events follow.
        let mut ticks = feed.read_unread(&mut self.publisher);
        for event in self.events.iter() {
            if event.token() != WAKER {
                ticks += feed.on_ready(event.token(), &mut self.publisher);
            }
        }
        self.journaled(ticks);
        ticks
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
        Inbound::Admitted(claim, input) => {
            if !claim.take() {
                return false;
            }
            let journaled = matches!(input, Input::Command(_));
            publisher.publish(input, now, mono_now_ns());
            journaled
        }
        Inbound::StreamTick { tick, time_ns, recv_ns, stream_seq } => {
            publisher.publish_from_stream(Input::Tick(tick), time_ns, recv_ns, stream_seq);
            true
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod claim_tests {
    use super::Claim;

    #[test]
    fn a_claim_is_taken_or_abandoned_never_both() {
        let taken = Claim::new();
        assert!(taken.clone().take(), "the sequencer first: it sequences");
        assert!(!taken.abandon(), "then the sender must wait for the reply, not refuse");
        let abandoned = Claim::new();
        assert!(abandoned.abandon(), "the sender first: refused as busy");
        assert!(!abandoned.clone().take(), "then the sequencer drops it unsequenced");
    }
}
