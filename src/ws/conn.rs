//! One client: the handshake, authentication, subscriptions, keepalive, and the outbound
//! side (congestion tracking, queued order updates, closing).

#![forbid(unsafe_code)]

use super::client_protocol::{self, ErrorReply, Request, code};
use super::origin::OriginCheck;
use super::push::{self, FrameCache};
use super::{WsConfig, close};
use crate::auth::KeyStore;
use crate::clock::wall_now_ns;
use crate::fanout::quotes::{QuoteBoard, QuoteSnapshot};
use crate::fanout::ticks::Streamed;
use crate::instruments::InstrumentMaster;
use crate::interest::Interest;
use crate::types::{Exchange, SymbolId};
use mio::net::TcpStream;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::io::ErrorKind;
use std::time::{Duration, Instant};
use tungstenite::handshake::server::ServerHandshake;
use tungstenite::handshake::{HandshakeError, MidHandshake};
use tungstenite::protocol::frame::CloseFrame;
use tungstenite::protocol::{WebSocket, WebSocketConfig};
use tungstenite::{Error, Message, Utf8Bytes};

/// How long a closing connection may take to finish the close handshake.
pub(crate) const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// What the connection handlers need from the server.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) config: WsConfig,
    pub(crate) keys: KeyStore,
    pub(crate) instruments: std::sync::Arc<InstrumentMaster>,
    pub(crate) interest: std::sync::Arc<Interest>,
    pub(crate) board: std::sync::Arc<QuoteBoard>,
    pub(crate) ws: WebSocketConfig,
    pub(crate) origin: OriginCheck,
    pub(crate) stats: std::sync::Arc<super::WsStats>,
    pub(crate) guard: crate::auth::guard::AuthGuard,
}

type Handshake = MidHandshake<ServerHandshake<TcpStream, OriginCheck>>;

enum Link {
    Handshake(Handshake),
    Open(WebSocket<TcpStream>),
    Dead,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Link::Handshake(_) => "Handshake",
            Link::Open(_) => "Open",
            Link::Dead => "Dead",
        })
    }
}

/// One subscribed symbol: its modes, the last board version sent, and whether the client
/// fell behind the tick stream (then it gets the board's latest quote: conflation).
#[derive(Debug, Default)]
struct Sub {
    modes: [bool; 3],
    last_version: u64,
    behind: bool,
}

/// One client connection.
#[derive(Debug)]
pub(crate) struct Conn {
    link: Link,
    opened: Instant,
    authenticated: bool,
    orders: bool,
    subs: HashMap<SymbolId, Sub>,
    sub_count: usize,
    pending: VecDeque<Utf8Bytes>,
    /// The socket refused a write; nothing optional is sent until it drains.
    congested: bool,
    /// Something was written since the last flush.
    dirty: bool,
    last_heard: Instant,
    last_ping: Instant,
    ping_sent: Option<Instant>,
    closing: Option<Instant>,
    /// The close code sent, counted in the stats when the connection is dropped.
    closed_with: Option<u16>,
    /// The peer's address (for the failed-authentication guard).
    peer: std::net::IpAddr,
    /// Wrong keys sent on this connection.
    auth_failures: u32,
}

