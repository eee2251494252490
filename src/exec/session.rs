//! Trading days: the calendar of boundaries (T+1 settlement at 00:00 IST, each exchange's
//! square-off cutoff and close, the session boundary, the scheduled funds reset) and the
//! catch-up that runs every boundary passed since the last event, in time order.
//!
//! ```text
//! event at t ──► t < next_ns ? ──yes──► nothing (one comparison on the hot path)
//!                     │ no
//!                     ▼
//!   for each IST day from day(cursor) to day(t): boundaries of the day sorted by
//!   (time, kind); run those with cursor < time <= t, stamped with the boundary's time
//!   cursor = t; next_ns = first boundary after t
//! ```
//!
//! # Invariants
//! - Every boundary with `time <= cursor_ns` has run exactly once; none after it has.
//!   Boundaries come only from event times (`header.time_ns`) and the configuration, so a
//!   replay or a restart after a night away runs the same boundaries in the same order.
//! - A fresh engine's first event only places the cursor (nothing to settle before it) and
//!   opens the session that contains it.
//! - `squared_minute[ex]` is the last absolute IST minute square-off ran on `ex`: the loop
//!   runs at most once a minute per exchange, from the cutoff until the day ends.
//!
//! # Known limitations
//! - A missed square-off during a gap runs at catch-up with the prices known then, stamped
//!   with the cutoff time.
//! - Weekends and exchange holidays are not special: every day has its boundaries.
//!
//! # Performance
//! An event that passes no boundary costs one comparison against the cached `next_ns`.
//! Running a boundary scans orders or positions once and lists the day's boundaries in a
//! small vector (about 20 entries): rare, and off the tick path's steady state. The
//! square-off loop scans orders once a minute per exchange after its cutoff.

use super::Exec;
use crate::clock::IST_OFFSET_SECS;
use crate::event::StageOutput;
use crate::types::Exchange;
use serde::{Deserialize, Serialize};

const NS_PER_MIN: i64 = 60_000_000_000;
const NS_PER_DAY: i64 = 1_440 * NS_PER_MIN;
const IST_NS: i64 = IST_OFFSET_SECS as i64 * 1_000_000_000;

/// One kind of boundary; the declaration order breaks ties at the same instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Boundary {
    /// MIS square-off at an exchange's cutoff.
    SquareOff(Exchange),
    /// F&O contracts of an exchange expiring today settle at its close.
    Expiry(Exchange),
    /// CNC positions from before today move into holdings (00:00 IST).
    Settle,
    /// A new session: the books restart, today's realized P&L resets.
    Session,
    /// The scheduled funds reset.
    FundsReset,
}

/// The calendar state kept in snapshots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Calendar {
    /// Every boundary at or before this time has run (`i64::MIN` before the first event).
    pub cursor_ns: i64,
    /// The first boundary after the cursor (cached: the hot path compares against it).
    pub next_ns: i64,
    /// Start of the current session, epoch ns.
    pub session_start_ns: i64,
    /// Last absolute IST minute square-off ran, per exchange.
    pub squared_minute: [i64; crate::types::Exchange::COUNT],
}

impl Default for Calendar {
    fn default() -> Self {
        Calendar {
            cursor_ns: i64::MIN,
            next_ns: i64::MIN,
            session_start_ns: i64::MIN,
            squared_minute: [i64::MIN; crate::types::Exchange::COUNT],
        }
    }
}

/// Epoch ns of IST midnight starting IST day `day`.
pub fn day_start_ns(day: i64) -> i64 {
    day.saturating_mul(NS_PER_DAY).saturating_sub(IST_NS)
}

/// IST day (days since 1970-01-01) of `t`.
pub(crate) fn day_of(t: i64) -> i64 {
    t.saturating_add(IST_NS).div_euclid(NS_PER_DAY)
}

/// Absolute IST minute of `t` (minutes since 1970-01-01 00:00 IST).
pub(crate) fn minute_abs(t: i64) -> i64 {
    t.saturating_add(IST_NS).div_euclid(NS_PER_MIN)
}

/// Weekday of an IST day, 0 = Monday (1970-01-01 was a Thursday).
pub(crate) fn weekday(day: i64) -> u8 {
    (day + 3).rem_euclid(7) as u8
}

impl Exec {
    /// The latest event time seen (every boundary up to it has run); `None` before the
    /// first event. A feed-driven clock resumes from it after a restart.
    pub fn event_time_ns(&self) -> Option<i64> {
        (self.calendar.cursor_ns != i64::MIN).then_some(self.calendar.cursor_ns)
    }

