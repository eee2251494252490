//! The latency benchmark harness behind `tickfill bench` (issue 6): it measures the
//! engine end to end over real loopback sockets, against the machine's floor and the
//! designs it replaces, and writes a report folder under `latency-reports/`. It lives in
//! its own package (`bench/`, executable `tickfill-bench`) and reaches the engine only
//! through the `tickfill` library's public API, so the engine carries no load generator.
//!
//! ```text
//!  upstream (open loop, intended send times)          REST client (place / re-place)
//!        | ws market_data                                   | http placeorder
//!        v                                                  v
//!  sequencer -> ring [exec -> mtm -> fanout -> journal] <- API server
//!                                    |
//!                                    v order_update
//!                              WS server -> WS client (wire-to-wire, fills)
//! ```
//!
//! - [`live`]: the engine with feed, REST and WebSocket; tick-to-fill and hops,
//!   wire-to-wire, REST round trips, CPU, the sustainable-rate search;
//! - [`upstream`]: the open-loop sender; [`loadgen`]: the same as a process of its own;
//! - [`null`]: the null engine (frames read and dropped): the load generator's floor;
//! - [`baselines`]: tungstenite echo, crossbeam-channel stages, polling;
//! - [`resources`]: CPU and memory counters, restart time;
//! - [`hist`]: `.hgrm` and SVG;
//! - [`run`]: the whole plan; [`report`]: the report folder and the index row.
//!
//! # Known limitations
//! Linux only (`/proc` for CPU and memory). The load generator, the clients and the
//! engine share the machine; on 2 cores they compete, which the report says
//! (`--loadgen process` moves the sender into a process of its own, still on the same
//! machine).

#![forbid(unsafe_code)]

pub mod baselines;
pub mod hist;
pub mod live;
pub mod loadgen;
pub mod null;
pub mod relay;
pub mod report;
pub mod resources;
pub mod run;
pub mod upstream;

use std::path::{Path, PathBuf};

/// A directory removed on drop (the harness's journals).
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// A fresh directory under the system temp dir, named for `what`.
    pub fn new(what: &str) -> std::io::Result<TempDir> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p =
            std::env::temp_dir().join(format!("tickfill-bench-{}-{what}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p)?;
        Ok(TempDir(p))
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
