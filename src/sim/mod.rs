//! The simulated broker: a loopback server that speaks OpenAlgo's WebSocket feed protocol
//! and serves REST `quotes`, `multiquotes` and `depth`, so the engine's real socket path
//! runs with no broker account (DESIGN.md "Feeds and fallback").
//!
//! ```text
//!   SimServer::start(SimConfig)
//!     |-- ws thread (ws.rs): one mio Poll over the listener, every client and a Waker;
//!     |     sessions (session.rs) answer auth/subscribe/unsubscribe/ping;
//!     |     the pacer (pacer.rs) steps the walk once per 1 ms over subscribed symbols and
//!     |     writes market_data frames (openalgo_wire::market_data) in each subscriber's mode
//!     |-- rest thread (rest.rs): axum on a current-thread tokio runtime:
//!     |     /api/v1/{quotes,multiquotes,depth}, /sim/control, /sim/status
//!     |-- the clock (state.rs): wall time plus an offset `set_clock` moves forward; every
//!     |     tick's `ltt` and `timestamp` carry it, so an engine that follows its feed's
//!     |     clock (`serve --event-clock feed`, the default with the simulator) lives the
//!     |     simulated time: sessions roll over, CNC settles, contracts expire
//!     `-- shared (state.rs): the RandomWalk behind a mutex, flags and counters
//! ```
//!
//! # Invariants
//! - A symbol's price path depends only on the seed and how many steps that symbol has
//!   taken ([`walk::RandomWalk::step`]), so a seeded run is reproducible per symbol
//!   whatever else is subscribed.
//! - A client never sees a frame for a symbol it has not subscribed to, and gets one frame
//!   per mode it subscribed with (a Depth tick relabelled for LTP and Quote subscribers).
//! - Bad client input gets an error reply naming the field; nothing a client sends panics
//!   the server. Messages and bodies over 64 KiB are refused.
//!
//! # Known limitations
//! - Every tick carries the full Depth state; the walk has no order book behind it (the
//!   spread is one tick, the 5 levels are evenly spaced with fixed quantities).
//! - A client that reads slower than the rate loses frames once its 8 MiB write buffer is
//!   full (counted in `frames_dropped`), like a real feed that sheds load.
//! - No order updates: `subscribe_orders` is acknowledged and then silent.
//!
//! # Performance
//! One thread encodes and writes every frame: each tick is encoded at most once per mode
//! and the bytes are shared by all its subscribers; writes are batched per 1 ms step (one
//! flush per client per step). When the thread falls more than 100 ms behind, the excess
//! ticks are skipped rather than queued. `tests/sim_throughput.rs` prints what one client
//! receives: in a release build on the shared 2-core development machine (load average
//! about 12 during the run), 147,000 Quote frames/s of 1,000,000 configured over 100
//! symbols, with the client and server on the same two cores; an idle machine does better.

#![forbid(unsafe_code)]

mod pacer;
mod rest;
pub mod session;
mod state;
pub mod subs;
pub mod universe;
pub mod walk;
mod ws;

use crate::instruments::InstrumentMaster;
use crate::types::{Exchange, Price};
use serde::Serialize;
use state::Shared;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use thiserror::Error;

/// Default WebSocket address of the simulator.
pub const DEFAULT_WS_ADDR: &str = "127.0.0.1:8766";
/// Default REST address of the simulator.
pub const DEFAULT_REST_ADDR: &str = "127.0.0.1:5001";
/// Default API key upstream clients must authenticate with.
pub const DEFAULT_API_KEY: &str = "sim-key";
/// The highest total rate the simulator accepts, in ticks per second.
pub const MAX_RATE: u64 = 1_000_000;

