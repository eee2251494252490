//! The endpoints OpenAlgo's SDK 1.0.47 does not call, and the error shapes of the rest,
//! over a real engine and a real HTTP client on loopback: multioptiongreeks, ticker (GET,
//! JSON and text), instruments CSV, pnl/symbols, plus per-endpoint metrics.

mod api_util;

use api_util::{Harness, KEY, assert_error};
use serde_json::{Value, json};

/// NIFTY at 25,010 with options of its nearest expiry around it (asked of the server, so
/// no test names a contract that expires); returns that expiry as symbols write it
/// (`DDMMMYY`).
fn nifty(h: &Harness) -> String {
    let e = h.expiry("NIFTY", "NFO", "options", 0).replace('-', "");
    h.tick("NSE_INDEX", "NIFTY", 25_010.0);
    for (strike, ltp) in
        [("25000CE", 320.0), ("25000PE", 300.0), ("25100CE", 270.0), ("24900PE", 260.0)]
    {
        h.tick("NFO", &format!("NIFTY{e}{strike}"), ltp);
    }
    e
}

#[test]
fn multioptiongreeks_reports_each_symbol_and_a_summary() {
    let h = Harness::start();
    let e = nifty(&h);
    let (status, v) = h.api(
        "multioptiongreeks",
        json!({"symbols": [
            {"symbol": format!("NIFTY{e}25100CE"), "exchange": "NFO"},
            {"symbol": format!("NIFTY{e}24900PE"), "exchange": "NFO", "interest_rate": 6.5},
            {"symbol": "SBIN", "exchange": "NSE"},
        ]}),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], "partial", "{v}");
    assert_eq!(v["summary"], json!({"total": 3, "success": 2, "failed": 1}));
    let call = &v["data"][0];
    let d = call["greeks"]["delta"].as_f64().unwrap();
    assert!(d > 0.0 && d < 1.0, "{call}");
    assert_eq!(call["spot_price"], 25_010.0);
    assert_eq!(call["strike"], 25_100.0);
    let put = &v["data"][1];
    assert!(put["greeks"]["delta"].as_f64().unwrap() < 0.0, "{put}");
    assert_eq!(put["interest_rate"], 6.5);
    assert_eq!(v["data"][2]["status"], "error");
    assert!(v["data"][2]["message"].as_str().unwrap().contains("not an option"), "{v}");
    // Shape C for the request itself.
    let (status, v) = h.api("multioptiongreeks", json!({"symbols": []}));
    assert_eq!(status, 400);
    assert_eq!(v["message"], "Validation error");
    assert!(v["errors"]["symbols"].is_array(), "{v}");
}

#[test]
fn ticker_answers_json_and_text_the_same_candles() {
    let h = Harness::start();
    let q = format!("apikey={KEY}&interval=D&from=2026-11-02&to=2026-11-06");
    let (status, ct, body) = h.get(&format!("/api/v1/ticker/NSE:SBIN?{q}"));
    assert_eq!(status, 200, "{body}");
    assert!(ct.starts_with("application/json"));
    let v: Value = serde_json::from_str(&body).unwrap();
    let rows = v["data"].as_array().unwrap();
    assert_eq!(rows.len(), 5, "{v}");
    let (status, ct, text) = h.get(&format!("/api/v1/ticker/NSE:SBIN?{q}&format=txt"));
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/plain"));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5);
    assert!(lines[0].starts_with("NSE:SBIN,2026-11-02,00:00:00,"), "{}", lines[0]);
    let close: f64 = lines[4].split(',').nth(6).unwrap().parse().unwrap();
    assert_eq!(close, rows[4]["close"].as_f64().unwrap());
    // The same through history.
    let hist = h.ok(
        "history",
        json!({"symbol": "SBIN", "exchange": "NSE", "interval": "D",
               "start_date": "2026-11-02", "end_date": "2026-11-06"}),
    );
    assert_eq!(hist["data"], v["data"]);
    // Errors name the field (shape A); a wrong key is a 403.
    let (status, _, body) = h.get(&format!("/api/v1/ticker/NSE:NOPE?{q}"));
    assert_eq!(status, 400);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(v["message"]["symbol"][0].as_str().unwrap().contains("NOPE"), "{v}");
    let (status, _, body) = h.get(&format!("/api/v1/ticker/SBIN?{q}"));
    assert_eq!(status, 400, "{body}");
    let (status, _, _) = h.get("/api/v1/ticker/NSE:SBIN?apikey=wrong");
    assert_eq!(status, 403);
}

