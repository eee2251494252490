//! The upstream OpenAlgo feed: a set of [`Connection`]s (at most
//! `symbols_per_connection` symbols each), kept subscribed to what [`Interest`] wants.
//!
//! # Invariants
//! - `assigned[s]` is `Some((connection, mode))` exactly when `s` is wanted and has been
//!   handed to that connection; an authenticated connection is subscribed to every symbol
//!   assigned to it, in its mode (everything is resubscribed after each authentication).
//!
//! # Known limitations
//! - A `market_data` frame allocates once inside tungstenite (its message buffer); the
//!   decode after it does not.
//! - Idle connections left after the wanted set shrinks stay open until shutdown.

#![forbid(unsafe_code)]

use super::decode::{DecodeError, Decoder, Frame};
use super::ratelog::RateLog;
use super::upstream::{Connection, Transition};
use crate::clock::{mono_now_ns, wall_now_ns};
use crate::event::{Input, QuoteSource};
use crate::health::FeedHealth;
use crate::instruments::InstrumentMaster;
use crate::interest::Interest;
use crate::ring::Publisher;
use crate::types::SymbolId;
use mio::{Registry, Token};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Where market data comes from.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum FeedConfig {
    /// No upstream: ticks arrive only through [`crate::engine::EngineHandle::send_tick`]
    /// (tests, replay tools) or the watchdog's polling.
    #[default]
    None,
    /// An OpenAlgo WebSocket feed (or anything speaking its protocol).
    Upstream {
        /// `ws://HOST:PORT[/path]`.
        url: String,
        /// The key sent in `authenticate`.
        api_key: String,
    },
    /// The relay's JetStream stream (`tickfill relay`): ticks arrive through the intake
    /// from the NATS consumer thread ([`super::nats`]), not from a socket of this
    /// sequencer; the watchdog treats it as a stream like the upstream's.
    Nats {
        /// `nats://HOST:PORT[,nats://HOST:PORT...]`.
        url: String,
    },
}

impl std::fmt::Debug for FeedConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FeedConfig::None => f.write_str("None"),
            // The key is a secret: never printed.
            FeedConfig::Upstream { url, .. } => {
                f.debug_struct("Upstream").field("url", url).field("api_key", &"***").finish()
            }
            FeedConfig::Nats { url } => f.debug_struct("Nats").field("url", url).finish(),
        }
    }
}

impl FeedConfig {
    /// Checks the URL; the error names the fix.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            FeedConfig::None => Ok(()),
            FeedConfig::Upstream { url, .. } => {
                super::upstream::host_port(url).map(|_| ()).ok_or_else(|| {
                    format!("feed URL {url:?} must look like ws://HOST:PORT or wss://HOST:PORT")
                })
            }
            FeedConfig::Nats { url } => super::nats::validate_url(url),
        }
    }
}

/// Shared state the feed reads and writes.
#[derive(Debug, Clone)]
pub struct FeedShared {
    /// Symbol lookup.
    pub instruments: Arc<InstrumentMaster>,
    /// What to subscribe.
    pub interest: Arc<Interest>,
    /// Health, written here.
    pub health: Arc<crate::health::Health>,
    /// The time `last_data_ns` is stamped on (the watchdog reads it on the same clock).
    pub clock: crate::clock::Clock,
}

/// The first token used for connections (token 0 is the intake waker).
pub const FIRST_CONNECTION_TOKEN: usize = 1;

/// The feed, owned by the sequencer thread.
#[derive(Debug)]
pub struct Feed {
    url: String,
    api_key: String,
    per_connection: usize,
    rcvbuf: Option<u32>,
    connections: Vec<Connection>,
    assigned: Vec<Option<(u32, u8)>>,
    wanted_scratch: Vec<u8>,
    seen_version: Option<u64>,
    decoder: Decoder,
    shared: FeedShared,
    bad_frames: RateLog,
}

impl Feed {
    /// A feed for `config`; `None` when there is no upstream. `rcvbuf` caps each
    /// connection's `SO_RCVBUF` (`None`: the kernel's autotuning).
    pub fn new(
        config: &FeedConfig,
        per_connection: usize,
        rcvbuf: Option<u32>,
        shared: FeedShared,
    ) -> Option<Feed> {
        let FeedConfig::Upstream { url, api_key } = config else { return None };
        let n = shared.instruments.len();
        let mut feed = Feed {
            url: url.clone(),
            api_key: api_key.clone(),
            per_connection: per_connection.max(1),
            rcvbuf,
            connections: Vec::new(),
            assigned: vec![None; n],
            wanted_scratch: vec![0; n],
            seen_version: None,
            decoder: Decoder::new(),
            shared,
            bad_frames: RateLog::new(Duration::from_secs(1)),
        };
        // One connection always, even with nothing to subscribe: it tells the watchdog
        // whether the upstream is reachable.
        feed.add_connection();
        Some(feed)
    }

