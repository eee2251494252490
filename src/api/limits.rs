//! Rate limits: token buckets, one per class of request.
//!
//! The engine has one API key, so "per key" is one set of buckets: orders (state-changing
//! endpoints) and everything else. Requests that fail before the key is known to be right
//! (wrong or missing key, unreadable body) share a third bucket, so guessing keys is
//! slowed to the same pace without letting a guesser starve the real key's buckets.

#![forbid(unsafe_code)]

use std::sync::Mutex;
use std::time::Instant;

/// Which bucket a request draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// placeorder, placesmartorder, modifyorder, cancelorder, cancelallorder, closeposition.
    Order,
    /// Every other authenticated request.
    Other,
    /// Requests not (yet) authenticated: wrong key, no key, unreadable body.
    Unauthenticated,
}

/// A token bucket: `rate` tokens a second, holding at most `rate` (one second of burst).
/// A rate of 0 means unlimited.
#[derive(Debug)]
pub struct Bucket {
    rate: f64,
    state: Mutex<(f64, Instant)>,
}

impl Bucket {
    /// A full bucket.
    pub fn new(rate_per_sec: u32) -> Bucket {
        let rate = f64::from(rate_per_sec);
        Bucket { rate, state: Mutex::new((rate, Instant::now())) }
    }

    /// Takes one token if there is one.
    pub fn try_take(&self) -> bool {
        self.try_take_at(Instant::now())
    }

    fn try_take_at(&self, now: Instant) -> bool {
        if self.rate == 0.0 {
            return true;
        }
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let elapsed = now.saturating_duration_since(s.1).as_secs_f64();
        s.0 = (s.0 + elapsed * self.rate).min(self.rate);
        s.1 = now;
        if s.0 >= 1.0 {
            s.0 -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The three buckets.
#[derive(Debug)]
pub struct Limits {
    orders: Bucket,
    other: Bucket,
    unauthenticated: Bucket,
}

impl Limits {
    /// Orders and others at their rates; unauthenticated requests at the others' rate.
    pub fn new(order_rate: u32, other_rate: u32) -> Limits {
        Limits {
            orders: Bucket::new(order_rate),
            other: Bucket::new(other_rate),
            unauthenticated: Bucket::new(other_rate),
        }
    }

    /// True when the request may proceed.
    pub fn allow(&self, class: Class) -> bool {
        match class {
            Class::Order => self.orders.try_take(),
            Class::Other => self.other.try_take(),
            Class::Unauthenticated => self.unauthenticated.try_take(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_allows_a_burst_then_refills_at_the_rate() {
        let b = Bucket::new(10);
        let t0 = Instant::now();
        assert_eq!((0..20).filter(|_| b.try_take_at(t0)).count(), 10);
        assert!(!b.try_take_at(t0 + Duration::from_millis(50)));
        assert!(b.try_take_at(t0 + Duration::from_millis(150)));
        assert!(!b.try_take_at(t0 + Duration::from_millis(150)));
        // Never more than one second's burst, however long idle.
        let later = t0 + Duration::from_secs(100);
        assert_eq!((0..20).filter(|_| b.try_take_at(later)).count(), 10);
    }

    #[test]
    fn zero_rate_is_unlimited() {
        let l = Limits::new(0, 0);
        assert!((0..1000).all(|_| l.allow(Class::Order)));
    }
}
