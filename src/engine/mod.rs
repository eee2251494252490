//! The engine assembled, and the Rust API the rest of the system builds on: submit a
//! command and wait for its durable reply, run a query, publish ticks, read the fanout.
//!
//! ```text
//!  upstream feed sockets (mio) ------------------------------+
//!  watchdog (polled quotes) --+                               v
//!  EngineHandle::submit/query/send_tick --> intake + waker --> sequencer thread (publisher)
//!        ^                                                          |
//!        |  reply after the journal passed it                       v
//!  ReplyRouter <-- journal stage <-- fanout <-- MTM <-- execution <-- ring
//! ```

pub mod quarantine;
pub mod recovery;
pub mod standalone;
pub mod wiring;

use crate::event::{Command, CommandKind, Query, QueryKind, Tick};
use crate::exec::stage::ExecStage;
use crate::exec::{Exec, ExecConfig};
use crate::fanout::quotes::QuoteBoard;
use crate::fanout::stage::FanoutStage;
use crate::fanout::updates::{self, UpdateReader};
use crate::health::Health;
use crate::instruments::InstrumentMaster;
use crate::interest::Interest;
use crate::journal::JournalConfig;
use crate::journal::stage::JournalStage;
use crate::latency::SharedLatency;
use crate::mtm::Mtm;
use crate::mtm::stage::MtmStage;
use crate::reply::ReplyRouter;
pub use crate::reply::{CommandOutcome, Response};
use crate::ring::Topology;
use crate::ring::cores::{self, CoreLayout};
use crate::ring::pipeline::{PipelineConfig, Running};
use crate::ring::{Pipeline, Publisher};
pub use crate::sequencer;
pub use crate::sequencer::Inbound;
use crate::sequencer::{FeedConfig, FeedShared, Intake, SequencerConfig};
use crate::views::QueryReply;
use crate::watchdog::{Watchdog, WatchdogConfig, WatchdogShared, WatchdogThread};
pub use recovery::{RecoveryError, RecoveryReport};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use thiserror::Error;
use wiring::StageParts;

/// Everything the engine needs to start.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Journal location and durability.
    pub journal: JournalConfig,
    /// Ring, topology, idle strategy, cores.
    pub pipeline: PipelineConfig,
    /// Execution rules (capital, leverage, square-off times).
    pub exec: ExecConfig,
    /// The instrument master.
    pub instruments: Arc<InstrumentMaster>,
    /// Timer event period (square-off resolution).
    pub timer_interval: Duration,
    /// Journaled events between snapshots (0 = never).
    pub snapshot_every: u64,
    /// Capacity of the intake channel.
    pub intake_capacity: usize,
    /// Capacity of the order-update queue to the WebSocket server.
    pub update_queue: usize,
    /// How long `submit`/`query` wait for a reply.
    pub reply_timeout: Duration,
    /// Backpressure (issue 14 item 2): how long an async command or query (the REST
    /// handlers') may wait in the intake for the sequencer to take it. Not taken by then,
    /// it is refused as [`EngineError::Busy`] and never sequenced nor journaled; once
    /// taken, its sender waits for the durable reply (up to `reply_timeout` in all).
    pub admit_within: Duration,
    /// Where market data comes from (default: none, ticks are injected).
    pub feed: FeedConfig,
    /// Freshness checks and the REST polling fallback.
    pub watchdog: WatchdogConfig,
    /// Core to pin the sequencer thread to (ignored when `cores` is set).
    pub sequencer_core: Option<usize>,
    /// The hot core and the housekeeping cores: [`Engine::start`] confines the calling
    /// thread (and so every thread started from it afterwards) to the housekeeping cores
    /// and pins the sequencer alone on the hot one. `None`: no pinning (library and
    /// test default; `tickfill serve` sets it from `--cores`, by default on four or more cores).
    pub cores: Option<CoreLayout>,
    /// Symbols per upstream feed connection.
    pub symbols_per_connection: usize,
    /// `SO_RCVBUF` of each upstream feed socket, bytes (the kernel doubles it for its
    /// bookkeeping). `None`: the kernel's autotuning, which on Linux grows to
    /// `net.ipv4.tcp_rmem`'s maximum (often 6-32 MiB), enough to bank seconds of frames
    /// the engine has not read. The benchmark caps it so its rate search judges the engine,
    /// not the kernel's buffer.
    pub feed_rcvbuf: Option<u32>,
    /// Event time follows the feed's clock (the exchange time its ticks carry) instead of
    /// the wall clock alone: for a feed whose time is trusted, the simulator above all,
    /// whose clock can be moved to live a trading day's boundaries
    /// ([`crate::clock::EventClock`]). Default off.
    pub feed_clock: bool,
    /// The time the watchdog and the sequencer's timer run on (tests advance a manual one;
    /// see [`crate::clock::Clock`]).
    pub clock: crate::clock::Clock,
}

