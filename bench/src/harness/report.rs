//! The report folder of a run: one `.hgrm` and one `.svg` per metric, `summary.md`, and
//! the run's row in the index table of `README.md`.

#![forbid(unsafe_code)]

use super::hist::{self, Percentiles, fmt_us};
use super::run::{Plan, Results};
use hdrhistogram::Histogram;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The machine and build a run comes from.
#[derive(Debug, Clone)]
pub struct Machine {
    /// Host name.
    pub host: String,
    /// CPU model.
    pub cpu_model: String,
    /// Logical CPUs.
    pub cpus: usize,
    /// Kernel release.
    pub kernel: String,
    /// `rustc --version`.
    pub rustc: String,
    /// Short commit hash (with `-dirty` if tracked files differ).
    pub commit: String,
    /// `/proc/loadavg` (other work on the machine shows here).
    pub loadavg: String,
}

fn command(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn read_trim(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok().map(|s| s.trim().to_owned())
}

impl Machine {
    /// Reads `/proc`, `rustc` and `git`.
    pub fn detect() -> Machine {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|s| s.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".into());
        let mut commit =
            command("git", &["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
        if command("git", &["status", "--porcelain", "--untracked-files=no"])
            .is_some_and(|s| !s.is_empty())
        {
            commit.push_str("-dirty");
        }
        Machine {
            host: read_trim("/proc/sys/kernel/hostname").unwrap_or_else(|| "host".into()),
            cpu_model,
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            kernel: read_trim("/proc/sys/kernel/osrelease").unwrap_or_else(|| "unknown".into()),
            rustc: command("rustc", &["--version"]).unwrap_or_else(|| "unknown".into()),
            commit,
            loadavg: read_trim("/proc/loadavg")
                .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
                .unwrap_or_else(|| "unknown".into()),
        }
    }
}

/// One latency metric of the report.
struct Metric<'a> {
    file: &'static str,
    what: &'static str,
    h: &'a Histogram<u64>,
}

fn metrics(r: &Results) -> Vec<Metric<'_>> {
    let hop = |name: &str| &r.live.hops.iter().find(|(n, _)| *n == name).expect("every hop").1;
    vec![
        Metric {
            file: "intended_to_fill",
            what: "tick-to-fill: crossing frame intended send -> fill decided",
            h: &r.live.intended_to_fill,
        },
        Metric {
            file: "tick_to_fill",
            what: "breakdown: socket read -> fill decided (engine)",
            h: hop("tick_to_fill"),
        },
        Metric {
            file: "sender_lag",
            what: "harness: each frame's send behind its intended time",
            h: &r.live.sender_lag,
        },
        Metric {
            file: "ws_echo_rtt_loaded",
            what: "floor: echo round trip every 1 ms during the measured phase",
            h: &r.live.echo_loaded,
        },
        Metric {
            file: "received_to_execution",
            what: "hop: socket read -> execution stage",
            h: hop("received_to_execution"),
        },
        Metric {
            file: "execution_to_mtm",
            what: "hop: execution -> MTM",
            h: hop("execution_to_mtm"),
        },
        Metric { file: "mtm_to_fanout", what: "hop: MTM -> fanout", h: hop("mtm_to_fanout") },
        Metric {
            file: "fanout_to_journal",
            what: "hop: fanout -> journal",
            h: hop("fanout_to_journal"),
        },
        Metric {
            file: "received_to_journal",
            what: "socket read -> journaled",
            h: hop("received_to_journal"),
        },
        Metric {
            file: "wire_to_wire",
            what: "upstream frame intended send -> order_update read by the WS client",
            h: &r.live.wire_to_wire,
        },
        Metric {
            file: "fill_to_client",
            what: "breakdown: fill decided -> order_update read by the WS client",
            h: &r.live.fill_to_client,
        },
        Metric {
            file: "rest_placeorder",
            what: "REST placeorder round trip (ureq, loopback)",
            h: &r.live.rest,
        },
        Metric {
            file: "ws_echo_rtt",
            what: "floor: plain tungstenite echo round trip, 400 B, loopback",
            h: &r.echo,
        },
        Metric {
            file: "polling_fill_delay",
            what: "baseline: crossing -> next poll of a polling engine",
            h: &r.polling,
        },
    ]
}

fn us(ns: u64) -> String {
    fmt_us(ns as f64 / 1000.0)
}

fn met(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "met",
        Some(false) => "**not met**",
        None => "not measured",
    }
}

