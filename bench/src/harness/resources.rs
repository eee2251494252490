//! What the engine costs: CPU time (from `/proc/self/stat` and `/proc/self/task/*/stat`),
//! resident anonymous memory (`/proc/self/status`), and the restart time over a journal written
//! directly with [`Journal`].
//!
//! # Known limitations
//! Linux only (`/proc`); clock ticks are assumed to be 100 Hz and pages 4 KiB, the values
//! of every mainstream Linux configuration.

#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tickfill::engine::recovery;
use tickfill::event::{Command, CommandKind, Event, Header, Input, OrderRequest, Tick};
use tickfill::exec::ExecConfig;
use tickfill::instruments::InstrumentMaster;
use tickfill::journal::{Journal, JournalConfig};
use tickfill::types::{Money, Price, PriceType, Product, Qty, Seq, Side, SymbolId, Tag};

const CLK_TCK: f64 = 100.0;

/// utime + stime (s) from the text of a `stat` file.
fn stat_cpu(text: &str) -> Option<f64> {
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / CLK_TCK)
}

/// CPU seconds of the whole process, and of its threads named `bench-*` (the harness's
/// load generator and clients) still alive.
#[derive(Debug, Clone, Default)]
pub struct CpuTimes {
    /// Whole process.
    pub process: f64,
    /// Harness threads only.
    pub harness: f64,
    /// Every thread of the process by name (`comm`), summed over threads of one name:
    /// (CPU seconds, seconds runnable but waiting for a CPU from `schedstat`).
    pub threads: Vec<(String, f64, f64)>,
}

/// Seconds a thread waited on a run queue (runnable, not running): the second field of
/// `/proc/self/task/<tid>/schedstat`; 0 without schedstats.
fn schedstat_wait(text: &str) -> f64 {
    text.split_whitespace()
        .nth(1)
        .and_then(|w| w.parse::<u64>().ok())
        .map_or(0.0, |ns| ns as f64 / 1e9)
}

impl CpuTimes {
    /// Reads the counters now.
    pub fn now() -> CpuTimes {
        let process = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|t| stat_cpu(&t))
            .unwrap_or_default();
        let mut harness = 0.0;
        let mut threads: Vec<(String, f64, f64)> = Vec::new();
        if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
            for task in dir.flatten() {
                let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
                let comm = comm.trim().to_owned();
                let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
                let cpu = stat_cpu(&stat).unwrap_or_default();
                let wait = schedstat_wait(
                    &std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default(),
                );
                if comm.starts_with("bench-") {
                    harness += cpu;
                }
                match threads.iter_mut().find(|(n, _, _)| *n == comm) {
                    Some((_, c, w)) => {
                        *c += cpu;
                        *w += wait;
                    }
                    None => threads.push((comm, cpu, wait)),
                }
            }
        }
        CpuTimes { process, harness, threads }
    }

    /// CPU seconds and run-queue wait seconds per thread name between `self` and a later
    /// `then`, most CPU first (threads that ended in between are left out).
    pub fn threads_since(&self, then: &CpuTimes) -> Vec<(String, f64, f64)> {
        let mut v: Vec<(String, f64, f64)> = then
            .threads
            .iter()
            .map(|(n, c, w)| {
                let (c0, w0) =
                    self.threads.iter().find(|(m, _, _)| m == n).map_or((0.0, 0.0), |x| (x.1, x.2));
                (n.clone(), (c - c0).max(0.0), (w - w0).max(0.0))
            })
            .filter(|(_, c, _)| *c > 0.0)
            .collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1));
        v
    }

    /// Engine seconds (process minus harness) between `self` and a later `then`.
    pub fn engine_since(&self, then: &CpuTimes) -> f64 {
        (then.process - self.process) - (then.harness - self.harness)
    }
}

/// Resident anonymous memory of this process (`RssAnon`: heap and stacks), bytes. File
/// pages are left out on purpose: the journal's memory-mapped segments are page cache
/// that grows with what was written, not engine state.
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status").ok().as_deref().and_then(rss_anon).unwrap_or(0)
}

