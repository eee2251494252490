//! The baseline a Rust user would write instead of the ring: the same four stages on four
//! threads joined by bounded crossbeam channels, each event moved through them with its
//! output area. Used by `benches/pipeline.rs` and the latency harness to measure the ring
//! against it in the same run; not used by the engine.

#![forbid(unsafe_code)]

use crate::event::{Event, StageOutput};
use crate::ring::Stage;
use crossbeam_channel::{Receiver, Sender};
use std::thread::JoinHandle;

/// One event with its output area, as it travels between the baseline's stages.
pub type Item = (Event, StageOutput);

/// The running baseline: send events into `input`; drop it (via [`ChannelStages::join`])
/// to stop the threads after they drain.
#[derive(Debug)]
pub struct ChannelStages {
    /// Where events enter stage 1.
    pub input: Sender<Item>,
    threads: Vec<JoinHandle<()>>,
}

fn relay<S: Stage>(mut stage: S, rx: Receiver<Item>, tx: Sender<Item>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for (ev, mut out) in rx {
            stage.on_event(&ev, &mut out);
            if tx.send((ev, out)).is_err() {
                break;
            }
        }
    })
}

impl ChannelStages {
    /// Starts the four stages, joined by channels of `capacity` items. The last stage runs
    /// its batch end whenever its input channel is empty (the journal commits there).
    pub fn start<A: Stage, B: Stage, C: Stage, D: Stage>(
        (a, b, c, mut d): (A, B, C, D),
        capacity: usize,
    ) -> ChannelStages {
        let (input, rx1) = crossbeam_channel::bounded::<Item>(capacity);
        let (tx2, rx2) = crossbeam_channel::bounded::<Item>(capacity);
        let (tx3, rx3) = crossbeam_channel::bounded::<Item>(capacity);
        let (tx4, rx4) = crossbeam_channel::bounded::<Item>(capacity);
        let threads = vec![
            relay(a, rx1, tx2),
            relay(b, rx2, tx3),
            relay(c, rx3, tx4),
            std::thread::spawn(move || {
                while let Ok((ev, mut out)) = rx4.recv() {
                    d.on_event(&ev, &mut out);
                    if rx4.is_empty() {
                        d.on_batch_end();
                    }
                }
                d.on_batch_end();
            }),
        ];
        ChannelStages { input, threads }
    }

    /// Closes the input and waits for every stage thread to drain and stop.
    pub fn join(self) {
        drop(self.input);
        for t in self.threads {
            let _ = t.join();
        }
    }
}
