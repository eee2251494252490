//! Faults around the relay, on a real `nats-server`: the relay killed with `kill -9` and
//! started again while an engine runs. The broker is a separate `tickfill sim` process,
//! so its REST quotes stay up while the relay is down.

mod api_util;
mod nats_support;

use nats_support::*;
use std::time::Duration;
use tickfill::event::{Input, QuoteSource};

const LONG: Duration = Duration::from_secs(90);
const SUBJECT: &str = "ticks.NSE.SBIN";

/// Ticks the engine journaled from REST polling (the watchdog's fallback).
fn polled_in_journal(dir: &std::path::Path) -> usize {
    let mut events = tickfill::journal::read_events(dir, None).unwrap();
    let mut e = tickfill::event::Event::default();
    let mut n = 0;
    while events.next_into(&mut e).unwrap() {
        if let Input::Tick(t) = e.input {
            n += usize::from(t.source == QuoteSource::Poll && e.header.stream_seq == 0);
        }
    }
    n
}

#[test]
fn a_relay_restarted_mid_stream_leaves_no_gap_and_engines_poll_rest_meanwhile() {
    let Some(nats) = nats() else { return };
    let (_sim, sim_ws, sim_rest) = sim(100);
    let mut relay = relay_on(&nats, &sim_ws, "NSE:SBIN");
    let dir = tempfile::tempdir().unwrap();
    let quick_watchdog =
        ["--stale-after", "1s", "--health-interval", "200ms", "--poll-interval", "300ms"];
    let (mut engine, base) = engine_with(&nats, dir.path(), "e", &sim_rest, &quick_watchdog);
    want(&base, "SBIN");
    wait_for("30 ticks through the relay", LONG, || ticks(&base) >= 30);
    assert_eq!(health(&base)["feed"]["mode"], "websocket");

    relay.kill9();
    let at_kill = last_seq(&nats);
    // The stream is stale: the watchdog falls back to the broker's REST quotes.
    wait_for("the REST fallback while the relay is down", LONG, || {
        let h = health(&base);
        h["feed"]["mode"] == "polling" && h["feed"]["polled_quotes"].as_u64() >= Some(2)
    });

    let mut relay = relay_on(&nats, &sim_ws, "NSE:SBIN");
    wait_for("50 ticks after the relay's restart", LONG, || last_seq(&nats) >= at_kill + 50);
    wait_for("the stream to take over from polling", LONG, || {
        health(&base)["feed"]["mode"] == "websocket"
    });
    relay.stop();
    let stream = stream_ticks_on(&nats, SUBJECT);
    assert!(stream.iter().any(|t| t.0 > at_kill), "ticks after the restart are in the stream");
    let n = stream.len() as u64;
    assert!(wait_until(LONG, || ticks(&base) >= n), "caught up: {}", engine.output());
    engine.stop();
    // Exactly what the stream holds, in its order; the polled quotes beside them.
    assert_eq!(journaled_stream_ticks(dir.path()), stream);
    assert!(polled_in_journal(dir.path()) >= 2, "polled quotes were journaled");
}
