//! The relay process: the upstream feed on a sequencer thread (the engine's own, with
//! [`RelayStage`] on the ring), and one async thread that talks to NATS: it publishes
//! the stage's messages to `TICKS`, watches engines' announcements and turns them into
//! the feed's subscriptions.
//!
//! ```text
//!  broker WS --> sequencer (feed, decode) --> ring --> RelayStage --mpsc--> publisher --> TICKS
//!                    ^ Interest                                               |
//!                    +---- Applied <- InterestTable <- tickfill.interest <----+ (engines)
//! ```
//!
//! # Invariants
//! - Ticks are published in the order the sequencer sequenced them, with acks awaited
//!   in order; a failed publish is counted and logged, never retried out of order.
//!
//! # Known limitations
//! - A tick whose publish fails (NATS unreachable past the client's buffer) is lost to
//!   the stream: engines see the stream resume after it. The relay logs each failure
//!   (rate-limited) and counts them in [`RelayStats::publish_errors`].

#![forbid(unsafe_code)]

use super::interest::{Applied, INTEREST_SUBJECT, InterestTable};
use super::stage::{Outgoing, Pass, RelayStage};
use super::stream::{self, Retention};
use crate::health::Health;
use crate::instruments::InstrumentMaster;
use crate::interest::Interest;
use crate::ring::pipeline::PipelineConfig;
use crate::ring::{Pipeline, Topology};
use crate::sequencer::{self, FeedConfig, FeedShared, Intake, SequencerConfig};
use crate::types::Seq;
use futures_util::StreamExt;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Publish acks awaited at most this many behind the newest publish.
const MAX_PENDING_ACKS: usize = 1024;
/// Seconds the relay retries creating `TICKS` at start before giving up.
const STREAM_ATTEMPTS: u32 = 30;
/// Messages queued between the stage and the publisher.
const QUEUE: usize = 8192;

/// What the relay needs.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// NATS servers, `nats://HOST:PORT` (comma-separated for a cluster).
    pub nats: String,
    /// The broker feed (an OpenAlgo WebSocket, or the simulator's).
    pub feed: FeedConfig,
    /// Names symbols and subjects.
    pub instruments: Arc<InstrumentMaster>,
    /// Symbols always subscribed (`EXCHANGE:SYMBOL`).
    pub symbols: Vec<String>,
    /// What `TICKS` keeps.
    pub retention: Retention,
    /// Symbols per upstream connection.
    pub symbols_per_connection: usize,
}

/// Counters, for the status line and tests.
#[derive(Debug, Default)]
pub struct RelayStats {
    /// Ticks acknowledged by JetStream.
    pub published: AtomicU64,
    /// Publishes that failed.
    pub publish_errors: AtomicU64,
    /// Engines whose announcement is in force.
    pub engines: AtomicU64,
    /// Symbols subscribed upstream.
    pub symbols: AtomicU64,
    /// Announcements that did not parse.
    pub bad_announcements: AtomicU64,
}

/// A running relay.
#[derive(Debug)]
pub struct Relay {
    intake: Intake,
    sequencer: Option<std::thread::JoinHandle<crate::ring::Publisher>>,
    nats: Option<std::thread::JoinHandle<()>>,
    /// Counters.
    pub stats: Arc<RelayStats>,
    /// The feed's health (connected, authenticated, ticks).
    pub health: Arc<Health>,
}