#[test]
fn instruments_csv_has_openalgo_master_columns_and_loads_back() {
    let h = Harness::start();
    let (status, ct, text) =
        h.get(&format!("/api/v1/instruments?apikey={KEY}&exchange=NFO&format=csv"));
    assert_eq!(status, 200, "{text}");
    assert!(ct.starts_with("text/csv"));
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "symbol,brsymbol,name,exchange,brexchange,token,expiry,strike,lotsize,instrumenttype,tick_size,contract_value"
    );
    assert!(lines.clone().all(|l| l.contains(",NFO,")));
    let expiry = h.expiry("NIFTY", "NFO", "options", 0);
    let ce = format!("NIFTY{}25000CE", expiry.replace('-', ""));
    assert!(
        lines.any(|l| l.starts_with(&format!("{ce},")) && l.contains(&format!(",{expiry},25000")))
    );
    // The CSV is a valid --instruments file.
    let m = tickfill::instruments::InstrumentMaster::from_csv_str(&text).unwrap();
    let id = m.lookup(tickfill::types::Exchange::Nfo, &ce).unwrap();
    assert_eq!(m.get(id).unwrap().strike, Some(tickfill::types::Price(25_000 * 10_000)));
    let (status, _, body) = h.get(&format!("/api/v1/instruments?apikey={KEY}&format=xml"));
    assert_eq!(status, 400, "{body}");
    let (status, _, body) = h.get(&format!("/api/v1/instruments?apikey={KEY}&exchange=NSE"));
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(v["message"].as_str().unwrap().starts_with("Found "), "{v}");
    assert!(v["data"].as_array().unwrap().iter().all(|r| r["exchange"] == "NSE"));
}

