//! Reference data from the instrument master: symbol, search, expiry, instruments (GET,
//! JSON or CSV), market/holidays, market/timings, margin (the sandbox's leverage rules)
//! and telegram/notify (which needs an upstream OpenAlgo). OPENALGO.md section 2b.
//!
//! Validation errors of the data endpoints use shape A (per field); margin and telegram
//! use shape B (plain text), as OpenAlgo does.

#![forbid(unsafe_code)]

use super::Api;
use super::auth::Peer;
use super::error::{ApiError, ApiResult, success};
use super::json::{Body, MAX_STRING};
use super::limits::Class;
use super::surface::{as_a, px, shape_a};
use crate::instruments::{Instrument, InstrumentKind, format_expiry};
use crate::refdata::{calendar, margin, options, today_ist};
use crate::types::{Exchange, Money, Price, PriceType, Product, Qty, Side};
use axum::extract::{Extension, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// Most rows `search` returns.
pub const MAX_SEARCH: usize = 500;

/// Most positions in one `margin` request.
pub const MAX_MARGIN_POSITIONS: usize = 50;

/// The exchanges, for error messages.
pub(crate) fn exchanges() -> String {
    Exchange::ALL.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", ")
}

/// Reads `field` as an exchange, in shape A.
fn exchange_a(body: &Body, field: &str) -> Result<Exchange, ApiError> {
    let text = as_a(field, body.str(field, MAX_STRING))?;
    Exchange::parse(text)
        .ok_or_else(|| shape_a(field, format!("Invalid exchange. Must be one of: {}", exchanges())))
}

/// One master row as OpenAlgo's `symbol` and `search` show it.
pub(crate) fn instrument_row(i: &Instrument) -> Value {
    json!({
        "id": i.id.0 + 1,
        "symbol": i.symbol,
        "brsymbol": i.symbol,
        "name": i.name,
        "exchange": i.exchange.as_str(),
        "brexchange": i.exchange.as_str(),
        "token": i.token,
        "expiry": i.expiry.map(format_expiry).unwrap_or_default(),
        "strike": i.strike.map_or(-1.0, px),
        "lotsize": i.lot_size,
        "instrumenttype": i.instrument_type,
        "tick_size": px(i.tick_size),
        // OpenAlgo's master column (a float, 1.0 unless the contract is a fraction or a
        // multiple of its underlying: Delta Exchange's BTCUSDFUT is 0.001).
        "contract_value": i.contract_value.to_f64(),
        "freeze_qty": 1,
    })
}

async fn symbol_inner(api: &Api, req: Request) -> ApiResult {
    let body = api.gate(req, Class::Other).await?;
    api.surface.hit("symbol");
    let symbol = as_a("symbol", body.str("symbol", MAX_STRING))?;
    let exchange = exchange_a(&body, "exchange")?;
    let m = &api.engine.instruments;
    let i = m.lookup(exchange, symbol).and_then(|id| m.get(id)).ok_or_else(|| {
        ApiError::not_found(format!("Symbol {symbol} not found in exchange {}", exchange.as_str()))
    })?;
    success(json!({"status": "success", "data": instrument_row(i)}))
}

/// POST /api/v1/symbol
pub(crate) async fn symbol(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(symbol_inner(&api, req).await)
}

async fn search_inner(api: &Api, req: Request) -> ApiResult {
    let body = api.gate(req, Class::Other).await?;
    api.surface.hit("search");
    let query = as_a("query", body.str("query", MAX_STRING))?.to_ascii_uppercase();
    let exchange = match as_a("exchange", body.opt_str("exchange", MAX_STRING))? {
        None | Some("") => None,
        Some(_) => Some(exchange_a(&body, "exchange")?),
    };
    let terms: Vec<&str> = query.split_whitespace().collect();
    let rows: Vec<Value> = api
        .engine
        .instruments
        .iter()
        .filter(|i| exchange.is_none_or(|e| i.exchange == e))
        .filter(|i| {
            let (s, n) = (i.symbol.to_ascii_uppercase(), i.name.to_ascii_uppercase());
            terms.iter().all(|t| s.contains(t) || n.contains(t))
        })
        .take(MAX_SEARCH)
        .map(instrument_row)
        .collect();
    let message = if rows.is_empty() {
        "No matching symbols found".to_string()
    } else {
        format!("Found {} matching symbols", rows.len())
    };
    success(json!({"status": "success", "message": message, "data": rows}))
}