impl Relay {
    /// Connects to NATS (an error names the server), makes sure `TICKS` exists, then starts
    /// the feed and the publisher.
    pub fn start(config: RelayConfig) -> anyhow::Result<Relay> {
        // Bad --symbols are refused before anything connects.
        let table = InterestTable::new(Arc::clone(&config.instruments), &config.symbols)
            .map_err(anyhow::Error::msg)?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let (client, js) = runtime.block_on(async {
            let client = async_nats::connect(crate::sequencer::nats::servers(&config.nats))
                .await
                .map_err(|e| {
                anyhow::anyhow!(
                    "cannot reach NATS at {}: {e} (is nats-server running?)",
                    config.nats
                )
            })?;
            let js = async_nats::jetstream::new(client.clone());
            // A cluster that is still electing its leader refuses for a few seconds.
            let mut attempt = 0;
            loop {
                match stream::ensure_ticks(&js, &config.retention).await {
                    Ok(_) => break,
                    Err(e) if attempt < STREAM_ATTEMPTS => {
                        if attempt == 0 {
                            tracing::warn!(error = %e, "relay: creating the TICKS stream failed; retrying");
                        }
                        attempt += 1;
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    Err(e) => anyhow::bail!("creating the TICKS stream: {e}"),
                }
            }
            anyhow::Ok((client, js))
        })?;
        let announcements = runtime.block_on(client.subscribe(INTEREST_SUBJECT))?;
        let health = Arc::new(Health::new());
        let interest = Arc::new(Interest::new(config.instruments.len()));
        let stats = Arc::new(RelayStats::default());

        let (tx, rx) = tokio::sync::mpsc::channel(QUEUE);
        let stages = (RelayStage::new(Arc::clone(&config.instruments), tx), Pass, Pass, Pass);
        let pipeline = PipelineConfig {
            topology: Topology::Inline,
            busy_poll: Duration::ZERO,
            ..PipelineConfig::default()
        };
        let (publisher, _running) =
            Pipeline::start(&pipeline, Seq(1), stages, Arc::clone(&health))?;
        let (intake, intake_rx) = sequencer::intake(1024)?;
        let seq_config = SequencerConfig {
            snapshot_every: 0,
            symbols_per_connection: config.symbols_per_connection,
            ..SequencerConfig::default()
        };
        let shared = FeedShared {
            instruments: Arc::clone(&config.instruments),
            interest: Arc::clone(&interest),
            health: Arc::clone(&health),
            clock: crate::clock::Clock::system(),
        };
        let sequencer = sequencer::spawn(publisher, intake_rx, seq_config, config.feed, shared)?;

        let task =
            Task { js, table, applied: Applied::default(), interest, stats: Arc::clone(&stats) };
        let nats =
            std::thread::Builder::new().name("tickfill-relay-nats".into()).spawn(move || {
                runtime.block_on(task.run(rx, announcements));
                drop(client);
            })?;
        Ok(Relay { intake, sequencer: Some(sequencer), nats: Some(nats), stats, health })
    }

    /// Stops the feed, publishes what was sequenced, and waits for the acks.
    pub fn stop(mut self) {
        self.intake.stop();
        if let Some(s) = self.sequencer.take() {
            // The publisher owns the inline stages: dropping it closes the queue, which
            // ends the publisher task once it has drained.
            drop(s.join());
        }
        if let Some(n) = self.nats.take() {
            let _ = n.join();
        }
    }
}

struct Task {
    js: async_nats::jetstream::Context,
    table: InterestTable,
    applied: Applied,
    interest: Arc<Interest>,
    stats: Arc<RelayStats>,
}

impl Task {
    async fn run(
        mut self,
        mut rx: tokio::sync::mpsc::Receiver<Outgoing>,
        mut announcements: async_nats::Subscriber,
    ) {
        self.refresh(Instant::now());
        let mut pending = VecDeque::new();
        let mut expiry = tokio::time::interval(Duration::from_millis(500));
        let mut last_error_log: Option<Instant> = None;
        loop {
            tokio::select! {
                out = rx.recv() => {
                    let Some(first) = out else { break };
                    self.publish(first, &mut pending, &mut last_error_log).await;
                    // Everything already queued goes out before the acks are awaited.
                    while let Ok(more) = rx.try_recv() {
                        self.publish(more, &mut pending, &mut last_error_log).await;
                    }
                    self.settle(&mut pending, 0, &mut last_error_log).await;
                }
                Some(m) = announcements.next() => {
                    if !self.table.announce(&m.payload, Instant::now()) {
                        self.stats.bad_announcements.fetch_add(1, Ordering::Relaxed);
                    }
                    self.refresh(Instant::now());
                }
                _ = expiry.tick() => {
                    let now = Instant::now();
                    for engine in self.table.expire(now) {
                        tracing::info!(engine = ?engine, "relay: an engine stopped announcing; its interest expired");
                    }
                    self.refresh(now);
                }
            }
        }
        self.settle(&mut pending, 0, &mut last_error_log).await;
    }

    fn refresh(&mut self, _now: Instant) {
        let wanted = self.table.wanted();
        if self.applied.apply(&wanted, &self.interest) {
            tracing::info!(
                symbols = wanted.len(),
                engines = self.table.engines(),
                "relay: subscribing upstream"
            );
        }
        self.stats.engines.store(self.table.engines() as u64, Ordering::Relaxed);
        self.stats.symbols.store(wanted.len() as u64, Ordering::Relaxed);
    }

    async fn publish(
        &self,
        out: Outgoing,
        pending: &mut VecDeque<async_nats::jetstream::context::PublishAckFuture>,
        last_error_log: &mut Option<Instant>,
    ) {
        match self.js.publish(out.subject, out.payload.into()).await {
            Ok(ack) => pending.push_back(ack),
            Err(e) => self.failed(&e.to_string(), last_error_log),
        }
        if pending.len() > MAX_PENDING_ACKS {
            self.settle(pending, MAX_PENDING_ACKS, last_error_log).await;
        }
    }

    /// Awaits acks, oldest first, until at most `keep` are pending.
    async fn settle(
        &self,
        pending: &mut VecDeque<async_nats::jetstream::context::PublishAckFuture>,
        keep: usize,
        last_error_log: &mut Option<Instant>,
    ) {
        while pending.len() > keep {
            let Some(ack) = pending.pop_front() else { break };
            match ack.await {
                Ok(_) => {
                    self.stats.published.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => self.failed(&e.to_string(), last_error_log),
            }
        }
    }

    fn failed(&self, why: &str, last_log: &mut Option<Instant>) {
        let n = self.stats.publish_errors.fetch_add(1, Ordering::Relaxed) + 1;
        if last_log.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
            *last_log = Some(Instant::now());
            tracing::error!(failed_total = n, error = %why, "relay: publishing to TICKS failed");
        }
    }
}
