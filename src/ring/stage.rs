//! The stage contract, and the panic guard every stage runs under.
//!
//! A stage is plain single-threaded code: it gets each event in sequence order with the
//! slot's output area, exclusively. Which thread runs it (the fused loop, or its own
//! pinned thread) is the topology's business, not the stage's.

#![forbid(unsafe_code)]

use crate::event::{Event, StageOutput};
use crate::health::Health;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

/// One consumer stage of the ring.
pub trait Stage: Send + 'static {
    /// The stage's name in logs, health and metrics.
    const NAME: &'static str;

    /// Processes one event; `out` is the slot's output area (the stages before this one
    /// have written theirs).
    fn on_event(&mut self, event: &Event, out: &mut StageOutput);

    /// Called once at the end of every batch the ring handed out (the journal commits
    /// here, then releases replies).
    fn on_batch_end(&mut self) {}

    /// What to write for an event once this stage has failed: by default nothing, so
    /// later stages still run. Execution overrides this to refuse commands.
    fn on_event_after_failure(&mut self, _event: &Event, _out: &mut StageOutput, _why: &str) {}
}

/// Runs a stage, catching a panic: the stage is then marked failed, the engine refuses
/// new orders (through [`Health`]), and the ring keeps moving so reads keep working.
#[derive(Debug)]
pub struct Guarded<S> {
    stage: S,
    health: Arc<Health>,
    failed: Option<String>,
}

impl<S: Stage> Guarded<S> {
    /// Wraps a stage.
    pub fn new(stage: S, health: Arc<Health>) -> Guarded<S> {
        Guarded { stage, health, failed: None }
    }

    /// Processes one event under the guard.
    #[inline]
    pub fn on_event(&mut self, event: &Event, out: &mut StageOutput) {
        if let Some(why) = &self.failed {
            self.stage.on_event_after_failure(event, out, why);
            return;
        }
        let stage = &mut self.stage;
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| stage.on_event(event, out))) {
            let text = panic_text(&*panic);
            let why = format!("stage {} failed at seq {}: {text}", S::NAME, event.header.seq.0);
            tracing::error!(stage = S::NAME, error = %why, "stage failed; refusing new orders");
            self.health.halt(S::NAME, event.header.seq.0, why.clone());
            self.stage.on_event_after_failure(event, out, &why);
            self.failed = Some(why);
        }
    }

    /// End of batch under the guard.
    #[inline]
    pub fn on_batch_end(&mut self) {
        if self.failed.is_some() {
            return;
        }
        let stage = &mut self.stage;
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| stage.on_batch_end())) {
            let why = format!("stage {} failed at batch end: {}", S::NAME, panic_text(&*panic));
            tracing::error!(stage = S::NAME, error = %why, "stage failed; refusing new orders, reads keep working");
            self.health.fail(why.clone());
            self.failed = Some(why);
        }
    }

    /// The stage back (for shutdown and tests).
    pub fn into_inner(self) -> S {
        self.stage
    }
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}
