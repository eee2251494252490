//! A data dir whose newest snapshot was written by an older build (another execution
//! snapshot format) still starts: recovery replays the journal from the start (journals
//! are never pruned) and rebuilds the same state.

mod util;

use tickfill::engine::Engine;
use tickfill::engine::wiring::split_snapshot;
use tickfill::journal::snapshot::{latest_snapshot, write_snapshot};
use tickfill::types::{PriceType, Side};
use util::*;

#[test]
fn an_older_snapshot_format_falls_back_to_replaying_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let engine = start(dir.path());
    let h = engine.handle();
    let sbin = sym(&h, "NSE", "SBIN");
    send(&h, tick(sbin, 800.0));
    placed(&h, order(sbin, Side::Buy, 10, PriceType::Market, 0.0));
    placed(&h, order(sbin, Side::Buy, 5, PriceType::Limit, 700.0));
    h.request_snapshot().unwrap();
    let live = state_hash(&h);
    drop(h);
    engine.shutdown();

    // Rewrite the newest snapshot as format version 1 (postcard: the first byte of the
    // execution part is the version's varint).
    let (seq, bytes) = latest_snapshot(dir.path()).unwrap().expect("a snapshot was written");
    let (exec, _) = split_snapshot(&bytes).expect("well formed");
    assert_eq!(
        u32::from(exec[0]),
        tickfill::exec::snapshot::SNAPSHOT_VERSION,
        "this build's version"
    );
    let mut old = bytes.clone();
    old[8] = 1;
    write_snapshot(dir.path(), seq, &old).unwrap();

    let engine = Engine::start(config(dir.path())).expect("starts from the journal");
    assert_eq!(engine.recovery.snapshot_seq, None, "the old snapshot was not used");
    let h = engine.handle();
    assert_eq!(state_hash(&h), live);
    assert_eq!(orders(&h).len(), 2);
    drop(h);
    engine.shutdown();
}
