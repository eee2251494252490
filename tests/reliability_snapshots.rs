//! Snapshots and retention on a real engine and data dir: a snapshot that cannot be
//! restored, or that no journal record follows (its batch may never have committed), is
//! passed over for the next older one or a full replay, with the same state; retention
//! deletes the journal before the oldest kept snapshot, so restart replays only what
//! came after, and refuses clearly when no kept snapshot is usable.

mod util;

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tickfill::engine::{Engine, EngineConfig};
use tickfill::journal::retention::{RETIRED_FILE, Retain};
use tickfill::journal::snapshot;
use tickfill::types::{PriceType, Seq, Side};
use util::*;

fn wait_for(cond: impl FnMut() -> bool, what: &str) {
    common::wait_until(what, Duration::from_secs(20), Duration::from_millis(2), cond);
}

fn snap_config(dir: &Path, every: u64) -> EngineConfig {
    let mut c = config(dir);
    c.snapshot_every = every;
    c.journal.segment_bytes = 64 * 1024;
    c
}

fn snapshots(dir: &Path) -> Vec<Seq> {
    snapshot::list(dir).unwrap().into_iter().map(|(s, _)| s).collect()
}

/// Runs `ticks` ticks and a few orders, waits for `min_snapshots` snapshots in all, and
/// places one more order after the last one; returns the state hash served just before
/// the stop.
fn run(dir: &Path, every: u64, ticks: usize, min_snapshots: u64) -> u64 {
    let engine = Engine::start(snap_config(dir, every)).expect("engine starts");
    let h = engine.handle();
    let sbin = sym(&h, "NSE", "SBIN");
    let status = snapshot::status(dir);
    for i in 0..ticks {
        send(&h, tick(sbin, 800.0 + (i % 50) as f64 / 10.0));
        if i % 100 == 0 {
            placed(&h, order(sbin, Side::Buy, 1, PriceType::Limit, 790.0));
        }
    }
    wait_for(|| status.written.load(Ordering::Relaxed) >= min_snapshots, "the snapshots");
    placed(&h, order(sbin, Side::Sell, 1, PriceType::Limit, 900.0));
    let hash = state_hash(&h);
    drop(h);
    engine.shutdown();
    hash
}

#[test]
fn a_snapshot_that_cannot_be_restored_falls_back_to_an_older_one_then_to_full_replay() {
    let dir = tempfile::tempdir().unwrap();
    let served = run(dir.path(), 100, 400, 3);
    let snaps = snapshots(dir.path());
    assert_eq!(snaps.len(), 3, "{snaps:?}");
    // The newest: a well-formed file (header, CRC) whose state does not decode.
    let newest = *snaps.last().unwrap();
    snapshot::write_snapshot(dir.path(), newest, b"\x08\0\0\0\0\0\0\0not a state").unwrap();
    let engine = start(dir.path());
    let report = &engine.recovery;
    assert_eq!(report.snapshot_seq, Some(snaps[1]), "{report}");
    assert_eq!(report.skipped_snapshots.len(), 1, "{report}");
    assert!(report.to_string().contains(&format!("snapshot at seq {}", newest.0)), "{report}");
    assert_eq!(state_hash(&engine.handle()), served, "the older snapshot + replay");
    let status = snapshot::status(dir.path());
    assert!(status.skipped_at_recovery.load(Ordering::Relaxed) >= 1);
    // Its state does not decode (the bytes read as an unknown format version).
    assert!(
        status.last_error().unwrap().contains(&format!("snapshot at seq {}", newest.0)),
        "{:?}",
        status.last_error()
    );
    // The operator sees it in /health (with the key) and /metrics.
    let key = "snapshot-test-key-0123456789";
    let api = tickfill::api::ApiServer::start(
        tickfill::api::ApiConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            data_dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        },
        engine.handle(),
        tickfill::auth::KeyStore::from_key(key).unwrap(),
    )
    .unwrap();
    let base = format!("http://{}", api.local_addr());
    let mut r = ureq::get(format!("{base}/health?apikey={key}")).call().unwrap();
    let health: serde_json::Value = r.body_mut().read_json().unwrap();
    let snaps = &health["snapshots"];
    assert!(snaps["skipped_at_recovery"].as_u64() >= Some(1), "{health}");
    let named = format!("snapshot at seq {}", newest.0);
    assert!(snaps["last_error"].as_str().unwrap_or("").contains(&named), "{health}");
    let mut m = ureq::get(format!("{base}/metrics")).call().unwrap();
    let metrics = m.body_mut().read_to_string().unwrap();
    assert!(metrics.contains("tickfill_snapshots_skipped_at_recovery_total"), "{metrics}");
    api.shutdown();
    engine.shutdown();

    // Every snapshot unusable: a full replay (the journal still starts at the beginning).
    for seq in snapshots(dir.path()) {
        std::fs::write(dir.path().join(snapshot::file_name(seq)), b"garbage").unwrap();
    }
    let engine = start(dir.path());
    assert_eq!(engine.recovery.snapshot_seq, None, "{}", engine.recovery);
    assert_eq!(engine.recovery.skipped_snapshots.len(), 3, "{}", engine.recovery);
    assert_eq!(state_hash(&engine.handle()), served, "full replay");
}

