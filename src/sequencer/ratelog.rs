//! Logging at a limited rate: a flood of bad frames must not become a flood of log lines.

#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

/// Prints at most one line per `every`, then says how many were suppressed.
#[derive(Debug)]
pub struct RateLog {
    every: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLog {
    /// At most one line per `every`.
    pub const fn new(every: Duration) -> RateLog {
        RateLog { every, last: None, suppressed: 0 }
    }

    /// Logs `args` (a `tracing` warning) unless a line was logged within
    /// `every`; returns true when it printed.
    pub fn log(&mut self, args: std::fmt::Arguments<'_>) -> bool {
        let now = Instant::now();
        if self.last.is_some_and(|t| now.duration_since(t) < self.every) {
            self.suppressed += 1;
            return false;
        }
        if self.suppressed > 0 {
            tracing::warn!(suppressed = self.suppressed, "{args}");
        } else {
            tracing::warn!("{args}");
        }
        self.last = Some(now);
        self.suppressed = 0;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_line_within_the_period_is_suppressed() {
        let mut r = RateLog::new(Duration::from_secs(60));
        assert!(r.log(format_args!("first")));
        assert!(!r.log(format_args!("second")));
        assert_eq!(r.suppressed, 1);
    }
}
