//! Issue 7, feed reliability: a flapping upstream WebSocket and a failing upstream REST
//! quotes server, over real loopback sockets against a real engine (the scripted
//! upstream lives in `feed_support`). Thresholds are short and every wait is bounded;
//! assertions are about what happened (counts, order states), never about speed, except
//! upper bounds that prove a wait is bounded at all.

mod api_util;
mod feed_support;
mod util;

use api_util::{Harness, api_config, assert_error, cnc};
use feed_support::*;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tickfill::engine::{Engine, EngineHandle};
use tickfill::event::{CommandKind, Reply};
use tickfill::health::Health;
use tickfill::types::{OrderId, OrderStatus, PriceType, Side};
use tickfill::watchdog::{EngineType, WatchdogConfig};
use util::*;

// ---------------------------------------------------------------- helpers

/// A change of one of the feed's health flags, as sampled by [`Monitor`].
#[derive(Debug, Clone, Copy)]
struct Flip {
    flag: &'static str,
    on: bool,
}

/// Samples `polling` and `authenticated` every 5 ms and records each change.
struct Monitor {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<Flip>>,
}

impl Monitor {
    fn start(health: Arc<Health>) -> Monitor {
        let stop = Arc::new(AtomicBool::new(false));
        let s = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let f = &health.feed;
            let read =
                || [f.polling.load(Ordering::Acquire), f.authenticated.load(Ordering::Acquire)];
            let names = ["polling", "authenticated"];
            let mut last = read();
            let mut flips = Vec::new();
            while !s.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(5));
                let now = read();
                for k in 0..2 {
                    if now[k] != last[k] {
                        flips.push(Flip { flag: names[k], on: now[k] });
                    }
                }
                last = now;
            }
            flips
        });
        Monitor { stop, thread }
    }

    fn finish(self) -> Vec<Flip> {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().expect("monitor")
    }
}

fn count(flips: &[Flip], flag: &str, on: bool) -> usize {
    flips.iter().filter(|f| f.flag == flag && f.on == on).count()
}

/// Runs `f` on a thread and fails the test if it does not return within `limit`: a hang
/// becomes a failure instead of a stuck test run.
fn bounded<T: Send + 'static>(
    what: &str,
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> (T, Duration) {
    let (tx, rx) = crossbeam_channel::bounded(1);
    let start = Instant::now();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => (v, start.elapsed()),
        Err(_) => panic!("{what} did not return within {limit:?}: it hangs"),
    }
}

fn errors(h: &EngineHandle) -> (u64, u64) {
    (feed(h).rest_errors.load(Ordering::SeqCst), feed(h).rest_timeouts.load(Ordering::SeqCst))
}

// ---------------------------------------------------------------- feed flap

/// Connections the upstream drops on purpose, each one second after it subscribed.
const CYCLES: usize = 7;
const HOLD: Duration = Duration::from_secs(1);
/// Longest time from a drop to the next authentication. The first reconnect delay is 1 s;
/// if a connection that authenticated did not reset the backoff (1, 2, 5, 10, 30 s), the
/// third gap would already be 5 s.
const MAX_GAP: Duration = Duration::from_millis(4500);

/// An engine on `dir` fed by `up`, which streams NSE:SBIN at 812 every 100 ms, with `rest`
/// quoting it at 812 too. The watchdog checks every 100 ms and calls the stream stale
/// after 600 ms, so every down period (at least the 1 s reconnect delay) polls.
fn streaming_sbin_engine(up: &Upstream, rest: &Rest, dir: &std::path::Path) -> Engine {
    up.set_price("NSE:SBIN", 812.0);
    up.stream_every(Duration::from_millis(100));
    rest.set("NSE:SBIN", 812.0);
    let watchdog = WatchdogConfig {
        health_interval: Duration::from_millis(100),
        stale_after: Duration::from_millis(600),
        poll_interval: Duration::from_millis(200),
        ..short_watchdog(Some(rest))
    };
    feed_engine_with(dir, Some(up.url()), watchdog)
}