/// POST /api/v1/search
pub(crate) async fn search(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(search_inner(&api, req).await)
}

async fn expiry_inner(api: &Api, req: Request) -> ApiResult {
    let body = api.gate(req, Class::Other).await?;
    api.surface.hit("expiry");
    let symbol = as_a("symbol", body.str("symbol", MAX_STRING))?;
    let exchange = exchange_a(&body, "exchange")?;
    if !exchange.is_derivative() {
        return Err(shape_a(
            "exchange",
            "Invalid exchange for expiry: use a derivatives exchange (NFO, BFO, MCX, CDS, BCD, NCDEX, NCO, CRYPTO)",
        ));
    }
    let kind_text = as_a("instrumenttype", body.str("instrumenttype", MAX_STRING))?;
    let kind = match kind_text.to_ascii_lowercase().as_str() {
        "futures" => InstrumentKind::Future,
        "options" => InstrumentKind::Option,
        _ => return Err(shape_a("instrumenttype", "Must be one of: futures, options")),
    };
    let dates = options::expiries(&api.engine.instruments, symbol, exchange, kind, today_ist());
    let data: Vec<String> = dates.into_iter().map(format_expiry).collect();
    let what = if kind == InstrumentKind::Future { "futures" } else { "options" };
    let message = if data.is_empty() {
        format!("No expiry dates found for {symbol} {what} in {}", exchange.as_str())
    } else {
        format!("Found {} expiry dates for {symbol} {what} in {}", data.len(), exchange.as_str())
    };
    success(json!({"status": "success", "message": message, "data": data}))
}

/// POST /api/v1/expiry
pub(crate) async fn expiry(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(expiry_inner(&api, req).await)
}

/// The columns of the `instruments` CSV, OpenAlgo's master columns.
pub const CSV_COLUMNS: [&str; 12] = crate::refdata::upstream::MASTER_COLUMNS;

async fn instruments_inner(
    api: &Api,
    peer: Option<Peer>,
    q: &HashMap<String, String>,
) -> ApiResult {
    api.gate_key(peer, q.get("apikey").map(String::as_str), Class::Other).await?;
    api.surface.hit("instruments");
    let exchange = match q.get("exchange").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => None,
        Some(e) => Some(Exchange::parse(e).ok_or_else(|| {
            shape_a("exchange", format!("Invalid exchange. Must be one of: {}", exchanges()))
        })?),
    };
    let csv = match q.get("format").map(|s| s.to_ascii_lowercase()) {
        None => false,
        Some(f) if f == "json" || f.is_empty() => false,
        Some(f) if f == "csv" => true,
        Some(_) => return Err(shape_a("format", "Must be one of: json, csv")),
    };
    let rows = api.engine.instruments.iter().filter(|i| exchange.is_none_or(|e| i.exchange == e));
    if csv {
        let mut w = csv::Writer::from_writer(Vec::new());
        let text = |_: csv::Error| ApiError::internal();
        w.write_record(CSV_COLUMNS).map_err(text)?;
        for i in rows {
            let r = instrument_row(i);
            let cells: Vec<String> = CSV_COLUMNS
                .iter()
                .map(|c| match &r[*c] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            w.write_record(&cells).map_err(text)?;
        }
        let bytes = w.into_inner().map_err(|_| ApiError::internal())?;
        return Ok((
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (header::CONTENT_DISPOSITION, "attachment; filename=instruments.csv"),
            ],
            bytes,
        )
            .into_response());
    }
    let data: Vec<Value> = rows
        .map(|i| {
            let mut r = instrument_row(i);
            if let Value::Object(m) = &mut r {
                m.remove("id");
                m.remove("freeze_qty");
            }
            r
        })
        .collect();
    success(json!({
        "status": "success",
        "message": format!("Found {} instruments", data.len()),
        "data": data,
    }))
}

