//! The feed end to end over real loopback sockets: a scripted OpenAlgo upstream (a
//! tungstenite server and a tiny REST quotes server, in `feed_support`) feeds a real
//! engine. Thresholds are short (stale after 2 s, checks every 500 ms), never the
//! defaults, and every wait is bounded.

mod feed_support;
mod util;

use feed_support::*;
use serde_json::json;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tickfill::engine::Engine;
use tickfill::sequencer::FeedConfig;
use tickfill::types::{OrderStatus, PriceType, Side, SymbolId};
use tickfill::watchdog::{EngineType, WatchdogConfig};
use util::*;

// ---------------------------------------------------------------- tests

#[test]
fn streamed_ticks_fill_a_resting_limit_order_at_its_price() {
    let up = Upstream::start(0);
    let (engine, _dir) = authenticated_engine(&up, None);
    let h = engine.handle();
    assert!(feed(&h).connected.load(Ordering::SeqCst));
    let sbin = sym(&h, "NSE", "SBIN");
    placed(&h, order(sbin, Side::Buy, 10, PriceType::Limit, 810.0));
    // The engine needs SBIN now: subscribed in Quote mode.
    wait_for("subscription", Duration::from_secs(5), || up.subscribed("NSE:SBIN") == Some(2));
    up.push(quote_frame("SBIN", 812.5));
    wait_for("first tick", Duration::from_secs(5), || {
        feed(&h).stream_ticks.load(Ordering::SeqCst) == 1
    });
    assert_eq!(order_status(&h), OrderStatus::Open);
    up.push(quote_frame("SBIN", 809.95));
    wait_for("fill", Duration::from_secs(5), || order_status(&h) == OrderStatus::Complete);
    let t = trades(&h);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].price, px(810.0), "an open LIMIT fills at its limit price");
    assert_eq!(feed(&h).validation_errors.load(Ordering::SeqCst), 0);
    assert!(feed(&h).last_data_age_ms().is_some());
    // The position keeps SBIN wanted; a cancelled order's symbol is unsubscribed.
    let tcs = sym(&h, "NSE", "TCS");
    let id = placed(&h, order(tcs, Side::Buy, 1, PriceType::Limit, 3000.0));
    wait_for("TCS subscribed", Duration::from_secs(5), || up.subscribed("NSE:TCS") == Some(2));
    h.submit(tickfill::event::CommandKind::Cancel { order_id: id }).expect("cancelled");
    wait_for("TCS unsubscribed", Duration::from_secs(5), || up.subscribed("NSE:TCS").is_none());
    assert_eq!(up.subscribed("NSE:SBIN"), Some(2));
    drop(h);
    engine.shutdown();
    up.kill();
}