    /// The boundaries of IST day `day`, sorted by (time, kind).
    pub(crate) fn boundaries(&self, day: i64) -> Vec<(i64, Boundary)> {
        let base = day_start_ns(day);
        let at = |minute: u32| base + i64::from(minute) * NS_PER_MIN;
        let mut list =
            vec![(base, Boundary::Settle), (at(self.config.session_minute), Boundary::Session)];
        for ex in Exchange::ALL {
            if let Some(cut) = self.config.square_off(ex) {
                list.push((at(cut), Boundary::SquareOff(ex)));
            }
            if ex.is_derivative() {
                list.push((at(self.config.expiry_minute[ex.index()]), Boundary::Expiry(ex)));
            }
        }
        if let Some((wd, minute)) = self.config.funds_reset {
            if weekday(day) == wd {
                list.push((at(minute), Boundary::FundsReset));
            }
        }
        list.sort_unstable();
        list
    }

    /// The first boundary strictly after `t`.
    fn next_boundary(&self, t: i64) -> i64 {
        let day = day_of(t);
        (day..=day + 1)
            .flat_map(|d| self.boundaries(d))
            .map(|(bt, _)| bt)
            .find(|&bt| bt > t)
            .unwrap_or(i64::MAX)
    }

    /// Runs every boundary in (cursor, t], in order; one comparison when there is none.
    #[inline]
    pub(crate) fn catch_up(&mut self, t: i64, out: &mut StageOutput) {
        if t < self.calendar.next_ns {
            return;
        }
        self.catch_up_slow(t, out);
    }

    #[cold]
    fn catch_up_slow(&mut self, t: i64, out: &mut StageOutput) {
        let cal = &mut self.calendar;
        if cal.cursor_ns == i64::MIN {
            // First event ever: open the session that contains it.
            let today = day_start_ns(day_of(t));
            let boundary = today + i64::from(self.config.session_minute) * NS_PER_MIN;
            cal.session_start_ns = if t >= boundary { boundary } else { boundary - NS_PER_DAY };
        } else if t > cal.cursor_ns {
            for day in day_of(cal.cursor_ns)..=day_of(t) {
                for (bt, b) in self.boundaries(day) {
                    if bt > self.calendar.cursor_ns && bt <= t {
                        self.run_boundary(b, bt, out);
                    }
                }
            }
        }
        self.calendar.cursor_ns = self.calendar.cursor_ns.max(t);
        self.calendar.next_ns = self.next_boundary(self.calendar.cursor_ns);
    }

    fn run_boundary(&mut self, b: Boundary, t: i64, out: &mut StageOutput) {
        match b {
            Boundary::SquareOff(ex) => {
                self.calendar.squared_minute[ex.index()] = minute_abs(t);
                self.square_off(ex, t, out);
            }
            Boundary::Expiry(ex) => self.expire(ex, day_of(t), t, out),
            Boundary::Settle => self.settle_cnc(day_of(t), t, out),
            Boundary::Session => self.new_session(t, out),
            Boundary::FundsReset => {
                self.reset_funds(t, out);
            }
        }
    }

    /// A new session: orderbook and tradebook restart, today's realized P&L goes to 0.
    fn new_session(&mut self, t: i64, out: &mut StageOutput) {
        self.calendar.session_start_ns = t;
        self.funds.today_realized = crate::types::Money::ZERO;
        out.funds_changed = true;
        for (pi, p) in self.positions.iter_mut().enumerate() {
            if p.realized.0 != 0 {
                p.realized = crate::types::Money::ZERO;
                out.positions.push(p.change(pi as u32));
            }
        }
    }

    /// A timer: square off every exchange past its cutoff, at most once a minute, until
    /// the day ends (a close that failed is tried again the next minute).
    pub(crate) fn on_timer(&mut self, t: i64, out: &mut StageOutput) {
        if !self.gtts.is_empty() {
            self.expire_gtts(t, out);
        }
        let minute = minute_abs(t);
        let of_day = minute.rem_euclid(1_440);
        for ex in Exchange::ALL {
            let Some(cut) = self.config.square_off(ex) else { continue };
            if of_day < i64::from(cut) || self.calendar.squared_minute[ex.index()] >= minute {
                continue;
            }
            self.calendar.squared_minute[ex.index()] = minute;
            self.square_off(ex, t, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{ist_day, ist_minute_of_day, ist_to_epoch_ns};

    #[test]
    fn day_arithmetic_matches_the_clock() {
        // (y, m, d, h, min, weekday 0 = Monday)
        let rows = [
            (2026, 11, 26, 0, 0, 3),
            (2026, 11, 26, 2, 59, 3),
            (2026, 11, 29, 23, 59, 6),
            (2026, 11, 30, 0, 0, 0),
            (1970, 1, 1, 5, 30, 3),
        ];
        for (y, mo, d, h, mi, wd) in rows {
            let t = ist_to_epoch_ns(y, mo, d, h, mi);
            assert_eq!(day_of(t), ist_day(t), "{y}-{mo}-{d} {h}:{mi}");
            assert_eq!(minute_abs(t).rem_euclid(1_440), i64::from(ist_minute_of_day(t)));
            assert_eq!(day_start_ns(day_of(t)), ist_to_epoch_ns(y, mo, d, 0, 0));
            assert_eq!(weekday(day_of(t)), wd, "{y}-{mo}-{d}");
        }
    }
}
