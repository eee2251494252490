//! The load generator as a separate process (`--loadgen process`, variant `+procgen`):
//! `tickfill-bench loadgen` runs the same open-loop sender ([`Upstream`]) in a child of
//! its own, confined to the housekeeping cores when `--cores` gives a layout, so its
//! spinning and its sends are scheduled apart from the engine's threads. The parent
//! drives it with one line per phase on its stdin and reads what it sent on its stdout:
//!
//! ```text
//!  parent -> child   phase RATE FRAMES CROSS_EVERY
//!  child -> parent   url ws://127.0.0.1:PORT EPOCH  (once, listening)
//!                    subscribed N                   (each subscription)
//!                    c SYMBOL T | w SYMBOL T        (a crossing; the first walk after one)
//!                    s T                            (sent every frame due by T; <= 1/ms)
//!                    lag VALUE:COUNT ...            (the phase's sender-lag histogram)
//!                    result SENT CROSSINGS MAX_LAG END_LAG START
//! ```
//!
//! Intended send times are `CLOCK_MONOTONIC`, one clock for every process of the host;
//! each process counts [`mono_now_ns`] from its own first call, so the child says where
//! its zero lies on `CLOCK_MONOTONIC` (`EPOCH`, [`epoch_ns`]) and the parent moves every
//! time the child reports onto its own count. Then it pairs them with its own reads and
//! the engine's fills as it does for the in-process sender. Stdin closing ends the child.
//!
//! # Known limitations
//! The parent learns of a crossing up to 1 ms after it was sent (the report cadence); the
//! WebSocket client therefore pairs each fill with its crossing after the phase, from the
//! full history, and a re-placement waits until the reports have caught up with the fill.

#![forbid(unsafe_code)]

use super::live::LiveConfig;
use super::resources::name;
use super::upstream::{Phase, PhaseResult, Reports, Shared, Upstream};
use anyhow::{Context, bail};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tickfill::clock::mono_now_ns;

/// Where this process's [`mono_now_ns`] zero lies on `CLOCK_MONOTONIC` (the clock
/// `Instant` reads on Linux), in ns. Each estimate brackets one `clock_gettime` between
/// two reads of our clock; a preemption inside the bracket (milliseconds on a busy
/// machine) would move the estimate by up to half of it and shift every time the child
/// reports, so the tightest of many brackets is kept (tens of ns).
fn epoch_ns() -> i128 {
    let mut best = (u64::MAX, 0i128);
    for _ in 0..1000 {
        let before = mono_now_ns();
        let ts = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
        let after = mono_now_ns();
        let abs = i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec);
        let gap = after.saturating_sub(before);
        if gap < best.0 {
            best = (gap, abs - i128::from(before / 2 + after / 2));
        }
    }
    best.1
}

/// Where the open-loop sender runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LoadGen {
    /// A thread of the bench process (beside the engine when it runs in-process).
    #[default]
    Thread,
    /// A child process (`tickfill-bench loadgen`), on the housekeeping cores.
    Process,
}

/// Options of `tickfill-bench loadgen` (the parent passes them; not for typing).
#[derive(Debug, clap::Args)]
pub struct LoadgenArgs {
    /// Symbols served (`BNCH00000`...).
    #[arg(long)]
    symbols: usize,
    /// The key the engine must present.
    #[arg(long)]
    api_key: String,
    /// `SO_SNDBUF` of the connection, bytes (0: the kernel's autotuning).
    #[arg(long, default_value_t = 0)]
    socket_buffer: u32,
    /// Cores this process confines itself to (empty: inherited).
    #[arg(long, value_delimiter = ',')]
    cores: Vec<usize>,
}

/// The sender for `cfg`: a thread here or a child process, as `cfg.loadgen` says.
pub fn start(cfg: &LiveConfig, api_key: &str) -> anyhow::Result<Upstream> {
    match cfg.loadgen {
        LoadGen::Thread => {
            let names: Vec<String> = (0..cfg.symbols).map(name).collect();
            Upstream::start(&names, api_key, cfg.socket_buffer, None)
                .context("starting the loopback upstream")
        }
        LoadGen::Process => {
            let cores = cfg.cores.as_ref().map(|l| l.housekeeping.clone()).unwrap_or_default();
            spawn(cfg.symbols, api_key, cfg.socket_buffer, &cores)
        }
    }
}

