//! `--upstream-rest`: market data forwarded to the upstream OpenAlgo server (the scripted
//! one of `feed_support`) with the upstream's key, and the instrument master downloaded
//! from it and cached in the data dir. Real engine, real sockets, real HTTP clients.

mod api_util;
mod feed_support;
mod util;

use api_util::{Harness, KEY as CLIENT_KEY, api_config};
use feed_support::{KEY as UPSTREAM_KEY, Rest};
use serde_json::{Value, json};
use std::time::Duration;
use tickfill::refdata::upstream::{MASTER_FILE, UpstreamRest, load_master};
use tickfill::types::Exchange;

fn upstream(rest: &Rest) -> UpstreamRest {
    UpstreamRest {
        base: rest.url.clone(),
        api_key: UPSTREAM_KEY.into(),
        timeout: Duration::from_secs(5),
    }
}

#[test]
fn market_data_is_forwarded_with_the_upstream_key() {
    let rest = Rest::start();
    let mut config = api_config();
    config.upstream = Some(upstream(&rest));
    let h = Harness::start_with(config);
    // history: the upstream's candles (volume 4242), not the local walk's.
    let v = h.ok(
        "history",
        json!({"symbol": "SBIN", "exchange": "NSE", "interval": "5m",
               "start_date": "2026-12-01", "end_date": "2026-12-01"}),
    );
    let rows = v["data"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{v}");
    assert!(rows.iter().all(|r| r["volume"] == 4242));
    assert_eq!(v["asked"], "SBIN");
    let v = h.ok("intervals", json!({}));
    assert_eq!(v["data"]["seconds"], json!(["5s"]));
    let v = h.ok(
        "margin",
        json!({"positions": [{"symbol": "SBIN", "exchange": "NSE", "action": "BUY", "quantity": "1",
                               "product": "MIS", "pricetype": "MARKET", "price": "0"}]}),
    );
    assert_eq!(v["data"]["total_margin_required"], 12_345.5);
    let v = h.ok("telegram/notify", json!({"username": "me", "message": "hi"}));
    assert!(v["message"].as_str().unwrap().contains("upstream"), "{v}");
    let (status, _, body) =
        h.get(&format!("/api/v1/ticker/NSE:SBIN?apikey={CLIENT_KEY}&interval=5m"));
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["data"][0]["volume"], 4242);
    // The client's key is checked here and never sent upstream; a wrong one stops here.
    let (status, _) = h.call("history", &json!({"apikey": "wrong", "symbol": "SBIN"}));
    assert_eq!(status, 403);
    assert!(rest.requests() >= 5);
    // Reference data stays local: symbol is answered from the master.
    let v = h.ok("symbol", json!({"symbol": "SBIN", "exchange": "NSE"}));
    assert_eq!(v["data"]["symbol"], "SBIN");
}

#[test]
fn an_unreachable_upstream_is_a_502_naming_it() {
    let rest = Rest::start();
    let up = upstream(&rest);
    drop(rest);
    let mut config = api_config();
    config.upstream = Some(up);
    let h = Harness::start_with(config);
    let (status, v) = h.api("intervals", json!({}));
    assert_eq!(status, 502, "{v}");
    assert!(v["message"].as_str().unwrap().contains("unreachable"), "{v}");
}

#[test]
fn the_master_is_downloaded_cached_and_reused_when_the_upstream_is_gone() {
    let rest = Rest::start();
    let up = upstream(&rest);
    let dir = tempfile::tempdir().unwrap();
    let (m, line) = load_master(&up, dir.path()).unwrap();
    assert!(line.contains("downloaded") && line.contains("1 rows of other exchanges"), "{line}");
    assert_eq!(m.len(), 4);
    let id = m.lookup(Exchange::Nfo, "NIFTY30DEC2625000CE").unwrap();
    let i = m.get(id).unwrap();
    assert_eq!((i.lot_size, i.name.as_str()), (75, "NIFTY"));
    assert_eq!(i.strike.map(|p| p.to_f64()), Some(25_000.0));
    assert!(dir.path().join(MASTER_FILE).exists());
    let asked = rest.requests();
    drop(rest);
    // Today's copy is used without asking again.
    let (m2, line) = load_master(&up, dir.path()).unwrap();
    assert!(line.contains("today's copy"), "{line}");
    assert_eq!(m2.len(), m.len());
    assert_eq!(asked, 1);
    // No copy and no upstream: an error that says why.
    let empty = tempfile::tempdir().unwrap();
    let e = load_master(&up, empty.path()).unwrap_err().to_string();
    assert!(e.contains("unreachable"), "{e}");
}
