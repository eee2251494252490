//! The server thread: one mio loop over the listener and every client.
//!
//! Each turn: wait for readiness (1 ms, or 10 ms with no client; a `Waker` cuts it short
//! for shutdown and when the journal has made order updates durable), accept, read and
//! answer, hand out order updates, stream every tick to the subscribers that keep up,
//! send the latest quote to those that fell behind (conflation), run the deadlines,
//! flush, and drop dead connections (releasing their interest).

#![forbid(unsafe_code)]

use super::conn::{CLOSE_GRACE, Conn, Ctx};
use super::origin::OriginCheck;
use super::push::{self, FrameCache};
use super::{WsConfig, WsStats, close};
use crate::auth::KeyStore;
use crate::clock::wall_now_ns;
use crate::engine::EngineHandle;
use crate::fanout::ticks::TickStream;
use crate::fanout::updates::{Next, UpdateReader};
use crate::health::Health;
use mio::net::TcpListener;
use mio::{Events, Interest as Ready, Poll, Token, Waker};
use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tungstenite::Utf8Bytes;
use tungstenite::protocol::WebSocketConfig;

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
const FIRST_CLIENT: usize = 2;
const BUSY_TIMEOUT: Duration = Duration::from_millis(1);
const IDLE_TIMEOUT: Duration = Duration::from_millis(10);
/// A hard cap on tungstenite's write buffer: only a client that keeps sending requests
/// while never reading the replies reaches it, and is dropped.
const MAX_WRITE_BUFFER: usize = 16 << 20;

pub(crate) struct Server {
    poll: Poll,
    waker: Arc<Waker>,
    stop: Arc<AtomicBool>,
    /// Everything a turn touches; shared with the engine's hot thread when it writes
    /// order updates itself ([`super::WsConfig::direct_updates`]), which only ever
    /// `try_lock`s it.
    core: Arc<Mutex<Core>>,
    local_addr: SocketAddr,
    stats: Arc<WsStats>,
}

/// The server's state: the listener, every connection and the streams they are fed from.
pub(crate) struct Core {
    listener: TcpListener,
    registry: mio::Registry,
    conns: HashMap<usize, Conn>,
    next: usize,
    ctx: Ctx,
    updates: UpdateReader,
    cache: FrameCache,
    health: Arc<Health>,
    /// The engine's count of order updates lost to overflow, as last acted on.
    seen_overflows: u64,
    /// Every subscribed tick, in order.
    ticks: TickStream,
    /// Ticks dropped before reaching this server, as last acted on.
    seen_dropped: u64,
    /// Connections over the cap, to close with 1013 once their handshake is done.
    refusing: Vec<usize>,
    /// A descriptor held in reserve: on EMFILE it is released to accept (and close) one
    /// pending connection, so the listen queue drains instead of stalling.
    reserve: Option<std::fs::File>,
    /// The listener may hold connections not yet accepted (an accept stopped early).
    accept_pending: bool,
}

/// Over-cap connections handshaking at once (to be closed with 1013); beyond it they are
/// dropped unanswered.
const REFUSE_BACKLOG: usize = 64;

/// EMFILE (24) or ENFILE (23): out of file descriptors, per process or system-wide.
fn is_fd_exhaustion(errno: i32) -> bool {
    errno == 24 || errno == 23
}

fn reserve_fd() -> Option<std::fs::File> {
    std::fs::File::open("/dev/null").ok()
}

