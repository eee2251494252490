//! The WebSocket side: one thread, one mio `Poll` over the listener, every client
//! connection and a `Waker`, with the pacer's 1 ms batches in the same loop.
//!
//! Why one mio thread rather than a thread per connection: every frame is produced by the
//! pacer and must reach several sockets, and replies must interleave with frames on the
//! same socket. A thread per connection would need a channel per client and a second
//! writer per socket (tungstenite cannot split a connection into a reader and a writer).
//! One loop owns every socket, encodes each tick once per mode and shares the bytes, and
//! sleeps in `epoll` until the next batch is due, the next timer, or a socket event: no
//! busy-spinning on a shared 2-core machine, and no locks between producer and writers.
//!
//! Sockets are non-blocking and edge-triggered: reads drain to `WouldBlock`; writes queue
//! in tungstenite's buffer (8 MiB cap) and are flushed after each loop turn and on every
//! writable event.

#![forbid(unsafe_code)]

use super::SimConfig;
use super::pacer::Pacer;
use super::session::{self, BROKER, Change, MAX_MESSAGE_BYTES, Session, WalkerIndex};
use super::state::Shared;
use super::subs::{ConnId, SubIndex};
use super::walk::RandomWalk;
use crate::event::Tick;
use crate::instruments::InstrumentMaster;
use crate::openalgo_wire::market_data;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tungstenite::handshake::MidHandshake;
use tungstenite::handshake::server::{NoCallback, ServerHandshake};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tungstenite::{Bytes, Error as WsError, HandshakeError, Message, Utf8Bytes, WebSocket};

const LISTENER: Token = Token(usize::MAX - 1);
const WAKE: Token = Token(usize::MAX - 2);
/// A connection not authenticated this long after opening is closed with 4401.
const AUTH_DEADLINE: Duration = Duration::from_secs(15);
/// Silence after which the server pings, and then closes if the silence continues.
const PING_AFTER: Duration = Duration::from_secs(20);
/// How long a closing connection may take to answer the close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
const HOUSEKEEPING: Duration = Duration::from_secs(1);
const MAX_WRITE_BUFFER: usize = 8 << 20;

enum Stream {
    Handshaking(Box<MidHandshake<ServerHandshake<TcpStream, NoCallback>>>),
    Open(Box<WebSocket<TcpStream>>),
    Gone,
}

struct Conn {
    stream: Stream,
    session: Session,
    opened: Instant,
    last_heard: Instant,
    pinged: Option<Instant>,
    closing: Option<Instant>,
    pending: bool,
    dead: bool,
}

impl Conn {
    /// Queues a message. False when it was dropped (buffer full or connection gone).
    fn send(&mut self, msg: Message) -> bool {
        if self.closing.is_some() {
            return false;
        }
        let Stream::Open(ws) = &mut self.stream else { return false };
        match ws.write(msg) {
            Ok(()) => {
                self.pending = true;
                true
            }
            Err(WsError::Io(e)) if e.kind() == ErrorKind::WouldBlock => {
                // The frame is in the buffer; the writable event will flush it.
                self.pending = true;
                true
            }
            Err(WsError::WriteBufferFull(_)) => false,
            Err(_) => {
                self.dead = true;
                false
            }
        }
    }

    fn flush(&mut self) {
        let Stream::Open(ws) = &mut self.stream else { return };
        match ws.flush() {
            Ok(()) => self.pending = false,
            Err(WsError::Io(e)) if e.kind() == ErrorKind::WouldBlock => {}
            Err(_) => self.dead = true,
        }
    }

    fn close(&mut self, code: CloseCode, reason: &'static str, now: Instant) {
        if let Stream::Open(ws) = &mut self.stream {
            let _ = ws.close(Some(CloseFrame { code, reason: reason.into() }));
            self.pending = true;
            self.closing.get_or_insert(now);
        } else {
            self.dead = true;
        }
    }
}

/// The WebSocket server, bound and ready to [`WsServer::run`].
pub(crate) struct WsServer {
    poll: Poll,
    listener: TcpListener,
    shared: Arc<Shared>,
    conns: Vec<Option<Conn>>,
    free: Vec<ConnId>,
    index: SubIndex,
    pacer: Pacer,
    streaming: bool,
    next_symbol: usize,
    batch: Vec<(WalkerIndex, Tick)>,
    config: WebSocketConfig,
}

