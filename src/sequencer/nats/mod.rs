//! `serve --feed nats://...`: ticks from the relay's JetStream stream `TICKS`
//! ([`crate::relay`]) into the engine's intake.
//!
//! One thread runs a small async loop: it announces the engine's wanted symbols on
//! `tickfill.interest` (so the relay subscribes them upstream), consumes their subjects
//! with an ordered consumer (server-side ordering, no acks, recreated by the client from
//! the last sequence it saw after a hiccup), and sends each tick with its stream sequence
//! and the relay's time into the intake. The hot thread publishes it like any input and
//! stays the single producer of its ring.
//!
//! ```text
//!  TICKS --ordered consumer--> decode, intern --Inbound::StreamTick--> intake -> sequencer
//!  Interest --(every announce_every, and on change)--> tickfill.interest -> relay
//! ```
//!
//! # Invariants
//! - Ticks reach the intake in stream order, each once: a sequence at or below the last
//!   one sent is dropped, and the consumer is (re)created from the last one sent + 1.
//! - On start the position is the last stream sequence in the journal ([`resume`]): what
//!   was journaled is not sent again, what was not is sent again.
//! - Only stream data refreshes `FeedHealth::last_data_ns`, as with a direct feed, so the
//!   watchdog's staleness check and REST fallback work unchanged.
//!
//! # Known limitations
//! - A change of the wanted set recreates the consumer (one request to the server); a
//!   symbol added later gets its ticks from the current position on.
//! - Ticks the stream's retention removed before the engine read them are a gap the
//!   engine cannot fill: it is logged with the missing range and counted in
//!   `FeedHealth::validation_errors`.

#![forbid(unsafe_code)]

pub mod resume;

use crate::clock::mono_now_ns;
use crate::engine::EngineHandle;
use crate::event::QuoteSource;
use crate::relay::interest::{Announcement, INTEREST_SUBJECT, Wanted};
use crate::relay::stream::TICKS;
use crate::relay::{subject, wire};
use crate::types::{Exchange, SymbolId};
use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::consumer::pull::OrderedConfig;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Where an engine with no stream tick in its journal starts reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartAt {
    /// The oldest tick the stream still holds (engines started alike end alike).
    All,
    /// Ticks published from now on.
    New,
}

impl std::str::FromStr for StartAt {
    type Err = String;
    fn from_str(s: &str) -> Result<StartAt, String> {
        match s {
            "all" => Ok(StartAt::All),
            "new" => Ok(StartAt::New),
            _ => Err(format!("--nats-start takes all or new, not {s:?}")),
        }
    }
}

/// The NATS feed's settings.
#[derive(Clone, Debug)]
pub struct NatsFeedConfig {
    /// `nats://HOST:PORT` (comma-separated for a cluster).
    pub url: String,
    /// The engine's name in announcements (and its account in `EVENTS` subjects).
    pub account: String,
    /// The last stream sequence in the journal ([`resume::last_stream_seq`]).
    pub resume_after: Option<u64>,
    /// Where to start when `resume_after` is `None`.
    pub start: StartAt,
    /// How often the wanted set is announced (its TTL at the relay is three times this).
    pub announce_every: Duration,
}

/// Checks `nats://HOST:PORT[,nats://HOST:PORT...]`; the error names the fix.
pub fn validate_url(url: &str) -> Result<(), String> {
    for part in url.split(',') {
        let ok = part
            .strip_prefix("nats://")
            .and_then(|hp| hp.rsplit_once(':'))
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
        if !ok {
            return Err(format!("NATS URL {part:?} must look like nats://HOST:PORT"));
        }
    }
    Ok(())
}

/// The servers of `url` (`nats://A:1,nats://B:2`), for the client to connect to any and
/// fail over between them.
pub fn servers(url: &str) -> Vec<String> {
    url.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()
}

