//! Trading days through the real REST API: `holdings` (OPENALGO.md 2b) after a CNC
//! position settled T+1, and `sandbox/reset`, live and after a restart.
//!
//! The settlement is reached without any clock control: the test writes yesterday's
//! session (a tick and a CNC buy, stamped yesterday 10:00 IST) into a fresh data dir's
//! journal, starts the engine on it, and the engine's first timer event (stamped now)
//! catches up the missed 00:00 boundary from event time, exactly as after a night away.

mod api_util;

use api_util::*;
use serde_json::{Value, json};
use tickfill::clock::{format_ist, ist_day, ist_to_epoch_ns, wall_now_ns};
use tickfill::event::{Command, CommandKind, Event, Header, Input, OrderRequest, Tick, Ticket};
use tickfill::journal::{Journal, JournalConfig};
use tickfill::types::{Price, PriceType, Product, Qty, Seq, Side, Tag};

/// A funds amount, whether the reply carries it as a number or a string.
fn amount(v: &Value) -> f64 {
    v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse().ok())).unwrap_or(f64::NAN)
}

/// Yesterday 10:00 IST, and the journal of a session then: SBIN at 100, a CNC buy of 10.
fn write_yesterday(h: &Harness, sbin: tickfill::types::SymbolId) -> i64 {
    let now = wall_now_ns();
    let day = ist_day(now) - 1;
    let date = format_ist(day * 86_400_000_000_000);
    let (y, m, d) =
        (date[0..4].parse().unwrap(), date[5..7].parse().unwrap(), date[8..10].parse().unwrap());
    let t0 = ist_to_epoch_ns(y, m, d, 10, 0);
    for e in std::fs::read_dir(h.dir.path()).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::remove_file(p).unwrap();
        }
    }
    let mut cfg = JournalConfig::new(h.dir.path());
    cfg.segment_bytes = 1 << 20;
    let (mut journal, _) = Journal::open(&cfg).unwrap();
    let buy = OrderRequest {
        symbol: sbin,
        side: Side::Buy,
        qty: Qty(10),
        price_type: PriceType::Market,
        product: Product::Cnc,
        price: Price::ZERO,
        trigger: Price::ZERO,
        disclosed: Qty::ZERO,
        strategy: Tag::new("yesterday").unwrap(),
    };
    let tick = |ltp: i64| {
        Input::Tick(Tick { symbol: sbin, ltp: Price(ltp * Price::SCALE), ..Tick::default() })
    };
    let inputs = [
        tick(100),
        Input::Command(Command { ticket: Ticket(0), kind: CommandKind::Place(buy) }),
        tick(105),
    ];
    for (i, input) in inputs.into_iter().enumerate() {
        let header = Header {
            seq: Seq(i as u64 + 1),
            time_ns: t0 + i as i64 * 1_000_000_000,
            recv_ns: 0,
            stream_seq: 0,
        };
        journal.append(&Event { header, input }).unwrap();
    }
    journal.commit().unwrap();
    day + 1
}

