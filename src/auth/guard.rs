//! Failed-authentication limits per source address, applied before the key is checked.
//!
//! Each address may fail `max_failures` times within a `window`; after that every request
//! from it is refused (429 on REST, an error and a close on the WebSocket) until the window
//! that began with its first failure ends, whatever key it presents, so a right guess is
//! throttled like a wrong one. The first refusal in a window is logged once to stderr.
//!
//! # Invariants
//! - [`AuthGuard::check`] is called before the key check; [`AuthGuard::fail`] after a wrong
//!   key. A missing key is not a guess and is not counted.
//! - Time comes from the caller (`now`), so tests advance it instead of sleeping.
//!
//! # Known limitations
//! - At most [`MAX_TRACKED`] addresses are tracked; past that (after expired entries are
//!   dropped) every new address shares one entry, so a spread-out attack throttles all
//!   new addresses together rather than growing memory.

#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many addresses are tracked individually.
pub const MAX_TRACKED: usize = 10_000;

/// The limit: `max_failures` failed authentications per address per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardConfig {
    /// Failures allowed per window; 0 turns the guard off.
    pub max_failures: u32,
    /// The window, from the first failure.
    pub window: Duration,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig { max_failures: 10, window: Duration::from_secs(60) }
    }
}

#[derive(Debug)]
struct Entry {
    since: Instant,
    failures: u32,
    logged: bool,
}

/// The per-address failure counts.
#[derive(Debug)]
pub struct AuthGuard {
    config: GuardConfig,
    what: &'static str,
    entries: Mutex<HashMap<IpAddr, Entry>>,
}

/// Shared entry for addresses beyond [`MAX_TRACKED`].
const OVERFLOW: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

impl AuthGuard {
    /// A guard for the server named `what` (used in the log line).
    pub fn new(config: GuardConfig, what: &'static str) -> AuthGuard {
        AuthGuard { config, what, entries: Mutex::new(HashMap::new()) }
    }

    /// `Err(retry_after)` when `ip` has used up its failures for the current window.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        if self.config.max_failures == 0 {
            return Ok(());
        }
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let key = if map.contains_key(&ip) { ip } else { OVERFLOW };
        let Some(e) = map.get_mut(&key) else { return Ok(()) };
        let end = e.since + self.config.window;
        if now >= end {
            map.remove(&key);
            return Ok(());
        }
        if e.failures < self.config.max_failures {
            return Ok(());
        }
        if !e.logged {
            e.logged = true;
            tracing::warn!(
                surface = self.what,
                failures = e.failures,
                source = %if key == OVERFLOW { "many addresses".to_owned() } else { ip.to_string() },
                window_s = self.config.window.as_secs(),
                refused_for_s = (end - now).as_secs().max(1),
                "auth: too many failed authentications from one source; refusing it"
            );
        }
        Err(end - now)
    }

    /// Counts a failed authentication from `ip`.
    pub fn fail(&self, ip: IpAddr, now: Instant) {
        if self.config.max_failures == 0 {
            return;
        }
        let window = self.config.window;
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if !map.contains_key(&ip) && map.len() >= MAX_TRACKED {
            map.retain(|_, e| now < e.since + window);
        }
        let key = if map.contains_key(&ip) || map.len() < MAX_TRACKED { ip } else { OVERFLOW };
        let e = map.entry(key).or_insert(Entry { since: now, failures: 0, logged: false });
        if now >= e.since + window {
            *e = Entry { since: now, failures: 0, logged: false };
        }
        e.failures = e.failures.saturating_add(1);
    }
}

/// Seconds to tell a client to wait (rounded up, at least 1).
pub fn retry_after_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, n))
    }

    #[test]
    fn an_address_is_refused_after_its_failures_until_the_window_ends() {
        let g =
            AuthGuard::new(GuardConfig { max_failures: 3, window: Duration::from_secs(60) }, "t");
        let t0 = Instant::now();
        for i in 0..3 {
            assert!(g.check(ip(1), t0).is_ok(), "failure {i}");
            g.fail(ip(1), t0);
        }
        let wait = g.check(ip(1), t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(retry_after_secs(wait), 50);
        // Another address is not affected.
        assert!(g.check(ip(2), t0).is_ok());
        // The window ends 60 s after the first failure.
        assert!(g.check(ip(1), t0 + Duration::from_secs(60)).is_ok());
        g.fail(ip(1), t0 + Duration::from_secs(61));
        assert!(g.check(ip(1), t0 + Duration::from_secs(61)).is_ok());
    }

    #[test]
    fn zero_turns_it_off_and_many_addresses_share_one_entry() {
        let off =
            AuthGuard::new(GuardConfig { max_failures: 0, window: Duration::from_secs(1) }, "t");
        let t0 = Instant::now();
        for _ in 0..100 {
            off.fail(ip(1), t0);
        }
        assert!(off.check(ip(1), t0).is_ok());
        let g =
            AuthGuard::new(GuardConfig { max_failures: 2, window: Duration::from_secs(60) }, "t");
        for i in 0..MAX_TRACKED {
            g.fail(IpAddr::V6(std::net::Ipv6Addr::from(i as u128 + 1)), t0);
        }
        assert_eq!(g.entries.lock().unwrap().len(), MAX_TRACKED);
        g.fail(ip(9), t0);
        g.fail(ip(8), t0);
        assert!(g.check(ip(7), t0).is_err(), "the shared entry is used up");
        assert!(g.entries.lock().unwrap().len() <= MAX_TRACKED + 1);
    }
}