impl Server {
    pub(crate) fn bind(
        config: WsConfig,
        engine: EngineHandle,
        updates: UpdateReader,
        keys: KeyStore,
        stop: Arc<AtomicBool>,
    ) -> std::io::Result<Server> {
        let poll = Poll::new()?;
        let mut listener = TcpListener::bind(config.addr)?;
        poll.registry().register(&mut listener, LISTENER, Ready::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        // The journal stage wakes this loop when order updates become durable, so they go
        // out at once rather than on the next 1 ms turn.
        let signal = updates.signal();
        signal.set_waker(Arc::clone(&waker));
        let direct = config.direct_updates;
        let local_addr = listener.local_addr()?;
        let registry = poll.registry().try_clone()?;
        // Frames up to 16x the message limit are read whole, so the 1009 close leaves the
        // stream in step; a bigger frame header is refused before its payload is read.
        let ws = WebSocketConfig::default()
            .max_message_size(Some(config.max_message_bytes))
            .max_frame_size(Some(config.max_message_bytes.saturating_mul(16).max(1 << 20)))
            .write_buffer_size(64 * 1024)
            .max_write_buffer_size(MAX_WRITE_BUFFER);
        let ctx = Ctx {
            stats: Arc::new(WsStats::default()),
            origin: OriginCheck { allowed: config.allowed_origins.clone().into() },
            guard: crate::auth::guard::AuthGuard::new(config.auth_guard, "WebSocket"),
            config,
            keys,
            instruments: Arc::clone(&engine.instruments),
            interest: Arc::clone(&engine.interest),
            board: Arc::clone(&engine.board),
            ws,
        };
        let stats = Arc::clone(&ctx.stats);
        let core = Arc::new(Mutex::new(Core {
            listener,
            registry,
            conns: HashMap::new(),
            next: FIRST_CLIENT,
            ctx,
            updates,
            cache: FrameCache::default(),
            seen_overflows: engine.health.fanout_overflows.load(Ordering::Acquire),
            seen_dropped: engine.ticks.dropped(),
            ticks: engine.ticks.clone(),
            health: Arc::clone(&engine.health),
            refusing: Vec::new(),
            reserve: reserve_fd(),
            accept_pending: false,
        }));
        if direct {
            // The committing thread hands durable updates to the sockets itself when the
            // server is not mid-turn; otherwise (or after shutdown) the waker does.
            let weak = Arc::downgrade(&core);
            signal.set_direct(Arc::new(move || {
                let Some(core) = weak.upgrade() else { return false };
                let Ok(mut core) = core.try_lock() else { return false };
                let now = core.ctx.config.clock.instant();
                let n = core.deliver_updates(now);
                core.ctx.stats.direct_updates.fetch_add(n, Ordering::Relaxed);
                true
            }));
        }
        Ok(Server { poll, waker, stop, core, local_addr, stats })
    }

    pub(crate) fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local_addr)
    }

    pub(crate) fn stats(&self) -> Arc<WsStats> {
        Arc::clone(&self.stats)
    }

    fn core(&self) -> std::sync::MutexGuard<'_, Core> {
        self.core.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn waker(&self) -> Arc<Waker> {
        Arc::clone(&self.waker)
    }

    pub(crate) fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        while !self.stop.load(Ordering::Acquire) {
            let idle = self.core().conns.is_empty();
            let timeout = if idle { IDLE_TIMEOUT } else { BUSY_TIMEOUT };
            self.turn(&mut events, timeout, true, CLOSE_GRACE);
        }
        // Shutdown: close everyone with 1001 and give the close handshakes a moment (of
        // real time: a manual clock standing still must not hold the stop up).
        let now = self.core().ctx.config.clock.instant();
        for c in self.core().conns.values_mut() {
            c.shutdown(now);
        }
        let deadline = Instant::now() + CLOSE_GRACE;
        while !self.core().conns.is_empty() && Instant::now() < deadline {
            self.turn(&mut events, BUSY_TIMEOUT, false, CLOSE_GRACE);
        }
    }

    /// One turn: wait (outside the lock, so the committing thread can deliver order
    /// updates meanwhile), then serve what came.
    fn turn(&mut self, events: &mut Events, timeout: Duration, serve: bool, grace: Duration) {
        if let Err(e) = self.poll.poll(events, Some(timeout)) {
            if e.kind() != ErrorKind::Interrupted {
                // A broken poller cannot recover; back off rather than spin.
                std::thread::sleep(IDLE_TIMEOUT);
            }
            return;
        }
        self.core().on_events(events, serve, grace);
    }
}

impl Core {
    /// Everything a turn does after the wait.
    fn on_events(&mut self, events: &Events, serve: bool, grace: Duration) {
        let now = self.ctx.config.clock.instant();
        if serve && std::mem::take(&mut self.accept_pending) {
            self.accept(now);
        }
        for ev in events.iter() {
            match ev.token() {
                LISTENER if serve => self.accept(now),
                LISTENER | WAKER => {}
                Token(t) => {
                    if let Some(c) = self.conns.get_mut(&t) {
                        let readable = ev.is_readable() || ev.is_read_closed() || ev.is_error();
                        c.on_event(readable, ev.is_writable(), &self.ctx, now);
                    }
                }
            }
        }
        if serve {
            self.refuse_opened(now);
            self.pump_updates(now);
            let now_ms = wall_now_ns() / 1_000_000;
            self.stream_ticks(now_ms);
            for c in self.conns.values_mut() {
                c.push_quotes(&self.ctx, &mut self.cache, now_ms);
            }
        }
        for c in self.conns.values_mut() {
            c.on_timer(&self.ctx, now, grace);
            c.flush_if_dirty();
        }
        let (interest, stats) = (&self.ctx.interest, &self.ctx.stats);
        self.conns.retain(|_, c| {
            if c.is_dead() {
                c.release(interest, stats);
                false
            } else {
                true
            }
        });
        stats.clients.store(self.conns.len() as u64, Ordering::Relaxed);
    }

    /// Hands the durable order updates to their subscribers' sockets and flushes them
    /// (the hot thread's direct path; a turn does the same as part of its work).
    /// Returns how many updates went out.
    fn deliver_updates(&mut self, now: Instant) -> u64 {
        let n = self.pump_updates(now);
        for c in self.conns.values_mut() {
            c.flush_if_dirty();
        }
        n
    }

