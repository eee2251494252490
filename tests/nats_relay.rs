//! The relay and engines on a real `nats-server` (single node, loopback, temp store):
//! every engine applies the same ticks in the same order, exactly what the stream holds
//! on the subjects it wants, and an engine killed with `kill -9` resumes the stream
//! exactly (no gap, no duplicate) after a restart.
//!
//! The relay subscribes two symbols (`--symbols`), the engines want one (a resting order):
//! the stream interleaves subjects an engine must not receive. Rates are small (100
//! ticks/s) and every engine runs fused with the backoff idle strategy: a relay and three
//! engines share the 2-core machine with other tests.

mod api_util;
mod nats_support;

use nats_support::*;
use std::time::Duration;
use tickfill::event::Tick;

const SYMBOLS: &str = "NSE:SBIN,NSE:INFY";
const SUBJECT: &str = "ticks.NSE.SBIN";
const LONG: Duration = Duration::from_secs(90);

/// `got` must be `want` exactly; on failure, say where they part.
fn assert_same(got: &[(u64, i64, Tick)], want: &[(u64, i64, Tick)], who: &str) {
    if got != want {
        let at =
            got.iter().zip(want).position(|(g, w)| g != w).unwrap_or(got.len().min(want.len()));
        panic!(
            "{who}: journaled {} stream ticks, the stream holds {} on {SUBJECT}; first difference \
             at index {at}: got {:?}, want {:?}",
            got.len(),
            want.len(),
            got.get(at).map(|t| (t.0, t.1, t.2.ltp)),
            want.get(at).map(|t| (t.0, t.1, t.2.ltp)),
        );
    }
}

#[test]
fn one_relay_three_engines_apply_the_same_ticks_in_the_same_order() {
    let Some(nats) = nats() else { return };
    let (mut relay, sim_rest) = relay(&nats, 100, SYMBOLS);
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut engines: Vec<(Proc, String)> = dirs
        .iter()
        .enumerate()
        .map(|(i, d)| engine(&nats, d.path(), &format!("acct{i}"), &sim_rest))
        .collect();
    for (_, base) in &engines {
        want(base, "SBIN");
    }
    wait_for("300 ticks in TICKS", LONG, || last_seq(&nats) >= 300);
    // The relay stops publishing; what the stream holds is the whole input.
    relay.stop();
    let stream = stream_ticks_on(&nats, SUBJECT);
    let n = stream.len() as u64;
    assert!(n > 50 && n < last_seq(&nats), "both symbols are in the stream: {n} on {SUBJECT}");
    for (p, base) in &mut engines {
        let caught_up = wait_until(LONG, || ticks(base) >= n);
        assert!(caught_up, "engine {base} applied {} of {n} ticks: {}", ticks(base), p.output());
        p.stop();
    }
    let journals: Vec<_> = dirs.iter().map(|d| journaled_stream_ticks(d.path())).collect();
    for (i, j) in journals.iter().enumerate() {
        assert_same(j, &stream, &format!("engine {i}"));
    }
    // Same ticks, same order, same (relay) times: equal digests.
    let digests: Vec<u64> = journals.iter().map(|j| stream_digest(j)).collect();
    assert!(digests.iter().all(|d| *d == digests[0]), "stream digests differ: {digests:x?}");
    eprintln!("3 engines applied the {n} ticks on {SUBJECT}; stream digest {:016x}", digests[0]);
}

#[test]
fn an_engine_killed_with_kill_9_resumes_the_stream_exactly() {
    let Some(nats) = nats() else { return };
    let (mut relay, sim_rest) = relay(&nats, 100, SYMBOLS);
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut a, base_a) = engine(&nats, dir_a.path(), "a", &sim_rest);
    let (mut b, base_b) = engine(&nats, dir_b.path(), "b", &sim_rest);
    for base in [&base_a, &base_b] {
        want(base, "SBIN");
    }
    wait_for("engine a to apply 50 ticks", LONG, || ticks(&base_a) >= 50);
    a.kill9();
    let at_kill = last_seq(&nats);
    // The stream moves on while a is down.
    wait_for("100 more ticks in TICKS", LONG, || last_seq(&nats) >= at_kill + 100);
    let (mut a, base_a) = engine(&nats, dir_a.path(), "a", &sim_rest);
    let line = a.line("resuming after stream sequence", LONG).expect("a resumes from its journal");
    let resumed: u64 = line
        .split("resuming after stream sequence ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no sequence in {line:?}"));
    assert!(resumed <= at_kill, "resumed after {resumed}, the stream was at {at_kill}");
    wait_for("100 more ticks after the restart", LONG, || last_seq(&nats) >= at_kill + 200);
    relay.stop();
    let stream = stream_ticks_on(&nats, SUBJECT);
    let after = stream.iter().filter(|t| t.0 > resumed).count() as u64;
    assert!(wait_until(LONG, || ticks(&base_a) >= after), "a caught up: {}", a.output());
    assert!(wait_until(LONG, || ticks(&base_b) >= stream.len() as u64), "b: {}", b.output());
    a.stop();
    b.stop();
    let (ja, jb) = (journaled_stream_ticks(dir_a.path()), journaled_stream_ticks(dir_b.path()));
    assert_same(&ja, &stream, "the restarted engine");
    assert_same(&jb, &stream, "the engine that never stopped");
    assert_eq!(stream_digest(&ja), stream_digest(&jb));
    eprintln!(
        "killed with the stream at {at_kill}, resumed after {resumed}; both engines applied the \
         {} ticks on {SUBJECT}",
        stream.len()
    );
}
