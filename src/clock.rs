//! Time, behind a seam: stages never read the wall clock, they read the event's time.
//!
//! The sequencer stamps every input event with wall time (epoch ns, journaled, so replay
//! sees the same time) and a monotonic receive time (latency measurement only). Indian
//! Standard Time is UTC+05:30 all year, so calendar conversions need no time-zone data.

#![forbid(unsafe_code)]

use chrono::{DateTime, Datelike, FixedOffset, Timelike};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// IST offset from UTC, in seconds.
pub const IST_OFFSET_SECS: i32 = 5 * 3600 + 30 * 60;

fn ist() -> FixedOffset {
    FixedOffset::east_opt(IST_OFFSET_SECS).expect("05:30 is a valid offset")
}

fn to_ist(time_ns: i64) -> DateTime<FixedOffset> {
    DateTime::from_timestamp_nanos(time_ns).with_timezone(&ist())
}

/// `YYMMDD` of the IST calendar day of `time_ns`, as a number (for order ids).
pub fn ist_yymmdd(time_ns: i64) -> u32 {
    let t = to_ist(time_ns);
    (t.year().rem_euclid(100) as u32) * 10_000 + t.month() * 100 + t.day()
}

/// Days since the epoch of the IST calendar day (to detect a new trading day).
pub fn ist_day(time_ns: i64) -> i64 {
    (time_ns.div_euclid(1_000_000_000) + i64::from(IST_OFFSET_SECS)).div_euclid(86_400)
}

/// Minutes since IST midnight.
pub fn ist_minute_of_day(time_ns: i64) -> u32 {
    let t = to_ist(time_ns);
    t.hour() * 60 + t.minute()
}

/// `YYYY-MM-DD HH:MM:SS` in IST, as OpenAlgo prints order and trade times.
pub fn format_ist(time_ns: i64) -> String {
    to_ist(time_ns).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Wall-clock now, epoch nanoseconds. Only the sequencer and edges call this.
pub fn wall_now_ns() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
}

/// How far ahead of the event clock a feed's time may be and still be followed: a
/// simulated clock may jump a year, a misread unit (microseconds taken for milliseconds)
/// lands thousands of years ahead and is ignored.
pub const MAX_FEED_JUMP_NS: i64 = 366 * 86_400 * 1_000_000_000;

/// The event clock of a feed whose times are trusted (`serve --event-clock feed`, the
/// default with the simulator): event time is wall time plus an offset that a tick
/// carrying a later exchange time (`ltt`) raises, so a simulator that jumps its clock
/// across midnight moves the engine's trading day with it, through the ticks, as a real
/// exchange feed's time would. Never goes backwards; after a restart it continues from
/// the last journaled event time.
///
/// # Invariants
/// - `stamp` is monotone: every event time is at or after the previous one.
/// - The offset only grows, and only from a tick's time (or the recovered floor).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventClock {
    offset_ns: i64,
    last_ns: i64,
}

impl EventClock {
    /// A clock that resumes at `floor_ns` (the last event time recovered from the journal,
    /// or `None` for a new data dir) when that is after `wall_ns`.
    pub fn new(floor_ns: Option<i64>, wall_ns: i64) -> EventClock {
        let floor = floor_ns.unwrap_or(i64::MIN);
        EventClock { offset_ns: floor.saturating_sub(wall_ns).max(0), last_ns: floor }
    }

    /// A tick's exchange time (epoch ms): a time ahead of the clock moves the clock there.
    #[inline]
    pub fn observe_feed_ms(&mut self, ltt_ms: i64, wall_ns: i64) {
        let feed_ns = ltt_ms.saturating_mul(1_000_000);
        let now = wall_ns.saturating_add(self.offset_ns);
        if feed_ns > now && feed_ns - now <= MAX_FEED_JUMP_NS {
            self.offset_ns = feed_ns - wall_ns;
        }
    }

    /// The event time of an input arriving at `wall_ns`.
    #[inline]
    pub fn stamp(&mut self, wall_ns: i64) -> i64 {
        let t = wall_ns.saturating_add(self.offset_ns).max(self.last_ns);
        self.last_ns = t;
        t
    }
}

fn start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

/// Monotonic nanoseconds since the first call in this process (for latency stamps).
#[inline]
pub fn mono_now_ns() -> u64 {
    start().elapsed().as_nanos() as u64
}

/// Monotonic time for the engine's time-driven logic (the watchdog's freshness checks,
/// startup wait and poll schedule; the sequencer's timer events and the feed-freshness
/// stamps it writes), behind a seam. Live it is [`mono_now_ns`]; a test builds a
/// [`Clock::manual`] and [`advances`](Clock::advance) it, so "stale after 30 s" is proved
/// by advancing 30 s, not by waiting them.
///
/// # Known limitations
/// Waiting threads look at a manual clock every [`Clock::MANUAL_SLICE`] of real time (it
/// can jump at any moment); sockets' own timeouts (REST requests, reconnect backoff in the
/// feed, the WebSocket server's deadlines) are still real time.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    manual: Option<Arc<AtomicU64>>,
}

