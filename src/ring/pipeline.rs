//! Wiring the four stages onto the ring, in one of two topologies.
//!
//! - `Fused`: one consumer thread runs execution, MTM, fanout and journal in order for
//!   each event, then the batch-end hooks. Cheapest on a small machine: one thread to wake,
//!   no cross-core cache traffic. The default below 6 cores and in all tests.
//! - `Pipelined`: one thread per stage, optionally pinned (`core_affinity`), chained by
//!   the disruptor's `and_then` barriers, so stage k+1 sees event N only after stage k is
//!   done with it. For a bare-metal host with isolated cores and `--idle spin`.
//!
//! Either way the consumer loop is the disruptor-rs poller shape: poll a batch, process
//! it, drop the guard (which publishes the cursor), idle when there is nothing.
//!
//! # Performance
//! The hot loop has no allocation, no lock and no dynamic dispatch: stages are generic
//! parameters, and the ring's slots and their output areas are preallocated.

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

/// How stages map to threads (`--topology`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Topology {
    /// Fused below 6 cores, pipelined otherwise.
    #[default]
    Auto,
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
            "fused" => Ok(Topology::Fused),
            "pipelined" => Ok(Topology::Pipelined),
            other => Err(format!("--topology must be auto, fused or pipelined, not {other:?}")),
        }
    }
}

impl Topology {
    /// Resolves `Auto` for this machine.
    pub fn resolve(self) -> Topology {
        match self {
            Topology::Auto => {
                let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
                if cores >= 6 { Topology::Pipelined } else { Topology::Fused }
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
    pub cores: Vec<usize>,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            ring_size: 8192,
            topology: Topology::Auto,
            idle: IdleStrategy::Backoff,
            cores: Vec::new(),
        }
    }
}

type RingProducer = SingleProducer<Slot, SingleConsumerBarrier>;

/// The single producer: assigns sequence numbers and publishes events.
pub struct Publisher {
    producer: RingProducer,
    next_seq: u64,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher").field("next_seq", &self.next_seq).finish()
    }
}

impl Publisher {
    /// Publishes one input; returns its sequence. Spins while the ring is full
    /// (backpressure on the sequencer, never a drop).
    #[inline]
    pub fn publish(&mut self, input: Input, time_ns: i64, recv_ns: u64) -> Seq {
        let seq = Seq(self.next_seq);
        self.next_seq += 1;
        self.producer.publish(|slot| {
            slot.event = Event { header: Header { seq, time_ns, recv_ns }, input };
        });
        seq
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

enum Threads<A, B, C, D> {
    Fused(JoinHandle<(A, B, C, D)>),
    Pipelined(JoinHandle<A>, JoinHandle<B>, JoinHandle<C>, JoinHandle<D>),
}

impl<A, B, C, D> Running<A, B, C, D> {
    /// Waits for the stages to drain the ring and stop (drop the [`Publisher`] first),
    /// and hands the stages back.
    pub fn join(self) -> std::thread::Result<(A, B, C, D)> {
        match self.threads {
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
        let (publisher, threads) = match config.topology.resolve() {
            Topology::Fused | Topology::Auto => {
                let (poller, builder) = builder.new_event_poller();
                let core = config.cores.first().copied();
                let h = Arc::clone(&health);
                let handle = std::thread::Builder::new().name("tickfill-stages".into()).spawn(
                    move || {
                        pin(core);
                        let mut g = (
                            Guarded::new(a, Arc::clone(&h)),
                            Guarded::new(b, Arc::clone(&h)),
                            Guarded::new(c, Arc::clone(&h)),
                            Guarded::new(d, h),
                        );
                        fused_loop(poller, &mut g, idle);
                        (g.0.into_inner(), g.1.into_inner(), g.2.into_inner(), g.3.into_inner())
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
        Ok((Publisher { producer: publisher, next_seq: first_seq.0 }, Running { threads }))
    }
}

fn pin(core: Option<usize>) {
    if let Some(id) = core {
        if !core_affinity::set_for_current(core_affinity::CoreId { id }) {
            eprintln!("tickfill: could not pin a stage thread to core {id}; running unpinned");
        }
    }
}

/// The two concrete poller types (first stage behind the producer, later stages behind
/// a consumer), unified so one generic loop serves both.
trait PollSlots: Send + 'static {
    /// Polls one batch and runs `f` on each slot; the batch is released on return.
    fn poll_batch(&mut self, f: impl FnMut(&Slot)) -> Result<(), Polling>;
}

macro_rules! impl_poll_slots {
    ($barrier:ty) => {
        impl PollSlots for EventPoller<Slot, $barrier> {
            #[inline]
            fn poll_batch(&mut self, mut f: impl FnMut(&Slot)) -> Result<(), Polling> {
                let mut batch = self.poll()?;
                for slot in &mut batch {
                    f(slot);
                }
                Ok(())
            }
        }
    };
}
impl_poll_slots!(SingleProducerBarrier);
impl_poll_slots!(SingleConsumerBarrier);

fn fused_loop<A: Stage, B: Stage, C: Stage, D: Stage>(
    mut poller: impl PollSlots,
    g: &mut (Guarded<A>, Guarded<B>, Guarded<C>, Guarded<D>),
    idle: IdleStrategy,
) {
    let mut idler = Idler::new(idle);
    loop {
        let polled = poller.poll_batch(|slot| {
            // SAFETY: the fused thread is the only consumer; it owns the slot until the
            // batch is released (see ring::slot invariants).
            let out = unsafe { slot.output_mut() };
            out.clear();
            g.0.on_event(&slot.event, out);
            g.1.on_event(&slot.event, out);
            g.2.on_event(&slot.event, out);
            g.3.on_event(&slot.event, out);
        });
        match polled {
            Ok(()) => {
                g.0.on_batch_end();
                g.1.on_batch_end();
                g.2.on_batch_end();
                g.3.on_batch_end();
                idler.reset();
            }
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
                g.on_event(&slot.event, out);
            });
            match polled {
                Ok(()) => {
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
