//! Idle strategies: what a stage thread does when the ring has nothing for it.
//!
//! `Spin` burns its core for the lowest wake-up latency; use it only on isolated cores.
//! `Backoff` (Aeron's BackoffIdleStrategy, simplified) spins briefly, then yields, then
//! sleeps in short steps, so a shared 2-core machine stays responsive. Busy-spinning more
//! threads than free cores is ruinous (DESIGN.md measured 23 ms p50 with 4 spinners on 2
//! cores), which is why `backoff` is the default and what tests use.

#![forbid(unsafe_code)]

use std::str::FromStr;
use std::time::Duration;

/// The strategy, chosen on the command line (`--idle`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum IdleStrategy {
    /// Busy-spin with a spin-loop hint.
    Spin,
    /// Spin, then yield, then sleep.
    #[default]
    Backoff,
}

impl FromStr for IdleStrategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "spin" => Ok(IdleStrategy::Spin),
            "backoff" => Ok(IdleStrategy::Backoff),
            other => Err(format!("--idle must be spin or backoff, not {other:?}")),
        }
    }
}

/// Per-thread idle state.
#[derive(Debug)]
pub struct Idler {
    strategy: IdleStrategy,
    idle_rounds: u32,
}

const SPINS: u32 = 200;
const YIELDS: u32 = 100;
const SLEEP: Duration = Duration::from_micros(50);

impl Idler {
    /// A fresh idler.
    pub fn new(strategy: IdleStrategy) -> Idler {
        Idler { strategy, idle_rounds: 0 }
    }

    /// Called when work was found: the next idle period starts from spinning again.
    #[inline]
    pub fn reset(&mut self) {
        self.idle_rounds = 0;
    }

    /// Called when no work was found.
    #[inline]
    pub fn idle(&mut self) {
        match self.strategy {
            IdleStrategy::Spin => std::hint::spin_loop(),
            IdleStrategy::Backoff => {
                self.idle_rounds = self.idle_rounds.saturating_add(1);
                if self.idle_rounds <= SPINS {
                    std::hint::spin_loop();
                } else if self.idle_rounds <= SPINS + YIELDS {
                    std::thread::yield_now();
                } else {
                    std::thread::sleep(SLEEP);
                }
            }
        }
    }
}
