//! Wiring the four stages onto the ring, in one of three topologies.
//!
//! - `Inline` (run to completion): no consumer thread at all. The [`Publisher`] owns the
//!   stages and an `EventPoller`; whoever publishes (the sequencer) calls
//!   [`Publisher::drain`] after each read batch and runs execution, MTM, fanout and
//!   journal for every published event on its own thread. Publishing uses `try_publish`
//!   and drains first when the ring is full, so one thread can never wait on itself. No
//!   hand-off, no wake-up, no second runnable thread: the default below 6 cores.
//! - `Fused`: one consumer thread runs execution, MTM, fanout and journal in order for
//!   each event, then the batch-end hooks (kept for comparison: `tickfill bench` runs it
//!   beside `inline`).
//! - `Pipelined`: one thread per stage, optionally pinned (`core_affinity`), chained by
//!   the disruptor's `and_then` barriers, so stage k+1 sees event N only after stage k is
//!   done with it. For a bare-metal host with isolated cores and `--idle spin`.
//!
//! Either way the consumer loop is the disruptor-rs poller shape: poll a batch, process
//! it, drop the guard (which publishes the cursor), idle when there is nothing.
//!
//! # Invariants
//! - One producer, and stages in one chain: the sequence is the total order in every
//!   topology; `inline` changes which thread runs the stages, not their order.
//! - `inline` never waits on itself: a full ring makes `publish` drain first, and the
//!   publisher drains everything left before it is dropped (then `Running::join` gets
//!   the stages back).
//!
//! # Known limitations
//! - `inline`: while the stages run, nothing is read; a slow batch (a snapshot, a
//!   journal segment roll) delays the next read by its length.
//! - `inline`: the caller must call [`Publisher::drain`] after publishing (the sequencer
//!   does, once per loop turn); a publisher that only publishes runs the stages only
//!   when the ring fills.
//!
//! # Performance
//! The hot loop has no allocation, no lock and no dynamic dispatch: stages are generic
//! parameters, and the ring's slots and their output areas are preallocated. A slot holds
//! its event packed (a tick's depth and fill settings in the slot's side cell, see
//! [`crate::ring::packed`]), so the ring is 784 bytes a slot rather than 1,024; each
//! consumer unpacks the event onto its stack once and hands the stages that copy. `inline`
//! adds one virtual call per drained batch (the publisher is not generic over the
//! stages), never per event.

use crate::event::{Event, Header, Input};
use crate::health::Health;
use crate::ring::idle::{IdleStrategy, Idler};
use crate::ring::slot::Slot;
use crate::ring::stage::{Guarded, Stage};
use crate::types::Seq;
use disruptor::{
    BusySpinWithSpinLoopHint, EventPoller, Polling, Producer, SingleConsumerBarrier,
    SingleProducer, SingleProducerBarrier, build_single_producer,
};
use std::str::FromStr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How stages map to threads (`--topology`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Topology {
    /// Inline below 6 cores, pipelined otherwise.
    #[default]
    Auto,
    /// The publishing thread runs all four stages itself (run to completion).
    Inline,
    /// One consumer thread runs all four stages.
    Fused,
    /// One (pinned) thread per stage.
    Pipelined,
}

impl FromStr for Topology {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Topology::Auto),
            "inline" => Ok(Topology::Inline),
            "fused" => Ok(Topology::Fused),
            "pipelined" => Ok(Topology::Pipelined),
            other => {
                Err(format!("--topology must be auto, inline, fused or pipelined, not {other:?}"))
            }
        }
    }
}

impl Topology {
    /// Resolves `Auto` for this machine.
    pub fn resolve(self) -> Topology {
        match self {
            Topology::Auto => {
                let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
                if cores >= 6 { Topology::Pipelined } else { Topology::Inline }
            }
            t => t,
        }
    }
}

/// Ring and thread settings.
#[derive(Clone, Debug)]
pub struct PipelineConfig {
    /// Slots in the ring (a power of two).
    pub ring_size: usize,
    /// Topology.
    pub topology: Topology,
    /// Idle strategy of the stage threads.
    pub idle: IdleStrategy,
    /// Cores to pin to: the stage threads in order (pipelined), or the one consumer (fused).
    /// Unused by `inline` (the sequencer's core is the hot core, see [`crate::ring::cores`]).
    pub cores: Vec<usize>,
    /// `inline`: how long the hot thread keeps polling its sockets and intake after the
    /// last input before it parks in `epoll_wait` (a wake-up costs tens of microseconds on
    /// a VM; a spin costs a core). Zero parks at once (the `fused` behaviour).
    pub busy_poll: Duration,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            ring_size: default_ring_size(Topology::Auto),
            topology: Topology::Auto,
            idle: IdleStrategy::Backoff,
            cores: Vec::new(),
            busy_poll: DEFAULT_BUSY_POLL,
        }
    }
}