impl std::fmt::Debug for WsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsServer").field("listener", &self.listener).finish_non_exhaustive()
    }
}

impl WsServer {
    /// Binds the listener and builds the state shared with the REST side.
    pub fn bind(
        addr: SocketAddr,
        instruments: Arc<InstrumentMaster>,
        config: &SimConfig,
    ) -> std::io::Result<(WsServer, Arc<Shared>)> {
        let poll = Poll::new()?;
        let mut listener = TcpListener::bind(addr)?;
        poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Waker::new(poll.registry(), WAKE)?;
        let walk = RandomWalk::new(&instruments, config.seed);
        let rate = config.rate.min(super::MAX_RATE);
        let shared = Arc::new(Shared {
            instruments,
            walk: Mutex::new(walk),
            api_key: config.api_key.clone(),
            control_keys: config.control_keys.clone(),
            rate,
            paused: AtomicBool::new(config.paused),
            muted: AtomicBool::new(config.muted),
            stop: AtomicBool::new(false),
            clients: AtomicUsize::new(0),
            subscribed_symbols: AtomicUsize::new(0),
            ticks_generated: AtomicU64::new(0),
            frames_sent: AtomicU64::new(0),
            frames_dropped: AtomicU64::new(0),
            clock_offset_ms: std::sync::atomic::AtomicI64::new(0),
            pushes: Mutex::new(Vec::new()),
            waker,
        });
        let ws_config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE_BYTES))
            .max_frame_size(Some(MAX_MESSAGE_BYTES))
            .max_write_buffer_size(MAX_WRITE_BUFFER);
        let server = WsServer {
            poll,
            listener,
            shared: Arc::clone(&shared),
            conns: Vec::new(),
            free: Vec::new(),
            index: SubIndex::default(),
            pacer: Pacer::new(rate, Instant::now()),
            streaming: false,
            next_symbol: 0,
            batch: Vec::with_capacity(1024),
            config: ws_config,
        };
        Ok((server, shared))
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// The loop, until [`Shared::request_stop`].
    pub fn run(mut self) {
        let mut events = Events::with_capacity(256);
        let mut next_housekeeping = Instant::now() + HOUSEKEEPING;
        loop {
            let now = Instant::now();
            let timeout = self.timeout(now, next_housekeeping);
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == ErrorKind::Interrupted {
                    continue;
                }
                tracing::error!(error = %e, "sim: WebSocket poll failed, stopping");
                break;
            }
            if self.shared.stop.load(Relaxed) {
                break;
            }
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept(),
                    WAKE => {}
                    Token(id) => self.on_event(id),
                }
            }
            let now = Instant::now();
            self.push_set_prices();
            self.stream_batch(now);
            if now >= next_housekeeping {
                self.housekeeping(now);
                next_housekeeping = now + HOUSEKEEPING;
            }
            self.flush_and_reap();
        }
        self.close_all();
    }

    fn timeout(&self, now: Instant, housekeeping: Instant) -> Option<Duration> {
        let next = if self.streaming {
            self.pacer.next_batch().min(housekeeping)
        } else if self.conns.iter().any(Option::is_some) {
            housekeeping
        } else {
            return None;
        };
        Some(next.saturating_duration_since(now))
    }

    fn accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((mut stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let id = self.free.pop().unwrap_or_else(|| {
                        self.conns.push(None);
                        self.conns.len() - 1
                    });
                    let interest = Interest::READABLE | Interest::WRITABLE;
                    if self.poll.registry().register(&mut stream, Token(id), interest).is_err() {
                        self.free.push(id);
                        continue;
                    }
                    let now = Instant::now();
                    let mut conn = Conn {
                        stream: Stream::Gone,
                        session: Session::default(),
                        opened: now,
                        last_heard: now,
                        pinged: None,
                        closing: None,
                        pending: false,
                        dead: false,
                    };
                    let result = tungstenite::accept_with_config(stream, Some(self.config));
                    self.handshake_step(&mut conn, result);
                    self.conns[id] = Some(conn);
                    if matches!(self.conns[id].as_ref().map(|c| &c.stream), Some(Stream::Open(_))) {
                        self.read_all(id);
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    // Out of descriptors or similar: try again on the next event.
                    tracing::warn!(error = %e, "sim: accept failed");
                    return;
                }
            }
        }
    }

    fn handshake_step(
        &self,
        conn: &mut Conn,
        result: Result<
            WebSocket<TcpStream>,
            HandshakeError<ServerHandshake<TcpStream, NoCallback>>,
        >,
    ) {
        match result {
            Ok(ws) => {
                conn.stream = Stream::Open(Box::new(ws));
                self.shared.clients.fetch_add(1, Relaxed);
            }
            Err(HandshakeError::Interrupted(mid)) => {
                conn.stream = Stream::Handshaking(Box::new(mid))
            }
            Err(HandshakeError::Failure(_)) => conn.dead = true,
        }
    }

    fn on_event(&mut self, id: ConnId) {
        let Some(conn) = self.conns.get_mut(id).and_then(Option::as_mut) else { return };
        match std::mem::replace(&mut conn.stream, Stream::Gone) {
            Stream::Handshaking(mid) => {
                let result = mid.handshake();
                let mut conn = self.conns[id].take().expect("checked above");
                self.handshake_step(&mut conn, result);
                let open = matches!(conn.stream, Stream::Open(_));
                self.conns[id] = Some(conn);
                if open {
                    self.read_all(id);
                }
            }
            open @ Stream::Open(_) => {
                conn.stream = open;
                if conn.pending {
                    conn.flush();
                }
                self.read_all(id);
            }
            Stream::Gone => {}
        }
    }

    /// Reads and answers every message available on connection `id`.
    fn read_all(&mut self, id: ConnId) {
        let WsServer { conns, shared, index, .. } = self;
        let Some(conn) = conns.get_mut(id).and_then(Option::as_mut) else { return };
        let (mut replies, mut changes) = (Vec::new(), Vec::new());
        loop {
            let Stream::Open(ws) = &mut conn.stream else { return };
            let text = match ws.read() {
                Ok(Message::Text(t)) => Some(t),
                Ok(Message::Binary(b)) => match Utf8Bytes::try_from(b) {
                    Ok(t) => Some(t),
                    Err(_) => {
                        replies.push(session::error("INVALID_JSON", "Invalid JSON message"));
                        None
                    }
                },
                Ok(_) => None,
                Err(WsError::Io(e)) if e.kind() == ErrorKind::WouldBlock => break,
                Err(WsError::Capacity(_)) => {
                    let msg = format!("Message refused: larger than {MAX_MESSAGE_BYTES} bytes");
                    conn.send(Message::text(session::error("LIMIT_EXCEEDED", &msg)));
                    conn.close(CloseCode::Size, "message too big", Instant::now());
                    conn.flush();
                    // The rest of the oversized frame is still in the socket: hang up.
                    conn.dead = true;
                    break;
                }
                Err(_) => {
                    conn.dead = true;
                    break;
                }
            };
            conn.last_heard = Instant::now();
            conn.pinged = None;
            if let Some(text) = text {
                conn.session.handle(
                    &text,
                    &shared.api_key,
                    shared.now_ms(),
                    |e, s| shared.resolve(e, s),
                    &mut replies,
                    &mut changes,
                );
            }
            for reply in replies.drain(..) {
                conn.send(Message::text(reply));
            }
            for Change { walker, modes } in changes.drain(..) {
                index.set(walker, id, modes);
            }
        }
        for reply in replies.drain(..) {
            conn.send(Message::text(reply));
        }
        shared.subscribed_symbols.store(index.active().len(), Relaxed);
    }

    /// Frames for symbols whose price was just set, at once (held while paused or muted).
    fn push_set_prices(&mut self) {
        if self.shared.paused.load(Relaxed) || self.shared.muted.load(Relaxed) {
            // Kept until resume, so the first frame after it carries the price set.
            return;
        }
        let pushes =
            std::mem::take(&mut *self.shared.pushes.lock().unwrap_or_else(|p| p.into_inner()));
        if pushes.is_empty() {
            return;
        }
        let ms = self.shared.now_ms();
        self.batch.clear();
        {
            let walk = self.shared.walk();
            self.batch.extend(pushes.iter().map(|&w| (w, walk.snapshot(w as usize, ms))));
        }
        self.send_batch(ms);
    }

    /// One pacer batch: step the due number of subscribed symbols, round-robin, and send.
    fn stream_batch(&mut self, now: Instant) {
        let active = self.index.active();
        if self.shared.paused.load(Relaxed) || active.is_empty() || self.shared.rate == 0 {
            self.streaming = false;
            return;
        }
        if !self.streaming {
            self.streaming = true;
            self.pacer.reset(now);
            return;
        }
        let due = self.pacer.due(now) as usize;
        if due == 0 {
            return;
        }
        let ms = self.shared.now_ms();
        self.batch.clear();
        {
            let mut walk = self.shared.walk();
            for _ in 0..due {
                self.next_symbol = (self.next_symbol + 1) % active.len();
                let w = active[self.next_symbol].walker;
                self.batch.push((w, walk.step(w as usize, ms)));
            }
        }
        self.shared.ticks_generated.fetch_add(due as u64, Relaxed);
        if !self.shared.muted.load(Relaxed) {
            self.send_batch(ms);
        }
    }

    /// Sends every tick of `self.batch` to its subscribers, encoding once per mode.
    fn send_batch(&mut self, ms: i64) {
        let WsServer { conns, shared, index, batch, .. } = self;
        let (mut sent, mut dropped) = (0u64, 0u64);
        for (walker, tick) in batch.iter() {
            let Some(inst) = shared.instruments.get(tick.symbol) else { continue };
            let mut encoded: [Option<Utf8Bytes>; 3] = [None, None, None];
            for &(id, modes) in index.subscribers(*walker) {
                let Some(conn) = conns.get_mut(id).and_then(Option::as_mut) else { continue };
                for mode in 1..=3u8 {
                    if modes & (1 << (mode - 1)) == 0 {
                        continue;
                    }
                    let text = encoded[usize::from(mode - 1)].get_or_insert_with(|| {
                        let mut buf = Vec::with_capacity(if mode == 3 { 1024 } else { 512 });
                        let ex = inst.exchange.as_str();
                        market_data::write(&mut buf, &inst.symbol, ex, mode, tick, ms, BROKER);
                        Utf8Bytes::try_from(buf).unwrap_or_default()
                    });
                    if conn.send(Message::Text(text.clone())) {
                        sent += 1;
                    } else {
                        dropped += 1;
                    }
                }
            }
        }
        shared.frames_sent.fetch_add(sent, Relaxed);
        shared.frames_dropped.fetch_add(dropped, Relaxed);
    }

    /// Auth deadline, keepalive pings, and close timeouts.
    fn housekeeping(&mut self, now: Instant) {
        for conn in self.conns.iter_mut().flatten() {
            if let Some(since) = conn.closing {
                if now.duration_since(since) > CLOSE_GRACE {
                    conn.dead = true;
                }
                continue;
            }
            if !conn.session.is_authenticated() && now.duration_since(conn.opened) > AUTH_DEADLINE {
                conn.close(CloseCode::from(4401), "auth timeout", now);
                continue;
            }
            match conn.pinged {
                Some(at) if now.duration_since(at) > PING_AFTER => {
                    conn.close(CloseCode::Away, "no reply to ping", now);
                }
                None if now.duration_since(conn.last_heard) > PING_AFTER => {
                    conn.send(Message::Ping(Bytes::new()));
                    conn.pinged = Some(now);
                }
                _ => {}
            }
        }
    }

    fn flush_and_reap(&mut self) {
        for id in 0..self.conns.len() {
            let Some(conn) = self.conns[id].as_mut() else { continue };
            if conn.pending && !conn.dead {
                conn.flush();
            }
            if !conn.dead {
                continue;
            }
            let conn = self.conns[id].take().expect("checked above");
            for (walker, _) in conn.session.subscriptions() {
                self.index.set(walker, id, 0);
            }
            if matches!(conn.stream, Stream::Open(_)) {
                self.shared.clients.fetch_sub(1, Relaxed);
            }
            self.free.push(id);
        }
        self.shared.subscribed_symbols.store(self.index.active().len(), Relaxed);
    }

    fn close_all(&mut self) {
        let now = Instant::now();
        for conn in self.conns.iter_mut().flatten() {
            conn.close(CloseCode::Away, "simulator stopping", now);
            conn.flush();
        }
        let open = self.conns.iter().flatten().filter(|c| matches!(c.stream, Stream::Open(_)));
        self.shared.clients.fetch_sub(open.count(), Relaxed);
        self.conns.clear();
    }
}
