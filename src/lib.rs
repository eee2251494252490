//! # tickfill
//!
//! A low-latency paper-trading execution engine, compatible with OpenAlgo's sandbox
//! ("analyze mode"): it reads market data, fills paper orders the moment the price allows,
//! marks positions to market on every tick, and journals every input so a restart or a
//! replay rebuilds exactly the same state.
//!
//! ## The pipeline
//!
//! ```text
//!  ticks, commands, queries, timers
//!        |
//!  upstream feed (mio sockets), EngineHandle, watchdog (REST polls)
//!        |
//!  [sequencer]  the only producer: decodes, stamps, sequences      sequencer, watchdog
//!        | publish
//!  ring buffer (disruptor, single producer, preallocated slots)    ring
//!        |
//!  stage 1 execution   orders, pending index, fills, funds         exec
//!  stage 2 MTM         unrealized P&L, positionbook, funds totals  mtm
//!  stage 3 fanout      latest quotes, tick stream, order updates   fanout
//!  stage 4 journal     mmap segments, snapshots, replies, latency  journal
//! ```
//!
//! Each stage's ring adapter is the `stage` module of its folder ([`exec::stage`],
//! [`mtm::stage`], [`fanout::stage`], [`journal::stage`]); [`engine::wiring`] wires the
//! four in ring order. The ring's input events are [`event`], query answers [`views`],
//! the inline text both carry [`message`]; replies return through [`reply`]. OpenAlgo's
//! market-data frame is [`openalgo_wire`]; the WebSocket server's client messages are
//! [`ws::client_protocol`] and what it pushes [`ws::push`].
//!
//! ## Lifecycle
//!
//! 1. **Setup**: [`engine::Engine::start`] opens the journal, restores the newest snapshot,
//!    replays the journal after it through the same stage code ([`engine::recovery`]),
//!    then starts the stage threads ([`ring::Pipeline`]), the sequencer with its upstream
//!    feed connections ([`sequencer`]), and the freshness watchdog ([`watchdog`]).
//! 2. **Publish**: [`engine::EngineHandle`] sends ticks, commands and queries to the
//!    sequencer (a bounded channel that wakes its `mio` poll); upstream frames are read,
//!    decoded and interned on the same thread, and quotes polled over REST while the
//!    stream is stale arrive through the same channel. Each input gets one sequence
//!    number and is published. A command's reply
//!    travels back through the slot and is released by the journal stage only after the
//!    journal has passed it, so an acknowledged order survives `kill -9`.
//! 3. **Shutdown**: [`engine::Engine::shutdown`] stops the watchdog and the intake (what
//!    was queued is still sequenced); the stages drain the ring,
//!    the journal commits, and the final states are handed back.
//!
//! ## Rules that hold everywhere
//!
//! - One owner per piece of state; other threads learn through the ring or a published
//!   snapshot (quote board, latency histograms), never a lock on the hot path.
//! - No floats in any comparison or accounting ([`types::Price`], a per-unit price, and
//!   [`types::Money`], an amount, are distinct fixed-point types).
//! - No wall clock, randomness or hash-map iteration order inside a stage; time comes from
//!   the event, order ids from the sequence ([`clock`]). Trading days (session boundary,
//!   T+1, expiry, square-off, funds reset) run from event time too: each journaled event
//!   first runs the boundaries it passed ([`exec::session`]), fed by the sequencer's
//!   timer events.
//! - `unsafe` lives in two places only: the slot's output cell ([`ring::slot`]) and the
//!   journal's memory map ([`journal`]), each with its SAFETY argument and a Miri test.
#![deny(missing_docs)]

pub mod api;
pub mod auth;
pub mod clock;
pub mod digest;
pub mod engine;
pub mod event;
pub mod exec;
pub mod fanout;
pub mod fault;
pub mod fdlimit;
pub mod health;
pub mod instruments;
pub mod interest;
pub mod intern;
pub mod journal;
pub mod latency;
pub mod message;
pub mod mtm;
pub mod openalgo_wire;
pub mod plot;
pub mod refdata;
pub mod relay;
pub mod reply;
pub mod ring;
pub mod sequencer;
pub mod sim;
/// TLS for the upstream feed and REST clients: rustls, system roots plus `--upstream-ca`.
pub mod tls;
pub mod types;
pub mod views;
pub mod watchdog;
pub mod ws;
