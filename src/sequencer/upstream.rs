//! One connection to an OpenAlgo WebSocket feed, driven by the sequencer's mio poll:
//! TCP connect, (for `wss://`) the TLS handshake, WebSocket handshake, authenticate, then
//! read `market_data` frames.
//!
//! ```text
//!  Idle --retry time--> Connecting --writable--> Handshake --done--> Open (auth sent)
//!    ^                                                                 | auth reply ok
//!    +------ disconnect (error, EOF, refused key): backoff 1,2,5,10,30 s -+ -> subscribed
//! ```
//!
//! Sockets are non-blocking and registered edge-triggered for both directions, so every
//! readiness event drains reads until `WouldBlock` and retries the flush of anything
//! tungstenite still holds. With `wss://` the socket is wrapped in rustls (trusting the
//! roots of [`crate::tls`]); its `Stream` reports `WouldBlock` as the plain socket does and
//! keeps what it accepted, so the same non-blocking drive serves both.

#![forbid(unsafe_code)]

use crate::types::SymbolId;
use mio::net::TcpStream;
use mio::{Interest as Ready, Registry, Token};
use std::io::ErrorKind;
use std::net::ToSocketAddrs;
use std::time::{Duration, Instant};
use tungstenite::handshake::client::ClientHandshake;
use tungstenite::handshake::{HandshakeError, MidHandshake};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Connector, Error as WsError, Message, WebSocket};

/// The feed socket: plain for `ws://`, rustls for `wss://`.
type Socket = MaybeTlsStream<TcpStream>;

/// Reconnect delays, in seconds; the last one repeats.
pub const BACKOFF_SECS: [u64; 5] = [1, 2, 5, 10, 30];

/// How long a TCP connect plus handshake may take before it is abandoned.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Linux `EINPROGRESS`: a non-blocking connect still under way.
const EINPROGRESS: i32 = 115;

/// Symbols per subscribe message.
const SUBSCRIBE_CHUNK: usize = 100;

/// Frames read from one connection per turn of the sequencer's loop. A feed that never
/// lets the socket run dry would otherwise keep the loop reading forever while orders
/// wait in the intake (found at 200,000 ticks/s: orders timed out after 10 s). About a
/// millisecond of decoding; the rest is read on the next turn, after the intake.
pub const READ_BUDGET: usize = 1024;

/// tungstenite's read chunk and buffer. Its default (128 KiB) is zero-filled on every
/// read that finds the buffer empty (`in_buffer.resize`), a 128 KiB memset per read
/// batch; 16 KiB still takes ~40 Quote frames per syscall.
const READ_BUFFER: usize = 16 << 10;

/// tungstenite's own limit; frames between 1 MiB ([`super::decode::MAX_FRAME`]) and this
/// are read and dropped by the decoder, so the connection survives them.
const MAX_MESSAGE: usize = 16 << 20;

enum State {
    Idle { retry_at: Instant },
    Connecting { stream: TcpStream, since: Instant },
    Handshake { mid: Box<MidHandshake<ClientHandshake<Socket>>>, since: Instant },
    Open { ws: Box<WebSocket<Socket>>, authenticated: bool },
}

/// What a drive step produced, for the feed to act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Nothing changed.
    None,
    /// The WebSocket handshake completed; the auth message is queued.
    Connected,
    /// The connection was lost or refused; a retry is scheduled.
    Disconnected,
}

/// One upstream connection.
pub struct Connection {
    /// Position in the feed's connection list (used in logs).
    pub index: usize,
    token: Token,
    url: String,
    /// `SO_RCVBUF` set on each new socket (`None`: the kernel's autotuning).
    rcvbuf: Option<u32>,
    state: State,
    backoff_step: usize,
    /// Handshakes completed so far (more than one means it reconnected).
    pub opens: u64,
    /// Symbols assigned to this connection.
    pub assigned: usize,
    /// The last read stopped at [`READ_BUDGET`]: more may be buffered or on the socket,
    /// and an edge-triggered poll will not say so again.
    unread: bool,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("index", &self.index)
            .field("url", &self.url)
            .field("open", &self.is_open())
            .field("authenticated", &self.is_authenticated())
            .finish()
    }
}

