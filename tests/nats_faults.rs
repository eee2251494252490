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

#[test]
fn a_cluster_node_killed_the_relay_and_the_engine_carry_on() {
    let Some(mut cluster) = cluster() else { return };
    let all = cluster.all();
    let (_sim, sim_ws, sim_rest) = sim(100);
    let mut relay = {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tickfill"));
        cmd.args(["relay", "--nats", &cluster.url, "--symbols", "NSE:SBIN", "--replicas", "3"])
            .args(["--feed", &sim_ws, "--feed-api-key", "sim-key", "--status-every", "0"]);
        let mut p = Proc::spawn(cmd);
        assert!(p.line("ready", LONG).is_some(), "relay: {}", p.output());
        p
    };
    let dir = tempfile::tempdir().unwrap();
    let (mut engine, base) = engine(&all, dir.path(), "e", &sim_rest);
    want(&base, "SBIN");
    wait_for("30 ticks through the cluster", LONG, || ticks(&base) >= 30);

    // Kill the node the relay is connected to: it must fail over, the stream must live on
    // (three replicas) and the engine's consumer be recreated on a surviving node.
    let relay_port = relay_server_port(&relay);
    let victim = cluster
        .nodes
        .iter()
        .position(|n| relay_port.is_some_and(|p| n.url.ends_with(&format!(":{p}"))))
        .unwrap_or(0);
    cluster.nodes[victim].proc.as_mut().unwrap().kill9();
    let before = ticks(&base);
    let at_kill = last_seq(&all);
    wait_for("100 more ticks in TICKS after the kill", LONG, || last_seq(&all) >= at_kill + 100);
    wait_for("the engine to go on applying ticks", LONG, || ticks(&base) >= before + 30);
    relay.stop();
    let stream = stream_ticks_on(&all, SUBJECT);
    let n = stream.len() as u64;
    assert!(wait_until(LONG, || ticks(&base) >= n), "caught up: {}", engine.output());
    engine.stop();
    assert_eq!(journaled_stream_ticks(dir.path()), stream);
    eprintln!("killed node{victim}; the engine applied all {n} ticks on {SUBJECT}");
}

/// The port of the server the relay's client is connected to, from `ss` (best effort:
/// `None` falls back to killing node 0).
fn relay_server_port(relay: &Proc) -> Option<u16> {
    let pid = relay.child.id();
    let out = std::process::Command::new("ss").args(["-tnp"]).output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(&format!("pid={pid},")))
        .filter_map(|l| l.split_whitespace().nth(4)?.rsplit_once(':')?.1.parse().ok())
        .next()
}

#[test]
fn a_stopped_engine_slows_neither_the_relay_nor_the_other_engines() {
    let Some(nats) = nats() else { return };
    let (mut relay, sim_rest) = relay(&nats, 100, "NSE:SBIN");
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut a, base_a) = engine(&nats, dir_a.path(), "fast", &sim_rest);
    let (mut b, base_b) = engine(&nats, dir_b.path(), "slow", &sim_rest);
    want(&base_a, "SBIN");
    want(&base_b, "SBIN");
    wait_for("both engines applying ticks", LONG, || ticks(&base_a) >= 20 && ticks(&base_b) >= 20);
    // b stops reading entirely (SIGSTOP): the slowest an engine can be.
    let pid_b = b.child.id().to_string();
    std::process::Command::new("kill").args(["-STOP", &pid_b]).status().unwrap();
    let (seq0, a0) = (last_seq(&nats), ticks(&base_a));
    wait_for("the relay to publish 200 more ticks", LONG, || last_seq(&nats) >= seq0 + 200);
    wait_for("a to apply 80 more ticks", LONG, || ticks(&base_a) >= a0 + 80);
    std::process::Command::new("kill").args(["-CONT", &pid_b]).status().unwrap();
    relay.stop();
    let stream = stream_ticks_on(&nats, SUBJECT);
    let n = stream.len() as u64;
    assert!(wait_until(LONG, || ticks(&base_a) >= n && ticks(&base_b) >= n), "caught up");
    a.stop();
    b.stop();
    assert_eq!(journaled_stream_ticks(dir_a.path()), stream);
    assert_eq!(
        journaled_stream_ticks(dir_b.path()),
        stream,
        "the stopped engine caught up exactly"
    );
}

#[test]
fn ticks_removed_by_retention_before_a_restarted_engine_read_them_are_a_reported_gap() {
    let Some(nats) = nats() else { return };
    let (_relay, sim_rest) = relay_with(&nats, 100, "NSE:SBIN", &["--max-messages", "40"]);
    let dir = tempfile::tempdir().unwrap();
    let (mut e, base) = engine(&nats, dir.path(), "e", &sim_rest);
    want(&base, "SBIN");
    wait_for("20 ticks", LONG, || ticks(&base) >= 20);
    e.kill9();
    let at_kill = last_seq(&nats);
    // The stream keeps 40 messages: 100 more push everything the engine missed out.
    wait_for("100 more ticks in TICKS", LONG, || last_seq(&nats) >= at_kill + 100);
    // The last stream tick the killed engine journaled (its resume point).
    let resumed = ticks_after(dir.path(), 0).last().map(|t| t.0).unwrap();
    let (mut e, base) = engine(&nats, dir.path(), "e", &sim_rest);
    let gap = e.line("GAP: stream sequences", LONG).unwrap_or_else(|| panic!("{}", e.output()));
    wait_for("ticks after the gap", LONG, || ticks(&base) >= 10);
    assert!(health(&base)["feed"]["validation_errors"].as_u64() >= Some(1), "counted");
    e.stop();
    let journal = ticks_after(dir.path(), 0);
    let jump = journal.windows(2).find(|w| w[1].0 > w[0].0 + 1).expect("a gap in the journal");
    assert!(jump[0].0 <= resumed && jump[1].0 > at_kill, "{jump:?} {gap}");
    assert!(gap.contains(&format!("{}..=", resumed + 1)), "the gap starts after {resumed}: {gap}");
}

/// The journal's stream ticks with a stream sequence above `after`.
fn ticks_after(dir: &std::path::Path, after: u64) -> Vec<(u64, i64, tickfill::event::Tick)> {
    journaled_stream_ticks(dir).into_iter().filter(|t| t.0 > after).collect()
}