impl Conn {
    /// Starts the server handshake on a registered stream.
    pub(crate) fn accept(stream: TcpStream, ctx: &Ctx, now: Instant) -> Conn {
        let mut c = Conn {
            link: Link::Dead,
            opened: now,
            authenticated: false,
            orders: false,
            subs: HashMap::new(),
            sub_count: 0,
            pending: VecDeque::new(),
            congested: false,
            dirty: false,
            last_heard: now,
            last_ping: now,
            ping_sent: None,
            closing: None,
            closed_with: None,
            peer: stream
                .peer_addr()
                .map_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |a| a.ip()),
            auth_failures: 0,
        };
        let started = ServerHandshake::start(stream, ctx.origin.clone(), Some(ctx.ws)).handshake();
        c.after_handshake(started, ctx, now);
        c
    }

    fn after_handshake(
        &mut self,
        result: Result<
            WebSocket<TcpStream>,
            HandshakeError<ServerHandshake<TcpStream, OriginCheck>>,
        >,
        ctx: &Ctx,
        now: Instant,
    ) {
        match result {
            Ok(ws) => {
                self.link = Link::Open(ws);
                self.last_heard = now;
                self.last_ping = now;
                // Anything the client sent right after the upgrade is read now: the
                // readiness edge that announced it may already be spent.
                self.on_readable(ctx, now);
            }
            Err(HandshakeError::Interrupted(mid)) => self.link = Link::Handshake(mid),
            Err(HandshakeError::Failure(_)) => {
                ctx.stats.handshake_failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                self.link = Link::Dead;
            }
        }
    }

    /// True once the handshake is done and the connection is open.
    pub(crate) fn is_open(&self) -> bool {
        matches!(self.link, Link::Open(_))
    }

    /// True once the connection should be dropped.
    pub(crate) fn is_dead(&self) -> bool {
        matches!(self.link, Link::Dead)
    }

    /// True when subscribed to order updates and able to take them.
    pub(crate) fn wants_orders(&self) -> bool {
        self.orders && self.closing.is_none() && matches!(self.link, Link::Open(_))
    }

    /// Handles a readiness event.
    pub(crate) fn on_event(&mut self, readable: bool, writable: bool, ctx: &Ctx, now: Instant) {
        if let Link::Handshake(_) = self.link {
            let Link::Handshake(mid) = std::mem::replace(&mut self.link, Link::Dead) else {
                return;
            };
            self.after_handshake(mid.handshake(), ctx, now);
            return;
        }
        if writable {
            self.flush();
        }
        if readable {
            self.on_readable(ctx, now);
        }
    }

    fn on_readable(&mut self, ctx: &Ctx, now: Instant) {
        loop {
            let Link::Open(ws) = &mut self.link else { return };
            match ws.read() {
                Ok(msg) => {
                    self.last_heard = now;
                    match msg {
                        Message::Text(t) => self.on_text(t.as_str(), ctx),
                        Message::Binary(b) => match std::str::from_utf8(&b) {
                            Ok(t) => self.on_text(t, ctx),
                            Err(_) => self.send_error(&ErrorReply::new(
                                code::INVALID_JSON,
                                "Invalid JSON message",
                            )),
                        },
                        // tungstenite queued the pong or the close reply; flush it.
                        Message::Ping(_) | Message::Close(_) => self.dirty = true,
                        Message::Pong(_) | Message::Frame(_) => {}
                    }
                }
                Err(Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => return,
                Err(Error::Capacity(_)) => {
                    self.close(close::TOO_BIG, "message too big", now);
                    return;
                }
                Err(_) => {
                    self.link = Link::Dead;
                    return;
                }
            }
        }
    }

    fn on_text(&mut self, text: &str, ctx: &Ctx) {
        if self.closing.is_some() {
            return;
        }
        match client_protocol::parse(text, self.authenticated) {
            Err(e) => self.send_error(&e),
            Ok(Request::Auth { key }) => {
                self.authenticate(key.as_deref(), ctx, ctx.config.clock.instant())
            }
            Ok(Request::Subscribe { entries, mode, depth, request_id }) => {
                self.subscribe(&entries, mode, &depth, request_id.as_ref(), ctx);
            }
            Ok(Request::Unsubscribe { entries, all, request_id }) => {
                let reply =
                    if all { self.unsubscribe_all(ctx) } else { self.unsubscribe(&entries, ctx) };
                self.send_text(client_protocol::unsubscribe_reply(
                    reply.0,
                    reply.1,
                    request_id.as_ref(),
                ));
            }
            Ok(Request::Orders { on, request_id }) => {
                self.orders = on;
                if !on {
                    self.pending.clear();
                }
                self.send_text(client_protocol::orders_reply(on, request_id.as_ref()));
            }
            Ok(Request::Ping { client_timestamp, ping_id }) => {
                let ms = wall_now_ns() / 1_000_000;
                self.send_text(client_protocol::pong(
                    ms,
                    client_timestamp.as_ref(),
                    ping_id.as_ref(),
                ));
            }
            Ok(Request::BrokerInfo) => {
                self.send_text(client_protocol::broker_info(&ctx.config.user_id))
            }
            Ok(Request::SupportedBrokers) => self.send_text(client_protocol::supported_brokers()),
        }
    }

    /// `authenticate`: the address's failure limit first, then the key. A wrong key is
    /// counted for the address and the connection; past the connection's limit, or when
    /// the address is over its limit, the connection is closed with 1008.
    fn authenticate(&mut self, key: Option<&str>, ctx: &Ctx, now: Instant) {
        use std::sync::atomic::Ordering::Relaxed;
        let Some(k) = key else {
            let e = ErrorReply::new(code::AUTHENTICATION_ERROR, "API key is required");
            return self.send_error(&e);
        };
        if let Err(wait) = ctx.guard.check(self.peer, now) {
            let secs = crate::auth::guard::retry_after_secs(wait);
            let text =
                format!("Too many failed authentications from this address; retry after {secs} s");
            self.send_error(&ErrorReply::new(code::AUTHENTICATION_ERROR, text));
            return self.close(close::POLICY, "too many failed authentications", now);
        }
        if ctx.keys.verify(k) {
            self.authenticated = true;
            tracing::debug!(peer = %self.peer, "ws: session authenticated");
            return self.send_text(client_protocol::auth_ok(&ctx.config.user_id));
        }
        ctx.stats.auth_failures.fetch_add(1, Relaxed);
        ctx.guard.fail(self.peer, now);
        self.auth_failures += 1;
        self.send_error(&ErrorReply::new(code::AUTHENTICATION_ERROR, "Invalid API key"));
        if self.auth_failures >= ctx.config.max_auth_failures_per_conn {
            self.close(close::POLICY, "too many failed authentications", now);
        }
    }

    /// Resolves an entry to a symbol id, or the message of its error entry.
    fn resolve(e: &client_protocol::Entry, ctx: &Ctx) -> Result<SymbolId, String> {
        let Some((symbol, exchange)) = e.names() else {
            return Err("Both symbol and exchange are required".into());
        };
        Exchange::parse(exchange)
            .and_then(|ex| ctx.instruments.lookup(ex, symbol.trim()))
            .ok_or_else(|| format!("Symbol {symbol} not found on {exchange}"))
    }

    fn subscribe(
        &mut self,
        entries: &[client_protocol::Entry],
        mode: u8,
        depth: &Value,
        request_id: Option<&Value>,
        ctx: &Ctx,
    ) {
        let resolved: Vec<Result<SymbolId, String>> =
            entries.iter().map(|e| Conn::resolve(e, ctx)).collect();
        let mut fresh: Vec<SymbolId> = resolved
            .iter()
            .filter_map(|r| r.as_ref().ok().copied())
            .filter(|id| !self.subs.get(id).is_some_and(|s| s.modes[usize::from(mode) - 1]))
            .collect();
        fresh.sort_unstable();
        fresh.dedup();
        let limit = ctx.config.max_subscriptions;
        if self.sub_count + fresh.len() > limit {
            let message = format!(
                "At most {limit} subscriptions per connection ({} held, {} requested); unsubscribe some first",
                self.sub_count,
                fresh.len()
            );
            return self.send_error(&ErrorReply::new(code::LIMIT_EXCEEDED, message));
        }
        for id in fresh {
            let sub = self.subs.entry(id).or_default();
            sub.modes[usize::from(mode) - 1] = true;
            // Resend the latest quote so the new mode gets one at once.
            sub.last_version = 0;
            sub.behind = true;
            self.sub_count += 1;
            ctx.interest.add_client(id, mode);
        }
        let mut all_ok = true;
        let out = entries
            .iter()
            .zip(&resolved)
            .map(|(e, r)| match r {
                Ok(_) => client_protocol::subscribed(e, mode, depth),
                Err(m) => {
                    all_ok = false;
                    client_protocol::failed(e, m)
                }
            })
            .collect();
        self.send_text(client_protocol::subscribe_reply(out, all_ok, request_id));
    }

    fn remove(&mut self, id: SymbolId, mode: u8, interest: &Interest) -> bool {
        let Some(sub) = self.subs.get_mut(&id) else { return false };
        let slot = &mut sub.modes[usize::from(mode) - 1];
        if !std::mem::take(slot) {
            return false;
        }
        self.sub_count -= 1;
        interest.remove_client(id, mode);
        if sub.modes.iter().all(|m| !m) {
            self.subs.remove(&id);
        }
        true
    }

    fn unsubscribe(
        &mut self,
        entries: &[client_protocol::Entry],
        ctx: &Ctx,
    ) -> (Vec<Value>, Vec<Value>) {
        let (mut ok, mut bad) = (Vec::new(), Vec::new());
        for e in entries {
            let mode = match &e.mode {
                Ok(m) => *m,
                Err(m) => {
                    bad.push(client_protocol::failed(e, m));
                    continue;
                }
            };
            match Conn::resolve(e, ctx) {
                Ok(id) => {
                    // Not being subscribed is not an error: the end state is the one asked for.
                    self.remove(id, mode, &ctx.interest);
                    ok.push(client_protocol::unsubscribed(&e.symbol, &e.exchange));
                }
                Err(m) => bad.push(client_protocol::failed(e, &m)),
            }
        }
        (ok, bad)
    }

    fn unsubscribe_all(&mut self, ctx: &Ctx) -> (Vec<Value>, Vec<Value>) {
        let mut ok = Vec::new();
        let mut held: Vec<(SymbolId, u8)> = self
            .subs
            .iter()
            .flat_map(|(id, s)| {
                (1..=3u8).filter(|m| s.modes[usize::from(*m) - 1]).map(|m| (*id, m))
            })
            .collect();
        held.sort_unstable();
        for (id, mode) in held {
            self.remove(id, mode, &ctx.interest);
            if let Some(ins) = ctx.instruments.get(id) {
                ok.push(client_protocol::unsubscribed(
                    &Value::from(ins.symbol.as_str()),
                    &Value::from(ins.exchange.as_str()),
                ));
            }
        }
        (ok, Vec::new())
    }

    /// Releases every subscription and counts the close (on disconnect).
    pub(crate) fn release(&mut self, interest: &Interest, stats: &super::WsStats) {
        if let Some(code) = self.closed_with.take() {
            stats.count_close(code);
        }
        for (id, sub) in self.subs.drain() {
            for m in 1..=3u8 {
                if sub.modes[usize::from(m) - 1] {
                    interest.remove_client(id, m);
                }
            }
        }
        self.sub_count = 0;
    }

    fn send_error(&mut self, e: &ErrorReply) {
        self.send_text(e.to_json());
    }

    fn send_text(&mut self, text: String) {
        self.write(Message::text(text));
    }

    /// Writes a message into tungstenite's buffer. A full socket marks the connection
    /// congested (the message stays buffered); a full buffer or a broken socket kills it.
    fn write(&mut self, msg: Message) {
        let Link::Open(ws) = &mut self.link else { return };
        self.dirty = true;
        match ws.write(msg) {
            Ok(()) => {}
            Err(Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => self.congested = true,
            Err(_) => self.link = Link::Dead,
        }
    }

    /// Flushes what was written; clears congestion when everything left.
    pub(crate) fn flush(&mut self) {
        let Link::Open(ws) = &mut self.link else { return };
        match ws.flush() {
            Ok(()) => {
                self.dirty = false;
                self.congested = false;
            }
            Err(Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => self.congested = true,
            Err(_) => self.link = Link::Dead,
        }
        if !self.congested {
            self.drain_pending();
        }
    }

    /// Flushes when something was written since the last flush.
    pub(crate) fn flush_if_dirty(&mut self) {
        if self.dirty && !self.congested {
            self.flush();
        }
    }

    /// Sends (or queues) an order update; past the bound, closes with 4008.
    pub(crate) fn push_update(&mut self, frame: &Utf8Bytes, max_pending: usize, now: Instant) {
        if !self.wants_orders() {
            return;
        }
        if self.pending.len() >= max_pending {
            self.pending.clear();
            return self.close(
                close::ORDER_OVERFLOW,
                "order updates overflow; resync from the orderbook",
                now,
            );
        }
        self.pending.push_back(frame.clone());
        self.drain_pending();
    }

    fn drain_pending(&mut self) {
        while !self.congested && self.closing.is_none() {
            let Some(f) = self.pending.pop_front() else { return };
            self.write(Message::Text(f));
        }
    }

    /// Streams one tick to this client when it subscribed to the symbol: at once while
    /// its socket takes frames; a client that is backing up is marked behind instead and
    /// later gets the board's latest ([`Conn::push_quotes`]). A tick older than what the
    /// client was already sent is skipped.
    pub(crate) fn stream_tick(
        &mut self,
        s: &Streamed,
        ctx: &Ctx,
        cache: &mut FrameCache,
        now_ms: i64,
    ) {
        if !self.authenticated || self.closing.is_some() {
            return;
        }
        let Some(sub) = self.subs.get_mut(&s.tick.symbol) else { return };
        if s.version <= sub.last_version {
            return;
        }
        if self.congested {
            sub.behind = true;
            return;
        }
        let Link::Open(ws) = &mut self.link else { return };
        sub.last_version = s.version;
        let snap = QuoteSnapshot { tick: s.tick, version: s.version, updated_ns: 0 };
        let wrote = write_quote(ws, sub.modes, &snap, ctx, cache, now_ms);
        self.dirty |= wrote.any;
        self.congested |= wrote.would_block;
        if wrote.failed {
            self.link = Link::Dead;
        }
    }

    /// Marks every subscription behind (ticks were dropped before reaching the server).
    pub(crate) fn fall_behind(&mut self) {
        for sub in self.subs.values_mut() {
            sub.behind = true;
        }
    }

    /// Catch-up (conflation): sends the board's latest quote of every symbol this client
    /// fell behind on, while the socket takes it. Clients that keep up get every tick
    /// from [`Conn::stream_tick`] and never come here.
    pub(crate) fn push_quotes(&mut self, ctx: &Ctx, cache: &mut FrameCache, now_ms: i64) {
        if !self.authenticated || self.closing.is_some() || self.congested || self.subs.is_empty() {
            return;
        }
        let Link::Open(ws) = &mut self.link else { return };
        for (id, sub) in self.subs.iter_mut() {
            if !sub.behind {
                continue;
            }
            let v = ctx.board.version(*id);
            if v == 0 || v == sub.last_version {
                sub.behind = false;
                continue;
            }
            let Some(snap) = ctx.board.read(*id) else { continue };
            sub.last_version = snap.version;
            sub.behind = false;
            let wrote = write_quote(ws, sub.modes, &snap, ctx, cache, now_ms);
            self.dirty |= wrote.any;
            self.congested |= wrote.would_block;
            if wrote.failed {
                self.link = Link::Dead;
                return;
            }
            if self.congested {
                return;
            }
        }
    }

    /// Starts the close handshake with `code`; the connection is dropped when the peer
    /// answers, or after [`CLOSE_GRACE`].
    pub(crate) fn close(&mut self, code: u16, reason: &'static str, now: Instant) {
        if self.closing.is_some() {
            return;
        }
        self.closing = Some(now);
        tracing::debug!(peer = %self.peer, code, reason, "ws: session closing");
        self.closed_with = Some(code);
        let Link::Open(ws) = &mut self.link else {
            self.link = Link::Dead;
            return;
        };
        let frame = CloseFrame { code: code.into(), reason: Utf8Bytes::from_static(reason) };
        self.dirty = true;
        match ws.close(Some(frame)) {
            Ok(()) => {}
            Err(Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => self.congested = true,
            Err(_) => self.link = Link::Dead,
        }
    }

    /// Deadlines: authentication, keepalive, and the close grace.
    pub(crate) fn on_timer(&mut self, ctx: &Ctx, now: Instant, grace: Duration) {
        if let Some(since) = self.closing {
            if now.duration_since(since) >= grace {
                self.link = Link::Dead;
            }
            return;
        }
        let cfg = &ctx.config;
        if !self.authenticated && now.duration_since(self.opened) >= cfg.auth_deadline {
            return self.close(close::AUTH_TIMEOUT, "auth timeout", now);
        }
        if !matches!(self.link, Link::Open(_)) {
            return;
        }
        match self.ping_sent {
            Some(sent) if self.last_heard >= sent => self.ping_sent = None,
            Some(sent) if now.duration_since(sent) >= cfg.ping_interval => {
                return self.close(close::KEEPALIVE_TIMEOUT, "keepalive timeout", now);
            }
            _ => {}
        }
        if self.ping_sent.is_none() && now.duration_since(self.last_ping) >= cfg.ping_interval {
            self.ping_sent = Some(now);
            self.last_ping = now;
            self.write(Message::Ping(tungstenite::Bytes::new()));
        }
    }

    /// Begins a shutdown: open connections are closed with 1001, others dropped.
    pub(crate) fn shutdown(&mut self, now: Instant) {
        match self.link {
            Link::Open(_) => self.close(close::GOING_AWAY, "server shutting down", now),
            _ => self.link = Link::Dead,
        }
    }
}

/// What [`write_quote`] did on the socket.
struct Wrote {
    /// A frame was handed to the socket.
    any: bool,
    /// A write would block: the frame stays in tungstenite's buffer and later ticks are
    /// conflated.
    would_block: bool,
    /// A write failed: the connection is dead (nothing more was written).
    failed: bool,
}

/// Writes `snap`'s frame for each mode (1 ltp, 2 quote, 3 depth) that the subscription
/// asked for and the tick can serve, stopping at the first failed write.
fn write_quote(
    ws: &mut WebSocket<TcpStream>,
    modes: [bool; 3],
    snap: &QuoteSnapshot,
    ctx: &Ctx,
    cache: &mut FrameCache,
    now_ms: i64,
) -> Wrote {
    let mut wrote = Wrote { any: false, would_block: false, failed: false };
    for mode in 1..=3u8 {
        if !modes[usize::from(mode) - 1] || !push::deliverable(snap.tick.mode, mode) {
            continue;
        }
        let Some(frame) = cache.frame(snap, mode, &ctx.instruments, now_ms) else {
            continue;
        };
        wrote.any = true;
        match ws.write(Message::Text(frame)) {
            Ok(()) => {}
            Err(Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => wrote.would_block = true,
            Err(_) => {
                wrote.failed = true;
                return wrote;
            }
        }
    }
    wrote
}
