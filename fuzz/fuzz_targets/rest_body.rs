//! The REST body parser and every field reader the endpoints use.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tickfill::api::json::Body;

const FIELDS: &[&str] = &[
    "apikey",
    "strategy",
    "symbol",
    "exchange",
    "action",
    "quantity",
    "price",
    "pricetype",
    "product",
    "trigger_price",
    "disclosed_quantity",
    "orderid",
    "position_size",
    "symbols",
    "interval",
    "start_date",
    "end_date",
];

fuzz_target!(|data: &[u8]| {
    let Ok(body) = Body::parse(data) else { return };
    let _ = body.apikey();
    let _ = body.deny_unknown(FIELDS);
    for f in FIELDS {
        let _ = body.get(f);
        let _ = body.opt_str(f, 64);
        let _ = body.str(f, 64);
        let _ = body.opt_int(f);
        let _ = body.opt_count(f);
        let _ = body.count(f);
        let _ = body.opt_price(f);
        let _ = body.price(f);
        if let Ok(items) = body.array(f) {
            for item in items.iter().take(64) {
                if let Ok(inner) = Body::from_value(item.clone()) {
                    let _ = inner.str("symbol", 64);
                    let _ = inner.opt_price("price");
                }
            }
        }
    }
});
