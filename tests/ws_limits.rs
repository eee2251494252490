//! The WebSocket server's edges: the auth deadline, keepalive, a client that never reads,
//! oversize messages, bad origins, the subscription limit, and shutdown.

mod ws_support;

use serde_json::json;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tickfill::event::CommandKind;
use tickfill::types::{PriceType, Side, Tag};
use tungstenite::client::IntoClientRequest;
use ws_support::*;

/// The deadline runs on a manual clock: a second before it the unauthenticated client
/// still gets an answer (the witness that it is open), at it the client is closed.
#[test]
fn unauthenticated_clients_are_closed_at_the_deadline_with_4401() {
    let clock = tickfill::clock::Clock::manual();
    let rig = rig_with(|c| {
        c.auth_deadline = Duration::from_secs(15);
        c.clock = clock.clone();
    });
    let mut late = rig.client();
    let mut prompt = rig.authed();
    clock.advance(Duration::from_secs(14));
    let answer = late.ask(json!({"action": "ping"}));
    assert_eq!(answer["type"], "pong", "an answer, not a close, before the deadline: {answer}");
    clock.advance(Duration::from_secs(1));
    match late.next() {
        Err(Ended::Closed(Some((code, reason)))) => {
            assert_eq!((code, reason.as_str()), (4401, "auth timeout"));
        }
        other => panic!("expected a 4401 close, got {other:?}"),
    }
    // A closed connection is counted when it is let go, at the latest after the close
    // grace (on the same clock).
    clock.advance(Duration::from_secs(2));
    wait_for(|| rig.stats().auth_timeouts.load(Ordering::Relaxed) == 1, "the 4401 count");
    // The authenticated client is untouched.
    assert_eq!(prompt.ask(json!({"action": "ping"}))["type"], "pong");
}

#[test]
fn a_client_that_never_reads_gets_no_backlog_and_does_not_slow_the_engine() {
    // Every tick goes to a client that keeps up, so the reader's pongs queue behind the
    // burst's frames in its socket: the interval leaves it time to read them (a debug
    // build on a shared machine reads ~20k depth frames in well under a second).
    let rig = rig_with(|c| c.ping_interval = Duration::from_secs(1));
    let sbin = rig.sym("NSE", "SBIN");
    let mut stuck = rig.authed();
    stuck.ask(json!({"action": "subscribe", "symbol": "SBIN", "exchange": "NSE", "mode": 3}));
    stuck.ask(json!({"action": "subscribe_orders"}));
    let mut reader = rig.authed();
    reader.ask(json!({"action": "subscribe", "symbol": "SBIN", "exchange": "NSE", "mode": 3}));
    let reader_thread = std::thread::spawn(move || {
        // Keeps reading (answering pings) until it sees the last price.
        reader.recv_until("the last tick", |v| v["data"]["ltp"] == 900.0);
        reader
    });

    let n = if cfg!(debug_assertions) { 20_000 } else { 100_000 };
    let before = rig.h.board.ticks();
    for i in 0..n {
        let px = 800.0 + f64::from(i % 1000) * 0.05;
        rig.h.send_tick(depth(sbin, px), tickfill::clock::mono_now_ns()).unwrap();
    }
    rig.tick(depth(sbin, 900.0));
    // Every tick went through the engine while `stuck` read nothing.
    assert!(rig.h.board.ticks() - before > n as u64);
    let mut reader = reader_thread.join().unwrap();
    assert_eq!(reader.ask(json!({"action": "ping"}))["type"], "pong");

    // `stuck` never answered the keepalive ping: it is closed (4408), or dropped if even
    // the close frame could not reach it. What it was sent is conflated, not a backlog.
    wait_for(|| rig.h.interest.wanted_mode(sbin) == 3, "reader still subscribed");
    std::thread::sleep(Duration::from_millis(1500));
    stuck.set_timeout(Duration::from_secs(8));
    let (end, frames) = stuck.drain_to_end();
    assert!(frames < n as usize / 2, "{frames} frames for {n} ticks: not conflated");
    match end {
        Ended::Closed(Some((code, _))) => assert_eq!(code, 4408),
        Ended::Dropped(_) => {}
        other => panic!("expected a close, got {other:?}"),
    }
    wait_for(|| rig.stats().keepalive_timeouts.load(Ordering::Relaxed) >= 1, "the 4408 count");
}

