//! What the WebSocket thread, the REST thread and the handle share: the walk behind a
//! mutex (held for one 1 ms batch or one quote at a time), the pause/mute flags, the
//! counters, and the Waker that tells the WebSocket thread something changed.

#![forbid(unsafe_code)]

use super::session::WalkerIndex;
use super::walk::RandomWalk;
use super::{Control, ControlError, SimStatus};
use crate::event::Tick;
use crate::instruments::InstrumentMaster;
use crate::types::Exchange;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};

/// Shared state of one simulator.
#[derive(Debug)]
pub(crate) struct Shared {
    pub instruments: Arc<InstrumentMaster>,
    pub walk: Mutex<RandomWalk>,
    pub api_key: String,
    /// See [`super::SimConfig::control_keys`].
    pub control_keys: Option<crate::auth::KeyStore>,
    pub rate: u64,
    pub paused: AtomicBool,
    pub muted: AtomicBool,
    pub stop: AtomicBool,
    pub clients: AtomicUsize,
    pub subscribed_symbols: AtomicUsize,
    pub ticks_generated: AtomicU64,
    pub frames_sent: AtomicU64,
    pub frames_dropped: AtomicU64,
    /// How far the simulator's clock is ahead of the wall clock, ms (0 until a
    /// `set_clock`; never negative: the clock only moves forward).
    pub clock_offset_ms: AtomicI64,
    /// Symbols whose price was set, to push at once (or at the next resume).
    pub pushes: Mutex<Vec<WalkerIndex>>,
    pub waker: mio::Waker,
}

impl Shared {
    /// The walk, even if a panicking holder poisoned the lock (its state stays valid:
    /// every mutation is a few integer stores).
    pub fn walk(&self) -> MutexGuard<'_, RandomWalk> {
        self.walk.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Exchange and symbol names to a walker index, or the message for the client.
    pub fn resolve(&self, exchange: &str, symbol: &str) -> Result<WalkerIndex, String> {
        let ex = Exchange::parse(exchange).ok_or_else(|| {
            let all: Vec<&str> = Exchange::ALL.iter().map(|e| e.as_str()).collect();
            format!("exchange {exchange:?} is not one of {}", all.join(", "))
        })?;
        let id = self
            .instruments
            .lookup(ex, symbol)
            .ok_or_else(|| format!("Symbol {symbol} not found on {}", ex.as_str()))?;
        let walker = self.walk().index_of(id).ok_or_else(|| {
            format!("Symbol {symbol} on {} has no reference price to simulate", ex.as_str())
        })?;
        Ok(walker as WalkerIndex)
    }

    /// The simulator's clock, epoch ms: the wall clock plus the offset a `set_clock` gave
    /// it. Every tick's `ltt` and `timestamp` and every REST quote carry it.
    pub fn now_ms(&self) -> i64 {
        crate::clock::wall_now_ns() / 1_000_000 + self.clock_offset_ms.load(Relaxed)
    }

    /// The current state of one symbol, stamped `now_ms`.
    pub fn quote(&self, exchange: &str, symbol: &str, now_ms: i64) -> Result<Tick, String> {
        let walker = self.resolve(exchange, symbol)?;
        Ok(self.walk().snapshot(walker as usize, now_ms))
    }

    pub fn control(&self, control: Control) -> Result<(), ControlError> {
        match control {
            Control::SetClock { epoch_ms } => {
                let now = self.now_ms();
                if epoch_ms < now {
                    return Err(ControlError::ClockBackwards { asked_ms: epoch_ms, now_ms: now });
                }
                self.clock_offset_ms.fetch_add(epoch_ms - now, Relaxed);
            }
            Control::Pause => self.paused.store(true, Relaxed),
            Control::Mute => self.muted.store(true, Relaxed),
            Control::Resume => {
                self.paused.store(false, Relaxed);
                self.muted.store(false, Relaxed);
            }
            Control::Liquidity { symbol, factor_ppm } => {
                let factor = factor_ppm as f64 / 1e6;
                let bad = || ControlError::BadFactor(factor.to_string());
                match symbol {
                    Some((exchange, symbol)) => {
                        let walker = self
                            .resolve(exchange.as_str(), &symbol)
                            .map_err(ControlError::UnknownSymbol)?;
                        self.walk().set_liquidity(walker as usize, factor).ok_or_else(bad)?;
                    }
                    None => {
                        let mut walk = self.walk();
                        for i in 0..walk.len() {
                            walk.set_liquidity(i, factor).ok_or_else(bad)?;
                        }
                    }
                }
            }
            Control::SetPrice { exchange, symbol, ltp } => {
                if !ltp.is_positive() {
                    return Err(ControlError::BadPrice(ltp));
                }
                let walker = self
                    .resolve(exchange.as_str(), &symbol)
                    .map_err(ControlError::UnknownSymbol)?;
                self.walk().set_ltp(walker as usize, ltp);
                let mut pushes = self.pushes.lock().unwrap_or_else(|p| p.into_inner());
                if !pushes.contains(&walker) {
                    pushes.push(walker);
                }
            }
        }
        // The WebSocket thread re-reads the flags and the pushes; a failed wake only
        // delays that to its next timer.
        let _ = self.waker.wake();
        Ok(())
    }

    pub fn status(&self) -> SimStatus {
        SimStatus {
            paused: self.paused.load(Relaxed),
            muted: self.muted.load(Relaxed),
            clients: self.clients.load(Relaxed),
            subscribed_symbols: self.subscribed_symbols.load(Relaxed),
            symbols: self.walk().len(),
            rate: self.rate,
            ticks_generated: self.ticks_generated.load(Relaxed),
            ticks_sent: self.frames_sent.load(Relaxed),
            frames_dropped: self.frames_dropped.load(Relaxed),
            clock: crate::clock::format_ist(self.now_ms().saturating_mul(1_000_000)),
            clock_offset_ms: self.clock_offset_ms.load(Relaxed),
        }
    }

    pub fn request_stop(&self) {
        self.stop.store(true, Relaxed);
        let _ = self.waker.wake();
    }
}