#[test]
fn pnl_symbols_sums_the_positionbook() {
    let h = Harness::start();
    h.tick("NSE", "SBIN", 800.0);
    h.place(api_util::cnc("SBIN", "BUY", 10, "MARKET", 0.0));
    h.tick("NSE", "SBIN", 810.0);
    let v = h.ok("pnl/symbols", json!({}));
    let rows = v["data"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{v}");
    let r = &rows[0];
    assert_eq!(r["symbol"], "SBIN");
    assert_eq!(r["quantity"], 10);
    // Bought at the ask 800.50, marked at 810.
    assert_eq!(r["unrealized_pnl"], 95.0, "{r}");
    assert_eq!(v["total_unrealized_pnl"], 95.0);
    assert_eq!(v["total_pnl"], r["pnl"]);
}

#[test]
fn basket_places_buy_legs_first_and_split_slices() {
    let h = Harness::start();
    let (nifty, bank) = (h.near_future("NIFTY", "NFO"), h.near_future("BANKNIFTY", "NFO"));
    h.tick("NFO", &nifty, 25_100.0);
    h.tick("NFO", &bank, 56_000.0);
    let v = h.ok(
        "basketorder",
        json!({"strategy": "b", "orders": [
            {"symbol": bank, "exchange": "NFO", "action": "SELL", "quantity": 35, "product": "NRML"},
            {"symbol": nifty, "exchange": "NFO", "action": "BUY", "quantity": 75, "product": "NRML"},
            {"symbol": nifty, "exchange": "NFO", "action": "BUY", "quantity": 7, "product": "NRML"},
        ]}),
    );
    let r = v["results"].as_array().unwrap();
    assert_eq!(r[0]["symbol"], nifty.as_str());
    assert_eq!(r[0]["status"], "success");
    assert!(r[1]["message"].as_str().unwrap().contains("lot size"), "{v}");
    assert_eq!(r[2]["symbol"], bank.as_str());
    assert!(r[0]["orderid"].as_str().unwrap() < r[2]["orderid"].as_str().unwrap());
    let v = h.ok(
        "splitorder",
        json!({"strategy": "s", "symbol": nifty, "exchange": "NFO", "action": "BUY",
               "quantity": 375, "splitsize": 150, "product": "NRML"}),
    );
    let sizes: Vec<i64> =
        v["results"].as_array().unwrap().iter().map(|r| r["quantity"].as_i64().unwrap()).collect();
    assert_eq!(sizes, [150, 150, 75]);
    // Splits are journaled orders: a restart shows them.
    let before = h.ok("orderbook", json!({}))["data"]["orders"].as_array().unwrap().len();
    let mut h = h;
    h.restart();
    let after = h.ok("orderbook", json!({}))["data"]["orders"].as_array().unwrap().len();
    assert_eq!(before, after);
    assert_eq!(after, 5);
    let a = h.ok("analyzer", json!({}));
    assert_eq!(a["data"]["total_logs"], 5);
}

#[test]
fn errors_keep_openalgo_shapes_and_metrics_count_endpoints() {
    let h = Harness::start();
    let e = nifty(&h);
    // Shape A: per-field messages.
    let (status, v) = h.api("history", json!({"exchange": "NSE"}));
    assert_eq!(status, 400);
    assert!(v["message"]["symbol"].is_array(), "{v}");
    let (status, v) = h.api("symbol", json!({"symbol": "SBIN", "exchange": "XYZ"}));
    assert_eq!(status, 400);
    assert!(v["message"]["exchange"][0].as_str().unwrap().contains("NSE"), "{v}");
    // Shape C on option endpoints.
    let (status, v) = h.api(
        "optionsymbol",
        json!({"underlying": "NIFTY", "exchange": "NSE_INDEX", "offset": "ITM0", "option_type": "CE"}),
    );
    assert_eq!(status, 400);
    assert_eq!(v["message"], "Validation error");
    assert!(v["errors"]["offset"].is_array(), "{v}");
    // Shape B on order families, margin, analyzer.
    assert_error(&h.api("analyzer/toggle", json!({"mode": false})), 400, "no live mode");
    assert_error(&h.api("analyzer/toggle", json!({"mode": "yes"})), 400, "mode");
    assert_error(&h.api("margin", json!({"positions": []})), 400, "positions");
    assert_error(
        &h.api("telegram/notify", json!({"username": "u", "message": "m"})),
        503,
        "upstream",
    );
    assert_error(
        &h.api(
            "splitorder",
            json!({"symbol": "SBIN", "exchange": "NSE", "action": "BUY",
                                    "quantity": 101, "splitsize": 1, "product": "CNC"}),
        ),
        400,
        "exceed maximum limit of 100",
    );
    let v = h.ok(
        "optionchain",
        json!({"underlying": "NIFTY", "exchange": "NSE_INDEX", "expiry_date": e, "strike_count": 1}),
    );
    assert_eq!(v["atm_strike"], 25_000.0);
    assert_eq!(v["chain"].as_array().unwrap().len(), 3);
    assert_eq!(v["chain"][1]["ce"]["label"], "ATM");
    assert_eq!(v["chain"][0]["ce"]["label"], "ITM1");
    assert_eq!(v["chain"][0]["pe"]["label"], "OTM1");
    assert_eq!(v["chain"][1]["ce"]["ltp"], 320.0);
    let v = h.ok(
        "optionchain",
        json!({"underlying": "NIFTY", "exchange": "NSE_INDEX", "expiry_date": e,
               "strike_count": 1, "with_greeks": true}),
    );
    let ce = &v["chain"][1]["ce"]["greeks"];
    let pe = &v["chain"][1]["pe"]["greeks"];
    assert!(ce["delta"].as_f64().unwrap() > 0.0 && pe["delta"].as_f64().unwrap() < 0.0, "{v}");
    assert!(ce["implied_volatility"].as_f64().unwrap() > 0.0);
    // A leg with no quote yet has no greeks (nothing to solve from).
    assert!(v["chain"][2]["pe"]["greeks"].is_null(), "{v}");
    let v = h.ok(
        "syntheticfuture",
        json!({"underlying": "NIFTY", "exchange": "NSE_INDEX", "expiry_date": e}),
    );
    assert_eq!(v["synthetic_future_price"], 25_020.0);
    let (_, _, metrics) = h.get("/metrics");
    for (endpoint, n) in
        [("history", 1), ("optionsymbol", 1), ("optionchain", 2), ("analyzer/toggle", 2)]
    {
        let line = format!("tickfill_api_endpoint_requests_total{{endpoint=\"{endpoint}\"}} {n}");
        assert!(metrics.contains(&line), "{line} not in metrics");
    }
}

/// Every POST endpoint added for the full surface.
const SURFACE: [&str; 25] = [
    "placegttorder",
    "modifygttorder",
    "cancelgttorder",
    "gttorderbook",
    "history",
    "intervals",
    "symbol",
    "search",
    "expiry",
    "optionsymbol",
    "optionchain",
    "optiongreeks",
    "multioptiongreeks",
    "syntheticfuture",
    "margin",
    "market/holidays",
    "market/timings",
    "telegram/notify",
    "basketorder",
    "splitorder",
    "optionsorder",
    "optionsmultiorder",
    "analyzer/toggle",
    "pnl/symbols",
    "analyzer",
];

#[test]
fn hostile_bodies_never_reach_a_500_and_wrong_keys_are_403() {
    // Every endpoint gets a wrong key: no per-address failure limit here (api_security
    // tests that limit).
    let mut config = api_util::api_config();
    config.auth_guard.max_failures = 0;
    let h = Harness::start_with(config);
    nifty(&h);
    let long = "X".repeat(5_000);
    let bodies = [
        json!({}),
        json!({"symbol": 5, "exchange": [], "query": {}, "underlying": null}),
        json!({"symbol": long, "exchange": "NSE", "query": long, "interval": long}),
        json!({"positions": "x", "orders": [1, 2], "legs": [{}], "symbols": [null, 3]}),
        json!({"orders": [{"symbol": "SBIN", "exchange": "NSE", "action": "BUY", "quantity": -1}]}),
        json!({"legs": [{"offset": "OTM99", "option_type": "XX", "action": "BUY", "quantity": 1e300}],
               "underlying": "NIFTY", "exchange": "NSE_INDEX"}),
        json!({"symbol": "SBIN", "exchange": "NSE", "interval": "D", "start_date": "2026-02-30",
               "end_date": "9999-99-99", "year": 1e30, "date": 7, "mode": "x"}),
        json!({"underlying": "NIFTY", "exchange": "NSE_INDEX", "expiry_date": "31FEB26",
               "offset": "ATM", "option_type": "CE", "strike_count": -5, "strike_int": "abc"}),
        json!({"symbol": "SBIN", "exchange": "NSE", "action": "BUY", "quantity": "10",
               "splitsize": "0", "positions": [], "symbols": []}),
    ];
    for endpoint in SURFACE {
        let (status, v) = h.call(endpoint, &json!({"apikey": "wrong"}));
        assert_eq!(status, 403, "{endpoint}: {v}");
        for body in &bodies {
            let mut body = body.clone();
            body["apikey"] = json!(KEY);
            let (status, v) = h.call(endpoint, &body);
            assert!(status < 500 || status == 503, "{endpoint} {body}: {status} {v}");
            assert!(v["status"].is_string(), "{endpoint}: {v}");
            assert_eq!(v["mode"], "analyze", "{endpoint}: {v}");
        }
    }
    let (status, text) = h.post_raw("/api/v1/optionchain", b"{not json");
    assert_eq!(status, 400, "{text}");
}

/// optionsorder places the resolved option with the order's own terms from the body
/// (action, quantity, pricetype, product, price) and the strategy given.
#[test]
fn optionsorder_places_the_resolved_option_with_the_bodys_order_terms() {
    let h = Harness::start();
    h.tick("NSE_INDEX", "NIFTY", 24_000.0);
    let r = h.ok(
        "optionsorder",
        json!({"strategy": "opt", "underlying": "NIFTY", "exchange": "NSE_INDEX",
               "offset": "ATM", "option_type": "CE", "action": "BUY", "quantity": 75,
               "pricetype": "LIMIT", "price": 1.5, "product": "NRML"}),
    );
    let id = r["orderid"].as_str().unwrap_or_else(|| panic!("an order id: {r}")).to_owned();
    let symbol = r["symbol"].as_str().expect("symbol").to_owned();
    assert!(symbol.ends_with("CE"), "{r}");
    let s = h.ok("orderstatus", json!({"orderid": id, "strategy": "opt"}))["data"].clone();
    assert_eq!(s["symbol"], symbol.as_str(), "{s}");
    assert_eq!(s["action"], "BUY", "{s}");
    assert_eq!(s["quantity"], 75, "{s}");
    assert_eq!(s["pricetype"], "LIMIT", "{s}");
    assert_eq!(s["price"], 1.5, "{s}");
    assert_eq!(s["product"], "NRML", "{s}");
}

#[test]
fn nco_crypto_and_the_new_index_exchanges_are_served_like_openalgo() {
    let h = Harness::start();
    // A crypto perpetual as OpenAlgo's Delta master names it: no expiry, a fractional tick.
    let v = h.ok_plain("symbol", json!({"symbol": "BTCUSDFUT", "exchange": "CRYPTO"}));
    let d = &v["data"];
    assert_eq!(
        (&d["expiry"], &d["instrumenttype"], &d["lotsize"], &d["tick_size"], &d["name"]),
        (&json!(""), &json!("PERPFUT"), &json!(1), &json!(0.5), &json!("BTC")),
        "{v}"
    );
    // Delta Exchange's contract value: 0.001 BTC a contract, exact in the master.
    assert_eq!(d["contract_value"], 0.001, "{v}");
    let v = h.ok_plain("symbol", json!({"symbol": "SOLUSDFUT", "exchange": "CRYPTO"}));
    assert_eq!(v["data"]["tick_size"], 0.001, "{v}");
    // Dated contracts list their expiries, ascending, none past.
    for (name, exchange) in [("BTC", "CRYPTO"), ("CRUDEOIL", "NCO"), ("CRUDEOIL", "MCX")] {
        let v = h.ok_plain(
            "expiry",
            json!({"symbol": name, "exchange": exchange, "instrumenttype": "futures"}),
        );
        let dates: Vec<chrono::NaiveDate> = v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| chrono::NaiveDate::parse_from_str(d.as_str().unwrap(), "%d-%b-%y").unwrap())
            .collect();
        assert_eq!(dates.len(), 2, "{v}");
        assert!(dates[0] < dates[1] && dates[0] >= tickfill::refdata::today_ist(), "{v}");
        let fut = format!("{name}{}FUT", v["data"][0].as_str().unwrap().replace('-', ""));
        h.ok_plain("symbol", json!({"symbol": fut, "exchange": exchange}));
    }
    let v = h.ok_plain("search", json!({"query": "BTC", "exchange": "CRYPTO"}));
    assert_eq!(v["data"].as_array().unwrap().len(), 3, "{v}");
    for (exchange, symbol) in [("MCX_INDEX", "MCXCOMDEX"), ("GLOBAL_INDEX", "SP500")] {
        let (status, _, body) =
            h.get(&format!("/api/v1/instruments?apikey={KEY}&exchange={exchange}"));
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let rows = v["data"].as_array().unwrap();
        assert!(rows.iter().all(|r| r["exchange"] == exchange && r["instrumenttype"] == "INDEX"));
        assert!(rows.iter().any(|r| r["symbol"] == symbol), "{v}");
    }
    // Orders: a whole number of contracts fills; a fraction is refused by name (tickfill's
    // quantities are whole numbers, a listed departure for CRYPTO).
    h.tick("CRYPTO", "BTCUSDFUT", 95_000.0);
    let order = |qty: Value| {
        json!({"strategy": "c", "symbol": "BTCUSDFUT", "exchange": "CRYPTO", "action": "BUY",
               "quantity": qty, "pricetype": "MARKET", "product": "NRML"})
    };
    h.place(order(json!(2)));
    let p = h.ok("positionbook", json!({}));
    assert_eq!(p["data"][0]["quantity"], 2, "{p}");
    assert_eq!(p["data"][0]["lot_size"], 0.001, "lot_size is the contract value: {p}");
    assert_error(&h.api("placeorder", order(json!("0.5"))), 400, "quantity");
    // CNC is refused on a derivatives exchange, CRYPTO included.
    let mut cnc = order(json!(1));
    cnc["product"] = json!("CNC");
    assert_error(&h.api("placeorder", cnc), 400, "CNC");
}
