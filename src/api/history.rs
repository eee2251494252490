//! Candles: `history` (POST) and `ticker` (GET `/api/v1/ticker/<EXCH>:<SYMBOL>`), answered
//! by [`crate::refdata::history`]'s deterministic walk around each instrument's reference
//! price (OPENALGO.md 2b). Errors use shape A.

#![forbid(unsafe_code)]

use super::Api;
use super::auth::Peer;
use super::error::{ApiError, ApiResult, success};
use super::json::{Body, MAX_STRING};
use super::limits::Class;
use super::reference::date_a;
use super::surface::{as_a, shape_a};
use crate::instruments::InstrumentKind;
use crate::refdata::history::{self, Candle, Interval, Series};
use crate::refdata::ist;
use crate::types::Exchange;
use axum::extract::{Extension, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

fn not_found(symbol: &str, exchange: &str) -> ApiError {
    shape_a(
        "symbol",
        format!(
            "Symbol '{symbol}' not found for exchange '{exchange}'. Check the symbol with the search endpoint"
        ),
    )
}

fn interval_of(text: &str) -> Result<Interval, ApiError> {
    Interval::parse(text.trim()).ok_or_else(|| {
        shape_a(
            "interval",
            format!(
                "Invalid interval '{text}'. Supported: {}, {}, D, W, M, Q, Y",
                history::MINUTES.join(", "),
                history::HOURS.join(", ")
            ),
        )
    })
}

/// The exchange named by `text`, or the error naming the exchanges there are.
fn exchange_of(text: &str) -> Result<Exchange, ApiError> {
    Exchange::parse(text).ok_or_else(|| {
        shape_a(
            "exchange",
            format!("Invalid exchange. Must be one of: {}", super::reference::exchanges()),
        )
    })
}

/// The candles of `symbol` on `exchange` (not found: the error naming both); blocking
/// work goes to the blocking pool.
async fn series(
    api: &Api,
    exchange: Exchange,
    symbol: &str,
    interval: Interval,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<Vec<Candle>, ApiError> {
    let id = api
        .engine
        .instruments
        .lookup(exchange, symbol)
        .ok_or_else(|| not_found(symbol, exchange.as_str()))?;
    let master = Arc::clone(&api.engine.instruments);
    let fallback = api.ltp_or_close(id).await.unwrap_or(100.0);
    let run = move || {
        let i = master.get(id).ok_or_else(ApiError::internal)?;
        let s = Series {
            exchange: i.exchange,
            symbol: &i.symbol,
            reference: i.prev_close.map_or(fallback, |p| p.to_f64()).max(0.01),
            tick: i.tick_size.to_f64(),
            derivative: matches!(i.kind, InstrumentKind::Future | InstrumentKind::Option),
        };
        history::candles(&s, interval, start, end).map_err(|e| shape_a("end_date", e.to_string()))
    };
    tokio::task::spawn_blocking(run).await.map_err(|_| ApiError::internal())?
}

fn candle_json(c: &Candle) -> Value {
    json!({
        "timestamp": c.timestamp, "open": c.open, "high": c.high, "low": c.low,
        "close": c.close, "volume": c.volume, "oi": c.oi,
    })
}

async fn history_inner(api: &Api, req: Request) -> ApiResult {
    let body: Body = api.gate(req, Class::Other).await?;
    api.surface.hit("history");
    if let Some(r) = api.forward("history", &body).await {
        return r;
    }
    let symbol = as_a("symbol", body.str("symbol", MAX_STRING))?;
    let ex_text = as_a("exchange", body.str("exchange", MAX_STRING))?;
    let exchange = exchange_of(ex_text)?;
    let interval = interval_of(as_a("interval", body.str("interval", 8))?)?;
    let start = date_a(&body, "start_date")?;
    let end = date_a(&body, "end_date")?;
    match as_a("source", body.opt_str("source", 16))? {
        None | Some("api") | Some("db") => {}
        Some(_) => return Err(shape_a("source", "Must be one of: api, db")),
    }
    let candles = series(api, exchange, symbol, interval, start, end).await?;
    let data: Vec<Value> = candles.iter().map(candle_json).collect();
    success(json!({"status": "success", "data": data}))
}

/// POST /api/v1/history
pub(crate) async fn history(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(history_inner(&api, req).await)
}

fn query_date(q: &HashMap<String, String>, field: &str) -> Result<Option<NaiveDate>, ApiError> {
    match q.get(field).map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(t) => NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| shape_a(field, "Not a valid date: use YYYY-MM-DD")),
    }
}

async fn ticker_inner(
    api: &Api,
    peer: Option<Peer>,
    path: &str,
    q: &HashMap<String, String>,
) -> ApiResult {
    api.gate_key(peer, q.get("apikey").map(String::as_str), Class::Other).await?;
    api.surface.hit("ticker");
    if let Some(up) = api.config.upstream.clone() {
        let path = format!("ticker/{path}");
        let query: Vec<(String, String)> = q.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let r = tokio::task::spawn_blocking(move || up.get(&path, &query))
            .await
            .map_err(|_| ApiError::internal())?;
        let (status, ct, body) =
            r.map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, e.to_string()))?;
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
        return Ok((status, [(header::CONTENT_TYPE, ct)], body).into_response());
    }
    let (ex_text, symbol) = path.split_once(':').ok_or_else(|| {
        shape_a("symbol", "Use /api/v1/ticker/EXCHANGE:SYMBOL, e.g. NSE:RELIANCE")
    })?;
    let exchange = exchange_of(ex_text)?;
    let interval = interval_of(q.get("interval").map_or("D", String::as_str))?;
    let end = query_date(q, "to")?.unwrap_or_else(crate::refdata::today_ist);
    let start = query_date(q, "from")?.unwrap_or(end - chrono::Days::new(30));
    let txt = match q.get("format").map(|s| s.to_ascii_lowercase()) {
        None => false,
        Some(f) if f == "json" || f.is_empty() => false,
        Some(f) if f == "txt" => true,
        Some(_) => return Err(shape_a("format", "Must be one of: json, txt")),
    };
    let candles = series(api, exchange, symbol, interval, start, end).await?;
    if !txt {
        let data: Vec<Value> = candles.iter().map(candle_json).collect();
        return success(json!({"status": "success", "data": data}));
    }
    let mut out = String::with_capacity(candles.len() * 64);
    for c in &candles {
        let t = chrono::DateTime::from_timestamp(c.timestamp, 0).unwrap_or_default();
        // Daily and longer candles carry their date at 00:00 UTC; intraday ones are IST.
        let local =
            if interval.intraday() { t.with_timezone(&ist()).naive_local() } else { t.naive_utc() };
        let _ = writeln!(
            out,
            "{}:{},{},{},{},{},{},{},{}",
            exchange.as_str(),
            symbol,
            local.format("%Y-%m-%d"),
            local.format("%H:%M:%S"),
            c.open,
            c.high,
            c.low,
            c.close,
            c.volume
        );
    }
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], out).into_response())
}

/// GET /api/v1/ticker/<EXCH>:<SYMBOL>?apikey&interval&from&to&format=json|txt
pub(crate) async fn ticker(
    State(api): State<Arc<Api>>,
    Path(path): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    peer: Option<Extension<Peer>>,
) -> Response {
    api.respond(ticker_inner(&api, peer.map(|p| p.0), &path, &q).await)
}
