//! Replay determinism: a generated session of 100,000 events, hashed; a restart from the
//! journal alone, and from each retained snapshot, rebuilds the same hash.

mod util;

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use std::path::Path;
use tickfill::clock::{mono_now_ns, wall_now_ns};
use tickfill::engine::Engine;
use tickfill::event::CommandKind;
use tickfill::sim::walk::RandomWalk;
use tickfill::types::{Price, PriceType, Product, Qty, Side};
use util::*;

const EVENTS: u64 = 100_000;

fn snapshots(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "snap"))
        .collect();
    v.sort();
    v
}

fn hash_after_restart(dir: &Path) -> u64 {
    let engine = Engine::start(config(dir)).expect("restart");
    let h = engine.handle();
    let d = state_hash(&h);
    drop(h);
    engine.shutdown();
    d
}

fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
    }
}

#[test]
fn a_100k_event_session_replays_to_the_same_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.snapshot_every = 25_000;
    let engine = Engine::start(c).unwrap();
    let h = engine.handle();
    let mut walk = RandomWalk::new(&h.instruments, 11);
    let tradable = RandomWalk::tradable(&h.instruments);
    let mut rng = SmallRng::seed_from_u64(5);
    let mut ids = Vec::new();
    for i in 0..EVENTS {
        if i % 50 == 0 && i > 0 {
            let symbol = tradable[rng.random_range(0..tradable.len())];
            let inst = h.instruments.get(symbol).unwrap();
            let ltp = walk.ltp(symbol).unwrap();
            let side = if rng.random_bool(0.5) { Side::Buy } else { Side::Sell };
            let pt =
                [PriceType::Market, PriceType::Limit, PriceType::StopMarket, PriceType::StopLimit]
                    [rng.random_range(0..4)];
            let off = inst.tick_size.0 * rng.random_range(-3..=3);
            let mut o = order(symbol, side, inst.lot_size, pt, 0.0);
            o.product = if inst.exchange.is_derivative() { Product::Nrml } else { Product::Cnc };
            o.price = Price(ltp.0 + off);
            o.trigger = Price(ltp.0 - off);
            let kind = match rng.random_range(0..10) {
                0 if !ids.is_empty() => {
                    CommandKind::Cancel { order_id: ids[rng.random_range(0..ids.len())] }
                }
                1 => CommandKind::PlaceSmart {
                    order: o,
                    position_size: rng.random_range(-2..=2) * inst.lot_size,
                },
                _ => CommandKind::Place(o),
            };
            let out = h.submit(kind).unwrap();
            if let tickfill::event::Reply::Placed(id) = out.reply {
                ids.push(id);
            }
            let _ = Qty::ZERO;
        } else {
            let t = walk.next_tick(wall_now_ns() / 1_000_000).unwrap();
            h.send_tick(t, mono_now_ns()).unwrap();
        }
    }
    h.request_snapshot().unwrap();
    let live = state_hash(&h);
    assert!(!orders(&h).is_empty());
    drop(h);
    engine.shutdown();

    let snaps = snapshots(dir.path());
    assert!(!snaps.is_empty(), "snapshots were written");
    assert_eq!(hash_after_restart(dir.path()), live, "newest snapshot + journal");

    // From each retained snapshot: remove the newer ones in a copy of the data dir.
    for keep in 0..snaps.len() {
        let copy = tempfile::tempdir().unwrap();
        copy_dir(dir.path(), copy.path());
        for newer in &snaps[keep + 1..] {
            std::fs::remove_file(copy.path().join(newer.file_name().unwrap())).unwrap();
        }
        assert_eq!(
            hash_after_restart(copy.path()),
            live,
            "from snapshot {}",
            snaps[keep].display()
        );
    }
    // And from the journal alone.
    let copy = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), copy.path());
    for s in &snaps {
        std::fs::remove_file(copy.path().join(s.file_name().unwrap())).unwrap();
    }
    assert_eq!(hash_after_restart(copy.path()), live, "journal only");
}