#[test]
fn lost_order_updates_close_subscribers_with_4008() {
    // An update queue of two: a cancel-all of six orders overflows it.
    let rig = rig_full(|e| e.update_queue = 2, |_| {});
    let sbin = rig.sym("NSE", "SBIN");
    let mut subscriber = rig.authed();
    subscriber.ask(json!({"action": "subscribe_orders"}));
    let mut bystander = rig.authed();
    rig.tick(quote(sbin, 812.5));
    for _ in 0..6 {
        rig.place(order(sbin, Side::Buy, 1, PriceType::Limit, 700.0));
    }
    let all = CommandKind::CancelAll { strategy: Tag::new("ws").unwrap() };
    rig.h.submit(all).unwrap();
    loop {
        match subscriber.next() {
            Ok(v) => assert_eq!(v["type"], "order_update", "{v}"),
            Err(Ended::Closed(Some((code, reason)))) => {
                assert_eq!(code, 4008);
                assert_eq!(reason, "order updates overflow; resync from the orderbook");
                break;
            }
            Err(other) => panic!("expected a 4008 close, got {other:?}"),
        }
    }
    // Clients that did not subscribe to order updates are not affected.
    assert_eq!(bystander.ask(json!({"action": "ping"}))["type"], "pong");
    wait_for(|| rig.stats().order_overflow_closes.load(Ordering::Relaxed) == 1, "the 4008 count");
}