impl Connection {
    /// A connection that will first try to connect at once.
    pub fn new(index: usize, token: Token, url: String, rcvbuf: Option<u32>) -> Connection {
        Connection {
            index,
            token,
            url,
            rcvbuf,
            state: State::Idle { retry_at: Instant::now() },
            backoff_step: 0,
            opens: 0,
            assigned: 0,
            unread: false,
        }
    }

    /// True while the WebSocket is open.
    pub fn is_open(&self) -> bool {
        matches!(self.state, State::Open { .. })
    }

    /// True once the upstream accepted our key on this connection.
    pub fn is_authenticated(&self) -> bool {
        matches!(self.state, State::Open { authenticated: true, .. })
    }

    /// When the connection next needs attention without a socket event.
    pub fn deadline(&self) -> Option<Instant> {
        match &self.state {
            State::Idle { retry_at } => Some(*retry_at),
            State::Connecting { since, .. } | State::Handshake { since, .. } => {
                Some(*since + CONNECT_TIMEOUT)
            }
            State::Open { .. } => None,
        }
    }

    /// Starts a connect when the retry time has come; abandons a connect that hangs.
    pub fn maintain(&mut self, now: Instant, registry: &Registry) -> Transition {
        match &self.state {
            State::Idle { retry_at } if now >= *retry_at => self.connect(registry),
            State::Connecting { since, .. } | State::Handshake { since, .. }
                if now >= *since + CONNECT_TIMEOUT =>
            {
                self.disconnect("connect timed out")
            }
            _ => Transition::None,
        }
    }

    fn connect(&mut self, registry: &Registry) -> Transition {
        let addr = match host_port(&self.url)
            .and_then(|hp| hp.to_socket_addrs().ok())
            .and_then(|mut a| a.next())
        {
            Some(a) => a,
            None => return self.disconnect("cannot resolve the feed address"),
        };
        match TcpStream::connect(addr) {
            Ok(mut stream) => {
                // Set while the handshake is in flight, before any frame arrives; a fixed
                // size also turns the kernel's autotuning off for this socket.
                if let Some(bytes) = self.rcvbuf {
                    let set =
                        rustix::net::sockopt::set_socket_recv_buffer_size(&stream, bytes as usize);
                    if let Err(e) = set {
                        return self.disconnect(&format!("cannot set SO_RCVBUF to {bytes}: {e}"));
                    }
                }
                let ready = Ready::READABLE | Ready::WRITABLE;
                if let Err(e) = registry.register(&mut stream, self.token, ready) {
                    return self.disconnect(&format!("cannot register the socket: {e}"));
                }
                self.state = State::Connecting { stream, since: Instant::now() };
                Transition::None
            }
            Err(e) => self.disconnect(&format!("connect failed: {e}")),
        }
    }

    /// Closes the connection (if open) and schedules a retry with the next backoff delay.
    pub fn disconnect(&mut self, why: &str) -> Transition {
        let delay = BACKOFF_SECS[self.backoff_step.min(BACKOFF_SECS.len() - 1)];
        self.backoff_step += 1;
        let was = std::mem::replace(
            &mut self.state,
            State::Idle { retry_at: Instant::now() + Duration::from_secs(delay) },
        );
        let verb = if matches!(was, State::Open { .. }) { "disconnected" } else { "unreachable" };
        tracing::warn!(
            url = %self.url, connection = self.index, state = verb, error = why, retry_in_s = delay,
            "feed: upstream connection {verb}; reconnecting"
        );
        Transition::Disconnected
    }

    /// Marks the key accepted; resets the backoff.
    pub fn set_authenticated(&mut self) {
        if let State::Open { authenticated, .. } = &mut self.state {
            *authenticated = true;
            self.backoff_step = 0;
        }
    }

