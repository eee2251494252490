//! An injected stage panic, for the tests that prove what a halt does (issue 14): with
//! `TICKFILL_INJECT_PANIC=STAGE:STRATEGY` in its environment, the engine's STAGE
//! (`execution`, `mtm` or `fanout`) panics on every order placement whose strategy tag is
//! STRATEGY, live and in replay alike. Unset (always, outside those tests), it costs one
//! initialised-once load per command.
//!
//! Why a hook in the real binary: the guarantees under test (a halt is journaled, refused
//! orders do not come back, a poison input is quarantined on restart) are about the real
//! binary's stages and recovery; a substitute stage in a test would prove them of the
//! substitute. The panic is the same unwinding a real bug would cause.

#![forbid(unsafe_code)]

use crate::event::{CommandKind, Event, Input};
use std::sync::OnceLock;

/// The variable read once at the first command.
pub const VAR: &str = "TICKFILL_INJECT_PANIC";

#[derive(Debug)]
struct Fault {
    stage: String,
    strategy: String,
}

fn fault() -> Option<&'static Fault> {
    static FAULT: OnceLock<Option<Fault>> = OnceLock::new();
    FAULT
        .get_or_init(|| {
            let v = std::env::var(VAR).ok()?;
            let (stage, strategy) = v.split_once(':')?;
            Some(Fault { stage: stage.to_string(), strategy: strategy.to_string() })
        })
        .as_ref()
}

/// Panics when the injected fault names `stage` and `event` places an order with its
/// strategy tag.
#[inline]
pub fn check(stage: &str, event: &Event) {
    let Input::Command(c) = &event.input else { return };
    let (CommandKind::Place(o) | CommandKind::PlaceSmart { order: o, .. }) = &c.kind else {
        return;
    };
    if let Some(f) = fault() {
        if f.stage == stage && f.strategy == o.strategy.as_str() {
            panic!("injected panic ({VAR}) on the order with strategy {}", f.strategy);
        }
    }
}

/// The variable of the injected slow journal commit: `TICKFILL_INJECT_SLOW_COMMIT_MS=N`
/// makes every journal commit of a non-empty batch take N ms longer (a disk that cannot
/// keep up), for the backpressure test (issue 14 item 2). Read once, at the first commit.
pub const SLOW_COMMIT_VAR: &str = "TICKFILL_INJECT_SLOW_COMMIT_MS";

fn slow_commit_delay() -> Option<std::time::Duration> {
    static DELAY: OnceLock<Option<std::time::Duration>> = OnceLock::new();
    *DELAY.get_or_init(|| {
        let ms: u64 = std::env::var(SLOW_COMMIT_VAR).ok()?.trim().parse().ok()?;
        (ms > 0).then(|| std::time::Duration::from_millis(ms))
    })
}

/// Sleeps the injected commit delay, if one is set (one initialised-once load otherwise).
#[inline]
pub fn slow_commit() {
    if let Some(d) = slow_commit_delay() {
        std::thread::sleep(d);
    }
}