/// The running feed thread.
#[derive(Debug)]
pub struct NatsFeed {
    stop: Arc<AtomicBool>,
    wake: Arc<tokio::sync::Notify>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl NatsFeed {
    /// Starts the feed thread; it connects (retrying) in the background.
    pub fn spawn(config: NatsFeedConfig, handle: EngineHandle) -> std::io::Result<NatsFeed> {
        validate_url(&config.url).map_err(std::io::Error::other)?;
        let stop = Arc::new(AtomicBool::new(false));
        let wake = Arc::new(tokio::sync::Notify::new());
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let (s, w) = (Arc::clone(&stop), Arc::clone(&wake));
        let thread =
            std::thread::Builder::new().name("tickfill-nats-feed".into()).spawn(move || {
                let consumer = Consumer::new(config, handle, s);
                runtime.block_on(consumer.run(w));
            })?;
        Ok(NatsFeed { stop, wake, thread: Some(thread) })
    }

    /// Stops consuming (ticks already sent stay sent) and waits for the thread.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.wake.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Consumer {
    config: NatsFeedConfig,
    handle: EngineHandle,
    stop: Arc<AtomicBool>,
    /// The last stream sequence sent to the intake.
    last: Option<u64>,
    /// Subject -> symbol in this engine's master.
    symbols: HashMap<String, Option<SymbolId>>,
}

/// What ended one consumer's run.
enum Next {
    Stop,
    Resubscribe,
    Retry(String),
}

impl Consumer {
    fn new(config: NatsFeedConfig, handle: EngineHandle, stop: Arc<AtomicBool>) -> Consumer {
        let last = config.resume_after;
        Consumer { config, handle, stop, last, symbols: HashMap::new() }
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    async fn run(mut self, wake: Arc<tokio::sync::Notify>) {
        let health = Arc::clone(&self.handle.health);
        let events = Arc::clone(&health);
        let connect = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .event_callback(move |event| {
                let h = Arc::clone(&events);
                async move {
                    match event {
                        async_nats::Event::Connected => {
                            h.feed.connected.store(true, Ordering::Release);
                        }
                        async_nats::Event::Disconnected => {
                            h.feed.connected.store(false, Ordering::Release);
                            h.feed.authenticated.store(false, Ordering::Release);
                            tracing::warn!("nats feed: disconnected; reconnecting");
                        }
                        _ => {}
                    }
                }
            })
            .connect(servers(&self.config.url));
        let client = match connect.await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(url = %self.config.url, error = %e, "nats feed: cannot connect");
                return;
            }
        };
        tracing::info!(
            url = %self.config.url,
            account = ?self.config.account,
            start = %match (self.last, self.config.start) {
                (Some(s), _) => format!("resuming after stream sequence {s} (from the journal)"),
                (None, StartAt::All) => "no stream tick journaled: from the stream's start".into(),
                (None, StartAt::New) => "no stream tick journaled: from new ticks".into(),
            },
            "nats feed: consuming"
        );
        let js = async_nats::jetstream::new(client.clone());
        let mut waited = false;
        while !self.stopping() {
            let next = self.consume_once(&client, &js, &wake).await;
            match next {
                Next::Stop => break,
                Next::Resubscribe => {}
                Next::Retry(why) => {
                    if !waited {
                        tracing::warn!(error = %why, "nats feed: not available; retrying every second");
                    }
                    waited = true;
                    health.feed.authenticated.store(false, Ordering::Release);
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = wake.notified() => {}
                    }
                    continue;
                }
            }
            waited = false;
        }
        health.feed.connected.store(false, Ordering::Release);
        health.feed.authenticated.store(false, Ordering::Release);
        let _ = client.flush().await;
    }

    /// One ordered consumer over the current wanted set, until it changes, fails or the
    /// feed stops.
    async fn consume_once(
        &mut self,
        client: &async_nats::Client,
        js: &async_nats::jetstream::Context,
        wake: &tokio::sync::Notify,
    ) -> Next {
        let interest = Arc::clone(&self.handle.interest);
        let mut version = interest.version();
        let wanted = interest.wanted();
        self.announce(client, &wanted).await;
        let mut announce = tokio::time::interval(self.config.announce_every);
        announce.tick().await; // the first tick is immediate: just announced
        let mut check = tokio::time::interval(Duration::from_millis(50));
        if wanted.is_empty() {
            // Nothing to consume; the stream still counts as reachable for the watchdog.
            self.handle.health.feed.authenticated.store(true, Ordering::Release);
            loop {
                tokio::select! {
                    _ = wake.notified() => return Next::Stop,
                    _ = announce.tick() => self.announce(client, &wanted).await,
                    _ = check.tick() => if interest.version() != version {
                        return Next::Resubscribe;
                    },
                }
                if self.stopping() {
                    return Next::Stop;
                }
            }
        }
        let mut stream = match js.get_stream(TICKS).await {
            Ok(s) => s,
            Err(e) => {
                return Next::Retry(format!(
                    "stream {TICKS} not available ({e}): is the relay running?"
                ));
            }
        };
        let deliver_policy = match (self.last, self.config.start) {
            (Some(s), _) => DeliverPolicy::ByStartSequence { start_sequence: s + 1 },
            (None, StartAt::All) => DeliverPolicy::All,
            (None, StartAt::New) => DeliverPolicy::New,
        };
        if let (Some(last), Ok(info)) = (self.last, stream.info().await) {
            let first = info.state.first_sequence;
            if first > last + 1 {
                self.handle.health.feed.validation_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    resume_at = first,
                    "nats feed: GAP: stream sequences {}..={} were removed by the stream's \
                     retention before this engine read them",
                    last + 1,
                    first - 1
                );
            }
        }
        let subjects: Vec<String> = wanted
            .iter()
            .filter_map(|&(s, _)| self.handle.instruments.get(s))
            .map(|ins| subject::tick_subject(ins.exchange.as_str(), &ins.symbol))
            .collect();
        let config =
            OrderedConfig { filter_subjects: subjects, deliver_policy, ..Default::default() };
        let consumer = match stream.create_consumer(config).await {
            Ok(c) => c,
            Err(e) => return Next::Retry(format!("creating the consumer failed: {e}")),
        };
        let mut messages = match consumer.messages().await {
            Ok(m) => m,
            Err(e) => return Next::Retry(format!("consuming failed: {e}")),
        };
        self.handle.health.feed.authenticated.store(true, Ordering::Release);
        loop {
            tokio::select! {
                _ = wake.notified() => return Next::Stop,
                _ = announce.tick() => self.announce(client, &wanted).await,
                _ = check.tick() => if interest.version() != version {
                    // A change and its undoing leave the set as it was: no new consumer.
                    version = interest.version();
                    if interest.wanted() != wanted {
                        return Next::Resubscribe;
                    }
                },
                m = messages.next() => match m {
                    Some(Ok(msg)) => {
                        if !self.deliver(&msg) {
                            return Next::Stop;
                        }
                    }
                    Some(Err(e)) => return Next::Retry(format!("the consumer failed: {e}")),
                    None => return Next::Retry("the consumer ended".into()),
                },
            }
            if self.stopping() {
                return Next::Stop;
            }
        }
    }

    /// Sends one message's tick to the intake; false when the engine has stopped.
    fn deliver(&mut self, msg: &async_nats::jetstream::Message) -> bool {
        let feed = &self.handle.health.feed;
        let Ok(info) = msg.info() else {
            feed.validation_errors.fetch_add(1, Ordering::Relaxed);
            return true;
        };
        let seq = info.stream_sequence;
        if self.last.is_some_and(|l| seq <= l) {
            return true; // already sent (a consumer recreated from an earlier point)
        }
        let subject = msg.subject.as_str();
        let symbol = match self.symbols.get(subject) {
            Some(s) => *s,
            None => {
                let s = subject::parse_tick_subject(subject).and_then(|(ex, sym)| {
                    self.handle.instruments.lookup(Exchange::parse(&ex)?, &sym)
                });
                self.symbols.insert(subject.to_owned(), s);
                s
            }
        };
        let decoded = wire::decode(&msg.payload);
        let (Some(symbol), Ok((mut tick, time_ns))) = (symbol, decoded) else {
            feed.validation_errors.fetch_add(1, Ordering::Relaxed);
            self.last = Some(seq);
            return true;
        };
        tick.symbol = symbol;
        tick.source = QuoteSource::Stream;
        let recv = mono_now_ns();
        if self.handle.send_stream_tick(tick, time_ns, recv, seq).is_err() {
            return false;
        }
        self.last = Some(seq);
        feed.last_data_ns.store(recv.max(1), Ordering::Release);
        feed.stream_ticks.fetch_add(1, Ordering::Relaxed);
        true
    }

    async fn announce(&self, client: &async_nats::Client, wanted: &[(SymbolId, u8)]) {
        let symbols = wanted
            .iter()
            .filter_map(|&(s, mode)| {
                let ins = self.handle.instruments.get(s)?;
                Some(Wanted {
                    exchange: ins.exchange.as_str().to_owned(),
                    symbol: ins.symbol.clone(),
                    mode,
                })
            })
            .collect();
        let a = Announcement {
            engine: self.config.account.clone(),
            ttl_ms: (self.config.announce_every * 3).as_millis() as u64,
            symbols,
        };
        if let Ok(bytes) = serde_json::to_vec(&a) {
            // Core NATS: lost while disconnected, repeated every announce_every.
            let _ = client.publish(INTEREST_SUBJECT, bytes.into()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_start_policies_are_checked() {
        assert!(validate_url("nats://127.0.0.1:4222").is_ok());
        assert!(validate_url("nats://a:1,nats://b:2").is_ok());
        for bad in ["127.0.0.1:4222", "nats://host", "ws://a:1", "nats://:1"] {
            assert!(validate_url(bad).unwrap_err().contains("nats://HOST:PORT"), "{bad}");
        }
        assert_eq!("all".parse(), Ok(StartAt::All));
        assert!("old".parse::<StartAt>().unwrap_err().contains("--nats-start"));
    }
}