/// How to run the simulator.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// WebSocket feed address (port 0 picks a free port).
    pub ws_addr: SocketAddr,
    /// REST address (port 0 picks a free port).
    pub rest_addr: SocketAddr,
    /// The key clients must authenticate with, on WebSocket and REST.
    pub api_key: String,
    /// Random-walk seed.
    pub seed: u64,
    /// Symbol count: 0 (or at most the master's size) serves the master as it is; more adds
    /// synthetic NSE equities `SIMnnnnn` up to [`universe::MAX_SYMBOLS`].
    pub symbols: usize,
    /// Total ticks per second over all subscribed symbols, up to [`MAX_RATE`] (more is
    /// capped there); 0 sends nothing but still answers requests and quotes.
    pub rate: u64,
    /// The instrument master to walk.
    pub instruments: Arc<InstrumentMaster>,
    /// Start paused (no price moves, nothing sent) until a `resume`.
    pub paused: bool,
    /// Start muted (prices move, no market data sent) until a `resume`.
    pub muted: bool,
    /// Who may use `POST /sim/control`: with `Some`, a key these accept (`tickfill serve`
    /// passes the engine's, so the operator's key drives the simulator); with `None`,
    /// `api_key`. Either way the body's `apikey` must be right (400 missing, 403 wrong).
    pub control_keys: Option<crate::auth::KeyStore>,
}

impl SimConfig {
    /// The defaults over `instruments`: default addresses and key, seed 42, the master's
    /// symbols, 10,000 ticks/s, running.
    pub fn new(instruments: Arc<InstrumentMaster>) -> SimConfig {
        SimConfig {
            ws_addr: DEFAULT_WS_ADDR.parse().expect("a valid constant address"),
            rest_addr: DEFAULT_REST_ADDR.parse().expect("a valid constant address"),
            api_key: DEFAULT_API_KEY.to_string(),
            seed: 42,
            symbols: 0,
            rate: 10_000,
            instruments,
            paused: false,
            muted: false,
            control_keys: None,
        }
    }

    /// Both servers on free loopback ports (for tests).
    pub fn loopback(instruments: Arc<InstrumentMaster>) -> SimConfig {
        let any: SocketAddr = "127.0.0.1:0".parse().expect("a valid constant address");
        SimConfig { ws_addr: any, rest_addr: any, ..SimConfig::new(instruments) }
    }
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig::new(Arc::new(InstrumentMaster::default_universe()))
    }
}

/// A control action, from [`SimServer::control`] or `POST /sim/control`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Stop moving prices and stop sending market data.
    Pause,
    /// Keep moving prices and keep connections open, but send no market data
    /// (replies to requests and REST quotes still answer).
    Mute,
    /// Undo pause and mute.
    Resume,
    /// Move one symbol's price; subscribers get a frame with it at once (when paused or
    /// muted, at the resume), the walk continues from it, and the day high/low widen to
    /// include it.
    SetPrice {
        /// Exchange.
        exchange: Exchange,
        /// Symbol.
        symbol: String,
        /// The new last price (rounded to the symbol's tick size).
        ltp: Price,
    },
    /// Scale the depth sizes of one symbol (or, with `symbol` `None`, every symbol) by
    /// `factor`: 1.0 is the normal book, 0.05 a thin one where a market order walks
    /// several levels. Applies from the next tick; at least one lot a level stays.
    Liquidity {
        /// Exchange and symbol, or `None` for every symbol.
        symbol: Option<(Exchange, String)>,
        /// The factor, in (0, 100]; kept as millionths so it compares exactly.
        factor_ppm: i64,
    },
    /// Move the simulator's clock forward to `epoch_ms`; time then runs on from there.
    /// Every later tick carries it (`ltt`, `timestamp`), like an exchange feed's time.
    SetClock {
        /// The new time, epoch milliseconds (not before the clock's current time).
        epoch_ms: i64,
    },
}