    fn add_connection(&mut self) -> usize {
        let i = self.connections.len();
        let token = Token(FIRST_CONNECTION_TOKEN + i);
        self.connections.push(Connection::new(i, token, self.url.clone(), self.rcvbuf));
        i
    }

    fn health(&self) -> &FeedHealth {
        &self.shared.health.feed
    }

    /// The earliest time a connection needs attention without a socket event.
    pub fn deadline(&self) -> Option<Instant> {
        self.connections.iter().filter_map(Connection::deadline).min()
    }

    /// Reconnects, abandons hung connects, and applies changes of the wanted set.
    pub fn maintain(&mut self, now: Instant, registry: &Registry) {
        for i in 0..self.connections.len() {
            if self.connections[i].maintain(now, registry) != Transition::None {
                self.update_health();
            }
        }
        let version = self.shared.interest.version();
        if self.seen_version != Some(version) {
            self.seen_version = Some(version);
            self.resubscribe_diff();
        }
    }

    /// True when a connection stopped reading at its budget (see
    /// [`upstream::READ_BUDGET`](super::upstream::READ_BUDGET)): the loop must not sleep.
    pub fn has_unread(&self) -> bool {
        self.connections.iter().any(Connection::has_unread)
    }

    /// Reads on from every connection that stopped at its budget; returns ticks published.
    pub fn read_unread(&mut self, publisher: &mut Publisher) -> u64 {
        let mut ticks = 0;
        for i in 0..self.connections.len() {
            if self.connections[i].has_unread() {
                ticks += self.read(i, publisher);
            }
        }
        ticks
    }

    /// Handles a readiness event of connection token `token`; publishes decoded ticks.
    /// Returns how many ticks were published.
    pub fn on_ready(&mut self, token: Token, publisher: &mut Publisher) -> u64 {
        let Some(i) = token.0.checked_sub(FIRST_CONNECTION_TOKEN) else { return 0 };
        if i >= self.connections.len() {
            return 0;
        }
        if !self.connections[i].is_open() {
            match self.connections[i].drive_setup(&self.api_key) {
                Transition::Connected => {
                    if self.connections[i].opens > 1 {
                        self.health().reconnects.fetch_add(1, Ordering::Relaxed);
                    }
                    self.update_health();
                }
                Transition::Disconnected => {
                    self.update_health();
                    return 0;
                }
                Transition::None => return 0,
            }
        }
        self.read(i, publisher)
    }

    fn read(&mut self, i: usize, publisher: &mut Publisher) -> u64 {
        let mut published = 0u64;
        let mut auth_ok = false;
        let Feed { connections, decoder, shared, bad_frames, url, .. } = self;
        let health = &shared.health.feed;
        // One clock read per read batch, not per frame: every frame of the batch gets the
        // time the batch started (frames that arrive by a later syscall of the same batch
        // are stamped early, which makes socket -> fill look longer, never shorter).
        let recv_ns = mono_now_ns();
        let wall_ns = wall_now_ns();
        let result = connections[i].read_frames(
            |bytes| match decoder.decode(bytes, &shared.instruments) {
                Ok(Frame::Tick(mut tick)) => {
                    tick.source = QuoteSource::Stream;
                    publisher.publish(Input::Tick(tick), wall_ns, recv_ns);
                    published += 1;
                    true
                }
                Ok(Frame::Auth { ok: true, .. }) => {
                    auth_ok = true;
                    true
                }
                Ok(Frame::Auth { ok: false, message }) => {
                    tracing::error!(url = %url, message = %message, "feed: upstream refused our key");
                    false
                }
                Ok(Frame::Error { code, message }) => {
                    bad_frames.log(format_args!("feed: upstream error {code}: {message}"));
                    code.as_str() != "AUTHENTICATION_ERROR"
                }
                Ok(Frame::Control) => true,
                Err(e) => {
                    health.validation_errors.fetch_add(1, Ordering::Relaxed);
                    log_bad_frame(bad_frames, &e, bytes);
                    true
                }
            },
            || {
                health.validation_errors.fetch_add(1, Ordering::Relaxed);
            },
        );
        if published > 0 {
            let health = &self.shared.health.feed;
            let stamp =
                if self.shared.clock.is_manual() { self.shared.clock.now_ns() } else { recv_ns };
            health.last_data_ns.store(stamp.max(1), Ordering::Release);
            health.stream_ticks.fetch_add(published, Ordering::Relaxed);
        }
        if auth_ok {
            self.on_authenticated(i);
        }
        if let Err(why) = result {
            self.connections[i].disconnect(&why);
            self.update_health();
        }
        published
    }