/// Default ring slots for a topology. `inline` never holds more than one read batch (at
/// most [`READ_BUDGET`](crate::sequencer::upstream::READ_BUDGET) frames, and `publish`
/// drains when the ring is full), so its ring only has to cover a batch: 1,024 slots of
/// 784 bytes fit in this generation's 1 MiB L2 beside the stages' state, where 8,192
/// (6.1 MiB) cycled through L3. The threaded topologies keep 8,192: there the ring is the
/// buffer between threads that a stall of the consumer fills.
pub fn default_ring_size(topology: Topology) -> usize {
    match topology.resolve() {
        Topology::Inline => 1024,
        _ => 8192,
    }
}

/// Default of [`PipelineConfig::busy_poll`]: a few inter-arrival times at 100k ticks/s,
/// short enough that an idle engine (or a test) parks almost at once.
pub const DEFAULT_BUSY_POLL: Duration = Duration::from_micros(200);

type RingProducer = SingleProducer<Slot, SingleConsumerBarrier>;

/// The single producer: assigns sequence numbers and publishes events. In the `inline`
/// topology it also owns the stages and runs them in [`Publisher::drain`].
pub struct Publisher {
    producer: RingProducer,
    next_seq: u64,
    /// `Some` when event time follows the feed's clock ([`crate::clock::EventClock`]).
    clock: Option<crate::clock::EventClock>,
    /// `inline` only. One dynamic call per drained batch, never per event: the loop
    /// inside is generic over the four stages.
    inline: Option<Box<dyn Drain>>,
}

/// The stages run on the publishing thread (`inline`).
trait Drain: Send {
    /// Runs the stages over every event published and not yet processed; returns how
    /// many there were.
    fn drain(&mut self) -> usize;
    /// Drains, then hands the stages to [`Running::join`].
    fn finish(&mut self);
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher").field("next_seq", &self.next_seq).finish()
    }
}

impl Publisher {
    /// Publishes one input; returns its sequence. While the ring is full it spins
    /// (`fused`, `pipelined`: backpressure on the sequencer, never a drop) or runs the
    /// stages itself to free slots (`inline`: nobody else would).
    /// `time_ns` is the wall time it arrived; with a feed clock
    /// ([`Publisher::follow_feed_clock`]) the event gets the feed's time instead.
    #[inline]
    pub fn publish(&mut self, input: Input, time_ns: i64, recv_ns: u64) -> Seq {
        self.publish_from_stream(input, time_ns, recv_ns, 0)
    }

    /// [`Publisher::publish`] for an input consumed from a replicated log (the relay's
    /// JetStream stream): `stream_seq` is its position there, journaled with it.
    #[inline]
    pub fn publish_from_stream(
        &mut self,
        input: Input,
        time_ns: i64,
        recv_ns: u64,
        stream_seq: u64,
    ) -> Seq {
        let time_ns = match &mut self.clock {
            None => time_ns,
            Some(c) => {
                if let Input::Tick(t) = &input {
                    c.observe_feed_ms(t.ltt_ms, time_ns);
                }
                c.stamp(time_ns)
            }
        };
        let seq = Seq(self.next_seq);
        self.next_seq += 1;
        let event = Event { header: Header { seq, time_ns, recv_ns, stream_seq }, input };
        match &mut self.inline {
            None => self.producer.publish(|slot| slot.store(&event)),
            Some(stages) => {
                while self.producer.try_publish(|slot| slot.store(&event)).is_err() {
                    stages.drain();
                }
            }
        }
        seq
    }

    /// `inline`: runs the four stages over everything published so far, on this thread;
    /// returns the number of events processed. A no-op returning 0 in the other
    /// topologies (their consumer threads drain the ring).
    #[inline]
    pub fn drain(&mut self) -> usize {
        self.inline.as_mut().map_or(0, |s| s.drain())
    }

    /// True when this publisher runs the stages itself (`inline`).
    pub fn is_inline(&self) -> bool {
        self.inline.is_some()
    }

    /// From now on, event time follows the clock of the ticks published (see
    /// [`crate::clock::EventClock`]), resuming at `floor_ns`, the last journaled event time.
    pub fn follow_feed_clock(&mut self, floor_ns: Option<i64>) {
        self.clock = Some(crate::clock::EventClock::new(floor_ns, crate::clock::wall_now_ns()));
    }

    /// The sequence the next event will get.
    pub fn next_seq(&self) -> Seq {
        Seq(self.next_seq)
    }
}

/// Running stage threads; `join` stops them after the publisher is dropped.
pub struct Running<A, B, C, D> {
    threads: Threads<A, B, C, D>,
}