/// Polls holdings until the engine's first timer has settled the CNC buy.
fn settled_holdings(h: &Harness) -> Value {
    for _ in 0..100 {
        let v = h.ok("holdings", json!({}));
        if !v["data"]["holdings"].as_array().unwrap().is_empty() {
            return v;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("no holdings after the first timer");
}

#[test]
fn holdings_after_t1_then_reset_through_rest_and_restart() {
    let mut h = Harness::start();
    // Fresh account: the OpenAlgo shape with no rows and zero statistics.
    let v = h.ok("holdings", json!({}));
    assert_eq!(v["data"]["holdings"], json!([]));
    assert_eq!(v["data"]["statistics"]["totalholdingvalue"], json!(0.0));
    assert_eq!(v["data"]["statistics"]["totalpnlpercentage"], json!(0.0));

    let sbin = h.sym("NSE", "SBIN");
    h.stop();
    let settle_day = write_yesterday(&h, sbin);
    h.restart();
    let v = settled_holdings(&h);
    let row = &v["data"]["holdings"][0];
    let date = format_ist(settle_day * 86_400_000_000_000 - 19_800_000_000_000);
    assert_eq!(
        row,
        &json!({
            "symbol": "SBIN", "exchange": "NSE", "product": "CNC", "quantity": 10,
            "average_price": 100.0, "ltp": 105.0, "pnl": 50.0, "pnlpercent": 5.0,
            "current_value": 1050.0, "settlement_date": &date[..10],
        })
    );
    assert_eq!(
        v["data"]["statistics"],
        json!({"totalholdingvalue": 1050.0, "totalinvvalue": 1000.0,
               "totalprofitandloss": 50.0, "totalpnlpercentage": 5.0})
    );
    // Yesterday's order is not in today's orderbook; the margin went with the shares.
    let book = h.ok("orderbook", json!({}));
    assert_eq!(book["data"]["orders"], json!([]));
    let funds = h.ok("funds", json!({}));
    assert_eq!(amount(&funds["data"]["utiliseddebits"]), 0.0);
    assert_eq!(amount(&funds["data"]["availablecash"]), 10_000_000.0 - 1_000.0);
    assert_eq!(funds["data"]["reset_count"], json!(0));
    // CNC SELL draws on the holding; beyond it, a rejected order. A MARKET order is
    // decided on a fresh quote (yesterday's is too old, and the test has no upstream).
    h.tick("NSE", "SBIN", 105.0);
    let sell = h.place(cnc("SBIN", "SELL", 4, "MARKET", 0.0));
    let st = h.ok("orderstatus", json!({"orderid": sell, "strategy": "test"}));
    assert_eq!(st["data"]["order_status"], "complete", "{st}");
    let over = h.api("placeorder", cnc("SBIN", "SELL", 7, "MARKET", 0.0));
    assert_error(&over, 400, "Only 6 shares available (Position: 0, Holdings: 10)");

    // The reset: key required, only `apikey` accepted, then a fresh account.
    assert_eq!(h.call("sandbox/reset", &json!({"apikey": "wrong"})).0, 403);
    assert_error(&h.api("sandbox/reset", json!({"confirm": true})), 400, "confirm");
    let r = h.ok("sandbox/reset", json!({}));
    assert_eq!(r["data"]["reset_count"], json!(1), "{r}");
    assert_eq!(r["data"]["availablecash"], json!(10_000_000.0), "{r}");
    let check = |h: &Harness| {
        let v = h.ok("holdings", json!({}));
        assert_eq!(v["data"]["holdings"], json!([]));
        let f = h.ok("funds", json!({}));
        assert_eq!(f["data"]["reset_count"], json!(1));
        assert_eq!(amount(&f["data"]["availablecash"]), 10_000_000.0);
        assert_eq!(f["data"]["last_reset"].as_str().map(str::len), Some(19), "{f}");
        let book = h.ok("orderbook", json!({}));
        assert_eq!(book["data"]["orders"].as_array().unwrap().len(), 2, "orders are kept");
    };
    check(&h);
    // The reset is journaled: a restart rebuilds the same account.
    h.restart();
    check(&h);
}

#[test]
fn a_snapshot_from_an_older_build_is_set_aside_and_the_journal_replayed() {
    let mut h = Harness::start();
    h.tick("NSE", "SBIN", 800.0);
    let id = h.place(cnc("SBIN", "BUY", 3, "LIMIT", 700.0));
    let seq = tickfill::types::Seq(2);
    h.stop();
    // Exec state layout version 1 (before holdings and the calendar), then anything.
    let exec = [1u8, 0xde, 0xad];
    let mut bytes = (exec.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(&exec);
    bytes.extend_from_slice(&[0xbe, 0xef]);
    tickfill::journal::write_snapshot(h.dir.path(), seq, &bytes).unwrap();
    h.restart();
    let book = h.ok("orderbook", json!({}));
    let ids: Vec<&str> = book["data"]["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["orderid"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id.as_str()], "{book}");
}
