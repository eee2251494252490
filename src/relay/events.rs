//! Events out: each engine publishes its order updates and trades to the JetStream
//! stream `EVENTS` (`events.<account>.orders`, `events.<account>.trades`), so monitoring
//! and analytics read every account without touching an engine.
//!
//! A tee sits between the engine's order-update reader and the WebSocket server: it
//! takes each update once the journal has made it durable (the reader holds it until
//! then), passes it on to the WebSocket server unchanged (a gap included), and queues it
//! for a publisher thread that owns the NATS connection. The WebSocket path never waits
//! for NATS.
//!
//! ```text
//!  journal stage --durable--> UpdateReader --tee--> UpdateReader' --> WebSocket server
//!                                              \--> queue --> publisher --> EVENTS
//! ```
//!
//! Payloads are JSON: an order update is the `order_update` frame the WebSocket server
//! sends (OpenAlgo's shape, `user_id` = the account); a trade is one fill.
//!
//! # Known limitations
//! - At most once across a crash: updates durable in the journal but not yet acknowledged
//!   by NATS when the engine dies are not published after the restart (the journal is
//!   the record; `EVENTS` is a feed). While NATS is unreachable the queue holds up to
//!   [`QUEUE`] events; beyond that they are dropped, counted and logged.

#![forbid(unsafe_code)]

use super::stage::Outgoing;
use super::stream::{self, Retention};
use super::subject;
use crate::event::OrderUpdate;
use crate::fanout::updates::{self, Next, Queued, UpdateReader, UpdateSender};
use crate::health::Health;
use crate::instruments::InstrumentMaster;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Events queued for NATS at most.
pub const QUEUE: usize = 65_536;
/// Updates the tee passes on at most (the engine's own reader queue holds the rest).
const FORWARD: usize = 65_536;

/// Where events go.
#[derive(Clone, Debug)]
pub struct EventsConfig {
    /// `nats://HOST:PORT` (comma-separated for a cluster).
    pub url: String,
    /// The account in the subjects.
    pub account: String,
    /// What `EVENTS` keeps when this engine creates it.
    pub retention: Retention,
}

/// Counters.
#[derive(Debug, Default)]
pub struct EventsStats {
    /// Events acknowledged by JetStream.
    pub published: AtomicU64,
    /// Events dropped (queue full) or whose publish failed.
    pub lost: AtomicU64,
}

/// The running tee and publisher.
#[derive(Debug)]
pub struct EventsTee {
    stop: Arc<AtomicBool>,
    waker: Arc<mio::Waker>,
    tee: Option<std::thread::JoinHandle<()>>,
    publisher: Option<std::thread::JoinHandle<()>>,
    /// Counters.
    pub stats: Arc<EventsStats>,
}

/// Starts the tee on `reader`; returns the reader to hand to the WebSocket server.
pub fn tee(
    reader: UpdateReader,
    health: Arc<Health>,
    instruments: Arc<InstrumentMaster>,
    config: EventsConfig,
) -> std::io::Result<(UpdateReader, EventsTee)> {
    crate::sequencer::nats::validate_url(&config.url).map_err(std::io::Error::other)?;
    let poll = mio::Poll::new()?;
    let waker = Arc::new(mio::Waker::new(poll.registry(), mio::Token(0))?);
    reader.signal().set_waker(Arc::clone(&waker));
    let (forward, passed_on) = updates::channel(FORWARD, health);
    let stop = Arc::new(AtomicBool::new(false));
    let stats = Arc::new(EventsStats::default());
    let (tx, rx) = tokio::sync::mpsc::channel(QUEUE);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let publisher = {
        let (config, stats) = (config.clone(), Arc::clone(&stats));
        std::thread::Builder::new()
            .name("tickfill-nats-events".into())
            .spawn(move || runtime.block_on(publish(config, rx, stats)))?
    };
    let mut t = Tee {
        reader,
        forward,
        signal: passed_on.signal(),
        tx,
        instruments,
        orders: subject::orders_subject(&config.account),
        trades: subject::trades_subject(&config.account),
        account: config.account,
        stats: Arc::clone(&stats),
        last_drop_log: None,
    };
    let s = Arc::clone(&stop);
    let tee = std::thread::Builder::new()
        .name("tickfill-events-tee".into())
        .spawn(move || t.run(poll, &s))?;
    Ok((passed_on, EventsTee { stop, waker, tee: Some(tee), publisher: Some(publisher), stats }))
}

impl EventsTee {
    /// Stops the tee, then lets the publisher send what is queued and waits for it.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.waker.wake();
        if let Some(t) = self.tee.take() {
            let _ = t.join();
        }
        if let Some(p) = self.publisher.take() {
            let _ = p.join();
        }
    }
}