#[test]
fn muted_stream_falls_back_to_polling_and_recovers_with_exactly_one_trade() {
    let up = Upstream::start(0);
    let rest = Rest::start();
    rest.set("NSE:SBIN", 812.0);
    let (engine, _dir) = authenticated_engine(&up, Some(&rest));
    let h = engine.handle();
    let sbin = sym(&h, "NSE", "SBIN");
    let id = placed(&h, order(sbin, Side::Buy, 10, PriceType::Limit, 810.0));
    wait_for("subscription", Duration::from_secs(5), || up.subscribed("NSE:SBIN").is_some());
    // A live stream for a second: websocket mode, no polling.
    for _ in 0..10 {
        up.push(quote_frame("SBIN", 812.0));
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!feed(&h).polling.load(Ordering::SeqCst), "fresh stream: no polling");
    assert_eq!(rest.requests(), 0);
    // REST errors are retried: the first poll gets a 500, the second garbage, then quotes
    // flow. Queued before polling starts, so no poll can take the new price without them.
    rest.push_faults([Fault::status_500(), Fault::garbage()]);

    // Mute: polling starts within stale_after + one health interval (plus slack).
    let muted_at = Instant::now();
    wait_for("polling fallback", Duration::from_secs(4), || {
        feed(&h).polling.load(Ordering::SeqCst)
    });
    assert!(muted_at.elapsed() >= Duration::from_millis(1500), "not before the stream is stale");
    rest.set("NSE:SBIN", 809.0);
    wait_for("fill from a polled quote", Duration::from_secs(10), || {
        order_status(&h) == OrderStatus::Complete
    });
    assert!(feed(&h).polled_quotes.load(Ordering::SeqCst) >= 1);
    assert!(rest.requests() >= 3, "the failed requests were retried");
    let t = trades(&h);
    assert_eq!((t.len(), t[0].order_id, t[0].price), (1, id, px(810.0)));

    // The stream resumes below the limit again: polling stops, nothing fills twice.
    let resumed = Instant::now();
    let pusher_stop = Arc::new(AtomicBool::new(false));
    let frames = {
        let stop = Arc::clone(&pusher_stop);
        let script = Arc::clone(&up.script);
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                for tx in script.outboxes.lock().unwrap().iter() {
                    let _ = tx.send(quote_frame("SBIN", 805.0));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    wait_for("polling stops", Duration::from_secs(3), || !feed(&h).polling.load(Ordering::SeqCst));
    assert!(resumed.elapsed() < Duration::from_secs(3));
    let polled = feed(&h).polled_quotes.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(1200));
    pusher_stop.store(true, Ordering::SeqCst);
    frames.join().unwrap();
    assert_eq!(feed(&h).polled_quotes.load(Ordering::SeqCst), polled, "no polling after recovery");
    assert_eq!(trades(&h).len(), 1, "exactly one trade for the order");
    assert_eq!(positions(&h)[0].qty.0, 10);
    drop(h);
    engine.shutdown();
    up.kill();
}

#[test]
fn upstream_killed_and_restarted_reconnects_resubscribes_and_fills_resume() {
    let up = Upstream::start(0);
    let port = up.port;
    let (engine, _dir) = authenticated_engine(&up, None);
    let h = engine.handle();
    let sbin = sym(&h, "NSE", "SBIN");
    let infy = sym(&h, "NSE", "INFY");
    placed(&h, order(sbin, Side::Buy, 10, PriceType::Limit, 810.0));
    wait_for("subscription", Duration::from_secs(5), || up.subscribed("NSE:SBIN").is_some());
    up.push(quote_frame("SBIN", 809.0));
    wait_for("first fill", Duration::from_secs(5), || trades(&h).len() == 1);

    up.kill();
    wait_for("disconnect noticed", Duration::from_secs(5), || {
        !feed(&h).connected.load(Ordering::SeqCst)
    });
    assert!(!feed(&h).authenticated.load(Ordering::SeqCst));
    // A new order while the upstream is down: subscribed once it is back.
    let infy_px = 1500.0;
    placed(&h, order(infy, Side::Buy, 1, PriceType::Limit, infy_px));
    std::thread::sleep(Duration::from_millis(300));
    let up = Upstream::start(port);
    wait_for("reconnect and re-authentication", Duration::from_secs(8), || {
        feed(&h).authenticated.load(Ordering::SeqCst)
    });
    assert!(feed(&h).reconnects.load(Ordering::SeqCst) >= 1);
    wait_for("resubscription", Duration::from_secs(5), || {
        up.subscribed("NSE:SBIN").is_some() && up.subscribed("NSE:INFY").is_some()
    });
    up.push(
        json!({"type":"market_data","symbol":"INFY","exchange":"NSE","mode":2,
        "data":{"ltp":infy_px - 1.0}})
        .to_string(),
    );
    wait_for("fill after reconnect", Duration::from_secs(5), || trades(&h).len() == 2);
    drop(h);
    engine.shutdown();
    up.kill();
}

#[test]
fn garbage_huge_and_wrong_typed_frames_are_counted_and_the_engine_goes_on() {
    let up = Upstream::start(0);
    let (engine, _dir) = authenticated_engine(&up, None);
    let h = engine.handle();
    let sbin = sym(&h, "NSE", "SBIN");
    placed(&h, order(sbin, Side::Buy, 10, PriceType::Limit, 810.0));
    wait_for("subscription", Duration::from_secs(5), || up.subscribed("NSE:SBIN").is_some());
    let huge = format!(
        r#"{{"type":"market_data","symbol":"SBIN","exchange":"NSE","data":{{"ltp":1,"pad":"{}"}}}}"#,
        "x".repeat(3 << 19)
    );
    let bad = [
        "not json at all".to_string(),
        "[1,2,3]".to_string(),
        huge,
        r#"{"type":"market_data","symbol":"SBIN","exchange":"NSE","data":{"ltp":"abc"}}"#.into(),
        r#"{"type":"market_data","symbol":"SBIN","exchange":"NSE","data":{"ltp":true}}"#.into(),
        r#"{"type":"market_data","symbol":["SBIN"],"exchange":"NSE","data":{"ltp":1}}"#.into(),
        r#"{"type":"market_data","symbol":"NOSUCH","exchange":"NSE","data":{"ltp":1}}"#.into(),
        r#"{"type":"market_data","symbol":"SBIN","exchange":"NSE","data":{"ltp":1,"depth":{"buy":"x"}}}"#.into(),
    ];
    for f in &bad {
        up.push(f.clone());
    }
    wait_for("every bad frame counted", Duration::from_secs(10), || {
        feed(&h).validation_errors.load(Ordering::SeqCst) == bad.len() as u64
    });
    assert_eq!(feed(&h).stream_ticks.load(Ordering::SeqCst), 0, "nothing reached the ring");
    assert_eq!(feed(&h).reconnects.load(Ordering::SeqCst), 0, "the connection survived");
    assert_eq!(order_status(&h), OrderStatus::Open);
    up.push(quote_frame("SBIN", 809.0));
    wait_for("fill after the garbage", Duration::from_secs(5), || trades(&h).len() == 1);
    assert!(!h.health.refusing_orders());
    drop(h);
    engine.shutdown();
    up.kill();
}

#[test]
fn every_message_shape_of_the_protocol_decodes_over_the_socket() {
    let up = Upstream::start(0);
    let (engine, _dir) = authenticated_engine(&up, None);
    let h = engine.handle();
    let names = ["SBIN", "INFY", "TCS", "RELIANCE", "HDFCBANK", "ICICIBANK", "ITC"];
    let ids: Vec<SymbolId> = names.iter().map(|n| sym(&h, "NSE", n)).collect();
    // Frames written by the protocol module in each mode.
    let mut t = tick(ids[0], 812.5);
    t.depth.levels = 1;
    t.depth.buy[0] = tickfill::event::Level { price: px(812.45), quantity: 10, orders: 1 };
    for (k, mode) in [1u8, 2, 3].into_iter().enumerate() {
        let mut buf = Vec::new();
        let mut tk = t;
        tk.symbol = ids[k];
        tickfill::openalgo_wire::market_data::write(
            &mut buf, names[k], "NSE", mode, &tk, 1, "sandbox",
        );
        up.push(String::from_utf8(buf).unwrap());
    }
    let zero = r#"{"price":0,"quantity":0,"orders":0}"#;
    let padded = format!("[{zero},{zero},{zero},{zero},{zero}]");
    let hand_written = [
        // Padded depth, both sides empty.
        format!(
            r#"{{"type":"market_data","symbol":"RELIANCE","exchange":"NSE","mode":3,
                "data":{{"ltp":1424.5,"depth":{{"buy":{padded},"sell":{padded}}}}}}}"#
        ),
        // Missing optional fields, numbers as strings, mode as a name.
        r#"{"type":"market_data","symbol":"HDFCBANK","exchange":"NSE","mode":"quote",
            "data":{"ltp":"1650.25","volume":"100"}}"#
            .to_string(),
        // bids/asks instead of depth.
        r#"{"type":"market_data","symbol":"ICICIBANK","exchange":"NSE","mode":3,
            "data":{"ltp":1200,"bids":[{"price":1199.95,"quantity":5}],"asks":[{"price":"1200.05","quantity":"6"}]}}"#
            .to_string(),
        // No mode at all, exchange in lower case.
        r#"{"type":"market_data","symbol":"ITC","exchange":"nse","data":{"ltp":455.5}}"#.to_string(),
    ];
    for f in &hand_written {
        up.push(f.clone());
    }
    let n = 3 + hand_written.len() as u64;
    wait_for("every shape", Duration::from_secs(5), || {
        feed(&h).stream_ticks.load(Ordering::SeqCst) == n
    });
    assert_eq!(feed(&h).validation_errors.load(Ordering::SeqCst), 0);
    wait_for("the quote board", Duration::from_secs(5), || {
        ids.iter().all(|s| board_ltp(&h, *s).is_some())
    });
    let q = |i: usize| board_ltp(&h, ids[i]).unwrap();
    assert_eq!((q(0).ltp, q(0).mode), (px(812.5), 1));
    assert_eq!((q(1).bid, q(1).mode), (t.bid, 2));
    assert_eq!((q(2).depth.levels, q(2).depth.buy[0].quantity, q(2).mode), (1, 10, 3));
    assert_eq!((q(3).ltp, q(3).depth.levels), (px(1424.5), 0));
    assert_eq!((q(4).ltp, q(4).volume, q(4).mode), (px(1650.25), 100, 2));
    assert_eq!((q(5).bid, q(5).ask, q(5).ask_qty), (px(1199.95), px(1200.05), 6));
    assert_eq!((q(6).ltp, q(6).mode), (px(455.5), 1));
    drop(h);
    engine.shutdown();
    up.kill();
}

