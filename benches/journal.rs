//! Workload: journal append throughput per sync level: tick events (the common record,
//! about 100 bytes encoded) appended to preallocated memory-mapped segments on a temp dir,
//! committed every 64 records (a typical ring batch).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::time::Duration;
use tickfill::event::Input;
use tickfill::journal::{Journal, JournalConfig, SyncLevel};

mod common;
use common::*;

const BATCH: u64 = 64;

fn journal(c: &mut Criterion) {
    let mut g = c.benchmark_group("journal_append");
    g.throughput(Throughput::Elements(BATCH));
    g.measurement_time(Duration::from_secs(4));
    for sync in [SyncLevel::None, SyncLevel::Msync, SyncLevel::Fsync] {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = JournalConfig::new(dir.path());
        config.sync = sync;
        config.segment_bytes = 64 << 20;
        let (mut journal, _) = Journal::open(&config).expect("journal opens");
        let mut seq = 1u64;
        g.bench_function(sync.as_str(), |b| {
            b.iter(|| {
                for _ in 0..BATCH {
                    let ev = event(seq, Input::Tick(tick((seq % 1000) as u32, 1000_0000)));
                    journal.append(&ev).expect("append");
                    seq += 1;
                }
                journal.commit().expect("commit");
            });
        });
    }
    g.finish();
}

criterion_group!(benches, journal);
criterion_main!(benches);