impl Clock {
    /// How often a thread waiting on a manual clock looks at it again (real time).
    pub const MANUAL_SLICE: Duration = Duration::from_millis(2);

    /// The process's monotonic clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock that stands still until [`Clock::advance`]d; it starts at 1 s (0 means
    /// "never" in the stamps it is compared with).
    pub fn manual() -> Clock {
        Clock { manual: Some(Arc::new(AtomicU64::new(1_000_000_000))) }
    }

    /// True for a manual clock.
    pub fn is_manual(&self) -> bool {
        self.manual.is_some()
    }

    /// Now, in monotonic nanoseconds.
    #[inline]
    pub fn now_ns(&self) -> u64 {
        match &self.manual {
            None => mono_now_ns(),
            Some(t) => t.load(Ordering::Acquire),
        }
    }

    /// Moves a manual clock forward by `by`.
    ///
    /// # Panics
    /// On the system clock (a test bug: only a manual clock can be advanced).
    pub fn advance(&self, by: Duration) {
        let t = self.manual.as_ref().expect("only a manual clock can be advanced");
        t.fetch_add(u64::try_from(by.as_nanos()).unwrap_or(u64::MAX), Ordering::AcqRel);
    }

    /// Now as an [`Instant`], for code that keeps `Instant` deadlines (the WebSocket
    /// server): the process's first clock read plus [`Clock::now_ns`]. Live this is
    /// `Instant::now()`; on a manual clock it moves only when advanced.
    pub fn instant(&self) -> Instant {
        start() + Duration::from_nanos(self.now_ns())
    }

    /// How long a thread waiting for `until_ns` blocks before looking again: the time
    /// left on the system clock; at most [`Clock::MANUAL_SLICE`] on a manual one.
    pub fn wait_for(&self, until_ns: u64) -> Duration {
        let left = Duration::from_nanos(until_ns.saturating_sub(self.now_ns()));
        if self.is_manual() { left.min(Self::MANUAL_SLICE) } else { left }
    }
}

/// Builds epoch ns for an IST wall time, for tests and timers.
pub fn ist_to_epoch_ns(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> i64 {
    use chrono::TimeZone;
    ist()
        .with_ymd_and_hms(year, month, day, hour, minute, 0)
        .single()
        .and_then(|t| t.timestamp_nanos_opt())
        .expect("a valid IST date")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_clock_follows_the_feed_forward_only() {
        let wall = ist_to_epoch_ns(2026, 11, 30, 14, 0);
        let mut c = EventClock::new(None, wall);
        assert_eq!(c.stamp(wall), wall);
        // An ordinary tick (exchange time just behind) changes nothing.
        c.observe_feed_ms(wall / 1_000_000 - 5, wall);
        assert_eq!(c.stamp(wall + 1), wall + 1);
        // A feed that jumps to 00:05 tomorrow takes the clock there, and time runs on.
        let jump = ist_to_epoch_ns(2026, 12, 1, 0, 5);
        c.observe_feed_ms(jump / 1_000_000, wall + 2);
        assert_eq!(c.stamp(wall + 2), jump);
        assert_eq!(c.stamp(wall + 1_000), jump + 998);
        // A wall clock that steps back never takes the event time back.
        assert_eq!(c.stamp(wall - 1_000_000), jump + 998);
        // A misread unit (microseconds as milliseconds) is ignored.
        c.observe_feed_ms(jump / 1_000, wall + 2_000);
        assert_eq!(c.stamp(wall + 2_000), jump + 1_998);
        // A restart resumes from the journal's last time, a day ahead of the wall.
        let mut r = EventClock::new(Some(jump), wall);
        assert_eq!(r.stamp(wall + 10), jump + 10);
        // A journal behind the wall clock is simply wall time.
        let mut w = EventClock::new(Some(wall - 50), wall);
        assert_eq!(w.stamp(wall), wall);
    }

    #[test]
    fn a_manual_clock_moves_only_when_advanced_and_clones_share_it() {
        let c = Clock::manual();
        let t0 = c.now_ns();
        let other = c.clone();
        assert_eq!(c.now_ns(), t0);
        other.advance(Duration::from_secs(30));
        assert_eq!(c.now_ns(), t0 + 30_000_000_000);
        assert_eq!(c.wait_for(t0), Duration::ZERO);
        assert_eq!(c.wait_for(c.now_ns() + 10_000_000_000), Clock::MANUAL_SLICE);
        let live = Clock::system();
        assert!(live.wait_for(live.now_ns() + 1_000_000_000) > Clock::MANUAL_SLICE);
    }

    #[test]
    fn ist_conversions() {
        let t = ist_to_epoch_ns(2026, 11, 26, 9, 15);
        assert_eq!(ist_yymmdd(t), 261126);
        assert_eq!(ist_minute_of_day(t), 9 * 60 + 15);
        assert_eq!(format_ist(t), "2026-11-26 09:15:00");
        // 23:59 IST on the 26th is still the 26th, 00:01 is the 27th.
        let late = ist_to_epoch_ns(2026, 11, 26, 23, 59);
        let next = ist_to_epoch_ns(2026, 11, 27, 0, 1);
        assert_eq!(ist_day(next) - ist_day(late), 1);
    }
}