/// The folder name of a run: `<date>-<host>-<commit>` (`-quick` for quick runs).
pub fn folder_name(m: &Machine, quick: bool) -> String {
    let date = chrono::Utc::now().format("%Y-%m-%d");
    let mut s = format!("{date}-{}-{}", m.host, m.commit);
    if quick {
        s.push_str("-quick");
    }
    s
}

/// Writes the report under `out` and indexes it in `out/README.md`; returns the folder.
pub fn write(out: &Path, plan: &Plan, r: &Results, m: &Machine) -> anyhow::Result<PathBuf> {
    let name = folder_name(m, plan.quick);
    let dir = out.join(&name);
    std::fs::create_dir_all(&dir)?;
    for metric in metrics(r) {
        std::fs::write(dir.join(format!("{}.hgrm", metric.file)), hist::hgrm(metric.h))?;
        std::fs::write(dir.join(format!("{}.svg", metric.file)), hist::svg(metric.file, metric.h))?;
    }
    std::fs::write(dir.join("summary.md"), summary(&name, plan, r, m))?;
    index(out, &name, plan, r)?;
    Ok(dir)
}

/// The highest search rate passed, 0 if none.
pub fn max_rate(r: &Results) -> u64 {
    live_max_rate(&r.live)
}

fn live_max_rate(l: &super::live::LiveResult) -> u64 {
    l.search.iter().filter(|s| s.ok).map(|s| s.rate).max().unwrap_or(0)
}