#[test]
fn polling_only_mode_fills_from_rest_and_fetches_a_quote_on_demand() {
    let rest = Rest::start();
    rest.set("NSE:SBIN", 812.0);
    rest.set("NSE:INFY", 1500.0);
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.watchdog = WatchdogConfig { engine_type: EngineType::Polling, ..short_watchdog(Some(&rest)) };
    let engine = Engine::start(c).expect("engine starts");
    let h = engine.handle();
    wait_for("polling", Duration::from_secs(3), || feed(&h).polling.load(Ordering::SeqCst));
    let w = h.watchdog.clone().expect("a watchdog runs");
    assert_eq!(w.mode(), "polling");
    // A symbol never ticked: its quote is fetched and sequenced before the order.
    let infy = sym(&h, "NSE", "INFY");
    let q = w.fetch_quote_now(infy).expect("quote");
    assert_eq!((q.ltp, q.bid), (px(1500.0), px(1499.95)));
    wait_for("quote on the board", Duration::from_secs(5), || board_ltp(&h, infy).is_some());
    let sbin = sym(&h, "NSE", "SBIN");
    placed(&h, order(sbin, Side::Buy, 10, PriceType::Limit, 810.0));
    rest.set("NSE:SBIN", 808.0);
    wait_for("fill from polling", Duration::from_secs(5), || trades(&h).len() == 1);
    assert_eq!(trades(&h)[0].price, px(810.0));
    drop(h);
    drop(w);
    engine.shutdown();
}

