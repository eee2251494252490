//! Bad input everywhere gets a 400 naming the field, never a 500, and the server keeps
//! serving.

mod api_util;

use api_util::{Harness, KEY, assert_error, cnc};
use serde_json::json;

#[test]
fn every_order_field_error_names_its_field() {
    let h = Harness::start();
    h.tick("NSE", "SBIN", 800.0);
    let base = cnc("SBIN", "BUY", 1, "LIMIT", 790.0);
    let with = |k: &str, v: serde_json::Value| {
        let mut b = base.clone();
        b[k] = v;
        h.api("placeorder", b)
    };
    let without = |k: &str| {
        let mut b = base.clone();
        b.as_object_mut().unwrap().remove(k);
        h.api("placeorder", b)
    };
    for field in ["symbol", "exchange", "action", "quantity"] {
        assert_error(&without(field), 400, field);
    }
    let long = "X".repeat(10_000);
    let cases = [
        ("quantity", json!("ten")),
        ("quantity", json!(-5)),
        ("quantity", json!("-5")),
        ("quantity", json!(1.5)),
        ("quantity", json!(true)),
        ("quantity", json!("99999999999999999999999")),
        ("quantity", json!(18_446_744_073_709_551_615u64)),
        ("quantity", json!([1])),
        ("price", json!("NaN")),
        ("price", json!("Infinity")),
        ("price", json!("-inf")),
        ("price", json!(-1.5)),
        ("price", json!("1e999")),
        ("price", json!(1e300)),
        ("price", json!({"a": 1})),
        ("trigger_price", json!("abc")),
        ("disclosed_quantity", json!(-1)),
        ("action", json!("HOLD")),
        ("action", json!(1)),
        ("pricetype", json!("STOP")),
        ("product", json!("XYZ")),
        ("exchange", json!("NASDAQ")),
        ("symbol", json!(long.clone())),
        ("strategy", json!(long.clone())),
        ("strategy", json!(12)),
    ];
    for (field, value) in cases {
        let got = with(field, value.clone());
        assert_eq!(got.0, 400, "{field}={value}: {}", got.1);
        let m = got.1["message"].as_str().unwrap();
        assert!(m.contains(field), "{field}={value}: message {m:?} lacks the field");
    }
    assert_error(&with("symbol", json!("NOPE")), 400, "Symbol NOPE not found on NSE");
    assert_error(&with("quantity", json!(0)), 400, "Quantity");
    assert_error(&with("price", json!(0)), 400, "price");
    assert_error(&with("unexpected", json!(1)), 400, "Unknown field: unexpected");
    let mut nrml = base.clone();
    nrml["product"] = json!("NRML");
    assert_error(&h.api("placeorder", nrml), 400, "NRML");
    let mut lot = cnc(&h.near_future("NIFTY", "NFO"), "BUY", 10, "MARKET", 0.0);
    lot["exchange"] = json!("NFO");
    lot["product"] = json!("NRML");
    assert_error(&h.api("placeorder", lot), 400, "multiples of lot size 75");

    // Other order endpoints reject unknown fields too and name the missing ones.
    assert_error(&h.api("cancelorder", json!({"orderid": "x", "zzz": 1})), 400, "zzz");
    assert_error(&h.api("cancelorder", json!({"strategy": "t"})), 400, "orderid");
    assert_error(&h.api("cancelorder", json!({"orderid": "12ab"})), 400, "orderid");
    assert_error(&h.api("cancelallorder", json!({"strategy": "t", "x": 1})), 400, "x");
    assert_error(&h.api("closeposition", json!({"strategy": "t", "y": 1})), 400, "y");
    assert_error(&h.api("modifyorder", json!({"orderid": "26010100000001"})), 400, "exchange");
    let mut smart = base.clone();
    smart.as_object_mut().unwrap().remove("price");
    assert_error(&h.api("placesmartorder", smart), 400, "position_size");
    assert_error(&h.api("quotes", json!({"exchange": "NSE"})), 400, "symbol");
    assert_error(&h.api("multiquotes", json!({})), 400, "symbols");
    assert_error(&h.api("multiquotes", json!({"symbols": "SBIN"})), 400, "symbols");
    assert_error(&h.api("multiquotes", json!({"symbols": []})), 400, "symbols");
    assert_error(
        &h.api("openposition", json!({"symbol": "SBIN", "exchange": "NSE"})),
        400,
        "product",
    );

    // Nothing was placed by any of that, and the server still answers.
    let book = h.ok("orderbook", json!({}));
    assert_eq!(book["data"]["orders"], json!([]));
}

#[test]
fn malformed_bodies_are_400_not_500() {
    let h = Harness::start();
    let key = KEY;
    let deep =
        format!("{{\"apikey\":\"{key}\",\"a\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"not json".to_vec(),
        b"[1,2,3]".to_vec(),
        b"\"apikey\"".to_vec(),
        format!("{{\"apikey\":\"{key}\",\"price\":NaN}}").into_bytes(),
        format!("{{\"apikey\":\"{key}\",\"price\":Infinity}}").into_bytes(),
        format!("{{\"apikey\":\"{key}\",\"quantity\":1e999}}").into_bytes(),
        [format!("{{\"apikey\":\"{key}\",\"symbol\":\"").as_bytes(), b"\xff\xfe\"}"].concat(),
        b"{\"apikey\":\"\xc3\x28\"}".to_vec(),
        format!("{{\"apikey\":\"{key}\",\"apikey\":\"{key}\"}}").into_bytes(),
        format!("{{\"apikey\":\"{key}\",\"symbol\":\"A\",\"symbol\":\"B\"}}").into_bytes(),
        deep.into_bytes(),
        format!("{{\"apikey\":\"{key}\"").into_bytes(),
    ];
    for b in &bodies {
        for endpoint in ["placeorder", "orderbook", "multiquotes"] {
            let (status, text) = h.post_raw(&format!("/api/v1/{endpoint}"), b);
            assert_eq!(status, 400, "{endpoint} {:?}: {text}", String::from_utf8_lossy(b));
            let v: serde_json::Value = serde_json::from_str(&text).expect("JSON error body");
            assert_eq!(v["status"], "error");
            assert_eq!(v["mode"], "analyze");
        }
    }
    let (status, text) = h.post_raw(
        "/api/v1/placeorder",
        format!("{{\"apikey\":\"{key}\",\"symbol\":\"A\",\"symbol\":\"B\"}}").as_bytes(),
    );
    assert!(status == 400 && text.contains("duplicate field `symbol`"), "{text}");
    // Still serving.
    h.ok("ping", json!({}));
}

#[test]
fn unknown_routes_and_methods_are_json_errors() {
    let h = Harness::start();
    let (status, text) = h.post_raw("/api/v1/nosuch", b"{}");
    assert_eq!(status, 404, "{text}");
    assert!(text.contains("\"status\":\"error\""));
    let (status, _, text) = h.get("/api/v1/placeorder");
    assert_eq!(status, 405, "{text}");
    assert!(text.contains("\"status\":\"error\""));
}