#[test]
fn messages_over_64_kib_close_with_1009() {
    let rig = rig();
    let mut c = rig.authed();
    let big = format!(r#"{{"action":"ping","pad":"{}"}}"#, "x".repeat(70 * 1024));
    c.send_raw(&big);
    match c.next() {
        Err(Ended::Closed(Some((code, _)))) => assert_eq!(code, 1009),
        other => panic!("expected a 1009 close, got {other:?}"),
    }
    // Just under the limit is fine.
    let mut ok = rig.authed();
    let fits = format!(r#"{{"action":"ping","pad":"{}"}}"#, "x".repeat(60 * 1024));
    ok.send_raw(&fits);
    assert_eq!(ok.reply()["type"], "pong");
}

#[test]
fn browser_origins_must_be_allowed() {
    let rig = rig();
    let url = format!("ws://{}/", rig.addr);
    let refused = || rig.stats().handshake_failures.load(Ordering::Relaxed);
    let mut req = url.clone().into_client_request().unwrap();
    req.headers_mut().insert("Origin", "http://evil.example".parse().unwrap());
    match tungstenite::connect(req) {
        Err(tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 403),
        Err(e) => panic!("expected HTTP 403, got {e}"),
        Ok(_) => panic!("a foreign origin was accepted"),
    }
    wait_for(|| refused() == 1, "the refusal count");
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("Origin", "http://localhost:5173".parse().unwrap());
    let (ws, _) = tungstenite::connect(req).expect("loopback origin accepted");
    let mut c = Client { ws };
    c.auth();
}

#[test]
fn too_many_subscriptions_get_limit_exceeded() {
    let rig = rig_with(|c| c.max_subscriptions = 2);
    let mut c = rig.authed();
    let three = json!({"action": "subscribe", "symbols": [
        {"symbol": "SBIN", "exchange": "NSE"}, {"symbol": "INFY", "exchange": "NSE"},
        {"symbol": "TCS", "exchange": "NSE"}]});
    let r = c.ask(three);
    assert_eq!(r["status"], "error");
    assert_eq!(r["code"], "LIMIT_EXCEEDED");
    assert_eq!(r.as_object().unwrap().len(), 3);
    let r = c.ask(json!({"action": "subscribe", "symbols": [
        {"symbol": "SBIN", "exchange": "NSE"}, {"symbol": "INFY", "exchange": "NSE"}]}));
    assert_eq!(r["status"], "success");
    // Subscribing again to what is held costs nothing; a new one is refused.
    let r = c.ask(json!({"action": "subscribe", "symbol": "SBIN", "exchange": "NSE"}));
    assert_eq!(r["status"], "success");
    let r = c.ask(json!({"action": "subscribe", "symbol": "SBIN", "exchange": "NSE", "mode": 1}));
    assert_eq!(r["code"], "LIMIT_EXCEEDED");
    c.ask(json!({"action": "unsubscribe", "symbol": "INFY", "exchange": "NSE"}));
    let r = c.ask(json!({"action": "subscribe", "symbol": "TCS", "exchange": "NSE"}));
    assert_eq!(r["status"], "success");
}

#[test]
fn keepalive_pings_are_answered_and_silent_peers_closed() {
    let rig = rig_with(|c| c.ping_interval = Duration::from_millis(200));
    let mut live = rig.authed();
    // Reading answers the server's pings (tungstenite replies with pongs), so a reading
    // client stays connected across several ping periods.
    live.idle_for(Duration::from_millis(1000));
    assert_eq!(live.ask(json!({"action": "ping"}))["type"], "pong");
    // Our pings are answered by the server.
    live.ws.send(tungstenite::Message::Ping(vec![1, 2].into())).unwrap();
    loop {
        match live.ws.read().unwrap() {
            tungstenite::Message::Pong(p) => break assert_eq!(&p[..], &[1, 2]),
            _ => continue,
        }
    }
    // A peer that reads nothing never sees the ping, so never answers it.
    let mut silent = rig.authed();
    std::thread::sleep(Duration::from_millis(800));
    let (end, _) = silent.drain_to_end();
    match end {
        Ended::Closed(Some((code, reason))) => {
            assert_eq!((code, reason.as_str()), (4408, "keepalive timeout"));
        }
        other => panic!("expected a 4408 close, got {other:?}"),
    }
}

#[test]
fn shutdown_closes_clients_with_1001() {
    let mut rig = rig();
    let mut c = rig.authed();
    let server = rig.server.take().unwrap();
    let stopper = std::thread::spawn(move || server.shutdown());
    match c.next() {
        Err(Ended::Closed(Some((code, _)))) => assert_eq!(code, 1001),
        other => panic!("expected a 1001 close, got {other:?}"),
    }
    stopper.join().unwrap();
}

#[test]
fn a_subscriber_that_cannot_take_its_order_updates_is_closed_with_4008() {
    let rig = rig_with(|c| c.max_pending_updates = 2);
    let sbin = rig.sym("NSE", "SBIN");
    // 200 symbols' depth frames fill a socket (all of the universe's thousands would not
    // fit in one subscribe message under the server's frame limit).
    let all: Vec<_> = rig.h.instruments.iter().take(200).map(|i| i.id).collect();
    let mut stuck = rig.authed();
    let symbols: Vec<_> = rig
        .h
        .instruments
        .iter()
        .take(200)
        .map(|i| json!({"symbol": i.symbol, "exchange": i.exchange.as_str()}))
        .collect();
    let r = stuck.ask(json!({"action": "subscribe", "mode": 3, "symbols": symbols}));
    assert_eq!(r["status"], "success");
    stuck.ask(json!({"action": "subscribe_orders"}));
    // `stuck` reads nothing from here on: depth frames fill its socket, then the order
    // updates queue for it past the bound.
    let closed = || rig.stats().order_overflow_closes.load(Ordering::Relaxed) == 1;
    let mut round = 0;
    while !closed() {
        assert!(round < 2_000, "never closed: the socket did not fill");
        for id in &all {
            let px = 800.0 + f64::from(round % 100) * 0.05;
            rig.h.send_tick(depth(*id, px), tickfill::clock::mono_now_ns()).unwrap();
        }
        rig.place(order(sbin, Side::Buy, 1, PriceType::Limit, 700.0));
        std::thread::sleep(Duration::from_millis(2));
        round += 1;
    }
    // Others are served as before.
    let mut fresh = rig.authed();
    assert_eq!(fresh.ask(json!({"action": "ping"}))["type"], "pong");
}