/// A running load generator process.
#[derive(Debug)]
pub struct Child {
    child: std::process::Child,
    stdin: Mutex<Option<ChildStdin>>,
}

impl Child {
    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Starts one phase.
    pub fn send(&self, p: Phase) -> std::io::Result<()> {
        let mut stdin = self.stdin.lock().map_err(|_| std::io::ErrorKind::BrokenPipe)?;
        let w = stdin.as_mut().ok_or(std::io::ErrorKind::BrokenPipe)?;
        writeln!(w, "phase {} {} {}", p.rate, p.frames, p.cross_every)?;
        w.flush()
    }

    /// Closes its stdin and waits for it to exit.
    pub fn stop(mut self) {
        if let Ok(mut s) = self.stdin.lock() {
            s.take();
        }
        let _ = self.child.wait();
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `tickfill-bench loadgen` serving `symbols`, confined to `cores`, and waits for
/// it to listen.
fn spawn(
    symbols: usize,
    api_key: &str,
    sndbuf: Option<u32>,
    cores: &[usize],
) -> anyhow::Result<Upstream> {
    let exe = std::env::current_exe().context("finding this executable")?;
    let mut cmd = Command::new(exe);
    cmd.arg("loadgen")
        .args(["--symbols", &symbols.to_string(), "--api-key", api_key])
        .args(["--socket-buffer", &sndbuf.unwrap_or(0).to_string()]);
    if !cores.is_empty() {
        let list: Vec<String> = cores.iter().map(usize::to_string).collect();
        cmd.args(["--cores", &list.join(",")]);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting the load generator process")?;
    let stdin = child.stdin.take();
    let stdout = child.stdout.take().context("the load generator's stdout")?;
    let child = Child { child, stdin: Mutex::new(stdin) };
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().transpose()?.unwrap_or_default();
    let words: Vec<&str> = first.split_ascii_whitespace().collect();
    let (["url", url, _], Some(epoch)) =
        (words.as_slice(), words.get(2).and_then(|e| e.parse::<i128>().ok()))
    else {
        bail!("the load generator did not start (it said {first:?})");
    };
    // Child time + shift = this process's time.
    let shift = i64::try_from(epoch - epoch_ns()).context("the load generator's clock")?;
    let (shared, results) = Upstream::shared(symbols);
    let upstream = Upstream::of_process((*url).to_owned(), child, &shared, results);
    std::thread::Builder::new().name("bench-loadgen-reports".into()).spawn(move || {
        for line in lines.map_while(Result::ok) {
            apply(&shared, &line, shift);
        }
    })?;
    Ok(upstream)
}

/// Applies one report line of the child to the parent's view of what it sent, its
/// times moved by `shift` onto this process's clock.
fn apply(shared: &Shared, line: &str, shift: i64) {
    let at = |t: u64| t.saturating_add_signed(shift);
    let mut words = line.split_ascii_whitespace();
    let kind = words.next().unwrap_or_default();
    if kind == "lag" {
        let mut h = super::hist::new_ns();
        for (v, n) in words.filter_map(|w| w.split_once(':')) {
            if let (Ok(v), Ok(n)) = (v.parse(), n.parse()) {
                let _ = h.record_n(v, n);
            }
        }
        if let Ok(mut l) = shared.lag.lock() {
            *l = h;
        }
        return;
    }
    let n: Vec<u64> = words.filter_map(|w| w.parse().ok()).collect();
    match (kind, n.as_slice()) {
        ("subscribed", &[total]) => shared.subscribed.store(total as usize, Ordering::Release),
        ("c", &[symbol, t]) => shared.crossings.crossed(symbol as usize, at(t)),
        ("w", &[symbol, t]) => {
            shared.crossings.walked(symbol as usize, at(t));
        }
        ("s", &[t]) => shared.crossings.sent_until(at(t)),
        ("result", &[sent, crossings, max_lag_ns, end_lag_ns, start]) => {
            let start_ns = at(start);
            let r = PhaseResult { sent, crossings, max_lag_ns, end_lag_ns, start_ns };
            let _ = shared.results.send(r);
        }
        _ => eprintln!("tickfill-bench: unexpected load generator report {line:?}"),
    }
}

/// `tickfill-bench loadgen`: serves the engine's feed connection and runs each phase its
/// parent asks for on stdin, reporting on stdout, until stdin closes.
pub fn main(a: &LoadgenArgs) -> anyhow::Result<()> {
    if !a.cores.is_empty() {
        tickfill::ring::cores::confine_current(&a.cores);
    }
    let names: Vec<String> = (0..a.symbols).map(name).collect();
    let reports: Reports = Arc::new(Mutex::new(BufWriter::new(std::io::stdout())));
    let sndbuf = (a.socket_buffer > 0).then_some(a.socket_buffer);
    let upstream = Upstream::start(&names, &a.api_key, sndbuf, Some(Arc::clone(&reports)))?;
    say(&reports, format_args!("url {} {}", upstream.url(), epoch_ns()))?;
    for line in std::io::stdin().lines() {
        let line = line?;
        let n: Vec<u64> =
            line.split_ascii_whitespace().skip(1).filter_map(|w| w.parse().ok()).collect();
        let (true, &[rate, frames, cross_every]) = (line.starts_with("phase "), n.as_slice())
        else {
            bail!("loadgen: a phase line is `phase RATE FRAMES CROSS_EVERY`, not {line:?}");
        };
        let p = Phase { rate: rate.max(1), frames, cross_every };
        let limit = Duration::from_secs_f64(p.frames as f64 / p.rate as f64 + 60.0);
        let r = upstream
            .run(p, limit, &|| {})
            .context("loadgen: the engine's connection closed or the phase overran")?;
        let lag = upstream.lag.lock().map(|h| h.clone()).unwrap_or_else(|_| super::hist::new_ns());
        let mut text = String::from("lag");
        for v in lag.iter_recorded() {
            text.push_str(&format!(" {}:{}", v.value_iterated_to(), v.count_at_value()));
        }
        say(&reports, format_args!("{text}"))?;
        say(
            &reports,
            format_args!(
                "result {} {} {} {} {}",
                r.sent, r.crossings, r.max_lag_ns, r.end_lag_ns, r.start_ns
            ),
        )?;
    }
    upstream.stop();
    Ok(())
}

/// Writes one line to the parent now.
fn say(reports: &Reports, line: std::fmt::Arguments<'_>) -> anyhow::Result<()> {
    let mut w = reports.lock().map_err(|_| anyhow::anyhow!("loadgen: the report lock"))?;
    writeln!(w, "{line}")?;
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_land_on_this_process_clock() {
        let (shared, results) = Upstream::shared(4);
        for line in ["subscribed 4", "c 3 10000", "w 3 10500", "s 10500", "lag 100:2 2000:1"] {
            apply(&shared, line, -5_000);
        }
        apply(&shared, "result 7 1 2000 100 9000", -5_000);
        assert_eq!(shared.subscribed.load(Ordering::Acquire), 4);
        assert_eq!(shared.crossings.last(3), 5_000);
        assert!(shared.crossings.walked_since(3));
        assert!(shared.crossings.may_replace(3, 5_500, 0, 5_500));
        assert!(!shared.crossings.may_replace(3, 5_501, 0, 9_999), "not reported that far");
        assert_eq!(shared.crossings.take_history(), vec![(3, 5_000)]);
        let lag = shared.lag.lock().unwrap().clone();
        assert_eq!((lag.len(), lag.max()), (3, lag.highest_equivalent(2000)));
        let r = results.try_recv().unwrap();
        assert_eq!(
            (r.sent, r.crossings, r.max_lag_ns, r.end_lag_ns, r.start_ns),
            (7, 1, 2000, 100, 4000)
        );
    }

    #[test]
    fn the_epoch_is_stable_within_a_process() {
        let (a, b) = (epoch_ns(), epoch_ns());
        assert!((a - b).abs() < 1_000_000, "{a} vs {b}");
    }
}