#[test]
fn flapping_upstream_reconnects_every_time_resubscribes_and_fills_exactly_once() {
    let (up, rest, dir) = (Upstream::start(0), Rest::start(), tempfile::tempdir().unwrap());
    let engine = streaming_sbin_engine(&up, &rest, dir.path());
    let h = engine.handle();
    wait_for("authentication", Duration::from_secs(5), || {
        feed(&h).authenticated.load(Ordering::SeqCst)
    });
    let sbin = sym(&h, "NSE", "SBIN");
    let id = placed(&h, order(sbin, Side::Buy, 10, PriceType::Limit, 810.0));
    wait_for("subscription", Duration::from_secs(5), || up.subscribed("NSE:SBIN") == Some(2));
    wait_for("streamed ticks", Duration::from_secs(5), || {
        feed(&h).stream_ticks.load(Ordering::SeqCst) > 0
    });
    assert_eq!(order_status(&h), OrderStatus::Open);

    let monitor = Monitor::start(Arc::clone(&h.health));
    up.flap(Some(HOLD));
    let started = Instant::now();
    let mut crossed_at_drop = None;
    let mut filled_at_drop = None;
    let mut last_check = Instant::now();
    while up.drops() < CYCLES {
        assert!(started.elapsed() < Duration::from_secs(28), "flapping took too long");
        // A drop not followed by an authentication within MAX_GAP: the backoff grew.
        if let Some(last) = up.timeline().last() {
            assert!(
                !(last.what == Happened::Dropped && last.at.elapsed() > MAX_GAP),
                "no reconnection within {MAX_GAP:?} of drop {}: the backoff did not reset \
                 after an authenticated connection; timeline {:?}",
                up.drops(),
                up.timeline()
            );
        }
        // After the third drop the price crosses the limit, on the stream and over REST:
        // whichever comes first fills, and the other must not fill again.
        if crossed_at_drop.is_none() && up.drops() >= 3 {
            up.set_price("NSE:SBIN", 809.0);
            rest.set("NSE:SBIN", 809.0);
            crossed_at_drop = Some(up.drops());
        }
        if crossed_at_drop.is_some()
            && filled_at_drop.is_none()
            && last_check.elapsed() > Duration::from_millis(100)
        {
            last_check = Instant::now();
            if !trades(&h).is_empty() {
                filled_at_drop = Some(up.drops());
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    up.flap(None);
    let flapped_for = started.elapsed();

    // The connection after the last drop stays: authenticated, subscribed, streaming.
    wait_for("the last reconnection", MAX_GAP, || up.auths() == CYCLES + 1);
    wait_for("authenticated again", Duration::from_secs(5), || {
        feed(&h).authenticated.load(Ordering::SeqCst)
    });
    wait_for("the last resubscription", Duration::from_secs(5), || {
        up.timeline().iter().any(|e| e.conn == CYCLES && matches!(e.what, Happened::Subscribed(..)))
    });
    wait_for("polling stops on a fresh stream", Duration::from_secs(5), || {
        !feed(&h).polling.load(Ordering::SeqCst)
    });
    let polled = feed(&h).polled_quotes.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(1000));
    let flips = monitor.finish();
    assert!(!feed(&h).polling.load(Ordering::SeqCst), "a steady stream: websocket mode");
    assert_eq!(feed(&h).polled_quotes.load(Ordering::SeqCst), polled, "no polling when steady");

    // Every connection was accepted, authenticated and resubscribed; none is extra.
    let timeline = up.timeline();
    assert_eq!(up.drops(), CYCLES);
    assert_eq!(up.auths(), CYCLES + 1);
    assert_eq!(up.script.accepted.load(Ordering::SeqCst), CYCLES + 1);
    assert_eq!(feed(&h).reconnects.load(Ordering::SeqCst), CYCLES as u64);
    for conn in 0..=CYCLES {
        assert!(
            timeline
                .iter()
                .any(|e| e.conn == conn && e.what == Happened::Subscribed("NSE:SBIN".into(), 2)),
            "connection {conn} was not resubscribed to NSE:SBIN: {timeline:?}"
        );
    }
    // Each reconnection waited the first backoff step (1 s, never a hot loop) and no more
    // than MAX_GAP (the backoff was reset by each authenticated connection).
    let mut gaps = Vec::new();
    for conn in 0..CYCLES {
        let at = |c: usize, what: &Happened| {
            timeline.iter().find(|e| e.conn == c && &e.what == what).map(|e| e.at)
        };
        let dropped = at(conn, &Happened::Dropped).expect("dropped");
        let next = at(conn + 1, &Happened::Authenticated).expect("reauthenticated");
        gaps.push(next - dropped);
    }
    let (min_gap, max_gap) = (*gaps.iter().min().unwrap(), *gaps.iter().max().unwrap());
    assert!(min_gap >= Duration::from_secs(1), "reconnected sooner than the backoff: {gaps:?}");
    assert!(max_gap < MAX_GAP, "backoff grew: {gaps:?}");

    // The watchdog fell back to polling while the stream was down and came back to the
    // stream each time it resumed (stale after 600 ms; each down period is over 1 s).
    // A polling episode may already be running when the monitor starts (the engine polls
    // until its first connection authenticates): its end is not counted.
    let first_on = flips.iter().position(|f| f.flag == "polling" && f.on).unwrap_or(flips.len());
    let (poll_on, poll_off) =
        (count(&flips, "polling", true), count(&flips[first_on..], "polling", false));
    assert!(poll_on >= 3, "polling started only {poll_on} times in {CYCLES} outages: {flips:?}");
    assert_eq!(poll_off, poll_on, "every polling episode ended: {flips:?}");
    assert!(feed(&h).polled_quotes.load(Ordering::SeqCst) > 0);
    let auth_lost = count(&flips, "authenticated", false);
    assert!(auth_lost >= 3, "health showed the connection lost only {auth_lost} times");

    // Exactly one fill, during the flapping, at the limit price; the engine is healthy.
    assert!(filled_at_drop.is_some(), "the order filled while the upstream flapped");
    let t = trades(&h);
    assert_eq!((t.len(), t[0].order_id, t[0].price), (1, id, px(810.0)), "{t:?}");
    assert_eq!(order_status(&h), OrderStatus::Complete);
    assert_eq!(positions(&h)[0].qty.0, 10);
    assert_eq!(feed(&h).validation_errors.load(Ordering::SeqCst), 0);
    assert!(!h.health.refusing_orders(), "{:?}", h.health.reason());
    eprintln!(
        "flap: {CYCLES} drops in {flapped_for:?}, {} connections, {} reconnects, \
         reconnect gaps {min_gap:?}..{max_gap:?}, {poll_on} polling episodes, {} polled quotes, \
         {} stream ticks, price crossed after drop {}, filled by drop {}",
        up.auths(),
        feed(&h).reconnects.load(Ordering::SeqCst),
        feed(&h).polled_quotes.load(Ordering::SeqCst),
        feed(&h).stream_ticks.load(Ordering::SeqCst),
        crossed_at_drop.unwrap(),
        filled_at_drop.unwrap(),
    );
    drop(h);
    engine.shutdown();
    up.kill();
}

// ---------------------------------------------------------------- upstream REST faults

const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);
/// The watchdog's first REST retry delay (1 s, or the poll interval if longer).
const RETRY_DELAY: Duration = Duration::from_secs(1);

/// Polling-only engine on a fresh data dir (returned: keep it alive) with a 1 s REST
/// timeout, polling every 200 ms; `rest` quotes NSE:SBIN at 812.
fn polling_engine(rest: &Rest) -> (Engine, tempfile::TempDir) {
    rest.set("NSE:SBIN", 812.0);
    let dir = tempfile::tempdir().unwrap();
    let watchdog = WatchdogConfig {
        engine_type: EngineType::Polling,
        poll_interval: Duration::from_millis(200),
        request_timeout: REQUEST_TIMEOUT,
        ..short_watchdog(Some(rest))
    };
    (feed_engine_with(dir.path(), None, watchdog), dir)
}

/// Places a resting BUY LIMIT 810 on SBIN (quoted at 812) and waits for a polled quote.
fn resting_order(h: &EngineHandle) -> OrderId {
    wait_for("polling", Duration::from_secs(5), || feed(h).polling.load(Ordering::SeqCst));
    let id = placed(h, order(sym(h, "NSE", "SBIN"), Side::Buy, 10, PriceType::Limit, 810.0));
    wait_for("a polled quote", Duration::from_secs(5), || {
        feed(h).polled_quotes.load(Ordering::SeqCst) > 0
    });
    id
}

/// Queues `faults` (ending with a good reply), waits until all were served, so the
/// watchdog has finished with every faulty reply, then syncs with the ring.
fn serve_faults(h: &EngineHandle, rest: &Rest, faults: &[Fault]) {
    assert!(matches!(faults.last(), Some(Fault::Ok)), "end with a good reply");
    rest.push_faults(faults.to_vec());
    wait_for("every fault served", Duration::from_secs(25), || rest.faults_left() == 0);
    let _ = trades(h); // answered after every tick published before it
}

/// For every request served with a fault: the fault and the time until the next request.
fn gaps_after_faults(rest: &Rest) -> Vec<(Fault, Duration)> {
    let arrivals = rest.arrivals();
    arrivals
        .windows(2)
        .filter(|w| !matches!(w[0].1, Fault::Ok))
        .map(|w| (w[0].1.clone(), w[1].0 - w[0].0))
        .collect()
}

/// A fault for a log line: its kind and status, not its body.
fn short(f: &Fault) -> String {
    match f {
        Fault::Ok => "ok".into(),
        Fault::Hang => "hang".into(),
        Fault::Stall(_) => "stall mid-body".into(),
        Fault::Late(d, s, _) => format!("HTTP {s} after {d:?}"),
        Fault::Reply(s, b) => format!("HTTP {s} {:?}", b.chars().take(24).collect::<String>()),
    }
}

/// Then REST recovers with a crossing price: exactly one fill at the limit.
fn recovers_and_fills_once(h: &EngineHandle, rest: &Rest, id: OrderId) {
    rest.set("NSE:SBIN", 805.0);
    wait_for("fill from a good poll", Duration::from_secs(10), || {
        order_status(h) == OrderStatus::Complete
    });
    let polled = feed(h).polled_quotes.load(Ordering::SeqCst);
    wait_for("more polls at the crossing price", Duration::from_secs(10), || {
        feed(h).polled_quotes.load(Ordering::SeqCst) >= polled + 3
    });
    let t = trades(h);
    assert_eq!((t.len(), t[0].order_id, t[0].price), (1, id, px(810.0)), "{t:?}");
    assert!(!h.health.refusing_orders(), "{:?}", h.health.reason());
}

#[test]
fn rest_timeouts_hung_stalled_and_late_replies_are_bounded_counted_and_never_fill() {
    let rest = Rest::start();
    let (engine, _dir) = polling_engine(&rest);
    let h = engine.handle();
    let id = resting_order(&h);

    // Each fault carries a crossing price (805 < 810) that must never be used; each is
    // followed by a good reply at 812.
    let crossing = multiquotes_body("SBIN", 805.0);
    let late = REQUEST_TIMEOUT + Duration::from_millis(1500);
    let faults = [
        Fault::Hang,
        Fault::Ok,
        Fault::Stall(crossing.clone()),
        Fault::Ok,
        Fault::Late(late, 200, crossing),
        Fault::Ok,
    ];
    let polled_before = feed(&h).polled_quotes.load(Ordering::SeqCst);
    serve_faults(&h, &rest, &faults);

    // Every fault became a counted timeout after the configured timeout, and nothing else.
    assert_eq!(errors(&h), (3, 3), "(rest_errors, rest_timeouts)");
    assert!(feed(&h).polled_quotes.load(Ordering::SeqCst) >= polled_before + 3, "good polls used");
    assert_eq!(order_status(&h), OrderStatus::Open, "no fill from a timed-out reply");
    assert!(trades(&h).is_empty());
    // The watchdog waited out each faulty request (the timeout), then the 1 s retry delay
    // from the failure (not from the start of the request), and went on (bounded, with
    // generous slack).
    let gaps = gaps_after_faults(&rest);
    assert_eq!(gaps.len(), 3);
    for (fault, waited) in gaps {
        assert!(
            waited >= REQUEST_TIMEOUT + RETRY_DELAY,
            "{}: next request after {waited:?}: the retry delay was not applied",
            short(&fault)
        );
        assert!(waited < Duration::from_secs(12), "{}: next after {waited:?}", short(&fault));
        eprintln!("rest timeout: next request {waited:?} after {}", short(&fault));
    }

    recovers_and_fills_once(&h, &rest, id);

    // Shutting down while a request hangs is bounded by the REST timeout too.
    let before = rest.requests();
    rest.push_faults([Fault::Hang]);
    wait_for("a hung request", Duration::from_secs(10), || rest.requests() > before);
    drop(h);
    let (_, took) = bounded("shutdown during a hung REST request", Duration::from_secs(15), || {
        engine.shutdown();
    });
    eprintln!("shutdown with a hung REST request took {took:?}");
}

#[test]
fn rest_5xx_and_garbage_replies_are_counted_and_never_fill() {
    let rest = Rest::start();
    let (engine, _dir) = polling_engine(&rest);
    let h = engine.handle();
    let id = resting_order(&h);

    let crossing = multiquotes_body("SBIN", 805.0);
    let bad = [
        // Error statuses, one with a body that would parse and cross.
        Fault::Reply(500, crossing.clone()),
        Fault::Reply(502, "<html><body>Bad Gateway</body></html>".into()),
        Fault::Reply(503, String::new()),
        // 200 but not a quote reply.
        Fault::garbage(),
        Fault::Reply(200, String::new()),
        Fault::Reply(200, crossing[..crossing.len() - 5].to_string()),
        Fault::Reply(
            200,
            json!({"status":"success","results":{"NSE:SBIN":quote_data(805.0)}}).to_string(),
        ),
        Fault::Reply(200, json!({"status":"success","data":[quote_data(805.0)]}).to_string()),
        Fault::Reply(200, r#"{"status":"error","message":"Invalid openalgo apikey"}"#.into()),
        Fault::Reply(200, "\u{0}\u{1}\u{2}\u{ff}".into()),
    ];
    let mut faults = Vec::new();
    for f in &bad {
        faults.extend([f.clone(), Fault::Ok]);
    }
    // A reply of the right shape whose entry cannot be decoded: that entry is skipped
    // (not a failed request), and nothing fills from it either.
    let undecodable = json!({"status":"success","results":[
        {"symbol":"SBIN","exchange":"NSE","data":{"ltp":"cheap","bid":"x"}}]})
    .to_string();
    faults.extend([Fault::Reply(200, undecodable.clone()), Fault::Ok]);
    let polled_before = feed(&h).polled_quotes.load(Ordering::SeqCst);
    serve_faults(&h, &rest, &faults);

    assert_eq!(errors(&h), (bad.len() as u64, 0), "(rest_errors, rest_timeouts)");
    assert!(
        feed(&h).polled_quotes.load(Ordering::SeqCst) > polled_before + bad.len() as u64,
        "every good poll in between was used"
    );
    assert_eq!(order_status(&h), OrderStatus::Open, "no fill from a failed poll");
    assert!(trades(&h).is_empty());
    assert!(h.watchdog.as_ref().expect("watchdog").polling(), "still polling");
    // Each failed request was retried after the retry delay, not at once.
    let gaps = gaps_after_faults(&rest);
    let failed: Vec<_> = gaps
        .iter()
        .filter(|(f, _)| !matches!(f, Fault::Reply(200, b) if *b == undecodable))
        .collect();
    assert_eq!(failed.len(), bad.len());
    for (fault, waited) in failed {
        assert!(*waited >= RETRY_DELAY, "{}: retried after {waited:?}", short(fault));
    }
    eprintln!(
        "rest faults: {} failed requests counted, {} requests in all",
        bad.len(),
        rest.requests()
    );

    recovers_and_fills_once(&h, &rest, id);
    drop(h);
    engine.shutdown();
}

#[test]
fn market_order_on_a_never_ticked_symbol_gets_a_clear_error_when_the_rest_quote_fails() {
    let rest = Rest::start();
    // On-demand fetches only: no stream, no polling (fallback off).
    let watchdog = WatchdogConfig {
        upstream_rest: Some(rest.url.clone()),
        api_key: KEY.into(),
        request_timeout: REQUEST_TIMEOUT,
        fallback: false,
        ..WatchdogConfig::default()
    };
    let api = Harness::start_with_watchdog(api_config(), watchdog);
    let market = || cnc("INFY", "BUY", 1, "MARKET", 0.0);
    let faults = [
        ("timeout", Fault::Hang),
        ("500", Fault::status_500()),
        ("garbage", Fault::garbage()),
        ("wrong shape", Fault::Reply(200, json!({"status":"success","data":"1500"}).to_string())),
        (
            "error status with a quote",
            Fault::Reply(502, json!({"status":"success","data":quote_data(1500.0)}).to_string()),
        ),
    ];
    for (what, fault) in &faults {
        rest.push_faults([fault.clone()]);
        let start = Instant::now();
        let got = api.api("placeorder", market());
        let took = start.elapsed();
        assert_error(&got, 400, "unable to fetch current price");
        assert_eq!(rest.faults_left(), 0, "{what}: the quote was fetched");
        if *what == "timeout" {
            assert!(took >= REQUEST_TIMEOUT, "{what}: answered after {took:?}, before the timeout");
            assert!(took < Duration::from_secs(15), "{what}: answered after {took:?}");
            eprintln!("MARKET order with a hung REST quote answered after {took:?}");
        }
    }
    // The quotes endpoint: a clear 404, not a hang or a 5xx.
    rest.push_faults([Fault::status_500()]);
    assert_error(
        &api.api("quotes", json!({"symbol":"INFY","exchange":"NSE"})),
        404,
        "No quote yet",
    );

    let h = api.handle();
    assert!(trades(&h).is_empty());
    assert!(orders(&h).is_empty(), "refused orders are not in the book");
    let n = faults.len() as u64 + 1;
    assert_eq!(errors(&h), (n, 1), "(rest_errors, rest_timeouts)");
    let (status, _, body) = api.get(&format!("/health?apikey={}", api_util::KEY));
    assert_eq!(status, 200, "{body}");
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["feed"]["rest_errors"], n, "{health}");
    assert_eq!(health["feed"]["rest_timeouts"], 1, "{health}");
    assert_eq!(health["engine"]["healthy"], true, "{health}");
    let (_, _, metrics) = api.get("/metrics");
    assert!(metrics.contains(&format!("tickfill_feed_rest_errors_total {n}\n")), "{metrics}");
    assert!(metrics.contains("tickfill_feed_rest_timeouts_total 1\n"), "{metrics}");

    // REST recovers: the same order fills at the fetched ask.
    rest.set("NSE:INFY", 1500.0);
    let v = api.ok("placeorder", market());
    assert!(v["orderid"].is_string(), "{v}");
    let t = trades(&h);
    assert_eq!((t.len(), t[0].price), (1, px(1500.05)), "{t:?}");
    assert_eq!(errors(&h).0, n, "a good fetch is not an error");
}

/// REST failures in one fallback episode back the retries off (1, 2, 5, 10 s). When the
/// stream returns and later goes stale again, the new episode polls at once: it does not
/// inherit the 10 s delay of the old failures. The watchdog runs on a manual clock: the
/// test advances time to make the stream stale and the retries due, and "at once" means
/// with the clock not advanced at all after episode 2 began (with the old backoff
/// inherited, no poll comes until the clock moves 10 s, and the wait times out).
#[test]
fn a_new_fallback_episode_polls_at_once_despite_an_earlier_episodes_rest_backoff() {
    let (up, rest, dir) = (Upstream::start(0), Rest::start(), tempfile::tempdir().unwrap());
    let clock = tickfill::clock::Clock::manual();
    let engine = streaming_sbin_engine_on(&up, &rest, dir.path(), clock.clone());
    let h = engine.handle();
    placed(&h, order(sym(&h, "NSE", "SBIN"), Side::Buy, 10, PriceType::Limit, 810.0));
    wait_for("streaming", Duration::from_secs(10), || {
        feed(&h).stream_ticks.load(Ordering::SeqCst) > 3
    });
    let mute = || *up.script.stream_every.lock().unwrap() = None;
    let polling = || feed(&h).polling.load(Ordering::SeqCst);
    // Moves the clock `step` at a time (a few ms of real time apart, so the watchdog
    // thread sees each step) until `cond` holds.
    let drive = |what: &str, step: Duration, cond: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !cond() {
            assert!(Instant::now() < deadline, "timed out driving the clock for {what}");
            clock.advance(step);
            std::thread::sleep(Duration::from_millis(5));
        }
    };

    // Episode 1: four failed polls, so the next retry would be 10 s after the last one.
    rest.push_faults([Fault::status_500(), Fault::status_500(), Fault::status_500()]);
    rest.push_faults([Fault::status_500(), Fault::Ok]);
    mute();
    drive("episode 1", Duration::from_millis(100), &polling);
    // Waits on the engine's count (a reply taken by the server is counted a moment later).
    drive("four failed polls", Duration::from_millis(500), &|| errors(&h).0 >= 4);
    assert_eq!(errors(&h).0, 4, "four failed polls counted");
    assert_eq!(rest.faults_left(), 1, "no fifth poll before the backoff");
    // The stream returns: polling stops.
    up.stream_every(Duration::from_millis(100));
    drive("episode 1 ends", Duration::from_millis(100), &|| !polling());
    let before = rest.requests();

    // Episode 2: the first poll comes with the clock standing still.
    mute();
    drive("episode 2", Duration::from_millis(100), &polling);
    wait_for("episode 2's first poll, the clock standing still", Duration::from_secs(10), || {
        rest.requests() > before
    });
    assert_eq!(order_status(&h), OrderStatus::Open, "812 does not cross a buy at 810");
    drop(h);
    engine.shutdown();
    up.kill();
}

