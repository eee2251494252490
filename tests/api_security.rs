//! Keys, rate limits, body limits, and the unauthenticated operations endpoints.

mod api_util;

use api_util::{ENDPOINTS, Harness, KEY, api_config, assert_error, cnc};
use serde_json::json;

#[test]
fn missing_key_is_400_and_wrong_key_is_403_on_every_endpoint() {
    let mut config = api_config();
    config.auth_guard.max_failures = 0;
    let h = Harness::start_with(config);
    for endpoint in ENDPOINTS {
        let got = h.call(endpoint, &json!({"apikey": "wrong-key-0123456789"}));
        assert_error(&got, 403, "Invalid openalgo apikey");
        assert_eq!(got.1["message"], "Invalid openalgo apikey");
        assert_error(&h.call(endpoint, &json!({})), 400, "apikey is required");
        assert_error(&h.call(endpoint, &json!({"apikey": null})), 400, "apikey is required");
        assert_error(&h.call(endpoint, &json!({"apikey": 7})), 400, "apikey must be a string");
    }
    // A near miss of the real key is refused too.
    let near = format!("{}x", &KEY[..KEY.len() - 1]);
    assert_error(&h.call("ping", &json!({"apikey": near})), 403, "Invalid openalgo apikey");
}

/// The failure limit per source address is checked before the key: after it is used up,
/// even the right key gets OpenAlgo's 429 body with `retry_after`, while a missing key
/// (not a guess) was never counted.
#[test]
fn failed_authentications_are_limited_per_address_before_the_key_check() {
    let mut config = api_config();
    config.auth_guard.max_failures = 3;
    let h = Harness::start_with(config);
    for _ in 0..5 {
        assert_error(&h.call("ping", &json!({})), 400, "apikey is required");
    }
    h.ok("ping", json!({}));
    for i in 0..3 {
        let got = h.call("ping", &json!({"apikey": format!("guess-{i:020}")}));
        assert_error(&got, 403, "Invalid openalgo apikey");
    }
    for body in [json!({"apikey": KEY}), json!({"apikey": "guess-again-0000000000"})] {
        let (status, v) = h.call("funds", &body);
        assert_eq!(status, 429, "{v}");
        let retry = v["retry_after"].as_u64().expect("retry_after is a number");
        assert!((1..=60).contains(&retry), "{v}");
        assert_eq!(
            v,
            json!({"status": "error",
                   "message": "Rate limit exceeded. Please slow down your requests.",
                   "retry_after": retry, "mode": "analyze"})
        );
    }
}

#[test]
fn order_and_other_limits_give_429_and_wrong_keys_are_slowed() {
    let mut config = api_config();
    config.order_rate_per_sec = 3;
    config.other_rate_per_sec = 5;
    // The per-address failure limit has its own test; here the buckets are under test.
    config.auth_guard.max_failures = 0;
    let h = Harness::start_with(config);
    h.tick("NSE", "SBIN", 800.0);
    let replies: Vec<(u16, serde_json::Value)> =
        (0..10).map(|_| h.api("placeorder", cnc("SBIN", "BUY", 1, "LIMIT", 700.0))).collect();
    let ok = replies.iter().filter(|r| r.0 == 200).count();
    assert!((3..=5).contains(&ok), "{replies:?}");
    let limited = replies.iter().find(|r| r.0 == 429).expect("a 429");
    assert_error(limited, 429, "Rate limit exceeded. Please slow down your requests.");
    assert_eq!(limited.1["retry_after"], 1, "{:?}", limited.1);

    // Reads have their own bucket.
    let reads: Vec<u16> = (0..12).map(|_| h.api("ping", json!({})).0).collect();
    assert!(reads.contains(&200) && reads.contains(&429), "{reads:?}");

    // Guessing keys is limited as well.
    let guesses: Vec<u16> =
        (0..12).map(|i| h.call("ping", &json!({"apikey": format!("guess-{i}")})).0).collect();
    assert!(guesses.contains(&403) && guesses.contains(&429), "{guesses:?}");

    // The buckets refill.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    h.ok("ping", json!({}));
}

#[test]
fn bodies_over_the_limit_are_413() {
    let h = Harness::start();
    let mut big = format!("{{\"apikey\":\"{KEY}\",\"strategy\":\"");
    big.push_str(&"x".repeat(1 << 20));
    big.push_str("\"}");
    let (status, text) = h.post_raw("/api/v1/placeorder", big.as_bytes());
    assert_eq!(status, 413, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(v["status"], "error");
    // A declared length far beyond the limit is refused before the body is sent.
    let addr = h.server.as_ref().unwrap().local_addr();
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    use std::io::{Read, Write};
    s.write_all(
        b"POST /api/v1/placeorder HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n{",
    )
    .unwrap();
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    assert!(reply.contains("\"status\":\"error\""), "{reply}");
    // Just under the limit is parsed (and refused for the long strategy, as a 400).
    let mut fits = format!("{{\"apikey\":\"{KEY}\",\"strategy\":\"");
    fits.push_str(&"x".repeat(1000));
    fits.push_str("\"}");
    let (status, text) = h.post_raw("/api/v1/cancelallorder", fits.as_bytes());
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("strategy"));
}

