//! The WebSocket feed server: OpenAlgo's protocol (OPENALGO.md section 1) for browsers and
//! SDK clients, on its own thread (mio + tungstenite, non-blocking).
//!
//! ```text
//!  TickStream (every subscribed tick) -------.            .-- client 1 (every tick,
//!  QuoteBoard (seqlock, version per symbol) --+-- ws thread --  order updates, replies)
//!  UpdateReader (after the journal) ----------'            '-- client N
//! ```
//!
//! The thread polls its sockets with a 1 ms timeout (10 ms with no client), and on every
//! turn: reads and answers client messages ([`client_protocol`]), hands out order updates the
//! journal has passed, streams every queued tick to each subscriber whose socket takes it,
//! then sends the board's latest quote to each subscription that fell behind ([`push`]).
//!
//! # Close codes
//!
//! | code | reason | when |
//! |---|---|---|
//! | 1001 | `server shutting down` | [`WsServer::shutdown`] |
//! | 1009 | `message too big` | a client message over `max_message_bytes` (64 KiB) |
//! | 4401 | `auth timeout` | not authenticated `auth_deadline` (15 s) after connecting |
//! | 4408 | `keepalive timeout` | nothing heard for `ping_interval` (20 s) after our ping |
//! | 4008 | `order updates overflow; resync from the orderbook` | more than `max_pending_updates` order updates waiting for a client that does not read, or order updates lost upstream (the engine's queue overflowed) |
//!
//! A client whose socket is not drained at all cannot receive a close frame; it is dropped
//! 2 s after the close was queued. A browser whose `Origin` is not allowed gets HTTP 403 at
//! the handshake; a connection without `Origin` (the SDKs) is allowed.
//!
//! # Invariants
//! - Every tick reaches a client that keeps up (as OpenAlgo delivers each tick). Market data
//!   is conflated only for a client whose socket is backing up: it is marked behind and
//!   later sent the board's latest quote, so a slow client gets the latest price and never
//!   a backlog, nothing waits on it, and no client sees a price older than one it was sent.
//! - Order updates are never dropped for a connected subscriber: they queue per client up
//!   to a bound, and a client that passes it is closed with 4008 (resync from the
//!   orderbook), as is every subscriber when the engine reports lost updates.
//! - Every subscription is registered with [`crate::interest::Interest`] while it lives,
//!   and released on unsubscribe or disconnect, so the upstream feed follows clients.
//!
//! # Known limitations
//! - Catch-up works on the board's latest quote, so a Depth subscriber of a symbol whose
//!   feed alternates depth and LTP ticks may see only the LTP ones (it is relabelled only
//!   downwards, never upwards).
//! - A congested client is offered its symbols in the same (hash) order every turn, so
//!   while it stays congested the symbols late in that order refresh less often.
//! - Lost order updates are detected from the engine's overflow count, which is global:
//!   every order subscriber is closed with 4008, not only those that missed something.
//! - No TLS (bind to loopback or put a proxy in front); no per-message compression.
//! - One thread serves every client; tens of thousands of connections would need sharding.
//!
//! # Performance
//! A quiet turn costs one atomic load per subscribed symbol per client. A changed quote
//! is serialized once per mode per version and shared by every client (the bytes are
//! reference counted), so fanning out to many clients costs one write per client.

#![forbid(unsafe_code)]

pub mod client_protocol;
mod conn;
pub mod origin;
pub mod push;
mod server;

use crate::auth::KeyStore;
use crate::engine::EngineHandle;
use crate::fanout::updates::UpdateReader;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Close codes the server sends (see the module docs).
pub mod close {
    /// The server is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// A message was larger than `max_message_bytes`.
    pub const TOO_BIG: u16 = 1009;
    /// Not authenticated in time.
    pub const AUTH_TIMEOUT: u16 = 4401;
    /// No answer to a keepalive ping.
    pub const KEEPALIVE_TIMEOUT: u16 = 4408;
    /// Order updates could not be delivered; the client must resync from the orderbook.
    pub const ORDER_OVERFLOW: u16 = 4008;
    /// Too many failed `authenticate`s (on this connection or from this address).
    pub const POLICY: u16 = 1008;
    /// The server is at its connection cap; try again later.
    pub const TRY_AGAIN_LATER: u16 = 1013;
}

/// Counters the server keeps, for health and metrics (all monotonic except `clients`).
#[derive(Debug, Default)]
pub struct WsStats {
    /// Connections open now (handshaking, serving or closing).
    pub clients: AtomicU64,
    /// Connections accepted since start.
    pub accepted: AtomicU64,
    /// Closed with 4401 (no authentication in time).
    pub auth_timeouts: AtomicU64,
    /// Closed with 4408 (keepalive ping not answered).
    pub keepalive_timeouts: AtomicU64,
    /// Closed with 1009 (message too big).
    pub oversize_closes: AtomicU64,
    /// Closed with 4008 (order updates could not be delivered).
    pub order_overflow_closes: AtomicU64,
    /// Refused at the handshake (bad origin or not a WebSocket request).
    pub handshake_failures: AtomicU64,
    /// `authenticate` with a wrong key.
    pub auth_failures: AtomicU64,
    /// Closed with 1008 (too many failed authentications).
    pub auth_refusals: AtomicU64,
    /// Closed with 1013, or dropped unanswered, at the connection cap.
    pub capacity_refusals: AtomicU64,
    /// Accepts that failed for want of file descriptors (EMFILE/ENFILE); each such
    /// connection was closed at once rather than left waiting.
    pub fd_exhausted: AtomicU64,
    /// Order updates handed to their subscribers by the thread that committed them
    /// ([`WsConfig::direct_updates`]) rather than by the server thread.
    pub direct_updates: AtomicU64,
}