    fn on_authenticated(&mut self, i: usize) {
        tracing::info!(
            url = %self.url, connection = self.connections[i].index,
            "feed: upstream connection authenticated"
        );
        self.connections[i].set_authenticated();
        // Resubscribe everything assigned to this connection.
        let subs: Vec<(SymbolId, u8)> = self
            .assigned
            .iter()
            .enumerate()
            .filter_map(|(s, a)| match a {
                Some((c, m)) if *c as usize == i => Some((SymbolId(s as u32), *m)),
                _ => None,
            })
            .collect();
        self.send(i, "subscribe", &subs);
        self.update_health();
    }

    fn send(&mut self, i: usize, action: &str, subs: &[(SymbolId, u8)]) {
        if subs.is_empty() || !self.connections[i].is_authenticated() {
            return; // sent in full on (re)authentication
        }
        let instruments = Arc::clone(&self.shared.instruments);
        let names = |s: SymbolId| {
            instruments.get(s).map(|ins| (ins.symbol.as_str(), ins.exchange.as_str()))
        };
        if let Err(why) = self.connections[i].send_subscriptions(action, subs, names) {
            self.connections[i].disconnect(&why);
            self.update_health();
        }
    }

    /// Diffs the wanted set against the assigned one and (un)subscribes the difference.
    fn resubscribe_diff(&mut self) {
        self.wanted_scratch.fill(0);
        for (s, m) in self.shared.interest.wanted() {
            if let Some(w) = self.wanted_scratch.get_mut(s.index()) {
                *w = m;
            }
        }
        let mut subscribe: Vec<Vec<(SymbolId, u8)>> = vec![Vec::new(); self.connections.len()];
        let mut unsubscribe = subscribe.clone();
        for s in 0..self.assigned.len() {
            let id = SymbolId(s as u32);
            let want = self.wanted_scratch[s];
            match (self.assigned[s], want) {
                (None, 0) => {}
                (None, m) => {
                    let c = self.connection_with_room();
                    if subscribe.len() <= c {
                        subscribe.resize(c + 1, Vec::new());
                        unsubscribe.resize(c + 1, Vec::new());
                    }
                    self.connections[c].assigned += 1;
                    self.assigned[s] = Some((c as u32, m));
                    subscribe[c].push((id, m));
                }
                (Some((c, old)), 0) => {
                    self.connections[c as usize].assigned -= 1;
                    self.assigned[s] = None;
                    unsubscribe[c as usize].push((id, old));
                }
                (Some((c, old)), m) if old != m => {
                    self.assigned[s] = Some((c, m));
                    unsubscribe[c as usize].push((id, old));
                    subscribe[c as usize].push((id, m));
                }
                _ => {}
            }
        }
        for c in 0..self.connections.len() {
            self.send(c, "unsubscribe", &unsubscribe[c]);
            self.send(c, "subscribe", &subscribe[c]);
        }
    }

    fn connection_with_room(&mut self) -> usize {
        match self.connections.iter().position(|c| c.assigned < self.per_connection) {
            Some(i) => i,
            None => self.add_connection(),
        }
    }

    fn update_health(&self) {
        let all_open = self.connections.iter().all(Connection::is_open);
        let all_auth = self.connections.iter().all(Connection::is_authenticated);
        self.health().connected.store(all_open, Ordering::Release);
        self.health().authenticated.store(all_auth, Ordering::Release);
    }

    /// Number of connections (open or retrying).
    pub fn connections(&self) -> usize {
        self.connections.len()
    }
}

fn log_bad_frame(log: &mut RateLog, e: &DecodeError, bytes: &[u8]) {
    let head = &bytes[..bytes.len().min(120)];
    log.log(format_args!(
        "feed: dropped a malformed frame ({e}): {}",
        String::from_utf8_lossy(head)
    ));
}
