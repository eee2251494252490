//! Open-loop pacing: how many ticks are due now at `rate` per second, and when the next
//! batch is. Batches are at least 1 ms apart, so 1,000,000 ticks/s is 1,000 ticks per
//! wake-up rather than a sleep per tick.

#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

/// The smallest gap between two batches.
pub const STEP: Duration = Duration::from_millis(1);

/// Counts ticks due since a base instant.
#[derive(Debug)]
pub struct Pacer {
    rate: u64,
    base: Instant,
    issued: u64,
    last: Instant,
    /// Ticks skipped because the loop fell more than 100 ms behind.
    pub skipped: u64,
}

impl Pacer {
    /// A pacer at `rate` ticks per second, starting now.
    pub fn new(rate: u64, now: Instant) -> Pacer {
        Pacer { rate, base: now, issued: 0, last: now, skipped: 0 }
    }

    /// Starts counting afresh from `now` (after a pause, or when the first symbol is
    /// subscribed), so a stop never turns into a burst.
    pub fn reset(&mut self, now: Instant) {
        self.base = now;
        self.issued = 0;
        self.last = now;
    }

    /// The ticks due at `now`, at most 100 ms worth (and at least 1,000; the rest are
    /// skipped, not queued).
    pub fn due(&mut self, now: Instant) -> u64 {
        let target = self.target(now);
        let cap = (self.rate / 10).max(1_000);
        let mut n = target.saturating_sub(self.issued);
        if n > cap {
            self.skipped += n - cap;
            n = cap;
        }
        self.issued = target;
        self.last = now;
        n
    }

    /// When the next batch should run: when the next tick is due, but not sooner than one
    /// [`STEP`] after the last batch.
    pub fn next_batch(&self) -> Instant {
        if self.rate == 0 {
            return self.last + Duration::from_secs(3600);
        }
        let micros = ((self.issued as u128 + 1) * 1_000_000).div_ceil(self.rate as u128);
        let due = self.base + Duration::from_micros(micros.min(u64::MAX as u128) as u64);
        due.max(self.last + STEP)
    }

    fn target(&self, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(self.base).as_micros();
        (elapsed * self.rate as u128 / 1_000_000).min(u64::MAX as u128) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_the_rate_in_batches_and_skips_a_long_stall() {
        let t0 = Instant::now();
        let mut p = Pacer::new(1_000_000, t0);
        assert_eq!(p.due(t0), 0);
        assert_eq!(p.next_batch(), t0 + STEP);
        assert_eq!(p.due(t0 + STEP), 1_000);
        assert_eq!(p.due(t0 + Duration::from_secs(1)), 100_000);
        assert!(p.skipped > 0);
        let mut slow = Pacer::new(10, t0);
        assert_eq!(slow.next_batch(), t0 + Duration::from_millis(100));
        assert_eq!(slow.due(t0 + Duration::from_millis(250)), 2);
        slow.reset(t0 + Duration::from_secs(5));
        assert_eq!(slow.due(t0 + Duration::from_secs(5)), 0);
    }
}