/// GET /api/v1/instruments?apikey=..&exchange=..&format=json|csv
pub(crate) async fn instruments(
    State(api): State<Arc<Api>>,
    Query(q): Query<HashMap<String, String>>,
    peer: Option<Extension<Peer>>,
) -> Response {
    api.respond(instruments_inner(&api, peer.map(|p| p.0), &q).await)
}

async fn holidays_inner(api: &Api, req: Request) -> ApiResult {
    let body = api.gate(req, Class::Other).await?;
    api.surface.hit("market/holidays");
    let year = match as_a("year", body.opt_int("year"))? {
        None => today_ist().year(),
        Some(y) if (2000..=2100).contains(&y) => y as i32,
        Some(_) => return Err(shape_a("year", "Year must be between 2000 and 2100")),
    };
    let closed: Vec<&str> = calendar::CLOSED_ON_HOLIDAYS.iter().map(|e| e.as_str()).collect();
    let open: Vec<&str> = calendar::OPEN_ON_HOLIDAYS.iter().map(|e| e.as_str()).collect();
    let data: Vec<Value> = calendar::holidays(year)
        .into_iter()
        .map(|h| {
            json!({
                "date": h.date.format("%Y-%m-%d").to_string(),
                "description": h.description,
                "holiday_type": "TRADING_HOLIDAY",
                "closed_exchanges": closed,
                "open_exchanges": open,
            })
        })
        .collect();
    success(json!({"status": "success", "year": year, "timezone": "Asia/Kolkata", "data": data}))
}

/// POST /api/v1/market/holidays
pub(crate) async fn holidays(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(holidays_inner(&api, req).await)
}

/// Reads a `YYYY-MM-DD` date field, in shape A.
pub(crate) fn date_a(body: &Body, field: &str) -> Result<NaiveDate, ApiError> {
    let text = as_a(field, body.str(field, 32))?;
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| shape_a(field, "Not a valid date: use YYYY-MM-DD"))
}

async fn timings_inner(api: &Api, req: Request) -> ApiResult {
    let body = api.gate(req, Class::Other).await?;
    api.surface.hit("market/timings");
    let date = match body.get("date") {
        None => today_ist(),
        Some(_) => date_a(&body, "date")?,
    };
    let data: Vec<Value> = calendar::timings(date)
        .into_iter()
        .map(
            |(e, start, end)| json!({"exchange": e.as_str(), "start_time": start, "end_time": end}),
        )
        .collect();
    success(json!({"status": "success", "data": data}))
}

/// POST /api/v1/market/timings
pub(crate) async fn timings(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(timings_inner(&api, req).await)
}