#[test]
fn health_is_status_only_without_the_key_and_details_with_it() {
    let h = Harness::start();
    h.tick("NSE", "SBIN", 800.0);
    h.place(cnc("SBIN", "BUY", 1, "MARKET", 0.0));
    let (status, ct, text) = h.get("/health");
    assert_eq!(status, 200, "{text}");
    assert!(ct.starts_with("application/json"), "{ct}");
    let bare: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(bare, json!({"status": "ok", "mode": "analyze"}), "no details without the key");
    let (status, _, wrong) = h.get("/health?apikey=wrong-key-0123456789");
    assert_eq!(status, 403, "{wrong}");
    let (status, _, text) = h.get(&format!("/health?apikey={KEY}"));
    assert_eq!(status, 200, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(v["status"], "ok");
    assert_eq!(v["engine"]["healthy"], true);
    assert!(v["engine"]["durable_seq"].is_u64());
    let feed = &v["feed"];
    assert!(feed["mode"] == "websocket" || feed["mode"] == "polling", "{v}");
    for k in [
        "connected",
        "authenticated",
        "last_data_age_ms",
        "reconnects",
        "validation_errors",
        "ticks",
        "ticks_per_second",
    ] {
        assert!(feed.get(k).is_some(), "health.feed lacks {k}: {v}");
    }
    assert!(v["symbols"].is_array(), "per-symbol freshness: {v}");
    let hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(KEY.as_bytes()))
    };
    let dir = h.dir.path().to_string_lossy().to_string();
    for secret in [KEY, hash.as_str(), dir.as_str()] {
        assert!(!text.contains(secret), "health leaks {secret}");
    }
}

/// DNS rebinding: a page whose name points at 127.0.0.1 sends its own Host; browser-facing
/// endpoints refuse it, the key-protected API does not care.
#[test]
fn browser_facing_endpoints_refuse_a_foreign_host() {
    let h = Harness::start();
    let addr = h.server.as_ref().unwrap().local_addr();
    let get = |path: &str, host: &str| {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
        let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).unwrap();
        let mut reply = String::new();
        let _ = s.read_to_string(&mut reply);
        reply
    };
    for path in ["/health", "/config.js", "/instruments.json"] {
        let r = get(path, "evil.example:5000");
        assert!(r.starts_with("HTTP/1.1 403"), "{path}: {r}");
        assert!(r.contains("is not this server"), "{path}: {r}");
        for host in ["localhost:5000", "127.0.0.1", &addr.to_string()] {
            let r = get(path, host);
            assert!(r.starts_with("HTTP/1.1 200"), "{path} with {host}: {r}");
        }
    }
    assert!(get("/metrics", "evil.example").starts_with("HTTP/1.1 200"));
}

#[test]
fn metrics_are_prometheus_text() {
    let h = Harness::start();
    h.tick("NSE", "SBIN", 800.0);
    h.place(cnc("SBIN", "BUY", 1, "MARKET", 0.0));
    assert_eq!(h.api("placeorder", cnc("NOPE", "BUY", 1, "MARKET", 0.0)).0, 400);
    let mut c = cnc("SBIN", "BUY", 1, "LIMIT", 0.0);
    c["price"] = json!(0);
    assert_eq!(h.api("placeorder", c).0, 400);
    let (status, ct, text) = h.get("/metrics");
    assert_eq!(status, 200);
    assert!(ct.starts_with("application/openmetrics-text; version=1.0.0"), "{ct}");
    assert!(text.ends_with("# EOF\n"), "{text}");
    for line in text.lines() {
        if line.starts_with('#') {
            let meta = ["# HELP ", "# TYPE ", "# UNIT ", "# EOF"];
            assert!(meta.iter().any(|m| line.starts_with(m)), "{line}");
            continue;
        }
        let (name, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("sample: {line}"));
        assert!(name.starts_with("tickfill_"), "{line}");
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
    for needle in [
        "tickfill_ticks_total 1",
        "tickfill_fills_total{source=\"placement\"} 1",
        "tickfill_orders_total{result=\"accepted\"} 1",
        "tickfill_rejects_total 1",
        "tickfill_stage_latency_seconds_bucket{le=\"+Inf\",hop=\"received_to_journal\"}",
        "tickfill_feed_connected 0",
        "tickfill_engine_healthy 1",
    ] {
        assert!(text.contains(needle), "metrics lack {needle}:\n{text}");
    }
    assert!(!text.contains(KEY));
}

#[test]
fn a_refusing_engine_gives_503_on_orders_and_unhealthy_health() {
    let h = Harness::start();
    h.tick("NSE", "SBIN", 800.0);
    h.handle().health.fail("test: stage execution panicked".into());
    assert_error(&h.api("placeorder", cnc("SBIN", "BUY", 1, "MARKET", 0.0)), 503, "");
    let (status, _, text) = h.get(&format!("/health?apikey={KEY}"));
    assert_eq!(status, 503, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(v["engine"]["healthy"], false);
    assert_eq!(v["engine"]["reason"], "test: stage execution panicked");
    // Reads are still served.
    h.ok("orderbook", json!({}));
    let (_, _, metrics) = h.get("/metrics");
    assert!(metrics.contains("tickfill_engine_healthy 0"), "{metrics}");
}

#[test]
fn a_body_that_never_arrives_is_408_after_the_deadline() {
    use std::io::{Read, Write};
    let h = Harness::start();
    let addr = h.server.as_ref().unwrap().local_addr();
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(tickfill::api::BODY_DEADLINE * 3)).unwrap();
    s.write_all(b"POST /api/v1/ping HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{").unwrap();
    let started = std::time::Instant::now();
    let mut reply = [0u8; 512];
    let n = s.read(&mut reply).expect("a reply before the read timeout");
    let reply = String::from_utf8_lossy(&reply[..n]);
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    assert!(started.elapsed() >= tickfill::api::BODY_DEADLINE / 2);
    // The server still serves.
    h.ok("ping", json!({}));
}
