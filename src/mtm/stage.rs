//! Stage 2's ring adapter: wraps [`Mtm`] and implements [`Stage`] for the ring,
//! stamping the stage's completion time, answering the queries MTM owns (and combining
//! the state digest) and appending MTM's part of a snapshot.

#![forbid(unsafe_code)]

use crate::clock::mono_now_ns;
use crate::event::{Event, Input, QueryKind, StageOutput};
use crate::mtm::Mtm;
use crate::ring::Stage;
use crate::views::QueryReply;

/// Stage 2 on the ring.
#[derive(Debug)]
pub struct MtmStage {
    /// Valuations.
    pub mtm: Mtm,
}

impl Stage for MtmStage {
    const NAME: &'static str = "mtm";

    #[inline]
    fn on_event(&mut self, event: &Event, out: &mut StageOutput) {
        match &event.input {
            Input::Query(q) => match q.kind {
                QueryKind::StateHash => {
                    let d = crate::digest::combine(out.digest, self.mtm.digest());
                    out.answer = Some(QueryReply::StateHash(d));
                }
                kind => {
                    if let Some(a) = self.mtm.answer(&kind) {
                        out.answer = Some(a);
                    }
                }
            },
            Input::Snapshot => {
                let s = self.mtm.snapshot();
                out.snapshot.extend_from_slice(&s);
            }
            _ => {
                crate::fault::check(Self::NAME, event);
                self.mtm.apply(event, out);
            }
        }
        out.times.mtm_ns = mono_now_ns();
    }

    fn on_event_after_failure(&mut self, event: &Event, out: &mut StageOutput, why: &str) {
        if let Input::Query(q) = &event.input {
            if matches!(q.kind, QueryKind::PositionBook | QueryKind::Funds | QueryKind::StateHash) {
                out.answer = Some(QueryReply::Unavailable(why.to_string()));
            }
        }
        if let Input::Snapshot = event.input {
            out.snapshot.clear(); // an incomplete snapshot must not be written
        }
        out.times.mtm_ns = mono_now_ns();
    }
}