/// The A/B table: every variant of the run, same workload, side by side, and the null
/// engine's floor under the same load.
fn ab_section(s: &mut String, plan: &Plan, r: &Results) {
    let primary = (plan.primary, &r.live);
    let rows: Vec<(super::run::Variant, &super::live::LiveResult)> =
        r.compared.iter().map(|(v, l)| (*v, l)).chain(std::iter::once(primary)).collect();
    let _ = writeln!(s, "## A/B: variants in this run (same workload, one after the other)\n");
    let _ = writeln!(
        s,
        "Tick-to-fill is from the crossing frame's intended send time to the fill decision \
         (sender lag and socket queueing count); socket read -> fill is the engine's own \
         part. Wire-to-wire is from the intended send time too; fill -> client is its tail \
         (journal commit, WebSocket thread wake-up and write, client wake-up). Echo under \
         load: a tungstenite echo round trip every 1 ms during the measured phase. \
         Variants: `+noticks` = the WebSocket client subscribes to no ticks (order updates \
         only), `+wake` = order updates through a wake-up of the WebSocket thread (the old \
         path) instead of written by the thread that commits the journal, `+nosearch` = no \
         rate search, `+procgen` = the open-loop sender runs as a process of its own \
         (`tickfill-bench loadgen`, confined to the housekeeping cores when there is a \
         layout) instead of a thread of the bench process, `+ringN` = a ring of N slots \
         instead of the topology's default (1,024 for inline, 8,192 otherwise). `inline` runs with core layout: {}; the others run unpinned.\n",
        plan.live.cores.as_ref().map_or("no layout".to_owned(), |l| format!(
            "hot core {}, housekeeping {:?}",
            l.hot, l.housekeeping
        ))
    );
    let _ = writeln!(
        s,
        "| variant | tick-to-fill (intended send -> fill) p50 / p99 / p99.9 / max us | \
         socket read -> fill p50 / p99 us | socket -> journal p50 / p99 us | \
         wire-to-wire p50 / p99 us | fill -> client p50 / p99 us | \
         echo under load p50 / p99 us | w2w / echo p50 | \
         sender lag p50 / p99 us | engine CPU us/tick | order updates written by the \
         engine thread / read by the client | max sustainable /s |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---:|---|---:|---:|---:|");
    for (v, l) in rows {
        let i2f = Percentiles::of(&l.intended_to_fill);
        let t2f = Percentiles::of(&l.hops[5].1);
        let r2j = Percentiles::of(&l.hops[4].1);
        let w2w = Percentiles::of(&l.wire_to_wire);
        let f2c = Percentiles::of(&l.fill_to_client);
        let echo = Percentiles::of(&l.echo_loaded);
        let lag = Percentiles::of(&l.sender_lag);
        let ticks = (l.main_received as f64).max(1.0);
        let _ = writeln!(
            s,
            "| {} | {} / {} / {} / {} | {} / {} | {} / {} | {} / {} | {} / {} | {} / {} | {:.2} | {} / {} | {:.2} | {} / {} | {} |",
            v.label(),
            us(i2f.p50),
            us(i2f.p99),
            us(i2f.p999),
            us(i2f.max),
            us(t2f.p50),
            us(t2f.p99),
            us(r2j.p50),
            us(r2j.p99),
            us(w2w.p50),
            us(w2w.p99),
            us(f2c.p50),
            us(f2c.p99),
            us(echo.p50),
            us(echo.p99),
            if echo.p50 == 0 { f64::NAN } else { w2w.p50 as f64 / echo.p50 as f64 },
            us(lag.p50),
            us(lag.p99),
            l.cpu_engine_s * 1e6 / ticks,
            l.direct_updates.0,
            l.direct_updates.1,
            if l.search.is_empty() { "-".to_owned() } else { live_max_rate(l).to_string() }
        );
    }
    let _ = writeln!(s);
    if let Some(n) = &r.null {
        let read = Percentiles::of(&n.read_lag);
        let lag = Percentiles::of(&n.sender_lag);
        let echo = Percentiles::of(&n.echo_loaded);
        let _ = writeln!(s, "### The load generator's floor: the null engine\n");
        let _ = writeln!(
            s,
            "The same upstream, rate and symbols, the same echo client, but the frames read by \
             a plain tungstenite client and dropped (no engine): what a perfect engine would \
             show. {} frames sent, {} read.\n",
            n.sent, n.read
        );
        let _ =
            writeln!(s, "| what | p50 | p90 | p99 | p99.9 | max |\n|---|---:|---:|---:|---:|---:|");
        for (what, p) in [
            ("frame intended send -> read by the null reader", read),
            ("sender lag", lag),
            ("echo round trip under this load", echo),
        ] {
            let _ = writeln!(
                s,
                "| {what} | {} | {} | {} | {} | {} |",
                us(p.p50),
                us(p.p90),
                us(p.p99),
                us(p.p999),
                us(p.max)
            );
        }
        let i2f = Percentiles::of(&r.live.intended_to_fill);
        let ratio = |a: u64, b: u64| if b == 0 { f64::NAN } else { a as f64 / b as f64 };
        let _ = writeln!(
            s,
            "\nPrimary run against the null engine: tick-to-fill p50 / null read p50 = {:.2}, \
             p99 / p99 = {:.2}.\n",
            ratio(i2f.p50, read.p50),
            ratio(i2f.p99, read.p99)
        );
        let _ = writeln!(s, "Null engine CPU per thread (measured phase):\n");
        let _ = writeln!(s, "| thread | CPU s | runnable but waiting, s |\n|---|---:|---:|");
        for (name, cpu, wait) in &n.cpu_threads {
            let _ = writeln!(s, "| {name} | {cpu:.2} | {wait:.2} |");
        }
        let _ = writeln!(s);
    }
}

