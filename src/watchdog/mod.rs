//! The watchdog: data freshness and the REST polling fallback, the seed's design exactly.
//!
//! ```text
//!  startup   engine_type=polling ............................. poll only
//!            upstream authenticated within one health interval  websocket mode
//!            else                                               polling, upgrade later
//!  every health_interval:
//!            no stream data for stale_after, not polling,
//!            something wanted                              -> start polling (if fallback)
//!            stream data fresh again, polling              -> stop polling
//!  while polling, every poll_interval: multiquotes for every wanted symbol
//!            -> Tick { source: Poll } through the sequencer (one total order: a polled
//!               quote and a streamed one can never fill the same order twice)
//! ```
//!
//! Greppable log lines: `engine started in websocket mode`, `idle: nothing subscribed`, `engine started in polling
//! mode`, `data stale ... polling fallback started`, `stream recovered ... polling
//! stopped`, `REST quotes failed ... retrying in`, `on-demand REST quote failed`.
//!
//! A failed REST request (refused, cut off, past `request_timeout`, HTTP error status,
//! not a quote reply) publishes nothing; it is counted in `FeedHealth::rest_errors` (and
//! `rest_timeouts`), shown by `GET /health` and `/metrics`. Polling retries it 1, 2, 5,
//! 10, then every 30 s (at least `poll_interval`) after the failed request ended; a
//! success resets the backoff.
//!
//! # Invariants
//! - Polled quotes reach the engine only through the sequencer's intake, never directly.
//! - Only stream data refreshes `last_data_ns`, so polling never keeps itself alive.
//! - No state of the engine's stages is read here; MTM's freshness rule lives in MTM.
//!
//! # Known limitations
//! - The startup decision waits up to one health interval for the upstream to
//!   authenticate; until then nothing is polled.
//! - Stopping waits for a REST request in flight (at most `request_timeout`).

#![forbid(unsafe_code)]

pub mod config;
pub mod rest;

use crate::clock::{Clock, mono_now_ns};
use crate::event::Tick;
use crate::health::{FeedHealth, Health};
use crate::instruments::InstrumentMaster;
use crate::interest::Interest;
use crate::sequencer::ratelog::RateLog;
use crate::sequencer::{Inbound, Intake};
use crate::types::SymbolId;
pub use config::{ConfigError, EngineType, WatchdogConfig, parse_duration};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
pub use rest::{RestClient, RestError};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use thiserror::Error;

/// REST error backoff, in seconds; the last one repeats.
const REST_BACKOFF_SECS: [u64; 5] = [1, 2, 5, 10, 30];

/// What the watchdog reads and where it sends quotes.
#[derive(Debug, Clone)]
pub struct WatchdogShared {
    /// Symbol names for REST requests.
    pub instruments: Arc<InstrumentMaster>,
    /// Which symbols to poll.
    pub interest: Arc<Interest>,
    /// Feed health (read: last data; written: polling, polled quotes).
    pub health: Arc<Health>,
    /// The sequencer's intake: polled quotes are sequenced like any tick.
    pub intake: Intake,
    /// The time its checks and polls run on (the feed's freshness stamps use the same).
    pub clock: Clock,
}

/// Why [`Watchdog::fetch_quote_now`] failed.
#[derive(Debug, Error)]
pub enum WatchdogError {
    /// The REST request failed; the MARKET order has no price (refuse it).
    #[error(transparent)]
    Rest(#[from] RestError),
    /// The engine stopped.
    #[error("the engine is not running")]
    Stopped,
}

/// A cloneable handle on the watchdog: state and on-demand quotes.
#[derive(Debug, Clone)]
pub struct Watchdog {
    rest: RestClient,
    shared: WatchdogShared,
    engine_type: EngineType,
    /// Failed on-demand fetches, logged at a limited rate (callers may retry often).
    fetch_log: Arc<Mutex<RateLog>>,
}

impl Watchdog {
    /// Fetches `quotes` for `symbol` now (blocking, up to the request timeout) and
    /// publishes it as a polled tick, so a MARKET order submitted after this call (on the
    /// same thread) is sequenced after the quote. Used for a symbol never ticked.
    /// A failed request is counted in [`crate::health::FeedHealth::rest_errors`] and
    /// logged (at most one line a second); nothing is published then.
    pub fn fetch_quote_now(&self, symbol: SymbolId) -> Result<Tick, WatchdogError> {
        let tick = match self.rest.quote(symbol, &self.shared.instruments) {
            Ok(t) => t,
            Err(e) => {
                if count_failure(&self.shared.health.feed, &e) {
                    let mut log = self.fetch_log.lock().unwrap_or_else(|p| p.into_inner());
                    log.log(format_args!("watchdog: on-demand REST quote failed ({e})"));
                }
                return Err(e.into());
            }
        };
        self.shared
            .intake
            .send(Inbound::Tick(tick, mono_now_ns()))
            .map_err(|_| WatchdogError::Stopped)?;
        self.shared.health.feed.polled_quotes.fetch_add(1, Ordering::Relaxed);
        Ok(tick)
    }