/// One position of a margin request.
async fn margin_leg(api: &Api, i: usize, v: &Value) -> Result<margin::Leg, ApiError> {
    let at = |msg: String| ApiError::bad(format!("positions[{i}]: {msg}"));
    let body = Body::from_value(v.clone()).map_err(|e| at(e.message))?;
    let instrument = super::orders::instrument(api, &body).map_err(|e| at(e.message))?;
    let inst = api.engine.instruments.get(instrument).ok_or_else(ApiError::internal)?;
    let side = Side::parse(body.str("action", MAX_STRING).map_err(|e| at(e.message))?)
        .ok_or_else(|| at("Invalid action: must be BUY or SELL".into()))?;
    let qty = body.count("quantity").map_err(|e| at(e.message))?;
    if qty == 0 {
        return Err(at("Invalid quantity: must be greater than 0".into()));
    }
    let product = Product::parse(body.str("product", MAX_STRING).map_err(|e| at(e.message))?)
        .ok_or_else(|| at("Invalid product: must be MIS, CNC or NRML".into()))?;
    let price_type = PriceType::parse(
        body.opt_str("pricetype", MAX_STRING).map_err(|e| at(e.message))?.unwrap_or("MARKET"),
    )
    .ok_or_else(|| at("Invalid pricetype: must be MARKET, LIMIT, SL or SL-M".into()))?;
    let price = body.opt_price("price").map_err(|e| at(e.message))?.unwrap_or_default();
    let trigger = body.opt_price("trigger_price").map_err(|e| at(e.message))?.unwrap_or_default();
    let ltp = api.ltp_or_close(instrument).await.and_then(Price::from_f64).unwrap_or_default();
    Ok(margin::Leg {
        kind: inst.kind,
        side,
        product,
        price_type,
        qty: Qty(qty),
        price,
        trigger,
        ltp,
        contract_value: inst.contract_value,
    })
}

async fn margin_inner(api: &Api, req: Request) -> ApiResult {
    let body = api.gate(req, Class::Other).await?;
    api.surface.hit("margin");
    if let Some(r) = api.forward("margin", &body).await {
        return r;
    }
    let positions = body.array("positions")?;
    if positions.is_empty() || positions.len() > MAX_MARGIN_POSITIONS {
        return Err(ApiError::bad(format!(
            "Invalid positions: give 1 to {MAX_MARGIN_POSITIONS} positions"
        )));
    }
    let config = crate::exec::config::ExecConfig::default();
    let mut total = Money::ZERO;
    for (i, v) in positions.iter().enumerate() {
        let leg = margin_leg(api, i, v).await?;
        total = total.plus(margin::leg_margin(&config, &leg));
    }
    success(json!({
        "status": "success",
        "message": "Margin computed from the sandbox's margin rules (leverage per contract kind and product); no SPAN or exposure split",
        "data": {
            "total_margin_required": total.to_f64(),
            "span_margin": total.to_f64(),
            "exposure_margin": 0.0,
        }
    }))
}

/// POST /api/v1/margin
pub(crate) async fn margin(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(margin_inner(&api, req).await)
}

async fn telegram_inner(api: &Api, req: Request) -> ApiResult {
    let body = api.gate(req, Class::Other).await?;
    api.surface.hit("telegram/notify");
    if let Some(r) = api.forward("telegram/notify", &body).await {
        return r;
    }
    body.str("username", MAX_STRING)?;
    body.str("message", 4096)?;
    if let Some(p) = body.opt_int("priority")? {
        if !(1..=10).contains(&p) {
            return Err(ApiError::bad("Invalid priority: must be between 1 and 10"));
        }
    }
    Err(ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "Telegram notifications need an upstream OpenAlgo server (start tickfill with --upstream-rest); tickfill has no Telegram bot of its own",
    ))
}

/// POST /api/v1/telegram/notify
pub(crate) async fn telegram(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(telegram_inner(&api, req).await)
}

/// Intervals the local candles offer (`intervals`).
async fn intervals_inner(api: &Api, req: Request) -> ApiResult {
    let body = api.gate(req, Class::Other).await?;
    api.surface.hit("intervals");
    if let Some(r) = api.forward("intervals", &body).await {
        return r;
    }
    use crate::refdata::history::{HOURS, MINUTES};
    success(json!({
        "status": "success",
        "data": {
            "seconds": [],
            "minutes": MINUTES,
            "hours": HOURS,
            "days": ["D"],
            "weeks": ["W"],
            "months": ["M"],
        }
    }))
}

/// POST /api/v1/intervals
pub(crate) async fn intervals(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(intervals_inner(&api, req).await)
}