/// [`streaming_sbin_engine`] whose watchdog and sequencer timer run on `clock`.
fn streaming_sbin_engine_on(
    up: &Upstream,
    rest: &Rest,
    dir: &std::path::Path,
    clock: tickfill::clock::Clock,
) -> Engine {
    up.set_price("NSE:SBIN", 812.0);
    up.stream_every(Duration::from_millis(100));
    rest.set("NSE:SBIN", 812.0);
    let mut c = config(dir);
    c.feed = tickfill::sequencer::FeedConfig::Upstream { url: up.url(), api_key: KEY.into() };
    c.watchdog = WatchdogConfig {
        health_interval: Duration::from_millis(100),
        stale_after: Duration::from_millis(600),
        poll_interval: Duration::from_millis(200),
        ..short_watchdog(Some(rest))
    };
    c.clock = clock;
    Engine::start(c).expect("engine starts")
}

// ---------------------------------------------------------------- firehose

/// F2: a feed that never lets its socket run dry must not starve the order intake. The
/// upstream is kept writing without pause (a backlog stays queued); orders placed
/// meanwhile must each be answered within the engine's 10 s reply timeout. Before the
/// sequencer's read budget they timed out: it read frames until the socket was empty,
/// which a firehose never allows.
#[test]
fn a_firehose_feed_does_not_starve_the_order_intake() {
    let (up, rest, dir) = (Upstream::start(0), Rest::start(), tempfile::tempdir().unwrap());
    let engine = streaming_sbin_engine(&up, &rest, dir.path());
    let h = engine.handle();
    let sbin = sym(&h, "NSE", "SBIN");
    placed(&h, order(sbin, Side::Buy, 1, PriceType::Limit, 800.0));
    wait_for("subscription", Duration::from_secs(10), || up.subscribed("NSE:SBIN").is_some());

    // Stops the pusher even when an assertion fails, so a failing run ends instead of
    // hanging in the engine's shutdown behind an endless feed.
    struct StopOnDrop(Arc<AtomicBool>);
    impl Drop for StopOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let _stop_on_drop = StopOnDrop(Arc::clone(&stop));
    let pusher = {
        let (stop, script) = (Arc::clone(&stop), Arc::clone(&up.script));
        std::thread::spawn(move || {
            let frame = quote_frame("SBIN", 812.0);
            while !stop.load(Ordering::SeqCst) {
                let backlog = script.outboxes.lock().unwrap().iter().map(|tx| tx.len()).min();
                if backlog.unwrap_or(0) < 20_000 {
                    for tx in script.outboxes.lock().unwrap().iter() {
                        for _ in 0..2_000 {
                            let _ = tx.send(frame.clone());
                        }
                    }
                } else {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        })
    };
    let ticks = || feed(&h).stream_ticks.load(Ordering::SeqCst);
    let before = ticks();
    wait_for("the firehose", Duration::from_secs(20), || ticks() > before + 20_000);

    for i in 0..10 {
        let reply =
            h.submit(CommandKind::Place(order(sbin, Side::Buy, 1, PriceType::Limit, 800.0)));
        assert!(
            matches!(reply.as_ref().map(|c| c.reply), Ok(Reply::Placed(_))),
            "order {i} during the firehose: {reply:?}"
        );
    }
    let during = ticks() - before;
    stop.store(true, Ordering::SeqCst);
    pusher.join().unwrap();
    eprintln!("firehose: 10 orders answered while {during} ticks streamed in");
    drop(h);
    engine.shutdown();
    up.kill();
}
