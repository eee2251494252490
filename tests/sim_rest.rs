//! The simulated broker's REST side over real loopback sockets: OpenAlgo's quotes,
//! multiquotes and depth (OPENALGO.md section 2), and the simulator's controls.

mod sim_util;

use serde_json::json;
use sim_util::{KEY, get, post, post_json, sim};

#[test]
fn quotes_have_openalgos_shape_and_check_the_key() {
    let s = sim(0, 1);
    let a = s.rest_addr();
    for path in ["/api/v1/quotes", "/api/v1/quotes/"] {
        let (code, r) = post_json(
            a,
            path,
            json!({"apikey": KEY, "symbol": "SBIN",
            "exchange": "NSE"}),
        );
        assert_eq!(code, 200, "{r}");
        assert_eq!(r["status"], "success");
        let d = &r["data"];
        for f in ["open", "high", "low", "ltp", "ask", "bid", "prev_close", "volume", "oi"] {
            assert!(d[f].is_number(), "quotes lacks {f}: {r}");
        }
        assert_eq!(d["prev_close"], 812.5);
        assert!(d["bid"].as_f64() < d["ask"].as_f64());
    }
    let (code, r) = post_json(
        a,
        "/api/v1/quotes",
        json!({"apikey": "nope", "symbol": "SBIN",
        "exchange": "NSE"}),
    );
    assert_eq!(code, 403);
    assert_eq!(r, json!({"status": "error", "message": "Invalid openalgo apikey"}));
    let (code, r) = post_json(a, "/api/v1/quotes", json!({"apikey": KEY, "exchange": "NSE"}));
    assert_eq!(code, 400);
    assert!(r["message"].as_str().unwrap().contains("symbol"), "{r}");
    let (code, r) = post_json(
        a,
        "/api/v1/quotes",
        json!({"apikey": KEY, "symbol": "SBIN",
        "exchange": "MOON"}),
    );
    assert_eq!(code, 400);
    assert!(r["message"].as_str().unwrap().contains("exchange"), "{r}");
    let (code, r) = post_json(
        a,
        "/api/v1/quotes",
        json!({"apikey": KEY, "symbol": "NOSUCH",
        "exchange": "NSE"}),
    );
    assert_eq!(code, 400);
    assert!(r["message"].as_str().unwrap().contains("NOSUCH"), "{r}");
    let (code, r) = post(a, "/api/v1/quotes", "{oops");
    assert_eq!(code, 400);
    assert_eq!(r["status"], "error");
    let (code, _) = post(a, "/api/v1/quotes", &"x".repeat(70 * 1024));
    assert_eq!(code, 413);
    s.stop();
}

