use super::*;
use crate::types::SymbolId;

fn master() -> InstrumentMaster {
    InstrumentMaster::default_universe()
}

fn sbin(m: &InstrumentMaster) -> SymbolId {
    m.lookup(Exchange::Nse, "SBIN").unwrap()
}

fn px(v: f64) -> Price {
    Price::from_f64(v).unwrap()
}

fn tick_of(text: &str) -> Result<Tick, DecodeError> {
    let m = master();
    match Decoder::new().decode(text.as_bytes(), &m)? {
        Frame::Tick(t) => Ok(t),
        other => panic!("not a tick: {other:?}"),
    }
}

#[test]
fn every_mode_written_by_the_protocol_module_round_trips() {
    let m = master();
    let mut d = Decoder::new();
    let mut t = Tick {
        symbol: sbin(&m),
        ltp: px(812.5),
        bid: px(812.45),
        ask: px(812.55),
        bid_qty: 100,
        ask_qty: 120,
        open: px(800.0),
        high: px(815.0),
        low: px(799.0),
        close: px(805.0),
        volume: 123_456,
        last_qty: 10,
        avg_price: px(808.25),
        total_buy_qty: 5000,
        total_sell_qty: 6000,
        oi: 0,
        ltt_ms: 1_746_171_226_000,
        ..Tick::default()
    };
    t.depth.levels = 2;
    t.depth.buy[0] = Level { price: px(812.45), quantity: 100, orders: 3 };
    t.depth.buy[1] = Level { price: px(812.4), quantity: 50, orders: 1 };
    t.depth.sell[0] = Level { price: px(812.55), quantity: 120, orders: 4 };
    for mode in 1..=3u8 {
        let mut buf = Vec::new();
        crate::openalgo_wire::market_data::write(&mut buf, "SBIN", "NSE", mode, &t, 1, "sandbox");
        let Frame::Tick(got) = d.decode(&buf, &m).unwrap() else { panic!("mode {mode}") };
        assert_eq!(got.mode, mode);
        assert_eq!(got.symbol, t.symbol);
        assert_eq!(got.ltp, t.ltp);
        assert_eq!(got.ltt_ms, t.ltt_ms);
        if mode >= 2 {
            assert_eq!((got.bid, got.ask, got.bid_qty, got.ask_qty), (t.bid, t.ask, 100, 120));
            assert_eq!((got.open, got.high, got.low, got.close), (t.open, t.high, t.low, t.close));
            assert_eq!((got.volume, got.last_qty, got.avg_price), (t.volume, 10, t.avg_price));
            assert_eq!((got.total_buy_qty, got.total_sell_qty), (5000, 6000));
        }
        if mode == 3 {
            // Padded to five levels on the wire; only two are meaningful.
            assert_eq!(got.depth, t.depth);
        }
    }
}

#[test]
fn ltp_frame_of_the_openalgo_docs() {
    let t = tick_of(
        r#"{"type":"market_data","symbol":"SBIN","exchange":"NSE","mode":1,
            "data":{"ltp":1424.5,"ltt":1746171226000,"timestamp":1746171226123},"broker":"x"}"#,
    )
    .unwrap();
    assert_eq!((t.ltp, t.mode, t.bid), (px(1424.5), 1, Price::ZERO));
}

#[test]
fn numeric_strings_string_modes_and_missing_optional_fields() {
    let t = tick_of(
        r#"{"type":"market_data","symbol":"SBIN","exchange":"nse","mode":"Quote",
            "data":{"ltp":"812.50","high":"815","low":799,"volume":"1200","bid_price":null}}"#,
    )
    .unwrap();
    assert_eq!(
        (t.ltp, t.high, t.low, t.volume, t.mode),
        (px(812.5), px(815.0), px(799.0), 1200, 2)
    );
    assert_eq!(t.bid, Price::ZERO);
    let t = tick_of(
        r#"{"type":"market_data","symbol":"SBIN","exchange":"NSE","mode":"2","data":{"ltp":1}}"#,
    )
    .unwrap();
    assert_eq!(t.mode, 2);
}