impl<A, B, C, D> std::fmt::Debug for Running<A, B, C, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Running")
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        // Inline: process what is left and hand the stages to `Running::join` before the
        // producer (and the ring) go away.
        if let Some(mut stages) = self.inline.take() {
            stages.finish();
        }
    }
}

enum Threads<A, B, C, D> {
    Inline(crossbeam_channel::Receiver<(A, B, C, D)>),
    Fused(JoinHandle<(A, B, C, D)>),
    Pipelined(JoinHandle<A>, JoinHandle<B>, JoinHandle<C>, JoinHandle<D>),
}

impl<A, B, C, D> Running<A, B, C, D> {
    /// Waits for the stages to drain the ring and stop (drop the [`Publisher`] first),
    /// and hands the stages back.
    pub fn join(self) -> std::thread::Result<(A, B, C, D)> {
        match self.threads {
            Threads::Inline(rx) => rx.recv().map_err(|_| {
                Box::new("the inline stages were lost (the publishing thread panicked)")
                    as Box<dyn std::any::Any + Send>
            }),
            Threads::Fused(h) => h.join(),
            Threads::Pipelined(a, b, c, d) => Ok((a.join()?, b.join()?, c.join()?, d.join()?)),
        }
    }
}

/// The ring with its stages.
#[derive(Debug)]
pub struct Pipeline;

impl Pipeline {
    /// Builds the ring, starts the stage threads, and returns the producer.
    /// `first_seq` is the sequence of the first event (after recovery: last journaled + 1).
    pub fn start<A: Stage, B: Stage, C: Stage, D: Stage>(
        config: &PipelineConfig,
        first_seq: Seq,
        stages: (A, B, C, D),
        health: Arc<Health>,
    ) -> std::io::Result<(Publisher, Running<A, B, C, D>)> {
        let size = config.ring_size.next_power_of_two().max(4);
        let idle = config.idle;
        let builder = build_single_producer(size, Slot::new, BusySpinWithSpinLoopHint);
        let (a, b, c, d) = stages;
        let mut inline: Option<Box<dyn Drain>> = None;
        let (publisher, threads) = match config.topology.resolve() {
            Topology::Inline => {
                let (poller, builder) = builder.new_event_poller();
                let (done, rx) = crossbeam_channel::bounded(1);
                inline = Some(Box::new(InlineStages {
                    poller,
                    stages: Some(guard(a, b, c, d, &health)),
                    done,
                }));
                (builder.build(), Threads::Inline(rx))
            }
            Topology::Fused | Topology::Auto => {
                let (poller, builder) = builder.new_event_poller();
                let core = config.cores.first().copied();
                let h = Arc::clone(&health);
                let handle = std::thread::Builder::new().name("tickfill-stages".into()).spawn(
                    move || {
                        pin(core);
                        let mut g = guard(a, b, c, d, &h);
                        fused_loop(poller, &mut g, idle);
                        unguard(g)
                    },
                )?;
                (builder.build(), Threads::Fused(handle))
            }
            Topology::Pipelined => {
                let (p1, builder) = builder.new_event_poller();
                let (p2, builder) = builder.and_then().new_event_poller();
                let (p3, builder) = builder.and_then().new_event_poller();
                let (p4, builder) = builder.and_then().new_event_poller();
                let core = |i: usize| config.cores.get(i).copied();
                let h1 = spawn_stage(p1, a, Arc::clone(&health), idle, core(0), true)?;
                let h2 = spawn_stage(p2, b, Arc::clone(&health), idle, core(1), false)?;
                let h3 = spawn_stage(p3, c, Arc::clone(&health), idle, core(2), false)?;
                let h4 = spawn_stage(p4, d, health, idle, core(3), false)?;
                (builder.build(), Threads::Pipelined(h1, h2, h3, h4))
            }
        };
        Ok((
            Publisher { producer: publisher, next_seq: first_seq.0, clock: None, inline },
            Running { threads },
        ))
    }
}

type GuardedStages<A, B, C, D> = (Guarded<A>, Guarded<B>, Guarded<C>, Guarded<D>);

fn guard<A: Stage, B: Stage, C: Stage, D: Stage>(
    a: A,
    b: B,
    c: C,
    d: D,
    h: &Arc<Health>,
) -> GuardedStages<A, B, C, D> {
    (
        Guarded::new(a, Arc::clone(h)),
        Guarded::new(b, Arc::clone(h)),
        Guarded::new(c, Arc::clone(h)),
        Guarded::new(d, Arc::clone(h)),
    )
}

fn unguard<A: Stage, B: Stage, C: Stage, D: Stage>(g: GuardedStages<A, B, C, D>) -> (A, B, C, D) {
    (g.0.into_inner(), g.1.into_inner(), g.2.into_inner(), g.3.into_inner())
}

