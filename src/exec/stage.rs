//! Stage 1's ring adapter: wraps [`Exec`] and implements [`Stage`] for the ring,
//! stamping the stage's completion time, refusing commands after a halt, answering the
//! queries execution owns and writing execution's part of a snapshot.

#![forbid(unsafe_code)]

use crate::clock::mono_now_ns;
use crate::event::{Event, Input, QueryKind, RejectStatus, Reply, StageOutput};
use crate::exec::Exec;
use crate::health::Health;
use crate::interest::Interest;
use crate::msg;
use crate::ring::Stage;
use crate::views::QueryReply;
use std::sync::Arc;

/// The refusal of a command after a stage halted (execution refuses it, and the journal
/// stage once it has frozen).
pub const REFUSED: &str = "the engine refuses new orders after an internal failure; see /health";

/// Stage 1 on the ring.
#[derive(Debug)]
pub struct ExecStage {
    /// Execution state.
    pub exec: Exec,
    health: Arc<Health>,
    interest: Arc<Interest>,
}

impl ExecStage {
    /// Wraps execution; publishes which symbols it needs quotes for into `interest`.
    pub fn new(exec: Exec, health: Arc<Health>, interest: Arc<Interest>) -> ExecStage {
        for s in exec.symbols_needing_quotes() {
            interest.set_engine(s, true);
        }
        ExecStage { exec, health, interest }
    }

    /// Tells the feed which of the symbols this event touched still need quotes.
    #[inline]
    fn publish_interest(&self, out: &StageOutput) {
        for s in
            out.updates.iter().map(|u| u.order.symbol).chain(out.positions.iter().map(|p| p.symbol))
        {
            self.interest.set_engine(s, self.exec.needs_quotes(s));
        }
    }
}

impl Stage for ExecStage {
    const NAME: &'static str = "execution";

    #[inline]
    fn on_event(&mut self, event: &Event, out: &mut StageOutput) {
        match &event.input {
            Input::Command(_) if self.health.refusing_orders() => {
                out.reply = Reply::Rejected {
                    status: RejectStatus::Unavailable,
                    message: msg!("{REFUSED}"),
                };
            }
            Input::Query(q) => {
                out.answer = self.exec.answer(&q.kind);
                if q.kind == QueryKind::StateHash {
                    out.digest = self.exec.digest();
                }
            }
            Input::Snapshot => {
                let s = self.exec.snapshot();
                out.snapshot.extend_from_slice(&(s.len() as u64).to_le_bytes());
                out.snapshot.extend_from_slice(&s);
            }
            _ => {
                crate::fault::check(Self::NAME, event);
                self.exec.apply(event, out);
                self.publish_interest(out);
            }
        }
        out.times.exec_ns = mono_now_ns();
    }

    fn on_event_after_failure(&mut self, event: &Event, out: &mut StageOutput, why: &str) {
        // What a panicking `apply` wrote before it panicked is not published.
        out.updates.clear();
        out.positions.clear();
        out.funds_changed = false;
        match &event.input {
            Input::Command(_) => {
                out.reply = Reply::Rejected {
                    status: RejectStatus::Unavailable,
                    message: msg!("{REFUSED}"),
                };
            }
            Input::Query(q) if !matches!(q.kind, QueryKind::PositionBook | QueryKind::Funds) => {
                out.answer = Some(QueryReply::Unavailable(why.to_string()));
            }
            _ => {}
        }
        out.times.exec_ns = mono_now_ns();
    }
}