/// RSS growth per 100 symbols beyond the fixed part: the slope between the smallest
/// and largest probes, bytes.
pub fn marginal_per_100(r: &Results) -> Option<f64> {
    let (a, b) = (r.memory.first()?, r.memory.last()?);
    (b.0 > a.0).then(|| (b.1 as f64 - a.1 as f64) / (b.0 - a.0) as f64 * 100.0)
}

/// Opens the "Machine and build" table with the rows every bench report shares, so the
/// in-process and relay reports describe the machine alike; callers append their own rows.
pub(crate) fn machine_rows(s: &mut String, m: &Machine) {
    let _ = writeln!(s, "## Machine and build\n");
    let _ = writeln!(s, "| | |\n|---|---|");
    let _ = writeln!(s, "| host | {} |", m.host);
    let _ = writeln!(s, "| CPU | {} x {} |", m.cpus, m.cpu_model);
    let _ = writeln!(s, "| kernel | {} |", m.kernel);
    let _ = writeln!(s, "| rustc | {} |", m.rustc);
    let _ = writeln!(s, "| commit | {} |", m.commit);
}

fn summary(name: &str, plan: &Plan, r: &Results, m: &Machine) -> String {
    let l = &r.live;
    let c = &plan.live;
    let mut s = String::new();
    let _ = writeln!(s, "# tickfill bench: {name}\n");
    if plan.quick {
        let _ = writeln!(
            s,
            "**Quick mode** (smoke test): small counts, a {:?} polling interval instead of 5 s, \
             restart over {:?} events instead of 1M and 10M. Not comparable with the targets.\n",
            plan.poll_interval, plan.restart_events
        );
    }
    machine_rows(&mut s, m);
    let _ = writeln!(s, "| command | `{}` |", plan.command);
    let _ = writeln!(
        s,
        "| topology | {:?} (resolved {:?}), idle {:?}, cores {} |",
        c.pipeline.topology,
        c.pipeline.topology.resolve(),
        c.pipeline.idle,
        if c.pipeline.cores.is_empty() {
            "not pinned".to_owned()
        } else {
            format!("{:?}", c.pipeline.cores)
        }
    );
    let _ = writeln!(s, "| load average at the end (1/5/15 min) | {} |", m.loadavg);
    let _ = writeln!(s, "| wall time | {:.1} s |\n", r.elapsed.as_secs_f64());

    let _ = writeln!(s, "## Workload\n");
    let _ = writeln!(
        s,
        "{} symbols, {} resting CNC buy LIMIT orders placed through REST, an open-loop \
         loopback upstream at {} ticks/s for {} s ({} frames sent, {} decoded by the engine; \
         the sender's largest lag behind schedule {} us). Every {}th frame of a symbol \
         crosses its top order ({} crossings, {} fills timed wire-to-wire, re-placed \
         through REST; {} re-placements failed). A WebSocket client subscribed to orders and \
         to {} symbols' ticks ({} tick frames read). Latency is measured from each frame's \
         intended send time (no coordinated omission). Everything (load generator, clients, \
         engine) shares the machine's {} CPUs; the open-loop sender alone keeps one busy.\n",
        c.symbols,
        c.orders,
        c.rate,
        c.seconds,
        l.main.sent,
        l.main_received,
        us(l.main.max_lag_ns),
        // cross_every is derived the same way as in the live run.
        ((c.rate as f64 / c.symbols as f64 * c.cross_period.as_secs_f64()).round() as u64).max(2),
        l.main.crossings,
        l.wire_to_wire.len(),
        l.rest_failures,
        c.ws_tick_symbols.min(c.symbols),
        l.ws_ticks,
        m.cpus
    );

    ab_section(&mut s, plan, r);

    let _ = writeln!(s, "## Latency (microseconds), {}\n", plan.primary.label());
    let _ = writeln!(s, "| metric | what | count | p50 | p90 | p99 | p99.9 | max | plot |");
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---|");
    for metric in metrics(r) {
        let p = Percentiles::of(metric.h);
        let _ = writeln!(
            s,
            "| [{f}]({f}.hgrm) | {} | {} | {} | {} | {} | {} | {} | [svg]({f}.svg) |",
            metric.what,
            p.count,
            us(p.p50),
            us(p.p90),
            us(p.p99),
            us(p.p999),
            us(p.max),
            f = metric.file
        );
    }

    let t2f = Percentiles::of(&l.intended_to_fill);
    let w2w = Percentiles::of(&l.wire_to_wire);
    let echo = Percentiles::of(&r.echo);
    let echo_loaded = Percentiles::of(&l.echo_loaded);
    let poll = Percentiles::of(&r.polling);
    let ratio = |a: u64, b: u64| if b == 0 { f64::NAN } else { a as f64 / b as f64 };
    let _ = writeln!(s, "\n## Ratios\n");
    let _ = writeln!(s, "| ratio | value |\n|---|---:|");
    let loaded = Percentiles::of(&l.echo_loaded);
    let _ = writeln!(
        s,
        "| wire-to-wire p50 / echo p50 under the same load | {:.2} (echo {} us, {} samples) |",
        ratio(w2w.p50, loaded.p50),
        us(loaded.p50),
        loaded.count
    );
    let _ = writeln!(
        s,
        "| wire-to-wire p99 / echo p99 under the same load | {:.2} (echo {} us) |",
        ratio(w2w.p99, loaded.p99),
        us(loaded.p99)
    );
    let _ = writeln!(
        s,
        "| wire-to-wire p50 / echo p50 (idle machine) | {:.2} |",
        ratio(w2w.p50, echo.p50)
    );
    let _ = writeln!(s, "| wire-to-wire p99 / echo p99 | {:.2} |", ratio(w2w.p99, echo.p99));
    let _ = writeln!(
        s,
        "| ring / crossbeam channels, four-stage throughput | {:.2} ({:.0} vs {:.0} events/s, {} events each) |",
        r.stages.ring / r.stages.crossbeam,
        r.stages.ring,
        r.stages.crossbeam,
        plan.stage_events
    );
    let _ = writeln!(
        s,
        "| polling ({:?}) fill delay p50 / wire-to-wire p50 | {:.0} |",
        plan.poll_interval,
        ratio(poll.p50, w2w.p50)
    );
    let _ = writeln!(
        s,
        "\nThe polling baseline replays the run's filled crossings against a poller checking \
         every {:?} from the start of the measured phase: its delay is the time from a crossing \
         to the next poll (the REST quote fetch of a real poller would add to it).\n",
        plan.poll_interval
    );

    let _ = writeln!(s, "## Sustainable tick rate (socket -> journal)\n");
    let _ = writeln!(
        s,
        "Open loop, {} s per step, no fills; a step passes when every frame sent was decoded \
         and journaled, the sender ended within {} ms of its schedule, and the engine had \
         journaled the step's last frame within that of its intended send time (engine lag: \
         a backlog hidden in socket buffers shows there, not in the sender's lag). {}\n",
        c.search_seconds,
        super::live::max_end_lag(c.search_seconds) / 1_000_000,
        match c.socket_buffer {
            Some(b) => format!(
                "Socket buffers capped for the whole run (measured phase and search): \
                 `SO_RCVBUF` {b} bytes on the engine's upstream socket and `SO_SNDBUF` {b} bytes \
                 on the sender's (the kernel doubles each for its bookkeeping), so at most a \
                 few ms of frames wait in the kernel: an engine that falls behind pushes \
                 back on the sender instead of banking its backlog in a buffer."
            ),
            None => "Socket buffers not capped (`--socket-buffer 0`): the kernel autotunes \
                     them, and up to tens of MiB can bank a backlog."
                .to_owned(),
        }
    );
    let _ = writeln!(
        s,
        "| rate /s | sent | decoded | journaled | sender max lag us | sender end lag us | engine lag us | engine CPU us/tick | passed |"
    );
    let _ = writeln!(s, "|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for st in &l.search {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {:.2} | {} |",
            st.rate,
            st.sent,
            st.received,
            st.journaled,
            us(st.max_lag_ns),
            us(st.end_lag_ns),
            if st.engine_lag_ns == u64::MAX { "never".to_owned() } else { us(st.engine_lag_ns) },
            st.cpu_per_tick_us(),
            if st.ok { "yes" } else { "no" }
        );
    }
    let _ = writeln!(s, "\nMaximum sustainable: **{} ticks/s**.\n", max_rate(r));

    let _ = writeln!(s, "## CPU\n");
    let mticks = l.main_received as f64 / 1e6;
    let _ = writeln!(
        s,
        "Measured phase: process {:.2} CPU s, engine threads {:.2} CPU s (process minus the \
         harness's `bench-*` threads) for {:.2} M ticks: **{:.2} CPU s per million ticks** \
         (engine), {:.2} (whole process, load generator included).\n",
        l.cpu_process_s,
        l.cpu_engine_s,
        mticks,
        l.cpu_engine_s / mticks.max(1e-9),
        l.cpu_process_s / mticks.max(1e-9)
    );
    let _ = writeln!(
        s,
        "Per thread (from `/proc/self/task/*/stat` and `schedstat`, measured phase):\n"
    );
    let _ = writeln!(
        s,
        "| thread | CPU s | us per tick | runnable but waiting for a CPU, s |\n|---|---:|---:|---:|"
    );
    for (name, cpu, wait) in &l.cpu_threads {
        let _ = writeln!(s, "| {name} | {cpu:.2} | {:.2} | {wait:.2} |", cpu / mticks.max(1e-9));
    }
    let _ = writeln!(s);

    let _ = writeln!(s, "## Engine memory\n");
    let _ = writeln!(
        s,
        "Growth of resident anonymous memory (`RssAnon`: heap and stacks; the journal's \
         mapped page cache is left out) from before starting an engine on a universe built \
         beforehand to after every symbol has received one Quote tick, each in a fresh \
         process.\n"
    );
    let _ = writeln!(s, "| symbols | RSS growth | per 100 symbols |\n|---:|---:|---:|");
    for (n, b) in &r.memory {
        let _ = writeln!(
            s,
            "| {n} | {:.1} MiB | {:.1} KB |",
            *b as f64 / (1 << 20) as f64,
            *b as f64 / *n as f64 * 100.0 / 1000.0
        );
    }
    if let Some(m) = marginal_per_100(r) {
        let _ = writeln!(
            s,
            "\nBeyond the fixed preallocations (slope from the smallest to the largest \
             universe): **{:.1} KB per 100 symbols**.\n",
            m / 1000.0
        );
    }

    let _ = writeln!(s, "## Restart\n");
    let _ = writeln!(
        s,
        "A journal written directly in the engine's 64 MiB segments (1,000 resting orders, \
         then ticks over 1,000 symbols, no snapshot, so every event is replayed), then \
         `engine::recovery::recover` timed: open, survey, decode and replay through the \
         execution and MTM stages.\n"
    );
    let _ = writeln!(s, "| events | write | recover | replayed |\n|---:|---:|---:|---:|");
    for x in &r.restarts {
        let _ = writeln!(
            s,
            "| {} | {:.2} s | **{:.3} s** | {} |",
            x.events,
            x.write.as_secs_f64(),
            x.recover.as_secs_f64(),
            x.replayed
        );
    }

    let _ = writeln!(s, "\n## DESIGN.md targets\n");
    let _ = writeln!(s, "| target | measured | |\n|---|---|---|");
    let some = |c: u64, ok: bool| (c > 0).then_some(ok);
    let _ = writeln!(
        s,
        "| tick-to-fill (intended send -> fill) p50 <= 5 us | {} us | {} |",
        us(t2f.p50),
        met(some(t2f.count, t2f.p50 <= 5_000))
    );
    let _ = writeln!(
        s,
        "| tick-to-fill (intended send -> fill) p99 <= 50 us | {} us | {} |",
        us(t2f.p99),
        met(some(t2f.count, t2f.p99 <= 50_000))
    );
    let _ = writeln!(
        s,
        "| wire-to-wire p50 <= 2x echo p50 under the same load | {} us vs 2 x {} us | {} |",
        us(w2w.p50),
        us(echo_loaded.p50),
        met(some(w2w.count.min(echo_loaded.count), w2w.p50 <= 2 * echo_loaded.p50))
    );
    // The target is CPU per tick at the sustained rate: at 100K ticks/s the hot thread's
    // busy-poll window keeps a core spinning between frames, so the measured phase's
    // figure is mostly the spin (it is in the A/B table); the highest passed step of the
    // rate search is where the engine is busy with work.
    match l.search.iter().filter(|x| x.ok).max_by_key(|x| x.rate) {
        Some(top) => {
            let per_tick = top.cpu_per_tick_us();
            let _ = writeln!(
                s,
                "| engine CPU <= 1 us per tick (at the highest sustained rate, {} ticks/s) | {per_tick:.2} us | {} |",
                top.rate,
                met(Some(per_tick <= 1.0))
            );
        }
        None => {
            let per_tick = l.cpu_engine_s * 1e6 / (l.main_received as f64).max(1.0);
            let _ = writeln!(
                s,
                "| engine CPU <= 1 us per tick (no rate step passed: at the measured rate, busy-poll included) | {per_tick:.2} us | {} |",
                met(some(l.main_received, per_tick <= 1.0))
            );
        }
    }
    let top = c.search_rates.last().copied().unwrap_or(0);
    let _ = writeln!(
        s,
        "| sustained >= 1,000,000 ticks/s, nothing dropped | {} ticks/s (searched up to {top}) | {} |",
        max_rate(r),
        met(if max_rate(r) >= 1_000_000 {
            Some(true)
        } else if top >= 1_000_000 || l.search.iter().any(|x| !x.ok) {
            Some(false)
        } else {
            None
        })
    );
    let _ = writeln!(
        s,
        "| >= 2x crossbeam-channel throughput | {:.2}x | {} |",
        r.stages.ring / r.stages.crossbeam,
        met(Some(r.stages.ring >= 2.0 * r.stages.crossbeam))
    );
    let mem = marginal_per_100(r);
    let _ = writeln!(
        s,
        "| <= 20 KB per 100 symbols beyond fixed preallocations | {} | {} |",
        mem.map_or("-".into(), |m| format!("{:.1} KB", m / 1000.0)),
        met(mem.map(|m| m <= 20_000.0))
    );
    let ten = r.restarts.iter().find(|x| x.events >= 10_000_000);
    let _ = writeln!(
        s,
        "| restart with 10M journaled events <= 2 s | {} | {} |",
        ten.map_or("-".into(), |x| format!("{:.3} s", x.recover.as_secs_f64())),
        met(ten.map(|x| x.recover.as_secs_f64() <= 2.0))
    );
    if plan.quick {
        let _ = writeln!(s, "\n(Quick mode: the workload is smaller than the targets'.)");
    }
    s
}

fn index(out: &Path, name: &str, plan: &Plan, r: &Results) -> anyhow::Result<()> {
    let path = out.join("README.md");
    let mut text = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        "# Latency reports\n\n| run | what | command |\n|---|---|---|\n".to_owned()
    });
    let t2f = Percentiles::of(&r.live.intended_to_fill);
    let w2w = Percentiles::of(&r.live.wire_to_wire);
    let row = format!(
        "| [{name}]({name}/summary.md) | tickfill bench{}: tick-to-fill (intended send) p50 {} us / p99 {} us, wire-to-wire p50 {} us, max sustainable {} ticks/s | `{}` |\n",
        if plan.quick { " --quick" } else { "" },
        us(t2f.p50),
        us(t2f.p99),
        us(w2w.p50),
        max_rate(r),
        plan.command
    );
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&row);
    std::fs::write(path, text)?;
    Ok(())
}
