//! quotes, multiquotes and depth, answered from the quote board while its quote is fresh
//! (at most the freshness limit old, 5 s). A symbol nobody streams, or whose last quote is
//! older, is fetched from the upstream REST server through the watchdog (which also
//! publishes it through the sequencer, so the engine sees the same price). When nothing
//! can be fetched, an old quote is served with `"stale": true` and its `age_ms` (never as
//! current); with no quote at all it is a 404 naming the symbol.

#![forbid(unsafe_code)]

use super::Api;
use super::books::num;
use super::error::{ApiError, ApiResult, success};
use super::json::Body;
use super::limits::Class;
use super::orders::instrument;
use crate::event::{Level, Tick};
use crate::types::{Price, SymbolId};
use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::Arc;

/// Most symbols in one multiquotes request.
pub const MAX_MULTIQUOTES: usize = 500;

/// A quote to show: the tick, and its age when it is older than the freshness limit
/// (then it is shown marked stale, never as current).
struct Shown {
    tick: Tick,
    stale_ms: Option<u64>,
}

/// The latest quote of a symbol: the board's when fresh, else one fetched through the
/// watchdog (which also publishes it through the sequencer, so the engine sees the same
/// price); an old board quote marked stale when nothing could be fetched; else a 404.
async fn latest(api: &Api, id: SymbolId) -> Result<Shown, ApiError> {
    let max_age = api.engine.quote_max_age;
    if api.quote_is_fresh(id, max_age) {
        if let Some(q) = api.engine.board.read(id) {
            return Ok(Shown { tick: q.tick, stale_ms: None });
        }
    }
    if let Some(watchdog) = api.engine.watchdog.clone() {
        let fetched = tokio::task::spawn_blocking(move || watchdog.fetch_quote_now(id)).await;
        if let Ok(Ok(tick)) = fetched {
            return Ok(Shown { tick, stale_ms: None });
        }
    }
    match api.engine.board.read(id) {
        Some(q) => {
            let age_ns = crate::clock::mono_now_ns().saturating_sub(q.updated_ns);
            let stale = age_ns > u64::try_from(max_age.as_nanos()).unwrap_or(u64::MAX);
            Ok(Shown { tick: q.tick, stale_ms: stale.then_some(age_ns / 1_000_000) })
        }
        None => {
            let name = api
                .engine
                .instruments
                .get(id)
                .map_or_else(String::new, |i| format!("{}:{}", i.exchange.as_str(), i.symbol));
            Err(ApiError::not_found(format!(
                "No quote yet for {name}: the feed has not sent one; retry shortly"
            )))
        }
    }
}

/// The quote to price from, for endpoints that show no freshness marks (option chain,
/// greeks, synthetic future): [`latest`]'s tick.
pub(crate) async fn latest_tick(api: &Api, id: SymbolId) -> Result<Tick, ApiError> {
    latest(api, id).await.map(|s| s.tick)
}

/// Adds `"stale": true` and `"age_ms"` to a quote's data when it is old.
fn mark(mut data: Value, shown: &Shown) -> Value {
    if let (Some(age), Value::Object(o)) = (shown.stale_ms, &mut data) {
        o.insert("stale".into(), json!(true));
        o.insert("age_ms".into(), json!(age));
    }
    data
}

fn prev_close(api: &Api, t: &Tick) -> Price {
    if t.close.is_positive() {
        return t.close;
    }
    api.engine.instruments.get(t.symbol).and_then(|i| i.prev_close).unwrap_or_default()
}

fn quote_json(api: &Api, t: &Tick) -> Value {
    json!({
        "open": num(t.open),
        "high": num(t.high),
        "low": num(t.low),
        "ltp": num(t.ltp),
        "ask": num(t.ask),
        "bid": num(t.bid),
        "prev_close": num(prev_close(api, t)),
        "volume": t.volume,
        "oi": t.oi,
    })
}

fn levels(levels: &[Level; 5], carried: bool, top: (Price, i64)) -> Vec<Value> {
    (0..5)
        .map(|i| {
            let (price, quantity) = if carried {
                (levels[i].price, levels[i].quantity)
            } else if i == 0 {
                top
            } else {
                (Price::ZERO, 0)
            };
            json!({"price": num(price), "quantity": quantity})
        })
        .collect()
}

fn depth_json(api: &Api, t: &Tick) -> Value {
    let carried = t.depth.levels > 0;
    json!({
        "open": num(t.open),
        "high": num(t.high),
        "low": num(t.low),
        "ltp": num(t.ltp),
        "ltq": t.last_qty,
        "prev_close": num(prev_close(api, t)),
        "volume": t.volume,
        "oi": t.oi,
        "totalbuyqty": t.total_buy_qty,
        "totalsellqty": t.total_sell_qty,
        "bids": levels(&t.depth.buy, carried, (t.bid, t.bid_qty)),
        "asks": levels(&t.depth.sell, carried, (t.ask, t.ask_qty)),
    })
}

async fn quotes_inner(api: &Api, req: Request) -> ApiResult {
    let body = api.gate(req, Class::Other).await?;
    let id = instrument(api, &body)?;
    let shown = latest(api, id).await?;
    success(json!({"status": "success", "data": mark(quote_json(api, &shown.tick), &shown)}))
}

/// POST /api/v1/quotes
pub(crate) async fn quotes(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(quotes_inner(&api, req).await)
}

async fn depth_inner(api: &Api, req: Request) -> ApiResult {
    let body = api.gate(req, Class::Other).await?;
    let id = instrument(api, &body)?;
    let shown = latest(api, id).await?;
    success(json!({"status": "success", "data": mark(depth_json(api, &shown.tick), &shown)}))
}

/// POST /api/v1/depth
pub(crate) async fn depth(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(depth_inner(&api, req).await)
}

async fn one_quote(api: &Api, entry: &Value) -> Value {
    let text = |k: &str| entry.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let (symbol, exchange) = (text("symbol"), text("exchange"));
    let result = match Body::from_value(entry.clone()).and_then(|b| instrument(api, &b)) {
        Ok(id) => latest(api, id).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(shown) => json!({
            "symbol": symbol,
            "exchange": exchange,
            "data": mark(quote_json(api, &shown.tick), &shown),
        }),
        Err(e) => json!({"symbol": symbol, "exchange": exchange, "error": e.message}),
    }
}

async fn multiquotes_inner(api: &Api, req: Request) -> ApiResult {
    let body = api.gate(req, Class::Other).await?;
    let symbols = body.array("symbols")?;
    if symbols.is_empty() {
        return Err(ApiError::bad("Invalid symbols: at least one symbol is required"));
    }
    if symbols.len() > MAX_MULTIQUOTES {
        return Err(ApiError::bad(format!(
            "Invalid symbols: at most {MAX_MULTIQUOTES} symbols per request"
        )));
    }
    let mut results = Vec::with_capacity(symbols.len());
    for entry in symbols {
        results.push(one_quote(api, entry).await);
    }
    success(json!({"status": "success", "results": results}))
}

/// POST /api/v1/multiquotes
pub(crate) async fn multiquotes(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(multiquotes_inner(&api, req).await)
}