#[test]
fn a_snapshot_no_journal_record_follows_is_passed_over() {
    let dir = tempfile::tempdir().unwrap();
    let served = run(dir.path(), 100, 300, 2);
    let snaps = snapshots(dir.path());
    let newest = *snaps.last().unwrap();
    // As if a snapshot had been written in a batch whose journal records were then lost
    // to a power loss: the state of an earlier point, at a sequence beyond the journal.
    let (_, state) = snapshot::load_snapshots(dir.path()).unwrap().latest.unwrap();
    let ahead = Seq(newest.0 + 1_000_000);
    snapshot::write_snapshot(dir.path(), ahead, &state).unwrap();
    let engine = start(dir.path());
    let report = &engine.recovery;
    assert_ne!(report.snapshot_seq, Some(ahead), "{report}");
    assert!(report.to_string().contains("no journal record follows it"), "{report}");
    assert_eq!(state_hash(&engine.handle()), served);
}

#[test]
fn retention_deletes_the_journal_before_the_oldest_kept_snapshot_and_bounds_the_replay() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    let mut c = snap_config(path, 500);
    c.journal.retain = Retain::Count(2);
    let engine = Engine::start(c).expect("engine starts");
    let h = engine.handle();
    let sbin = sym(&h, "NSE", "SBIN");
    let status = snapshot::status(path);
    // About 60 bytes a tick: 6,000 ticks fill several 64 KiB segments.
    for i in 0..6_000 {
        send(&h, tick(sbin, 800.0 + (i % 50) as f64 / 10.0));
    }
    wait_for(|| status.written.load(Ordering::Relaxed) >= 10, "ten snapshots");
    wait_for(|| status.retired_segments.load(Ordering::Relaxed) > 0, "a retired segment");
    placed(&h, order(sbin, Side::Buy, 1, PriceType::Limit, 790.0));
    let served = state_hash(&h);
    drop(h);
    engine.shutdown();

    let snaps = snapshots(path);
    assert_eq!(snaps.len(), 2, "{snaps:?}");
    let segments: Vec<_> = std::fs::read_dir(path)
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter(|n| n.ends_with(".seg"))
        .collect();
    let retired: u64 =
        std::fs::read_to_string(path.join(RETIRED_FILE)).unwrap().trim().parse().unwrap();
    assert!(retired > 0 && retired <= snaps[0].0, "retired through {retired}, kept {snaps:?}");
    assert!(!segments.contains(&"journal-00000001.seg".to_string()), "{segments:?}");

    let mut c = snap_config(path, 500);
    c.journal.retain = Retain::Count(2);
    let engine = Engine::start(c.clone()).expect("restart");
    assert_eq!(engine.recovery.snapshot_seq, Some(snaps[1]), "{}", engine.recovery);
    assert!(engine.recovery.replayed <= 600, "replayed {}", engine.recovery.replayed);
    assert_eq!(state_hash(&engine.handle()), served);
    engine.shutdown();

    // No usable snapshot and the journal's start is gone: a clear refusal, not a partial
    // state.
    for seq in snapshots(path) {
        std::fs::write(path.join(snapshot::file_name(seq)), b"garbage").unwrap();
    }
    let e = Engine::start(c).expect_err("refused").to_string();
    assert!(e.contains("removed by retention") && e.contains("backup"), "{e}");
}