    /// Accepts until the listener would block (mio is edge-triggered: a readiness event
    /// is not repeated for connections left in the queue). Over the cap, a connection is
    /// handshaken and closed with 1013 (or, past [`REFUSE_BACKLOG`] of those, dropped).
    /// Out of descriptors, the reserve one is let go to accept and close the connection,
    /// so the queue keeps draining; any other error retries on the next turn.
    fn accept(&mut self, now: Instant) {
        loop {
            match self.listener.accept() {
                Ok((mut stream, _)) => {
                    let serving = self.conns.len() - self.refusing.len();
                    let over = serving >= self.ctx.config.max_connections;
                    if over && self.refusing.len() >= REFUSE_BACKLOG {
                        self.ctx.stats.capacity_refusals.fetch_add(1, Ordering::Relaxed);
                        continue; // dropped: closed unanswered
                    }
                    let token = self.next;
                    self.next += 1;
                    let _ = stream.set_nodelay(true);
                    let ready = Ready::READABLE | Ready::WRITABLE;
                    if self.registry.register(&mut stream, Token(token), ready).is_err() {
                        continue;
                    }
                    self.ctx.stats.accepted.fetch_add(1, Ordering::Relaxed);
                    let conn = Conn::accept(stream, &self.ctx, now);
                    if !conn.is_dead() {
                        self.conns.insert(token, conn);
                        if over {
                            self.refusing.push(token);
                        }
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if self.reserve.is_none() {
                        self.reserve = reserve_fd();
                    }
                    return;
                }
                Err(e) if e.raw_os_error().is_some_and(is_fd_exhaustion) => {
                    self.ctx.stats.fd_exhausted.fetch_add(1, Ordering::Relaxed);
                    match self.reserve.take() {
                        Some(reserve) => {
                            // (Linux allocates the descriptor before looking at the
                            // queue: EMFILE comes even when the queue is empty.)
                            drop(reserve);
                            let refused = self.listener.accept();
                            let more = match refused {
                                Ok((stream, _)) => {
                                    drop(stream);
                                    self.ctx
                                        .stats
                                        .capacity_refusals
                                        .fetch_add(1, Ordering::Relaxed);
                                    true
                                }
                                Err(e) if e.kind() == ErrorKind::WouldBlock => false,
                                Err(_) => {
                                    self.accept_pending = true;
                                    false
                                }
                            };
                            self.reserve = reserve_fd();
                            if !more {
                                return;
                            }
                        }
                        None => {
                            // No reserve to spare: try again next turn, not on the next
                            // (maybe never coming) readiness event.
                            self.accept_pending = true;
                            return;
                        }
                    }
                }
                // A connection reset before it was accepted, or another transient error:
                // go on next turn without waiting for a new readiness event.
                Err(_) => {
                    self.accept_pending = true;
                    return;
                }
            }
        }
    }

    /// Streams every queued tick to its subscribers. Ticks the stage had to drop make
    /// every subscription catch up from the board instead.
    fn stream_ticks(&mut self, now_ms: i64) {
        // Bounded per turn so a feed faster than this loop cannot starve the rest of it.
        for _ in 0..crate::fanout::ticks::CAPACITY {
            let Some(s) = self.ticks.try_next() else { break };
            for c in self.conns.values_mut() {
                c.stream_tick(&s, &self.ctx, &mut self.cache, now_ms);
            }
        }
        let dropped = self.ticks.dropped();
        if dropped != self.seen_dropped {
            self.seen_dropped = dropped;
            for c in self.conns.values_mut() {
                c.fall_behind();
            }
        }
    }

    /// Closes with 1013 the over-cap connections whose handshake has completed (closing
    /// is idempotent); they stay listed, and out of the served count, until dropped.
    fn refuse_opened(&mut self, now: Instant) {
        let conns = &mut self.conns;
        self.refusing.retain(|t| match conns.get_mut(t) {
            Some(c) if c.is_open() => {
                c.close(close::TRY_AGAIN_LATER, "server at its connection limit; retry later", now);
                true
            }
            Some(c) => !c.is_dead(),
            None => false,
        });
    }

    /// Hands every order update the journal has passed to its subscribers.
    ///
    /// Updates lost upstream (the engine's queue overflowed) close every subscriber with
    /// 4008 so it resyncs from the orderbook: at once when the engine's overflow count
    /// moves, and, should that race with the release, when the reader reports the gap.
    /// Returns how many updates it handed to subscribers.
    fn pump_updates(&mut self, now: Instant) -> u64 {
        self.check_overflow(now);
        let max = self.ctx.config.max_pending_updates;
        let mut sent = 0;
        loop {
            let q = match self.updates.poll() {
                Next::Empty => return sent,
                Next::Update(q) => q,
                Next::Gap { next, .. } => {
                    self.check_overflow(now);
                    next
                }
            };
            if !self.conns.values().any(Conn::wants_orders) {
                continue;
            }
            let text =
                push::order_update(&q.update, &self.ctx.instruments, &self.ctx.config.user_id);
            let frame = Utf8Bytes::from(text);
            for c in self.conns.values_mut() {
                c.push_update(&frame, max, now);
            }
            sent += 1;
        }
    }

    fn check_overflow(&mut self, now: Instant) {
        let overflows = self.health.fanout_overflows.load(Ordering::Acquire);
        if overflows == self.seen_overflows {
            return;
        }
        self.seen_overflows = overflows;
        for c in self.conns.values_mut().filter(|c| c.wants_orders()) {
            c.close(
                close::ORDER_OVERFLOW,
                "order updates overflow; resync from the orderbook",
                now,
            );
        }
    }
}