#[test]
fn bids_and_asks_instead_of_depth_and_mode_inferred() {
    let t = tick_of(
        r#"{"type":"market_data","symbol":"SBIN","exchange":"NSE",
            "data":{"ltp":812.5,"bids":[{"price":812.4,"quantity":7}],
                    "asks":[{"price":812.6,"quantity":9,"orders":2},{"price":0,"quantity":0}]}}"#,
    )
    .unwrap();
    assert_eq!(t.mode, 3);
    assert_eq!(t.depth.levels, 1);
    assert_eq!((t.bid, t.bid_qty, t.ask, t.ask_qty), (px(812.4), 7, px(812.6), 9));
    assert_eq!(t.depth.sell[0].orders, 2);
    let t = tick_of(
        r#"{"type":"market_data","symbol":"SBIN","exchange":"NSE","mode":3,
            "data":{"ltp":812.5,"depth":{"bids":[{"price":"812.4","quantity":"7"}],"asks":[]}}}"#,
    )
    .unwrap();
    assert_eq!((t.depth.levels, t.depth.buy[0].quantity), (1, 7));
}

#[test]
fn fully_padded_depth_has_no_levels() {
    let zero = r#"{"price":0.0,"quantity":0,"orders":0}"#;
    let side = format!("[{zero},{zero},{zero},{zero},{zero}]");
    let t = tick_of(&format!(
        r#"{{"type":"market_data","symbol":"SBIN","exchange":"NSE","mode":3,
            "data":{{"ltp":5,"depth":{{"buy":{side},"sell":{side}}},"oi":12}}}}"#
    ))
    .unwrap();
    assert_eq!((t.depth.levels, t.oi, t.mode), (0, 12, 3));
}

#[test]
fn control_frames() {
    let m = master();
    let mut d = Decoder::new();
    let auth = br#"{"type":"auth","status":"success","message":"Authentication successful"}"#;
    assert!(matches!(d.decode(auth, &m), Ok(Frame::Auth { ok: true, .. })));
    let err = br#"{"status":"error","code":"AUTHENTICATION_ERROR","message":"Invalid API key"}"#;
    match d.decode(err, &m).unwrap() {
        Frame::Error { code, message } => {
            assert_eq!(code.as_str(), "AUTHENTICATION_ERROR");
            assert_eq!(message.as_str(), "Invalid API key");
        }
        other => panic!("{other:?}"),
    }
    let sub = br#"{"type":"subscribe","status":"success","subscriptions":[]}"#;
    assert_eq!(d.decode(sub, &m), Ok(Frame::Control));
}