#[test]
fn an_idle_engine_on_a_silent_stream_does_not_fall_back_until_something_is_wanted() {
    let up = Upstream::start(0);
    let rest = Rest::start();
    rest.set("NSE:SBIN", 812.0);
    let (engine, _dir) = authenticated_engine(&up, Some(&rest));
    let h = engine.handle();
    // The witness: health checks made after the silent stream went stale (stale_after 2 s,
    // a check every 500 ms). Nothing is wanted, so none of them starts a fallback.
    let stale_at = Instant::now() + Duration::from_secs(2);
    wait_for("health checks past stale_after", Duration::from_secs(10), || {
        Instant::now() > stale_at + Duration::from_millis(1200)
            && feed(&h).health_checks.load(Ordering::SeqCst) >= 7
    });
    assert!(!feed(&h).polling.load(Ordering::SeqCst), "idle: no fallback");
    assert_eq!(rest.requests(), 0);
    // An order makes SBIN wanted: the still-silent stream is now stale and polling fills it.
    let sbin = sym(&h, "NSE", "SBIN");
    placed(&h, order(sbin, Side::Buy, 10, PriceType::Limit, 810.0));
    wait_for("polling fallback", Duration::from_secs(5), || {
        feed(&h).polling.load(Ordering::SeqCst)
    });
    rest.set("NSE:SBIN", 809.0);
    wait_for("fill from a polled quote", Duration::from_secs(10), || {
        order_status(&h) == OrderStatus::Complete
    });
    drop(h);
    engine.shutdown();
    up.kill();
}

