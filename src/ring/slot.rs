//! The ring's slot: one input event plus the stage-output area the stages write beside it.
//!
//! This is the only module of the pipeline that holds `unsafe`. The disruptor hands
//! consumers shared references (`&Slot`), yet each stage must write its outputs (execution
//! writes fills and replies, later stages add their times) for the stages after it to
//! read. The output area therefore lives in an [`UnsafeCell`], and the ring's sequence
//! barriers provide the exclusion and the happens-before that make this sound.
//!
//! # Invariants (upheld by [`crate::ring::pipeline`])
//! 1. Stages form one chain: stage k+1 reads slot N only after stage k has finished N and
//!    published its cursor (a release store that stage k+1 acquires through its barrier).
//! 2. A stage touches the output of slot N only while it processes N, and never keeps a
//!    reference past that.
//! 3. The producer rewrites slot N (through `&mut Slot`, which the disruptor gives it only
//!    after the last stage has released N) and never touches the output area.
//!
//! So at any instant at most one thread accesses a slot's output, and each access happens
//! after the previous one, which is exactly what `&mut` requires.

use crate::event::{Event, StageOutput};
use std::cell::UnsafeCell;

/// One ring entry.
#[derive(Debug)]
pub struct Slot {
    /// The input event, written by the producer.
    pub event: Event,
    output: UnsafeCell<StageOutput>,
}

// SAFETY: `Slot` is shared between the producer and stage threads by the disruptor. `event`
// is plain data written only by the producer through `&mut Slot`. `output` is reached only
// through `output_mut`, whose contract (the module invariants) guarantees exclusive,
// ordered access; `StageOutput` itself is `Send`.
unsafe impl Sync for Slot {}

impl Slot {
    /// A slot with a preallocated output area (the ring's event factory).
    pub fn new() -> Slot {
        Slot { event: Event::default(), output: UnsafeCell::new(StageOutput::new()) }
    }

    /// The output area, for the stage currently processing this slot.
    ///
    /// # Safety
    /// The caller must be the one stage that currently owns this slot under the module
    /// invariants: it is processing this slot's sequence, the stage before it has
    /// released the sequence, and the returned reference is dropped before the caller
    /// releases the sequence to the next stage.
    #[inline]
    #[allow(clippy::mut_from_ref, reason = "exclusivity comes from the ring's barriers")]
    pub unsafe fn output_mut(&self) -> &mut StageOutput {
        // SAFETY: the caller upholds the exclusivity contract above.
        unsafe { &mut *self.output.get() }
    }

    /// Exclusive access through `&mut self` (the producer or a single-threaded replay).
    #[inline]
    pub fn output_exclusive(&mut self) -> &mut StageOutput {
        self.output.get_mut()
    }
}

impl Default for Slot {
    fn default() -> Self {
        Slot::new()
    }
}

#[cfg(test)]
mod tests {
    //! Runs under Miri (`cargo +nightly miri test --lib ring::slot`): four chained stages on
    //! four threads pass outputs through the slots of a real disruptor ring.
    use super::*;
    use crate::event::{Input, Reply};
    use crate::types::{OrderId, Seq};
    use disruptor::{BusySpinWithSpinLoopHint, Polling, Producer, build_single_producer};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn chained_stages_see_each_others_outputs() {
        let n: u64 = if cfg!(miri) { 40 } else { 20_000 };
        let builder = build_single_producer(8, Slot::new, BusySpinWithSpinLoopHint);
        let (mut p1, b) = builder.new_event_poller();
        let (mut p2, b) = b.and_then().new_event_poller();
        let (mut p3, b) = b.and_then().new_event_poller();
        let mut producer = b.build();
        let checked = Arc::new(AtomicU64::new(0));

        let s1 = std::thread::spawn(move || {
            loop {
                match p1.poll() {
                    Ok(mut guard) => {
                        for slot in &mut guard {
                            // SAFETY: stage 1 owns the slot while it processes it.
                            let out = unsafe { slot.output_mut() };
                            out.clear();
                            out.reply = Reply::Placed(OrderId(slot.event.header.seq.0));
                        }
                    }
                    Err(Polling::NoEvents) => std::hint::spin_loop(),
                    Err(Polling::Shutdown) => break,
                }
            }
        });
        let s2 = std::thread::spawn(move || {
            loop {
                match p2.poll() {
                    Ok(mut guard) => {
                        for slot in &mut guard {
                            // SAFETY: stage 2 runs after stage 1 released the slot.
                            let out = unsafe { slot.output_mut() };
                            assert_eq!(out.reply, Reply::Placed(OrderId(slot.event.header.seq.0)));
                            out.digest = slot.event.header.seq.0 * 2;
                        }
                    }
                    Err(Polling::NoEvents) => std::hint::spin_loop(),
                    Err(Polling::Shutdown) => break,
                }
            }
        });
        let c = Arc::clone(&checked);
        let s3 = std::thread::spawn(move || {
            loop {
                match p3.poll() {
                    Ok(mut guard) => {
                        for slot in &mut guard {
                            // SAFETY: stage 3 runs after stage 2 released the slot.
                            let out = unsafe { slot.output_mut() };
                            assert_eq!(out.digest, slot.event.header.seq.0 * 2);
                            c.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(Polling::NoEvents) => std::hint::spin_loop(),
                    Err(Polling::Shutdown) => break,
                }
            }
        });
        for i in 0..n {
            producer.publish(|slot| {
                slot.event.header.seq = Seq(i);
                slot.event.input = Input::Timer;
            });
        }
        drop(producer);
        for t in [s1, s2, s3] {
            t.join().unwrap();
        }
        assert_eq!(checked.load(Ordering::Relaxed), n);
    }
}
