//! The file-descriptor limit: raised at start to what the connection caps need.
//!
//! Every REST and WebSocket connection holds a descriptor; with the soft limit at the
//! common default of 1,024 the caps could never be reached, and accept would fail with
//! EMFILE instead of a clear 503 / 1013. [`raise_nofile`] lifts the soft limit towards
//! the need, up to the hard limit, and says when the hard limit is too low.

#![forbid(unsafe_code)]

use rustix::process::{Resource, getrlimit, setrlimit};

/// Descriptors beyond the connections: journal segments, snapshots, listeners, the
/// upstream feed, the simulator, the runtime's own.
pub const OVERHEAD: u64 = 256;

/// What [`raise_nofile`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoFile {
    /// The soft limit before.
    pub before: u64,
    /// The soft limit now.
    pub now: u64,
    /// The descriptors the caps need.
    pub needed: u64,
}

impl NoFile {
    /// A warning when the limit is below the need (the hard limit stopped the raise).
    pub fn shortfall(&self) -> Option<String> {
        (self.now < self.needed).then(|| {
            format!(
                "file descriptor limit {} is below the {} the connection caps need; lower \
                 --max-ws-connections / --max-http-connections or raise the hard limit \
                 (ulimit -Hn)",
                self.now, self.needed
            )
        })
    }
}

/// Raises the soft `RLIMIT_NOFILE` to `connections + OVERHEAD` (never lowers it, never
/// above the hard limit).
pub fn raise_nofile(connections: u64) -> NoFile {
    let needed = connections.saturating_add(OVERHEAD);
    let limit = getrlimit(Resource::Nofile);
    let before = limit.current.unwrap_or(u64::MAX);
    let hard = limit.maximum.unwrap_or(u64::MAX);
    let mut now = before;
    if before < needed {
        let target = needed.min(hard);
        let raised = setrlimit(
            Resource::Nofile,
            rustix::process::Rlimit { current: Some(target), maximum: limit.maximum },
        );
        if raised.is_ok() {
            now = target;
        }
    }
    NoFile { before, now, needed }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_covers_the_need_or_the_shortfall_is_named() {
        let r = raise_nofile(2_000);
        assert!(r.now >= r.before);
        let limit = getrlimit(Resource::Nofile);
        assert_eq!(limit.current.unwrap_or(u64::MAX), r.now);
        match r.shortfall() {
            None => assert!(r.now >= 2_256),
            Some(w) => assert!(w.contains("--max-ws-connections"), "{w}"),
        }
    }
}
