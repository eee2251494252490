//! What segment rotation costs the thread that appends to the journal, at a paced rate
//! (as an engine appends, not as fast as it can): batches of 64 tick records committed
//! with `msync`, a pause after every 64 batches, 8 MiB segments, 6 rotations. Reports the
//! commit latency of every batch (p50/p99/max), of the batches that rotated, and the
//! minor page faults the appending thread took per segment (`/proc/thread-self/stat`).
//! Uses only the journal's public API, so the same file measures any version.
//!
//! `cargo run --release --example journal_rotation`

use hdrhistogram::Histogram;
use std::time::{Duration, Instant};
use tickfill::event::{Event, Header, Input, Tick};
use tickfill::journal::{Journal, JournalConfig, SyncLevel};
use tickfill::types::{Price, Seq, SymbolId};

const SEGMENT: u64 = 8 << 20;
const ROTATIONS: usize = 6;
const BATCH: u64 = 64;

/// Minor page faults of the calling thread so far.
fn thread_minor_faults() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("/proc/thread-self/stat");
    // Fields after the command name (which ends with the last ')'): state is field 3,
    // minflt field 10.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    rest.split(' ').nth(7).and_then(|f| f.parse().ok()).expect("minflt")
}

fn event(seq: u64) -> Event {
    let tick = Tick {
        symbol: SymbolId((seq % 1000) as u32),
        ltp: Price(1000_0000 + (seq % 50) as i64),
        bid: Price(999_9500),
        ask: Price(1000_0500),
        volume: seq as i64,
        ..Tick::default()
    };
    Event {
        header: Header {
            seq: Seq(seq),
            time_ns: 1_700_000_000_000_000_000 + seq as i64,
            ..Header::default()
        },
        input: Input::Tick(tick),
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = JournalConfig {
        segment_bytes: SEGMENT,
        sync: SyncLevel::Msync,
        ..JournalConfig::new(dir.path())
    };
    let (mut journal, _) = Journal::open(&config).expect("journal opens");
    let mut all = Histogram::<u64>::new(3).expect("histogram");
    let mut rotating = Vec::new();
    let mut faults = Vec::new();
    let mut seq = 1;
    let mut segment = journal.current_segment().to_string();
    let mut faults_at = thread_minor_faults();
    let mut batches = 0u64;
    while rotating.len() < ROTATIONS {
        let started = Instant::now();
        for _ in 0..BATCH {
            journal.append(&event(seq)).expect("append");
            seq += 1;
        }
        journal.commit().expect("commit");
        let took = started.elapsed().as_nanos() as u64;
        all.record(took).expect("in range");
        batches += 1;
        if journal.current_segment() != segment {
            let now = thread_minor_faults();
            faults.push(now - faults_at);
            faults_at = now;
            rotating.push(took);
            segment = journal.current_segment().to_string();
        }
        if batches % 64 == 0 {
            // Paced: the rest of the process (and the disk) gets time between bursts.
            let before = thread_minor_faults();
            std::thread::sleep(Duration::from_millis(20));
            faults_at += thread_minor_faults() - before;
        }
    }
    let us = |ns: u64| ns as f64 / 1000.0;
    println!(
        "{} batches of {BATCH} records, {} MiB segments, msync: commit p50 {:.1} us, p99 {:.1} us, \
         p99.9 {:.1} us, max {:.1} us",
        all.len(),
        SEGMENT >> 20,
        us(all.value_at_quantile(0.5)),
        us(all.value_at_quantile(0.99)),
        us(all.value_at_quantile(0.999)),
        us(all.max()),
    );
    let shown: Vec<String> = rotating.iter().map(|&ns| format!("{:.0}", us(ns))).collect();
    println!("batches that rotated (us): {}", shown.join(", "));
    let shown: Vec<String> = faults.iter().map(|f| f.to_string()).collect();
    println!("appending thread's minor faults per segment: {}", shown.join(", "));
}