impl EngineConfig {
    /// Defaults for a data dir: default universe, fused/backoff, `none` sync.
    pub fn new(journal: JournalConfig) -> EngineConfig {
        EngineConfig {
            journal,
            pipeline: PipelineConfig::default(),
            exec: ExecConfig::default(),
            instruments: Arc::new(InstrumentMaster::default_universe()),
            timer_interval: Duration::from_secs(1),
            snapshot_every: 1_000_000,
            intake_capacity: 65_536,
            update_queue: 65_536,
            reply_timeout: Duration::from_secs(10),
            admit_within: Duration::from_secs(1),
            feed: FeedConfig::None,
            watchdog: WatchdogConfig::default(),
            sequencer_core: None,
            cores: None,
            symbols_per_connection: 1000,
            feed_rcvbuf: None,
            feed_clock: false,
            clock: crate::clock::Clock::system(),
        }
    }
}

/// Errors of the engine API.
#[derive(Debug, Error)]
pub enum EngineError {
    /// The engine has stopped; nothing more will be accepted.
    #[error("the engine is not running")]
    Stopped,
    /// No reply in time: the engine may be overloaded or failed; check health.
    #[error("the engine did not answer within {0:?}")]
    Timeout(Duration),
    /// The sequencer could not take the input in time (the intake is full, or it did
    /// not reach the input within the admission deadline: the journal cannot keep up).
    /// The input was not sequenced and never will be; retry later.
    #[error("engine busy: the request could not be sequenced in time and was not accepted; retry")]
    Busy,
    /// Too many requests wait for replies at once (the reply router is full). The
    /// request was not sent; retry later.
    #[error("engine busy: {0}")]
    TooManyWaiting(#[from] crate::reply::RouterFull),
    /// Startup failed.
    #[error("recovery failed: {0}")]
    Recovery(#[from] RecoveryError),
    /// A thread could not be started.
    #[error("cannot start engine threads: {0}")]
    Spawn(#[from] std::io::Error),
    /// A setting is invalid; the message names it and the accepted values.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// An answer of an unexpected kind (a bug).
    #[error("unexpected reply kind")]
    Unexpected,
}

/// A cloneable handle for any thread.
#[derive(Debug, Clone)]
pub struct EngineHandle {
    intake: Intake,
    router: Arc<ReplyRouter>,
    timeout: Duration,
    admit_within: Duration,
    /// Latest quote per symbol (lock-free reads).
    pub board: Arc<QuoteBoard>,
    /// Health flags.
    pub health: Arc<Health>,
    /// Published latency histograms.
    pub latency: Arc<SharedLatency>,
    /// The instrument master.
    pub instruments: Arc<InstrumentMaster>,
    /// Which symbols need market data (engine needs and client subscriptions).
    pub interest: Arc<Interest>,
    /// The watchdog (freshness, REST fallback, on-demand quotes), when one runs.
    pub watchdog: Option<Watchdog>,
    /// How old a quote may be and still decide a placement or answer `quotes` as current
    /// (the watchdog's `mtm_max_age`, 5 s by default; execution applies the same limit in
    /// event time).
    pub quote_max_age: Duration,
    /// Every tick of a client-subscribed symbol, in order (the WebSocket server's feed).
    pub ticks: crate::fanout::ticks::TickStream,
}

impl EngineHandle {
    /// Submits a command and waits until its reply is durable.
    pub fn submit(&self, kind: CommandKind) -> Result<CommandOutcome, EngineError> {
        let (ticket, rx) = self.router.register().inspect_err(|_| self.health.note_busy())?;
        self.intake
            .send(Inbound::Command(Command { ticket, kind }))
            .map_err(|_| EngineError::Stopped)?;
        match self.wait(ticket, rx)? {
            Response::Command(c) => Ok(c),
            Response::Query(_) => Err(EngineError::Unexpected),
        }
    }

    /// Runs a query, answered by the stage that owns the data, after the journal passed it.
    pub fn query(&self, kind: QueryKind) -> Result<QueryReply, EngineError> {
        let (ticket, rx) = self.router.register().inspect_err(|_| self.health.note_busy())?;
        self.intake
            .send(Inbound::Query(Query { ticket, kind }))
            .map_err(|_| EngineError::Stopped)?;
        match self.wait(ticket, rx)? {
            Response::Query(q) => Ok(q),
            Response::Command(_) => Err(EngineError::Unexpected),
        }
    }

    fn wait(
        &self,
        ticket: crate::event::Ticket,
        rx: crossbeam_channel::Receiver<Response>,
    ) -> Result<Response, EngineError> {
        rx.recv_timeout(self.timeout).map_err(|_| {
            self.router.forget(ticket);
            EngineError::Timeout(self.timeout)
        })
    }

    /// Submits a command and awaits its durable reply without blocking a thread (the
    /// REST handlers). A full intake, or a command the sequencer does not take within
    /// `admit_within`, is [`EngineError::Busy`] (and then never journaled) rather than a
    /// wait.
    pub async fn submit_async(&self, kind: CommandKind) -> Result<CommandOutcome, EngineError> {
        let (ticket, rx) = self.router.register_async().inspect_err(|_| self.health.note_busy())?;
        let claim = sequencer::Claim::new();
        let input = crate::event::Input::Command(Command { ticket, kind });
        self.send_async(ticket, Inbound::Admitted(claim.clone(), input))?;
        match self.wait_async(ticket, &claim, rx).await? {
            Response::Command(c) => Ok(c),
            Response::Query(_) => Err(EngineError::Unexpected),
        }
    }

    /// Runs a query and awaits its reply without blocking a thread.
    pub async fn query_async(&self, kind: QueryKind) -> Result<QueryReply, EngineError> {
        let (ticket, rx) = self.router.register_async().inspect_err(|_| self.health.note_busy())?;
        let claim = sequencer::Claim::new();
        let input = crate::event::Input::Query(Query { ticket, kind });
        self.send_async(ticket, Inbound::Admitted(claim.clone(), input))?;
        match self.wait_async(ticket, &claim, rx).await? {
            Response::Query(q) => Ok(q),
            Response::Command(_) => Err(EngineError::Unexpected),
        }
    }

    fn send_async(
        &self,
        ticket: crate::event::Ticket,
        inbound: Inbound,
    ) -> Result<(), EngineError> {
        self.intake.try_send(inbound).map_err(|e| {
            self.router.forget(ticket);
            match e {
                sequencer::TrySendError::Full => {
                    self.health.note_busy();
                    EngineError::Busy
                }
                sequencer::TrySendError::Stopped => EngineError::Stopped,
            }
        })
    }

    /// Awaits the reply: until `admit_within` for the sequencer to take the input (not
    /// taken: abandoned, so never sequenced, and refused as busy), then for the rest of the
    /// reply timeout.
    async fn wait_async(
        &self,
        ticket: crate::event::Ticket,
        claim: &sequencer::Claim,
        mut rx: tokio::sync::oneshot::Receiver<Response>,
    ) -> Result<Response, EngineError> {
        let started = tokio::time::Instant::now();
        match tokio::time::timeout(self.admit_within, &mut rx).await {
            Ok(Ok(r)) => return Ok(r),
            Ok(Err(_)) => return Err(EngineError::Stopped),
            Err(_) => {}
        }
        if claim.abandon() {
            self.router.forget(ticket);
            self.health.note_busy();
            return Err(EngineError::Busy);
        }
        let rest = self.timeout.saturating_sub(started.elapsed());
        match tokio::time::timeout(rest, rx).await {
            Ok(Ok(r)) => Ok(r),
            // The router dropped the sender: the engine stopped.
            Ok(Err(_)) => Err(EngineError::Stopped),
            Err(_) => {
                self.router.forget(ticket);
                Err(EngineError::Timeout(self.timeout))
            }
        }
    }

    /// Publishes a tick (blocks while the intake is full: backpressure, never a drop).
    pub fn send_tick(&self, tick: Tick, recv_ns: u64) -> Result<(), EngineError> {
        self.intake.send(Inbound::Tick(tick, recv_ns)).map_err(|_| EngineError::Stopped)
    }

    /// Publishes a tick consumed from the relay's stream at `stream_seq`, stamped with the
    /// relay's `time_ns` (blocks while the intake is full: backpressure, never a drop).
    pub fn send_stream_tick(
        &self,
        tick: Tick,
        time_ns: i64,
        recv_ns: u64,
        stream_seq: u64,
    ) -> Result<(), EngineError> {
        let inbound = Inbound::StreamTick { tick, time_ns, recv_ns, stream_seq };
        self.intake.send(inbound).map_err(|_| EngineError::Stopped)
    }

    /// Inputs waiting in the intake (ends a busy episode in `/health` when 0).
    pub fn intake_queued(&self) -> usize {
        self.intake.queued()
    }

    /// Asks for a snapshot now.
    pub fn request_snapshot(&self) -> Result<(), EngineError> {
        self.intake.send(Inbound::Snapshot).map_err(|_| EngineError::Stopped)
    }
}

/// A running engine.
#[derive(Debug)]
pub struct Engine {
    handle: Option<EngineHandle>,
    intake: Option<Intake>,
    watchdog: Option<WatchdogThread>,
    updates: Option<UpdateReader>,
    sequencer: Option<JoinHandle<Publisher>>,
    running: Option<Running<ExecStage, MtmStage, FanoutStage, JournalStage>>,
    /// What recovery found at startup.
    pub recovery: RecoveryReport,
    /// The last event time recovered from the journal (`None` for a new data dir): where a
    /// feed-driven event clock resumes ([`EngineConfig::feed_clock`]).
    pub resumed_at_ns: Option<i64>,
}

/// The stage states after shutdown (tests and replay tools inspect them).
#[derive(Debug)]
pub struct FinalStates {
    /// Execution.
    pub exec: Exec,
    /// MTM.
    pub mtm: Mtm,
}

impl Engine {
    /// Recovers state from the data dir and starts the sequencer and stage threads.
    pub fn start(config: EngineConfig) -> Result<Engine, EngineError> {
        config.feed.validate().map_err(EngineError::Config)?;
        config.watchdog.validate().map_err(|e| EngineError::Config(e.to_string()))?;
        if let Some(layout) = &config.cores {
            if !cores::confine_current(&layout.housekeeping) {
                tracing::warn!(
                    cores = ?layout.housekeeping,
                    "cores: could not confine threads to the housekeeping cores; running unconfined"
                );
            }
        }
        // One freshness limit for MTM, placement decisions and the REST layer.
        let mut exec_config = config.exec.clone();
        exec_config.quote_max_age_ns =
            i64::try_from(config.watchdog.mtm_max_age.as_nanos()).unwrap_or(i64::MAX);
        let mut recovered = recovery::recover(&config.journal, &exec_config, &config.instruments)?;
        let last_event_ns = recovered.exec.event_time_ns();
        // The fill settings are journaled: recovery applied the journal's; the flags'
        // take effect from a settings event written now, before anything else is sequenced.
        let journaled_fill = *recovered.exec.fill_config();
        let fresh = recovered.report.next_seq == crate::types::Seq(1);
        let new_fill = (fresh || journaled_fill != exec_config.fill).then_some(exec_config.fill);
        if let (Some(fill), false) = (new_fill, fresh) {
            tracing::warn!(
                "fill settings changed: the journal ran {}; from seq {} on: {} \
                 (earlier fills stay as they were made)",
                describe_fill(&journaled_fill),
                recovered.report.next_seq.0,
                describe_fill(&fill)
            );
        }
        recovered.mtm.set_max_age(config.watchdog.mtm_max_age);
        let health = Arc::new(Health::new());
        health.set_recovery_notes(crate::health::RecoveryNotes {
            quarantined: recovered.report.quarantined.clone(),
            earlier_halts: recovered.report.halts.clone(),
        });
        health.durable_seq.store(
            recovered.report.next_seq.0.saturating_sub(1),
            std::sync::atomic::Ordering::Release,
        );
        let board = Arc::new(QuoteBoard::new(config.instruments.len()));
        let latency = Arc::new(SharedLatency::default());
        let router = Arc::new(ReplyRouter::new());
        let (update_tx, update_rx) = updates::channel(config.update_queue, Arc::clone(&health));
        let interest = Arc::new(Interest::new(config.instruments.len()));
        let (tick_tx, ticks) =
            crate::fanout::ticks::channel(crate::fanout::ticks::CAPACITY, Arc::clone(&interest));
        let stages = wiring::wire(StageParts {
            exec: recovered.exec,
            mtm: recovered.mtm,
            journal: recovered.journal,
            data_dir: config.journal.dir.clone(),
            board: Arc::clone(&board),
            updates: update_tx,
            update_signal: update_rx.signal(),
            router: Arc::clone(&router),
            health: Arc::clone(&health),
            latency: Arc::clone(&latency),
            interest: Arc::clone(&interest),
            ticks: Some(tick_tx),
        });
        let (mut publisher, running) = Pipeline::start(
            &config.pipeline,
            recovered.report.next_seq,
            stages,
            Arc::clone(&health),
        )?;
        if config.feed_clock {
            publisher.follow_feed_clock(last_event_ns);
        }
        if let Some(fill) = new_fill {
            publisher.publish(
                crate::event::Input::FillSettings(fill),
                crate::clock::wall_now_ns(),
                crate::clock::mono_now_ns(),
            );
        }
        let (intake, rx) = sequencer::intake(config.intake_capacity)?;
        let seq_config = SequencerConfig {
            timer_interval: config.timer_interval,
            snapshot_every: config.snapshot_every,
            core: match &config.cores {
                Some(l) if l.pin_hot => Some(l.hot),
                Some(_) => None,
                None => config.sequencer_core,
            },
            // Not pinned: free of the housekeeping confinement it would inherit.
            cores: config.cores.as_ref().map(CoreLayout::hot_cores).unwrap_or_default(),
            symbols_per_connection: config.symbols_per_connection,
            feed_rcvbuf: config.feed_rcvbuf,
            clock: config.clock.clone(),
            // Only the inline hot thread spins: in the other topologies a spinning
            // sequencer would compete with the stage threads for the cores.
            busy_poll: if config.pipeline.topology.resolve() == Topology::Inline {
                config.pipeline.busy_poll
            } else {
                std::time::Duration::ZERO
            },
        };
        let feed_shared = FeedShared {
            instruments: Arc::clone(&config.instruments),
            interest: Arc::clone(&interest),
            health: Arc::clone(&health),
            clock: config.clock.clone(),
        };
        let sequencer =
            sequencer::spawn(publisher, rx, seq_config, config.feed.clone(), feed_shared)?;
        let streamed = config.feed != FeedConfig::None;
        let (watchdog, watchdog_thread) = if streamed || config.watchdog.upstream_rest.is_some() {
            let shared = WatchdogShared {
                instruments: Arc::clone(&config.instruments),
                interest: Arc::clone(&interest),
                health: Arc::clone(&health),
                intake: intake.clone(),
                clock: config.clock.clone(),
            };
            let (w, t) = crate::watchdog::start(config.watchdog.clone(), shared, streamed)?;
            (Some(w), Some(t))
        } else {
            (None, None)
        };
        Ok(Engine {
            handle: Some(EngineHandle {
                intake: intake.clone(),
                router,
                timeout: config.reply_timeout,
                admit_within: config.admit_within,
                board,
                health,
                latency,
                instruments: Arc::clone(&config.instruments),
                interest,
                watchdog,
                quote_max_age: config.watchdog.mtm_max_age,
                ticks,
            }),
            intake: Some(intake),
            watchdog: watchdog_thread,
            updates: Some(update_rx),
            sequencer: Some(sequencer),
            running: Some(running),
            recovery: recovered.report,
            resumed_at_ns: last_event_ns,
        })
    }

    /// A handle for submitting and reading.
    pub fn handle(&self) -> EngineHandle {
        self.handle.clone().expect("handle present until shutdown")
    }

    /// The order-update reader (one consumer; the first caller gets it).
    pub fn take_updates(&mut self) -> Option<UpdateReader> {
        self.updates.take()
    }

    /// Stops the watchdog and the intake (what was queued is still sequenced), lets the
    /// stages drain the ring (the journal commits), and returns the final states. Handles
    /// still held get [`EngineError::Stopped`] from then on.
    pub fn shutdown(mut self) -> FinalStates {
        self.stop().expect("engine threads do not panic (stages are guarded)")
    }

    fn stop(&mut self) -> Option<FinalStates> {
        if let Some(w) = self.watchdog.take() {
            w.stop();
        }
        drop(self.handle.take());
        // Everything queued so far is sequenced before the sequencer returns.
        self.intake.take()?.stop();
        let publisher = self.sequencer.take()?.join().ok()?;
        drop(publisher);
        let (e, m, _, j) = self.running.take()?.join().ok()?;
        drop(j);
        Some(FinalStates { exec: e.exec, mtm: m.mtm })
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// Fill settings in the words of the command line, for logs (`tickfill serve`, `replay`).
pub fn describe_fill(f: &crate::exec::fill::FillConfig) -> String {
    use crate::exec::fill::PPM;
    let ppm = |v: u32| f64::from(v) / f64::from(PPM);
    let mut s = format!(
        "--fill-model {} --fill-depth-levels {} --fill-touch-probability {} \
         --fill-slippage-probability {} --fill-seed {} --venue-latency {}ns \
         --venue-latency-jitter {}ns",
        f.model.as_str(),
        f.depth_levels,
        ppm(f.touch_fill_ppm),
        ppm(f.slippage_ppm),
        f.seed,
        f.latency_ns,
        f.jitter_ns
    );
    for (tag, m) in f.overrides.iter().flatten() {
        s.push_str(&format!(" --fill-model-for {}={}", tag.as_str(), m.as_str()));
    }
    s
}