    /// Advances connect and handshake after a readiness event (or right after a state
    /// change, since events are edge-triggered). Returns a transition the feed must see.
    pub fn drive_setup(&mut self, api_key: &str) -> Transition {
        let state = std::mem::replace(&mut self.state, State::Idle { retry_at: far() });
        match state {
            State::Connecting { stream, since } => {
                match stream.take_error() {
                    Ok(Some(e)) | Err(e) => {
                        return self.disconnect(&format!("connect failed: {e}"));
                    }
                    Ok(None) => {}
                }
                match stream.peer_addr() {
                    Ok(_) => {}
                    Err(e)
                        if e.kind() == ErrorKind::NotConnected
                            || e.raw_os_error() == Some(EINPROGRESS) =>
                    {
                        // Still connecting: wait for the next writable event.
                        self.state = State::Connecting { stream, since };
                        return Transition::None;
                    }
                    Err(e) => return self.disconnect(&format!("connect failed: {e}")),
                }
                let _ = stream.set_nodelay(true);
                let config = WebSocketConfig::default()
                    .read_buffer_size(READ_BUFFER)
                    .max_message_size(Some(MAX_MESSAGE))
                    .max_frame_size(Some(MAX_MESSAGE));
                let tls = self.url.starts_with("wss://");
                let connector = tls.then(|| Connector::Rustls(crate::tls::client_config()));
                match tungstenite::client_tls_with_config(
                    self.url.as_str(),
                    stream,
                    Some(config),
                    connector,
                ) {
                    Ok((ws, _)) => self.opened(ws, api_key),
                    Err(HandshakeError::Interrupted(mid)) => {
                        self.state = State::Handshake { mid: Box::new(mid), since };
                        Transition::None
                    }
                    Err(HandshakeError::Failure(e)) => {
                        self.disconnect(&crate::tls::explain(format!("handshake failed: {e}")))
                    }
                }
            }
            State::Handshake { mid, since } => match (*mid).handshake() {
                Ok((ws, _)) => self.opened(ws, api_key),
                Err(HandshakeError::Interrupted(mid)) => {
                    self.state = State::Handshake { mid: Box::new(mid), since };
                    Transition::None
                }
                Err(HandshakeError::Failure(e)) => {
                    self.disconnect(&crate::tls::explain(format!("handshake failed: {e}")))
                }
            },
            other => {
                self.state = other;
                Transition::None
            }
        }
    }

