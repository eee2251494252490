//! The ring's slot: one input event (packed, its bulky payload in a side cell, see
//! [`crate::ring::packed`]) plus the stage-output area the stages write beside it.
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
//! 4. The side cell (`aside`: a tick's depth, fill settings) is part of the input: the
//!    producer writes it through `&mut Slot` with the event ([`Slot::store`]), stages read
//!    it through `&Slot` ([`Slot::event`]). It needs no `unsafe`: the disruptor hands out
//!    `&mut Slot` only when no stage holds the slot, and its cursor's release/acquire
//!    makes the producer's writes visible to the stage that then reads them (invariant 1
//!    for the first stage).
//!
//! So at any instant at most one thread accesses a slot's output, and each access happens
//! after the previous one, which is exactly what `&mut` requires.

use crate::event::{Event, StageOutput};
use crate::ring::packed::{Aside, PackedEvent, pack};
use std::cell::UnsafeCell;

/// One ring entry.
#[derive(Debug)]
pub struct Slot {
    /// The input event, packed; written by the producer.
    event: PackedEvent,
    /// The packed event's out-of-line payload: allocated once with the slot, touched only
    /// by the events that carry depth or fill settings.
    aside: Box<Aside>,
    output: UnsafeCell<StageOutput>,
}

// SAFETY: `Slot` is shared between the producer and stage threads by the disruptor. `event`
// and `aside` are plain data written only by the producer through `&mut Slot`. `output` is reached only
// through `output_mut`, whose contract (the module invariants) guarantees exclusive,
// ordered access; `StageOutput` itself is `Send`.
unsafe impl Sync for Slot {}

impl Slot {
    /// A slot with a preallocated output area (the ring's event factory).
    pub fn new() -> Slot {
        Slot {
            event: PackedEvent::default(),
            aside: Box::default(),
            output: UnsafeCell::new(StageOutput::new()),
        }
    }

    /// Writes the input event (the producer, or a single-threaded user).
    #[inline]
    pub fn store(&mut self, event: &Event) {
        self.event = pack(event, &mut self.aside);
    }

    /// The input event, whole (depth included), built on the caller's stack.
    #[inline]
    pub fn event(&self) -> Event {
        self.event.unpack(&self.aside)
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
    //! four threads pass outputs through the slots of a real disruptor ring, and every
    //! stage sees each tick's depth (kept in the slot's side cell) as it was published.
    use super::*;
    use crate::event::{Depth, Header, Input, Level, Reply, Tick};
    use crate::types::{OrderId, Price, Seq};

    /// Event `i`: every third a tick with depth derived from `i` (so a stale side cell
    /// shows), the others ticks without depth or timers.
    fn event(i: u64) -> Event {
        let input = match i % 3 {
            0 => {
                let mut t = Tick { ltp: Price(i as i64), mode: 3, ..Tick::default() };
                t.depth = Depth { levels: 5, ..Depth::default() };
                t.depth.buy[4] = Level { price: Price(i as i64), quantity: 1, orders: 2 };
                t.depth.sell[0].quantity = i as i64;
                Input::Tick(t)
            }
            1 => Input::Tick(Tick { ltp: Price(i as i64), mode: 2, ..Tick::default() }),
            _ => Input::Timer,
        };
        Event { header: Header { seq: Seq(i), ..Header::default() }, input }
    }
    use disruptor::{BusySpinWithSpinLoopHint, Polling, Producer, build_single_producer};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn chained_stages_see_each_others_outputs() {
        let n: u64 = if cfg!(miri) { 40 } else { 2_000 };
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
                            let e = slot.event();
                            assert_eq!(e, event(e.header.seq.0));
                            out.reply = Reply::Placed(OrderId(e.header.seq.0));
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
                            let e = slot.event();
                            assert_eq!(e, event(e.header.seq.0));
                            assert_eq!(out.reply, Reply::Placed(OrderId(e.header.seq.0)));
                            out.digest = e.header.seq.0 * 2;
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
                            let e = slot.event();
                            assert_eq!(e, event(e.header.seq.0));
                            assert_eq!(out.digest, e.header.seq.0 * 2);
                            c.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(Polling::NoEvents) => std::hint::spin_loop(),
                    Err(Polling::Shutdown) => break,
                }
            }
        });
        for i in 0..n {
            producer.publish(|slot| slot.store(&event(i)));
        }
        drop(producer);
        for t in [s1, s2, s3] {
            t.join().unwrap();
        }
        assert_eq!(checked.load(Ordering::Relaxed), n);
    }
}

#[cfg(test)]
mod size {
    /// The slot's footprint, which the ring multiplies by its size (8,192 by default):
    /// 1,024 bytes with the depth and fill settings inline, before `ring::packed`.
    #[test]
    fn a_slot_keeps_depth_and_fill_settings_out_of_line() {
        let (slot, event) =
            (std::mem::size_of::<super::Slot>(), std::mem::size_of::<crate::event::Event>());
        let aside = std::mem::size_of::<crate::ring::packed::Aside>();
        eprintln!(
            "size_of::<Slot>() = {slot}, size_of::<Event>() = {event}, side cell {aside} (heap)"
        );
        assert!(slot + 200 <= 1024, "size_of::<Slot>() = {slot}");
    }
}