/// The `inline` topology's stages, owned by the [`Publisher`].
struct InlineStages<A, B, C, D> {
    poller: EventPoller<Slot, SingleProducerBarrier>,
    /// `None` once finished.
    stages: Option<GuardedStages<A, B, C, D>>,
    done: crossbeam_channel::Sender<(A, B, C, D)>,
}

impl<A: Stage, B: Stage, C: Stage, D: Stage> Drain for InlineStages<A, B, C, D> {
    #[inline]
    fn drain(&mut self) -> usize {
        let Some(g) = &mut self.stages else { return 0 };
        // One poll takes everything published: nothing more can be published while this
        // thread is here.
        fused_batch(&mut self.poller, g).unwrap_or(0)
    }

    fn finish(&mut self) {
        self.drain();
        if let Some(g) = self.stages.take() {
            let _ = self.done.send(unguard(g));
        }
    }
}

fn pin(core: Option<usize>) {
    if let Some(id) = core {
        if !core_affinity::set_for_current(core_affinity::CoreId { id }) {
            tracing::warn!(
                thread = "stage",
                core = id,
                "cores: could not pin a thread; running unpinned"
            );
        }
    }
}

/// The two concrete poller types (first stage behind the producer, later stages behind
/// a consumer), unified so one generic loop serves both.
trait PollSlots: Send + 'static {
    /// Polls one batch and runs `f` on each slot; the batch is released on return.
    /// Returns the batch's length.
    fn poll_batch(&mut self, f: impl FnMut(&Slot)) -> Result<usize, Polling>;
}

macro_rules! impl_poll_slots {
    ($barrier:ty) => {
        impl PollSlots for EventPoller<Slot, $barrier> {
            #[inline]
            fn poll_batch(&mut self, mut f: impl FnMut(&Slot)) -> Result<usize, Polling> {
                let mut batch = self.poll()?;
                let mut n = 0;
                for slot in &mut batch {
                    f(slot);
                    n += 1;
                }
                Ok(n)
            }
        }
    };
}
impl_poll_slots!(SingleProducerBarrier);
impl_poll_slots!(SingleConsumerBarrier);

/// One batch through all four stages in order, then the batch-end hooks (the journal
/// commits and releases replies there). Shared by `fused` and `inline`.
#[inline]
fn fused_batch<A: Stage, B: Stage, C: Stage, D: Stage>(
    poller: &mut impl PollSlots,
    g: &mut GuardedStages<A, B, C, D>,
) -> Result<usize, Polling> {
    let n = poller.poll_batch(|slot| {
        // SAFETY: this thread is the only consumer (the fused thread, or in `inline` the
        // publishing thread, which does not publish while it is here); it owns the slot
        // until the batch is released (see ring::slot invariants).
        let out = unsafe { slot.output_mut() };
        out.clear();
        let event = slot.event();
        g.0.on_event(&event, out);
        g.1.on_event(&event, out);
        g.2.on_event(&event, out);
        g.3.on_event(&event, out);
    })?;
    g.0.on_batch_end();
    g.1.on_batch_end();
    g.2.on_batch_end();
    g.3.on_batch_end();
    Ok(n)
}

fn fused_loop<A: Stage, B: Stage, C: Stage, D: Stage>(
    mut poller: impl PollSlots,
    g: &mut GuardedStages<A, B, C, D>,
    idle: IdleStrategy,
) {
    let mut idler = Idler::new(idle);
    loop {
        match fused_batch(&mut poller, g) {
            Ok(_) => idler.reset(),
            Err(Polling::NoEvents) => idler.idle(),
            Err(Polling::Shutdown) => break,
        }
    }
}

fn spawn_stage<S: Stage>(
    mut poller: impl PollSlots,
    stage: S,
    health: Arc<Health>,
    idle: IdleStrategy,
    core: Option<usize>,
    first: bool,
) -> std::io::Result<JoinHandle<S>> {
    std::thread::Builder::new().name(format!("tickfill-{}", S::NAME)).spawn(move || {
        pin(core);
        let mut g = Guarded::new(stage, health);
        let mut idler = Idler::new(idle);
        loop {
            let polled = poller.poll_batch(|slot| {
                // SAFETY: this stage runs after the previous one released the slot and
                // before the next one acquires it (ring::slot invariants).
                let out = unsafe { slot.output_mut() };
                if first {
                    out.clear();
                }
                g.on_event(&slot.event(), out);
            });
            match polled {
                Ok(_) => {
                    g.on_batch_end();
                    idler.reset();
                }
                Err(Polling::NoEvents) => idler.idle(),
                Err(Polling::Shutdown) => break,
            }
        }
        g.into_inner()
    })
}