#[test]
fn malformed_frames_are_errors_never_panics() {
    let m = master();
    let mut d = Decoder::new();
    let cases: &[(&[u8], DecodeError)] = &[
        (b"not json", DecodeError::Json),
        (b"{\"type\":", DecodeError::Json),
        (b"[1,2]", DecodeError::NotObject),
        (b"42", DecodeError::NotObject),
        (b"{\"type\":\"weird\"}", DecodeError::UnknownType),
        (b"{}", DecodeError::Missing("type")),
        (br#"{"type":"market_data","exchange":"NSE","data":{"ltp":1}}"#, DecodeError::Missing("symbol")),
        (br#"{"type":"market_data","symbol":"NOPE","exchange":"NSE","data":{"ltp":1}}"#, DecodeError::UnknownSymbol),
        (br#"{"type":"market_data","symbol":"SBIN","exchange":"XX","data":{"ltp":1}}"#, DecodeError::UnknownExchange),
        (br#"{"type":"market_data","symbol":"SBIN","exchange":"NSE","data":{}}"#, DecodeError::Missing("ltp")),
        (br#"{"type":"market_data","symbol":"SBIN","exchange":"NSE","data":{"ltp":"abc"}}"#, DecodeError::Invalid("ltp")),
        (br#"{"type":"market_data","symbol":"SBIN","exchange":"NSE","data":{"ltp":true}}"#, DecodeError::Invalid("ltp")),
        (br#"{"type":"market_data","symbol":"SBIN","exchange":"NSE","data":{"ltp":[1]}}"#, DecodeError::Invalid("ltp")),
        (br#"{"type":"market_data","symbol":"SBIN","exchange":"NSE","data":{"ltp":-3}}"#, DecodeError::Invalid("ltp")),
        (br#"{"type":"market_data","symbol":"SBIN","exchange":"NSE","data":{"ltp":1,"volume":"x"}}"#, DecodeError::Invalid("volume")),
        (br#"{"type":"market_data","symbol":"SBIN","exchange":"NSE","data":{"ltp":1,"depth":5}}"#, DecodeError::Invalid("depth")),
        (br#"{"type":"market_data","symbol":"SBIN","exchange":"NSE","data":{"ltp":1,"depth":{"buy":3}}}"#, DecodeError::Invalid("depth.buy")),
        (br#"{"type":"market_data","symbol":"SBIN","exchange":"NSE","data":"x"}"#, DecodeError::Invalid("data")),
        (br#"{"type":"market_data","symbol":"SBIN","exchange":"NSE","mode":7,"data":{"ltp":1}}"#, DecodeError::Invalid("mode")),
        (br#"{"type":"market_data","symbol":5,"exchange":"NSE","data":{"ltp":1}}"#, DecodeError::Invalid("symbol")),
    ];
    for (bytes, want) in cases {
        assert_eq!(d.decode(bytes, &m), Err(*want), "{}", String::from_utf8_lossy(bytes));
    }
    let huge = vec![b' '; MAX_FRAME + 1];
    assert_eq!(d.decode(&huge, &m), Err(DecodeError::TooLarge(MAX_FRAME + 1)));
    // The decoder still works after every failure.
    let ok = br#"{"type":"market_data","symbol":"SBIN","exchange":"NSE","data":{"ltp":1}}"#;
    assert!(matches!(d.decode(ok, &m), Ok(Frame::Tick(_))));
}

/// The one-pass field collection agrees with one `get` per name, on the shapes that
/// differ only in how keys are found: aliases, null first aliases, duplicate keys, depth
/// beside or inside `data`, wrong types.
#[test]
fn one_pass_fields_agree_with_lookups() {
    let frames = [
        r#"{"ltp":1.5,"close":2,"prev_close":3,"bid":4,"ask_price":5,"ask":6}"#,
        r#"{"ltp":1.5,"close":null,"prev_close":3,"bid_price":null,"bid":4}"#,
        r#"{"ltp":1.5,"ltp":2.5,"volume":"7","volume":8,"ltq":"2.0","timestamp":9}"#,
        r#"{"ltp":"10.25","bids":[{"price":9,"qty":3}],"asks":[{"price":11,"quantity":2}]}"#,
        r#"{"ltp":1,"depth":{"bids":[{"price":1,"orders":2}],"sell":[{"price":2}]}}"#,
        r#"{"ltp":1,"depth":5}"#,
        r#"{"ltp":true}"#,
        r#"{"open":1}"#,
        r#"{"ltp":1,"totalbuyqty":"x"}"#,
        r#"{"ltp":1,"oi":1.5,"ltt":null,"timestamp":"12"}"#,
        r#"[1,2]"#,
    ];
    let mut d = Decoder::new();
    for f in frames {
        let (a, b) = d
            .with_root(f.as_bytes(), |v| {
                Ok((super::quote_fields(v), super::quote_fields_by_lookup(v)))
            })
            .expect(f);
        assert_eq!(a, b, "{f}");
    }
}