    /// True while quotes are being polled.
    pub fn polling(&self) -> bool {
        self.shared.health.feed.polling.load(Ordering::Acquire)
    }

    /// `websocket` or `polling`: the feed mode `GET /health` reports.
    pub fn mode(&self) -> &'static str {
        if self.polling() { EngineType::Polling.as_str() } else { self.engine_type.as_str() }
    }
}

/// The running watchdog thread; [`WatchdogThread::stop`] ends it promptly.
#[derive(Debug)]
pub struct WatchdogThread {
    stop: Sender<()>,
    join: JoinHandle<()>,
}

impl WatchdogThread {
    /// Stops the thread and waits for it (at most one REST timeout).
    pub fn stop(self) {
        drop(self.stop);
        let _ = self.join.join();
    }
}

/// Starts the watchdog. `stream_configured` says whether an upstream feed exists at all.
pub fn start(
    config: WatchdogConfig,
    shared: WatchdogShared,
    stream_configured: bool,
) -> std::io::Result<(Watchdog, WatchdogThread)> {
    let rest = RestClient::new(&config);
    let handle = Watchdog {
        rest: rest.clone(),
        shared: shared.clone(),
        engine_type: config.engine_type,
        fetch_log: Arc::new(Mutex::new(RateLog::new(Duration::from_secs(1)))),
    };
    let (stop_tx, stop_rx) = crossbeam_channel::bounded(0);
    let runner = Runner {
        config,
        rest,
        shared: shared.clone(),
        stream_configured,
        stop: stop_rx,
        started_ns: shared.clock.now_ns(),
        rest_failures: 0,
        idle: false,
    };
    let join =
        std::thread::Builder::new().name("tickfill-watchdog".into()).spawn(move || runner.run())?;
    Ok((handle, WatchdogThread { stop: stop_tx, join }))
}

struct Runner {
    config: WatchdogConfig,
    rest: RestClient,
    shared: WatchdogShared,
    stream_configured: bool,
    stop: Receiver<()>,
    started_ns: u64,
    rest_failures: usize,
    /// Nothing was wanted at the last check (logged once per idle stretch).
    idle: bool,
}

impl Runner {
    fn can_poll(&self) -> bool {
        self.config.upstream_rest.is_some()
    }

    /// Sleeps until `until` (clock ns); false when asked to stop.
    fn sleep_until(&self, until: u64) -> bool {
        loop {
            if self.now() >= until {
                return true;
            }
            match self.stop.recv_timeout(self.shared.clock.wait_for(until)) {
                Err(RecvTimeoutError::Timeout) => {}
                _ => return false,
            }
        }
    }

    fn now(&self) -> u64 {
        self.shared.clock.now_ns()
    }

    fn set_polling(&self, on: bool) {
        self.shared.health.feed.polling.store(on, Ordering::Release);
    }

    fn run(mut self) {
        let Some(mut polling) = self.startup() else { return };
        self.set_polling(polling);
        let mut next_health = self.now() + nanos(self.config.health_interval);
        let mut next_poll = self.now();
        loop {
            let until = if polling { next_health.min(next_poll) } else { next_health };
            if !self.sleep_until(until) {
                self.set_polling(false);
                return;
            }
            let now = self.now();
            if now >= next_health {
                next_health = now + nanos(self.config.health_interval);
                let was = polling;
                polling = self.health_check(polling);
                self.set_polling(polling);
                if polling && !was {
                    // A new fallback episode polls at once: the backoff of an earlier
                    // episode's REST failures (up to 30 s) says nothing about REST now.
                    next_poll = now;
                    self.rest_failures = 0;
                }
            }
            if polling && self.now() >= next_poll {
                // The delay counts from the end of the request: a request that took its
                // whole timeout must not use up the retry delay after it.
                let delay = self.poll_once();
                next_poll = self.now() + nanos(delay);
            }
        }
    }