struct Tee {
    reader: UpdateReader,
    forward: UpdateSender,
    signal: Arc<updates::UpdateSignal>,
    tx: tokio::sync::mpsc::Sender<Outgoing>,
    instruments: Arc<InstrumentMaster>,
    account: String,
    orders: String,
    trades: String,
    stats: Arc<EventsStats>,
    last_drop_log: Option<Instant>,
}

impl Tee {
    fn run(&mut self, mut poll: mio::Poll, stop: &AtomicBool) {
        let mut events = mio::Events::with_capacity(4);
        loop {
            let mut passed = false;
            loop {
                match self.reader.poll() {
                    Next::Update(q) => self.pass(q),
                    Next::Gap { lost, next } => {
                        tracing::warn!(lost, "events: order updates were lost to overflow");
                        self.forward.skip(lost);
                        self.pass(next);
                    }
                    Next::Empty => break,
                }
                passed = true;
            }
            if passed {
                self.signal.notify();
            }
            if stop.load(Ordering::SeqCst) {
                return; // dropping `tx` lets the publisher drain and end
            }
            // Woken by the journal stage after a commit (or every 100 ms regardless).
            let _ = poll.poll(&mut events, Some(Duration::from_millis(100)));
        }
    }

    fn pass(&mut self, q: Queued) {
        self.forward.send(q.seq, q.update);
        let order = crate::ws::push::order_update(&q.update, &self.instruments, &self.account);
        self.queue(Outgoing { subject: self.orders.clone(), payload: order.into_bytes() });
        if q.update.fill.is_some() {
            let trade = trade_json(&q.update, &self.instruments, &self.account, q.seq.0);
            self.queue(Outgoing { subject: self.trades.clone(), payload: trade.into_bytes() });
        }
    }

    fn queue(&mut self, out: Outgoing) {
        if self.tx.try_send(out).is_err() {
            let n = self.stats.lost.fetch_add(1, Ordering::Relaxed) + 1;
            if self.last_drop_log.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                self.last_drop_log = Some(Instant::now());
                tracing::warn!(dropped_total = n, "events: queue for NATS full; events dropped");
            }
        }
    }
}

/// One fill as JSON.
pub fn trade_json(
    u: &OrderUpdate,
    instruments: &InstrumentMaster,
    account: &str,
    seq: u64,
) -> String {
    let (symbol, exchange) = instruments
        .get(u.order.symbol)
        .map_or(("", ""), |i| (i.symbol.as_str(), i.exchange.as_str()));
    let Some(fill) = u.fill else { return String::new() };
    serde_json::json!({
        "type": "trade",
        "account": account,
        "orderid": u.order.id.to_string(),
        "tradeid": fill.trade_no,
        "symbol": symbol,
        "exchange": exchange,
        "action": u.order.side.as_str(),
        "product": u.order.product.as_str(),
        "quantity": fill.qty.0,
        "price": fill.price.to_f64(),
        "strategy": u.order.strategy.as_str(),
        "time_ns": u.time_ns,
        "seq": seq,
    })
    .to_string()
}

async fn publish(
    config: EventsConfig,
    mut rx: tokio::sync::mpsc::Receiver<Outgoing>,
    stats: Arc<EventsStats>,
) {
    let client = match async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connect(crate::sequencer::nats::servers(&config.url))
        .await
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(url = %config.url, error = %e, "events: cannot connect");
            return;
        }
    };
    let js = async_nats::jetstream::new(client.clone());
    let mut ready = false;
    let mut pending = VecDeque::new();
    let mut last_log: Option<Instant> = None;
    let mut fail = |why: String, stats: &EventsStats| {
        let n = stats.lost.fetch_add(1, Ordering::Relaxed) + 1;
        if last_log.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
            last_log = Some(Instant::now());
            tracing::error!(lost_total = n, error = %why, "events: publishing to EVENTS failed");
        }
    };
    while let Some(first) = rx.recv().await {
        let mut waited = 0u32;
        while !ready {
            match stream::ensure_events(&js, &config.retention).await {
                Ok(_) => ready = true,
                Err(e) => {
                    // Events wait in the queue meanwhile (dropped only when it is full).
                    if waited % 30 == 0 {
                        tracing::warn!(error = %e, "events: the EVENTS stream is not available; retrying every second");
                    }
                    waited += 1;
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        let mut next = Some(first);
        while let Some(out) = next.take().or_else(|| rx.try_recv().ok()) {
            match js.publish(out.subject, out.payload.into()).await {
                Ok(ack) => pending.push_back(ack),
                Err(e) => fail(e.to_string(), &stats),
            }
        }
        while let Some(ack) = pending.pop_front() {
            match ack.await {
                Ok(_) => {
                    stats.published.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => fail(e.to_string(), &stats),
            }
        }
    }
    let _ = client.flush().await;
}
