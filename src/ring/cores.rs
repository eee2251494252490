//! Which core runs what: the hot thread alone on its core, everything else on the
//! housekeeping cores (DESIGN.md, "Threads and topology").
//!
//! On a small machine the hot path loses most of its time not to work but to the
//! scheduler: a REST worker, the WebSocket server or the load generator made runnable on
//! the hot thread's core takes a slice of up to 4 ms (HZ=250, no kernel preemption on the
//! development VM). Pinning the hot thread and confining every other thread elsewhere
//! removes that competition.
//!
//! The mechanism is inheritance: [`confine_current`] restricts the calling thread, and
//! every thread it starts afterwards (tokio workers, the WebSocket server, the watchdog)
//! inherits the restriction; the hot thread then [`pin_current`]s itself to its core.
//!
//! # Known limitations
//! Threads started before [`confine_current`] keep their affinity; call it first thing
//! (`tickfill serve` and `tickfill bench` do).

#![forbid(unsafe_code)]

/// Fewest allowed cores for a default layout. On the shared 2-core development VM
/// (other tenants compiling, load average 8-10) every layout measured worse than none:
/// confining the load generator, REST and WebSocket threads to one core starved them
/// (sender lag 38 ms, echo p99 2.3 ms), and a hard-pinned hot thread queued behind other
/// tenants on its core (tick-to-fill p50 200 us against 4 us unpinned). With four or
/// more cores the housekeeping side has room; on two, pass `--cores` deliberately.
pub const DEFAULT_MIN_CORES: usize = 4;

/// The hot core and the housekeeping cores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreLayout {
    /// The core the hot (sequencer) thread is pinned to, alone.
    pub hot: usize,
    /// Cores every other thread is confined to (never empty).
    pub housekeeping: Vec<usize>,
    /// Whether the hot thread is pinned to `hot` alone. When false it may run on any
    /// allowed core: the other threads of the process stay off `hot`, so the scheduler
    /// keeps it there, but it can move when another process (a compiler on a shared VM)
    /// takes that core. Measured on the shared 2-core VM: a hard pin there turned a
    /// 4 us tick-to-fill p50 into 200 us, as the pinned thread queued behind other
    /// tenants on its one core. On a dedicated host pass `--cores` to pin.
    pub pin_hot: bool,
}

impl CoreLayout {
    /// The cores the hot thread may run on.
    pub fn hot_cores(&self) -> Vec<usize> {
        if self.pin_hot { vec![self.hot] } else { allowed() }
    }
}

/// Cores this process may run on (from `sched_getaffinity`), ascending.
pub fn allowed() -> Vec<usize> {
    match rustix::thread::sched_getaffinity(None) {
        Ok(set) => (0..rustix::thread::CpuSet::MAX_CPU).filter(|&c| set.is_set(c)).collect(),
        Err(_) => {
            let n = std::thread::available_parallelism().map_or(1, |n| n.get());
            (0..n).collect()
        }
    }
}

impl CoreLayout {
    /// The layout for `--cores`: `HOT[,HOUSEKEEPING...]`, hot thread pinned. Empty: with
    /// [`DEFAULT_MIN_CORES`] or more allowed cores the last one is hot and the others
    /// housekeep, the hot thread not hard-pinned (see [`CoreLayout::pin_hot`]); with fewer
    /// there is no layout. A hot core alone gets every other allowed core as
    /// housekeeping. The error names the fix.
    pub fn from_cores(cores: &[usize]) -> Result<Option<CoreLayout>, String> {
        let allowed = allowed();
        for c in cores {
            if !allowed.contains(c) {
                return Err(format!("--cores: core {c} is not available (allowed: {allowed:?})"));
            }
        }
        let (hot, housekeeping) = match cores {
            [] if allowed.len() < DEFAULT_MIN_CORES => return Ok(None),
            [] => {
                let (hot, rest) = allowed.split_last().expect("two or more cores");
                (*hot, rest.to_vec())
            }
            [hot] => (*hot, allowed.iter().copied().filter(|c| c != hot).collect()),
            [hot, rest @ ..] => (*hot, rest.to_vec()),
        };
        if housekeeping.is_empty() || housekeeping.contains(&hot) {
            return Err(format!(
                "--cores: the hot core {hot} needs at least one other core for the rest \
                 (e.g. --cores {hot},{})",
                if hot == 0 { 1 } else { 0 }
            ));
        }
        Ok(Some(CoreLayout { hot, housekeeping, pin_hot: !cores.is_empty() }))
    }
}

/// Restricts the calling thread (and the threads it starts from now on) to `cores`.
/// Returns false (and changes nothing) when the kernel refuses.
pub fn confine_current(cores: &[usize]) -> bool {
    let mut set = rustix::thread::CpuSet::new();
    for &c in cores {
        set.set(c);
    }
    rustix::thread::sched_setaffinity(None, &set).is_ok()
}

/// Pins the calling thread to `core`; logs and carries on unpinned when refused.
pub fn pin_current(core: usize, what: &str) {
    if !confine_current(&[core]) {
        tracing::warn!(thread = what, core, "cores: could not pin a thread; running unpinned");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        let allowed = allowed();
        assert!(!allowed.is_empty());
        if allowed.len() >= DEFAULT_MIN_CORES {
            let l = CoreLayout::from_cores(&[]).unwrap().unwrap();
            assert_eq!(l.hot, *allowed.last().unwrap());
            assert!(!l.housekeeping.contains(&l.hot));
            assert!(!l.pin_hot);
        }
        if allowed.len() >= 2 {
            let l = CoreLayout::from_cores(&[allowed[0]]).unwrap().unwrap();
            assert_eq!(l.hot, allowed[0]);
            assert_eq!(l.housekeeping.len(), allowed.len() - 1);
        }
        assert!(CoreLayout::from_cores(&[100_000]).is_err());
        assert!(CoreLayout::from_cores(&[allowed[0], allowed[0]]).is_err());
    }
}