#[test]
fn multiquotes_answer_each_entry() {
    let s = sim(0, 2);
    let (code, r) = post_json(
        s.rest_addr(),
        "/api/v1/multiquotes",
        json!({"apikey": KEY,
        "symbols": [{"symbol": "SBIN", "exchange": "NSE"}, {"symbol": "NIFTY",
        "exchange": "NSE_INDEX"}, {"symbol": "NOSUCH", "exchange": "NSE"}]}),
    );
    assert_eq!(code, 200, "{r}");
    assert_eq!(r["status"], "success");
    let results = r["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["symbol"], "SBIN");
    assert!(results[0]["data"]["ltp"].is_number());
    assert_eq!(results[1]["exchange"], "NSE_INDEX");
    assert!(results[1]["data"]["ltp"].as_f64().unwrap() > 20_000.0);
    assert!(results[2]["error"].is_string());
    let (code, _) = post_json(
        s.rest_addr(),
        "/api/v1/multiquotes",
        json!({"apikey": "nope",
        "symbols": [{"symbol": "SBIN", "exchange": "NSE"}]}),
    );
    assert_eq!(code, 403);
    let (code, r) = post_json(s.rest_addr(), "/api/v1/multiquotes", json!({"apikey": KEY}));
    assert_eq!(code, 400);
    assert!(r["message"].as_str().unwrap().contains("symbols"));
    s.stop();
}

#[test]
fn depth_has_five_levels_a_side() {
    let s = sim(0, 3);
    let (code, r) = post_json(
        s.rest_addr(),
        "/api/v1/depth",
        json!({"apikey": KEY,
        "symbol": "RELIANCE", "exchange": "NSE"}),
    );
    assert_eq!(code, 200, "{r}");
    let d = &r["data"];
    for f in [
        "open",
        "high",
        "low",
        "ltp",
        "ltq",
        "prev_close",
        "volume",
        "oi",
        "totalbuyqty",
        "totalsellqty",
    ] {
        assert!(d[f].is_number(), "depth lacks {f}: {r}");
    }
    for side in ["bids", "asks"] {
        let levels = d[side].as_array().unwrap();
        assert_eq!(levels.len(), 5);
        assert!(levels.iter().all(|l| l["price"].is_number() && l["quantity"].is_number()));
    }
    assert!(d["bids"][0]["price"].as_f64() < d["asks"][0]["price"].as_f64());
    let (code, _) = post_json(
        s.rest_addr(),
        "/api/v1/depth",
        json!({"apikey": "x",
        "symbol": "RELIANCE", "exchange": "NSE"}),
    );
    assert_eq!(code, 403);
    s.stop();
}

#[test]
fn control_and_status() {
    let s = sim(0, 4);
    let a = s.rest_addr();
    let (code, st) = get(a, "/sim/status");
    assert_eq!(code, 200);
    assert_eq!(st["paused"], false);
    assert_eq!(st["muted"], false);
    assert_eq!(st["clients"], 0);
    assert!(st["ticks_sent"].is_number() && st["symbols"].as_u64().unwrap() > 100);
    // The controls need the key.
    let (code, r) = post_json(a, "/sim/control", json!({"apikey": "nope", "action": "pause"}));
    assert_eq!(code, 403, "{r}");
    assert!(!s.status().paused);
    let (code, r) = post_json(a, "/sim/control", json!({"apikey": KEY, "action": "pause"}));
    assert_eq!(code, 200);
    assert_eq!(r["sim"]["paused"], true);
    assert!(s.status().paused);
    let (_, r) = post_json(a, "/sim/control", json!({"apikey": KEY, "action": "resume"}));
    assert_eq!(r["sim"]["paused"], false);
    let (code, r) = post_json(a, "/sim/control", json!({"apikey": KEY, "action": "explode"}));
    assert_eq!(code, 400);
    assert!(r["message"].as_str().unwrap().starts_with("action"));
    for (body, field) in [
        (json!({"apikey": KEY, "action": "set_price", "exchange": "NSE", "ltp": 10}), "symbol"),
        (
            json!({"apikey": KEY, "action": "set_price", "symbol": "SBIN", "exchange": "NSE", "ltp": -1}),
            "ltp",
        ),
        (
            json!({"apikey": KEY, "action": "set_price", "symbol": "SBIN", "exchange": "NSE", "ltp": "x"}),
            "ltp",
        ),
        (
            json!({"apikey": KEY, "action": "set_price", "symbol": "NOSUCH", "exchange": "NSE", "ltp": 5}),
            "symbol",
        ),
        (json!({"action": "pause"}), "apikey"),
    ] {
        let (code, r) = post_json(a, "/sim/control", body);
        assert_eq!(code, 400, "{r}");
        assert!(r["message"].as_str().unwrap().starts_with(field), "{r}");
    }
    let (code, _) = post_json(
        a,
        "/sim/control",
        json!({"apikey": KEY, "action": "set_price",
        "symbol": "SBIN", "exchange": "NSE", "ltp": "901.35"}),
    );
    assert_eq!(code, 200);
    let (_, q) = post_json(
        a,
        "/api/v1/quotes",
        json!({"apikey": KEY, "symbol": "SBIN",
        "exchange": "NSE"}),
    );
    assert_eq!(q["data"]["ltp"], 901.35);
    s.stop();
}