impl WsStats {
    pub(crate) fn count_close(&self, code: u16) {
        let counter = match code {
            close::AUTH_TIMEOUT => &self.auth_timeouts,
            close::KEEPALIVE_TIMEOUT => &self.keepalive_timeouts,
            close::TOO_BIG => &self.oversize_closes,
            close::ORDER_OVERFLOW => &self.order_overflow_closes,
            close::POLICY => &self.auth_refusals,
            close::TRY_AGAIN_LATER => &self.capacity_refusals,
            _ => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// How the WebSocket server runs.
#[derive(Debug, Clone)]
pub struct WsConfig {
    /// Where to listen (port 0 picks a free port; see [`WsServer::local_addr`]).
    pub addr: SocketAddr,
    /// Browser origins allowed to connect: exact origins (`http://localhost:5173`), a port
    /// wildcard (`http://localhost:*`), or `*` for any. Connections without an `Origin`
    /// header (SDKs, scripts) are always allowed.
    pub allowed_origins: Vec<String>,
    /// Largest client message, bytes; larger closes with 1009.
    pub max_message_bytes: usize,
    /// Most (symbol, mode) subscriptions one connection may hold (`LIMIT_EXCEEDED` past it).
    pub max_subscriptions: usize,
    /// Time to authenticate after connecting; then close 4401.
    pub auth_deadline: Duration,
    /// Keepalive ping period; a peer silent this long after a ping is closed (4408).
    pub ping_interval: Duration,
    /// The `user_id` in replies and order updates.
    pub user_id: String,
    /// Order updates queued for one client before it is closed with 4008.
    pub max_pending_updates: usize,
    /// Failed `authenticate`s allowed per source address (checked before the key; then
    /// an error and close 1008 until the window ends).
    pub auth_guard: crate::auth::guard::GuardConfig,
    /// Failed `authenticate`s on one connection before it is closed with 1008.
    pub max_auth_failures_per_conn: u32,
    /// Connections served at once; more are closed with 1013 (try again later) once
    /// their handshake completes.
    pub max_connections: usize,
    /// The time the auth deadline, keepalive pings and close grace run on (a test
    /// advances a manual one; see [`crate::clock::Clock`]).
    pub clock: crate::clock::Clock,
    /// The thread that commits the journal (the engine's hot thread in `inline`) writes
    /// durable order updates to the subscribed sockets itself whenever the server thread
    /// is not mid-turn, instead of waking it: one thread wake-up less between a fill and
    /// the client (the default; chosen by the A/B in latency-reports, where a bounded
    /// spin of the server thread after each wake-up measured no better than none). When
    /// the server is mid-turn, or with `false`, the server thread is woken instead.
    pub direct_updates: bool,
}

impl Default for WsConfig {
    fn default() -> Self {
        WsConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 8765)),
            allowed_origins: origin::loopback_defaults(),
            max_message_bytes: 64 * 1024,
            max_subscriptions: 3000,
            auth_deadline: Duration::from_secs(15),
            ping_interval: Duration::from_secs(20),
            user_id: "sandbox".to_string(),
            max_pending_updates: 4096,
            auth_guard: crate::auth::guard::GuardConfig::default(),
            max_auth_failures_per_conn: 3,
            max_connections: 1024,
            clock: crate::clock::Clock::system(),
            direct_updates: true,
        }
    }
}

/// The running server: a listening socket and its thread.
#[derive(Debug)]
pub struct WsServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    waker: Arc<mio::Waker>,
    stats: Arc<WsStats>,
    thread: Option<JoinHandle<()>>,
}

impl WsServer {
    /// Binds `config.addr` and starts the server thread. It reads quotes from
    /// `engine.board`, registers subscriptions in `engine.interest`, hands out the order
    /// updates of `updates`, and checks keys with `keys`.
    pub fn start(
        config: WsConfig,
        engine: EngineHandle,
        updates: UpdateReader,
        keys: KeyStore,
    ) -> std::io::Result<WsServer> {
        let stop = Arc::new(AtomicBool::new(false));
        let server = server::Server::bind(config, engine, updates, keys, Arc::clone(&stop))?;
        let addr = server.local_addr()?;
        let waker = server.waker();
        let stats = server.stats();
        let thread =
            std::thread::Builder::new().name("tickfill-ws".into()).spawn(move || server.run())?;
        Ok(WsServer { addr, stop, waker, stats, thread: Some(thread) })
    }

    /// The bound address (the real port when started on port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's counters (shared; they keep moving while the server runs).
    pub fn stats(&self) -> Arc<WsStats> {
        Arc::clone(&self.stats)
    }

    /// Closes every client with 1001, waits briefly for the close handshakes, and joins
    /// the thread.
    pub fn shutdown(mut self) {
        self.stop_thread();
    }

    fn stop_thread(&mut self) {
        self.stop.store(true, Ordering::Release);
        let _ = self.waker.wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for WsServer {
    fn drop(&mut self) {
        self.stop_thread();
    }
}