#[test]
fn fallback_off_never_polls_even_when_the_upstream_is_down() {
    let rest = Rest::start();
    rest.set("NSE:SBIN", 800.0);
    // A port with nothing listening.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.feed = FeedConfig::Upstream { url: format!("ws://127.0.0.1:{port}"), api_key: KEY.into() };
    c.watchdog = WatchdogConfig { fallback: false, ..short_watchdog(Some(&rest)) };
    let engine = Engine::start(c).expect("engine starts");
    let h = engine.handle();
    let sbin = sym(&h, "NSE", "SBIN");
    placed(&h, order(sbin, Side::Buy, 1, PriceType::Limit, 810.0));
    std::thread::sleep(Duration::from_millis(3000));
    assert!(!feed(&h).polling.load(Ordering::SeqCst));
    assert!(!feed(&h).connected.load(Ordering::SeqCst));
    assert_eq!(rest.requests(), 0);
    assert_eq!(order_status(&h), OrderStatus::Open);
    drop(h);
    engine.shutdown();
}

#[test]
fn symbols_spread_over_connections_and_depth_follows_client_interest() {
    let up = Upstream::start(0);
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.feed = FeedConfig::Upstream { url: up.url(), api_key: KEY.into() };
    c.watchdog = short_watchdog(None);
    c.symbols_per_connection = 2;
    let engine = Engine::start(c).expect("engine starts");
    let h = engine.handle();
    wait_for("authentication", Duration::from_secs(5), || {
        feed(&h).authenticated.load(Ordering::SeqCst)
    });
    let names = ["SBIN", "INFY", "TCS", "ITC", "HDFCBANK"];
    for n in names {
        placed(&h, order(sym(&h, "NSE", n), Side::Buy, 1, PriceType::Limit, 100.0));
    }
    // Five symbols, two per connection: three connections, each authenticated.
    wait_for("every symbol subscribed", Duration::from_secs(5), || {
        names.iter().all(|n| up.subscribed(&format!("NSE:{n}")) == Some(2))
    });
    assert_eq!(up.script.auths.load(Ordering::SeqCst), 3);
    wait_for("all connections authenticated", Duration::from_secs(5), || {
        feed(&h).authenticated.load(Ordering::SeqCst)
    });
    for n in names {
        up.push(quote_frame(n, 99.0));
    }
    wait_for("every order filled", Duration::from_secs(5), || trades(&h).len() == names.len());

    // A WebSocket client wants depth for SBIN: resubscribed in Depth, then back to Quote.
    let sbin = sym(&h, "NSE", "SBIN");
    h.interest.add_client(sbin, 3);
    wait_for("depth subscription", Duration::from_secs(5), || up.subscribed("NSE:SBIN") == Some(3));
    h.interest.remove_client(sbin, 3);
    wait_for("back to quote", Duration::from_secs(5), || up.subscribed("NSE:SBIN") == Some(2));
    // A client-only symbol: subscribed in its mode, unsubscribed when it leaves.
    let tcs_bse = sym(&h, "BSE", "TCS");
    h.interest.add_client(tcs_bse, 1);
    wait_for("client symbol", Duration::from_secs(5), || up.subscribed("BSE:TCS") == Some(1));
    h.interest.remove_client(tcs_bse, 1);
    wait_for("client symbol dropped", Duration::from_secs(5), || {
        up.subscribed("BSE:TCS").is_none()
    });
    drop(h);
    engine.shutdown();
    up.kill();
}