    fn opened(&mut self, mut ws: WebSocket<Socket>, api_key: &str) -> Transition {
        let auth = format!(r#"{{"action":"authenticate","api_key":{}}}"#, json_str(api_key));
        if let Err(e) = ws.write(Message::text(auth)) {
            if !would_block(&e) {
                return self.disconnect(&format!("cannot send authenticate: {e}"));
            }
        }
        tracing::info!(url = %self.url, connection = self.index, "feed: upstream connection connected");
        self.state = State::Open { ws: Box::new(ws), authenticated: false };
        self.opens += 1;
        Transition::Connected
    }

    /// True when the last read stopped at its budget (read again without waiting for
    /// readiness).
    pub fn has_unread(&self) -> bool {
        self.unread && self.is_open()
    }

    /// Reads the frames available, at most [`READ_BUDGET`], handing each text (or binary)
    /// payload to `on_frame`; [`Connection::has_unread`] then says whether it stopped at
    /// the budget. Returns `Err(reason)` when the connection must be dropped; `on_frame`
    /// returns false to ask for that too (a refused key).
    pub fn read_frames(
        &mut self,
        mut on_frame: impl FnMut(&[u8]) -> bool,
        mut on_oversized: impl FnMut(),
    ) -> Result<(), String> {
        self.unread = false;
        let State::Open { ws, .. } = &mut self.state else { return Ok(()) };
        for _ in 0..READ_BUDGET {
            match ws.read() {
                Ok(Message::Text(t)) => {
                    if !on_frame(t.as_bytes()) {
                        return Err("the upstream refused the request".into());
                    }
                }
                Ok(Message::Binary(b)) => {
                    if !on_frame(&b) {
                        return Err("the upstream refused the request".into());
                    }
                }
                Ok(_) => {} // ping (answered by tungstenite), pong, close (EOF follows)
                Err(e) if would_block(&e) => return self.flush(),
                Err(WsError::Capacity(e)) => {
                    on_oversized();
                    return Err(format!("oversized frame: {e}"));
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        self.unread = true;
        self.flush()
    }

    /// Queues a text message (sent on the next flush).
    pub fn send(&mut self, text: String) -> Result<(), String> {
        let State::Open { ws, .. } = &mut self.state else { return Ok(()) };
        match ws.write(Message::text(text)) {
            Ok(()) => Ok(()),
            Err(e) if would_block(&e) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Flushes queued frames (including pongs); `WouldBlock` waits for writable.
    pub fn flush(&mut self) -> Result<(), String> {
        let State::Open { ws, .. } = &mut self.state else { return Ok(()) };
        match ws.flush() {
            Ok(()) => Ok(()),
            Err(e) if would_block(&e) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Sends subscribe (or unsubscribe) messages for `symbols`, grouped by mode, in
    /// chunks. `names` resolves a symbol id to `(symbol, exchange)`.
    pub fn send_subscriptions<'a>(
        &mut self,
        action: &str,
        symbols: &[(SymbolId, u8)],
        names: impl Fn(SymbolId) -> Option<(&'a str, &'a str)>,
    ) -> Result<(), String> {
        for mode in 1..=3u8 {
            let of_mode: Vec<SymbolId> =
                symbols.iter().filter(|(_, m)| *m == mode).map(|(s, _)| *s).collect();
            for chunk in of_mode.chunks(SUBSCRIBE_CHUNK) {
                let mut list = String::new();
                for (k, (symbol, exchange)) in chunk.iter().filter_map(|s| names(*s)).enumerate() {
                    if k > 0 {
                        list.push(',');
                    }
                    list.push_str(&format!(
                        r#"{{"symbol":{},"exchange":{},"mode":{mode}}}"#,
                        json_str(symbol),
                        json_str(exchange)
                    ));
                }
                let msg = format!(
                    r#"{{"action":"{action}","symbols":[{list}],"mode":{mode},"depth":5}}"#
                );
                self.send(msg)?;
            }
        }
        self.flush()
    }
}

fn far() -> Instant {
    Instant::now() + Duration::from_secs(3600)
}

fn would_block(e: &WsError) -> bool {
    matches!(e, WsError::Io(io) if io.kind() == ErrorKind::WouldBlock)
}

/// `host:port` of a `ws://host[:port][/path]` (default port 80) or `wss://...` (443) URL.
pub fn host_port(url: &str) -> Option<String> {
    let (rest, default_port) = match url.strip_prefix("wss://") {
        Some(rest) => (rest, 443),
        None => (url.strip_prefix("ws://")?, 80),
    };
    let authority = rest.split(['/', '?']).next().filter(|a| !a.is_empty())?;
    Some(if authority.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
        authority.to_string()
    } else {
        format!("{authority}:{default_port}")
    })
}

/// A JSON string literal.
pub fn json_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(host_port("ws://127.0.0.1:8765").as_deref(), Some("127.0.0.1:8765"));
        assert_eq!(host_port("ws://feed.local/ws").as_deref(), Some("feed.local:80"));
        assert_eq!(host_port("wss://x:1").as_deref(), Some("x:1"));
        assert_eq!(host_port("wss://feed.example/ws").as_deref(), Some("feed.example:443"));
        assert_eq!(host_port("http://x:1"), None);
        assert_eq!(host_port("ws://"), None);
        assert_eq!(json_str("a\"b"), r#""a\"b""#);
    }

    /// The receive buffer cap is on the socket from the connect on (the kernel reports
    /// twice the size set: it counts its bookkeeping), and without a cap the socket keeps
    /// the kernel's default.
    #[test]
    fn a_capped_connection_sets_its_receive_buffer() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        let poll = mio::Poll::new().unwrap();
        let rcvbuf = |c: &Connection| match &c.state {
            State::Connecting { stream, .. } => {
                rustix::net::sockopt::socket_recv_buffer_size(stream).unwrap()
            }
            _ => panic!("not connecting"),
        };
        let mut capped = Connection::new(0, Token(1), url.clone(), Some(100_000));
        assert_eq!(capped.maintain(Instant::now(), poll.registry()), Transition::None);
        assert_eq!(rcvbuf(&capped), 200_000);
        let mut free = Connection::new(1, Token(2), url, None);
        assert_eq!(free.maintain(Instant::now(), poll.registry()), Transition::None);
        assert_ne!(rcvbuf(&free), 200_000);
    }
}