/// `RssAnon` from the text of `/proc/PID/status`, bytes.
fn rss_anon(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("RssAnon:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// A universe of `n` NSE equities `BNCH00000`... priced 1000.00.
pub fn universe(n: usize) -> Arc<InstrumentMaster> {
    let mut csv = String::with_capacity(n * 40 + 64);
    csv.push_str("symbol,exchange,lotsize,tick_size,instrumenttype,prev_close\n");
    for i in 0..n {
        let _ = writeln!(csv, "{},NSE,1,0.05,EQ,1000", name(i));
    }
    Arc::new(InstrumentMaster::from_csv_str(&csv).expect("valid synthetic universe"))
}

/// The name of the `i`th synthetic symbol.
pub fn name(i: usize) -> String {
    format!("BNCH{i:05}")
}

/// Execution settings with capital enough that margin never refuses the workload.
pub fn exec_config() -> ExecConfig {
    ExecConfig { starting_capital: Money(i64::MAX / 4), ..ExecConfig::default() }
}

/// RSS growth (bytes) of starting an engine on a universe of `symbols` (built before the
/// first reading: the instrument master is not engine state) and giving every symbol one
/// Quote tick, so lazily touched per-symbol state is counted as a live feed would touch
/// it. Measured in this process: run it in a fresh process for a clean figure.
pub fn engine_memory(symbols: usize, dir: &Path) -> anyhow::Result<u64> {
    let instruments = universe(symbols);
    let before = rss_bytes();
    let mut config = tickfill::engine::EngineConfig::new(JournalConfig::new(dir));
    config.instruments = instruments;
    config.exec = exec_config();
    let engine = tickfill::engine::Engine::start(config)?;
    let h = engine.handle();
    for i in 0..symbols {
        let ltp = Price(1000_0000 + i as i64);
        let tick = Tick {
            symbol: SymbolId(i as u32),
            ltp,
            bid: ltp,
            ask: ltp,
            mode: 2,
            ..Tick::default()
        };
        h.send_tick(tick, 0)?;
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while h.board.ticks() < symbols as u64 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    anyhow::ensure!(
        h.board.ticks() >= symbols as u64,
        "the engine took in {} of {symbols} ticks",
        h.board.ticks()
    );
    std::thread::sleep(Duration::from_millis(300));
    let after = rss_bytes();
    engine.shutdown();
    Ok(after.saturating_sub(before))
}

/// Restart time over a journal of `events`.
#[derive(Debug, Clone, Copy)]
pub struct Restart {
    /// Events journaled.
    pub events: u64,
    /// Time to write them.
    pub write: Duration,
    /// Time of `recover` (open + replay; no snapshot, so every event is replayed).
    pub recover: Duration,
    /// Events replayed.
    pub replayed: u64,
}

fn event(seq: u64, input: Input) -> Event {
    // 10:00 IST on a trading day plus 1 us per event.
    let t0 = tickfill::clock::ist_to_epoch_ns(2026, 11, 26, 10, 0);
    Event {
        header: Header {
            seq: Seq(seq),
            time_ns: t0 + seq as i64 * 1000,
            recv_ns: 0,
            stream_seq: 0,
        },
        input,
    }
}

/// Writes `events` to a fresh journal in `dir` (1,000 symbols: one resting buy per symbol,
/// then ticks walking above them), then times recovery; `progress` sees events written.
pub fn restart(events: u64, dir: &Path, progress: &dyn Fn(u64)) -> anyhow::Result<Restart> {
    const SYMBOLS: u64 = 1_000;
    let master = universe(SYMBOLS as usize);
    // The engine's own segment size (64 MiB), as `serve` writes them.
    let jc = JournalConfig::new(dir);
    let started = Instant::now();
    {
        let (mut journal, _) = Journal::open(&jc)?;
        for seq in 1..=events {
            let input = if seq <= SYMBOLS {
                Input::Command(Command {
                    ticket: Default::default(),
                    kind: CommandKind::Place(OrderRequest {
                        symbol: SymbolId((seq - 1) as u32),
                        side: Side::Buy,
                        qty: Qty(1),
                        price_type: PriceType::Limit,
                        product: Product::Cnc,
                        price: Price(990_0000),
                        trigger: Price::ZERO,
                        disclosed: Qty::ZERO,
                        strategy: Tag::EMPTY,
                    }),
                })
            } else {
                let ltp = 1000_0000 + (seq % 9) as i64 * 500;
                Input::Tick(Tick {
                    symbol: SymbolId((seq % SYMBOLS) as u32),
                    ltp: Price(ltp),
                    bid: Price(ltp - 500),
                    ask: Price(ltp + 500),
                    mode: 2,
                    ..Tick::default()
                })
            };
            journal.append(&event(seq, input))?;
            if seq % 4096 == 0 {
                journal.commit()?;
                progress(seq);
            }
        }
        journal.commit()?;
    }
    let write = started.elapsed();
    let started = Instant::now();
    let r = recovery::recover(&jc, &exec_config(), &master)?;
    let recover = started.elapsed();
    Ok(Restart { events, write, recover, replayed: r.report.replayed })
}

/// CPU seconds (utime + stime) process `pid` has used so far (`/proc/<pid>/stat`): the
/// relay mode's figure for its child processes.
pub fn pid_cpu_seconds(pid: u32) -> Option<f64> {
    stat_cpu(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// `RssAnon` of process `pid` (`/proc/<pid>/status`), bytes.
pub fn pid_rss_bytes(pid: u32) -> Option<u64> {
    rss_anon(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_parsing_skips_the_command_name() {
        let t = "12 (a b) c) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0";
        assert_eq!(stat_cpu(t), Some(3.0));
        assert!(rss_bytes() > 0);
        let status = "Name:\tx\nRssAnon:\t    1234 kB\nRssFile:\t 9 kB\n";
        assert_eq!(rss_anon(status), Some(1234 * 1024));
        assert_eq!(rss_anon("Name: x"), None);
    }
}