    /// The startup decision; `None` when stopped while deciding.
    fn startup(&self) -> Option<bool> {
        if self.config.engine_type == EngineType::Polling {
            tracing::info!(
                mode = "polling", poll_interval = ?self.config.poll_interval,
                "watchdog: engine started in polling mode (SANDBOX_ENGINE_TYPE=polling)"
            );
            if !self.can_poll() {
                tracing::warn!(
                    "watchdog: polling mode but no upstream REST server: nothing will be polled"
                );
            }
            return Some(self.can_poll());
        }
        let deadline = self.now() + nanos(self.config.health_interval);
        let feed = &self.shared.health.feed;
        while self.stream_configured && !feed.authenticated.load(Ordering::Acquire) {
            if self.now() >= deadline {
                break;
            }
            // Authentication is a fact to look at again soon, whatever the clock.
            let wait = self.shared.clock.wait_for(deadline).min(Duration::from_millis(20));
            if !matches!(self.stop.recv_timeout(wait), Err(RecvTimeoutError::Timeout)) {
                return None;
            }
        }
        if feed.authenticated.load(Ordering::Acquire) {
            tracing::info!(mode = "websocket", "watchdog: engine started in websocket mode");
            Some(false)
        } else if self.config.fallback && self.can_poll() {
            let why = if self.stream_configured {
                "the upstream feed is unreachable; will switch to websocket mode when it \
                 delivers data"
            } else {
                "no upstream feed is configured"
            };
            tracing::warn!(
                mode = "polling",
                reason = why,
                "watchdog: engine started in polling mode"
            );
            Some(true)
        } else {
            tracing::warn!(
                mode = "websocket",
                fallback = self.config.fallback,
                upstream_rest = self.can_poll(),
                "watchdog: engine started in websocket mode; the upstream feed is unreachable and polling is off"
            );
            Some(false)
        }
    }

    /// One freshness check; returns whether to poll from now on.
    ///
    /// With nothing wanted (no working order, position, holding or client subscription)
    /// no data is expected, so silence is not staleness: no fallback starts ("idle")
    /// instead of reporting one with nothing to poll for. A fallback already running is
    /// left to the stream's recovery, as before.
    fn health_check(&mut self, polling: bool) -> bool {
        self.shared.health.feed.health_checks.fetch_add(1, Ordering::Relaxed);
        if self.config.engine_type == EngineType::Polling {
            return self.can_poll();
        }
        let last = self.shared.health.feed.last_data_ns.load(Ordering::Acquire);
        let since = if last == 0 { self.started_ns } else { last };
        let age = Duration::from_nanos(self.now().saturating_sub(since));
        let fresh = last != 0 && age < self.config.stale_after;
        let idle = !self.shared.interest.any_wanted();
        if idle != self.idle {
            self.idle = idle;
            if idle {
                tracing::info!("watchdog: idle: nothing subscribed, no freshness to watch");
            }
        }
        if !fresh && !polling && !idle && self.config.fallback && self.can_poll() {
            tracing::warn!(
                age_ms = age.as_millis() as u64, stale_after = ?self.config.stale_after,
                poll_interval = ?self.config.poll_interval,
                "watchdog: data stale; polling fallback started"
            );
            return true;
        }
        if fresh && polling {
            tracing::info!(
                age_ms = age.as_millis() as u64,
                "watchdog: stream recovered; polling stopped"
            );
            return false;
        }
        polling
    }

    /// Polls every wanted symbol once; returns the delay from now (the request's end)
    /// until the next poll.
    fn poll_once(&mut self) -> Duration {
        let symbols: Vec<SymbolId> =
            self.shared.interest.wanted().into_iter().map(|(s, _)| s).collect();
        if symbols.is_empty() {
            return self.config.poll_interval;
        }
        match self.rest.multiquotes(&symbols, &self.shared.instruments) {
            Ok((ticks, _skipped)) => {
                self.rest_failures = 0;
                for t in ticks {
                    if self.shared.intake.send(Inbound::Tick(t, mono_now_ns())).is_err() {
                        break;
                    }
                    self.shared.health.feed.polled_quotes.fetch_add(1, Ordering::Relaxed);
                }
                self.config.poll_interval
            }
            Err(e) => {
                count_failure(&self.shared.health.feed, &e);
                let step = self.rest_failures.min(REST_BACKOFF_SECS.len() - 1);
                self.rest_failures += 1;
                let delay =
                    Duration::from_secs(REST_BACKOFF_SECS[step]).max(self.config.poll_interval);
                tracing::warn!(
                    error = %e, retry_in_ms = delay.as_millis() as u64,
                    "watchdog: REST quotes failed; retrying"
                );
                delay
            }
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Counts a failed REST request in the feed's health; false when nothing was sent (no
/// REST server configured, unknown symbol), which is not an upstream failure.
fn count_failure(feed: &FeedHealth, e: &RestError) -> bool {
    if !e.is_upstream_failure() {
        return false;
    }
    feed.rest_errors.fetch_add(1, Ordering::Relaxed);
    if e.is_timeout() {
        feed.rest_timeouts.fetch_add(1, Ordering::Relaxed);
    }
    true
}
