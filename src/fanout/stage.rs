//! Stage 3's ring adapter: wraps [`Fanout`] and implements [`Stage`] for the ring,
//! stamping the stage's completion time.

#![forbid(unsafe_code)]

use crate::clock::mono_now_ns;
use crate::event::{Event, StageOutput};
use crate::fanout::Fanout;
use crate::ring::Stage;

/// Stage 3 on the ring.
#[derive(Debug)]
pub struct FanoutStage {
    /// Publisher of quotes and updates.
    pub fanout: Fanout,
}

impl Stage for FanoutStage {
    const NAME: &'static str = "fanout";

    #[inline]
    fn on_event(&mut self, event: &Event, out: &mut StageOutput) {
        crate::fault::check(Self::NAME, event);
        self.fanout.apply(event, out);
        out.times.fanout_ns = mono_now_ns();
    }
}