/// Why a control action was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ControlError {
    /// The symbol is not in the simulator's universe (or has no reference price to walk):
    /// use one the instrument master lists with a `prev_close`.
    #[error("{0}")]
    UnknownSymbol(String),
    /// The liquidity factor is out of range: give a number above 0 and at most 100.
    #[error("factor must be a number above 0 and at most 100, got {0}")]
    BadFactor(String),
    /// The price is not positive: give an `ltp` above zero.
    #[error("ltp must be a positive price, got {0}")]
    BadPrice(Price),
    /// The clock only moves forward (an engine never takes time back): give a later time.
    #[error(
        "the clock only moves forward: {asked_ms} ms is before the simulator's time {now_ms} ms"
    )]
    ClockBackwards {
        /// The time asked for, epoch ms.
        asked_ms: i64,
        /// The simulator's time then, epoch ms.
        now_ms: i64,
    },
}

/// What `GET /sim/status` reports.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SimStatus {
    /// Paused: no price moves, nothing sent.
    pub paused: bool,
    /// Muted: prices move, no market data sent.
    pub muted: bool,
    /// Open WebSocket connections.
    pub clients: usize,
    /// Symbols with at least one subscriber.
    pub subscribed_symbols: usize,
    /// Symbols the walk can serve.
    pub symbols: usize,
    /// Configured total ticks per second.
    pub rate: u64,
    /// Walk steps taken.
    pub ticks_generated: u64,
    /// `market_data` frames queued to clients.
    pub ticks_sent: u64,
    /// Frames dropped because a client's write buffer was full.
    pub frames_dropped: u64,
    /// The simulator's clock, `YYYY-MM-DD HH:MM:SS` IST.
    pub clock: String,
    /// How far the clock is ahead of the wall clock, ms.
    pub clock_offset_ms: i64,
}

/// A running simulator; [`SimServer::stop`] or dropping it shuts it down.
#[derive(Debug)]
pub struct SimServer {
    shared: Arc<Shared>,
    ws_addr: SocketAddr,
    rest_addr: SocketAddr,
    ws_thread: Option<JoinHandle<()>>,
    rest: Option<rest::RestServer>,
}

impl SimServer {
    /// Binds both listeners and starts the WebSocket and REST threads.
    ///
    /// # Errors
    /// Binding either address fails (in use, not local), or `symbols` asks for a universe
    /// that cannot be built.
    pub fn start(config: SimConfig) -> std::io::Result<SimServer> {
        let instruments = match universe::with_synthetic(&config.instruments, config.symbols) {
            Ok(Some(wide)) => Arc::new(wide),
            Ok(None) => Arc::clone(&config.instruments),
            Err(e) => return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, e)),
        };
        let (ws, shared) = ws::WsServer::bind(config.ws_addr, instruments, &config)?;
        let ws_addr = ws.local_addr();
        let rest = rest::RestServer::start(config.rest_addr, Arc::clone(&shared))?;
        let rest_addr = rest.local_addr();
        let ws_thread =
            std::thread::Builder::new().name("sim-ws".into()).spawn(move || ws.run())?;
        Ok(SimServer { shared, ws_addr, rest_addr, ws_thread: Some(ws_thread), rest: Some(rest) })
    }

    /// The WebSocket address actually bound.
    pub fn ws_addr(&self) -> SocketAddr {
        self.ws_addr
    }

    /// The REST address actually bound.
    pub fn rest_addr(&self) -> SocketAddr {
        self.rest_addr
    }

    /// The universe served (the master, widened when `symbols` asked for more).
    pub fn instruments(&self) -> &Arc<InstrumentMaster> {
        &self.shared.instruments
    }

    /// Applies a control action.
    ///
    /// # Errors
    /// [`ControlError`] for an unknown symbol or a non-positive price.
    pub fn control(&self, control: Control) -> Result<(), ControlError> {
        self.shared.control(control)
    }

    /// Flags and counters.
    pub fn status(&self) -> SimStatus {
        self.shared.status()
    }

    /// Stops both servers, closes every connection and joins the threads (dropping the
    /// handle does the same).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.shared.request_stop();
        if let Some(t) = self.ws_thread.take() {
            let _ = t.join();
        }
        if let Some(r) = self.rest.take() {
            r.stop();
        }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}
