//! Option endpoints answered from the master and the quote board: optionsymbol,
//! optionchain, optiongreeks, multioptiongreeks, syntheticfuture (OPENALGO.md 2b).
//! Validation errors use shape C ("Validation error" with `errors`).

#![forbid(unsafe_code)]

use super::Api;
use super::error::{ApiError, ApiResult, success};
use super::json::{Body, MAX_STRING};
use super::limits::Class;
use super::surface::{as_c, px, round, shape_c};
use crate::instruments::{Instrument, InstrumentKind, format_expiry};
use crate::refdata::greeks::{self, Contract};
use crate::refdata::{compact_expiry, options, parse_compact_expiry, today_ist};
use crate::types::{Exchange, SymbolId};
use axum::extract::{Request, State};
use axum::response::Response;
use chrono::NaiveDate;
use serde_json::{Value, json};
use std::sync::Arc;

/// Most symbols in one multioptiongreeks request.
pub const MAX_MULTI_GREEKS: usize = 50;
/// Most strikes each side of ATM in one chain.
pub const MAX_STRIKE_COUNT: i64 = 100;

fn exchange_c(body: &Body, field: &str) -> Result<Exchange, ApiError> {
    let text = as_c(field, body.str(field, MAX_STRING))?;
    Exchange::parse(text).ok_or_else(|| {
        shape_c(
            field,
            format!("Invalid exchange. Must be one of: {}", super::reference::exchanges()),
        )
    })
}

/// The instrument whose LTP stands for an underlying: the symbol on the exchange given,
/// else (for a derivatives exchange) the index or the stock it derives from.
pub(crate) fn underlying_id(api: &Api, exchange: Exchange, symbol: &str) -> Option<SymbolId> {
    let m = &api.engine.instruments;
    let candidates: &[Exchange] = match exchange {
        Exchange::Nfo => &[Exchange::Nfo, Exchange::NseIndex, Exchange::Nse],
        Exchange::Bfo => &[Exchange::Bfo, Exchange::BseIndex, Exchange::Bse],
        _ => &[],
    };
    m.lookup(exchange, symbol).or_else(|| candidates.iter().find_map(|e| m.lookup(*e, symbol)))
}

/// An underlying resolved: its option name and exchange, and its LTP.
pub(crate) struct Underlying {
    pub name: String,
    pub option_exchange: Exchange,
    pub ltp: f64,
}

pub(crate) async fn underlying(api: &Api, body: &Body) -> Result<Underlying, ApiError> {
    let symbol = as_c("underlying", body.str("underlying", MAX_STRING))?;
    let exchange = exchange_c(body, "exchange")?;
    let id = underlying_id(api, exchange, symbol).ok_or_else(|| {
        ApiError::not_found(format!(
            "Underlying {symbol} not found on {}: check it with the search endpoint",
            exchange.as_str()
        ))
    })?;
    let ltp = super::quotes::latest_tick(api, id).await?.ltp.to_f64();
    let name = options::underlying_name(&api.engine.instruments, exchange, symbol);
    Ok(Underlying { name, option_exchange: options::derivative_exchange(exchange), ltp })
}

/// The expiry asked for, or the nearest listed one.
pub(crate) fn expiry(
    api: &Api,
    body: &Body,
    u: &Underlying,
    required: bool,
) -> Result<NaiveDate, ApiError> {
    match as_c("expiry_date", body.opt_str("expiry_date", 16))? {
        Some(t) if !t.trim().is_empty() => parse_compact_expiry(t).ok_or_else(|| {
            shape_c("expiry_date", "Invalid expiry_date: use DDMMMYY, e.g. 30DEC26")
        }),
        _ if required => Err(shape_c("expiry_date", "Missing data for required field.")),
        _ => options::expiries(
            &api.engine.instruments,
            &u.name,
            u.option_exchange,
            InstrumentKind::Option,
            today_ist(),
        )
        .first()
        .copied()
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "No option expiries listed for {} on {}",
                u.name,
                u.option_exchange.as_str()
            ))
        }),
    }
}

fn strike_int(body: &Body) -> Result<Option<f64>, ApiError> {
    match as_c("strike_int", body.opt_price("strike_int"))? {
        None => Ok(None),
        Some(p) if p.is_positive() => Ok(Some(p.to_f64())),
        Some(_) => Err(shape_c("strike_int", "Must be greater than 0")),
    }
}

fn option_type(body: &Body) -> Result<bool, ApiError> {
    match as_c("option_type", body.str("option_type", 8))?.to_ascii_uppercase().as_str() {
        "CE" => Ok(true),
        "PE" => Ok(false),
        _ => Err(shape_c("option_type", "Must be one of: CE, PE")),
    }
}

/// Resolves the option an offset names; the instrument and the underlying.
pub(crate) async fn resolve_option(
    api: &Api,
    body: &Body,
) -> Result<(SymbolId, Underlying, String), ApiError> {
    let u = underlying(api, body).await?;
    let offset = as_c("offset", body.str("offset", 8))?.to_ascii_uppercase();
    let steps = options::parse_offset(&offset)
        .ok_or_else(|| shape_c("offset", "Must be ATM, ITM1 to ITM50 or OTM1 to OTM50"))?;
    let is_call = option_type(body)?;
    let step = strike_int(body)?;
    let expiry = expiry(api, body, &u, false)?;
    let chain = options::chain(&api.engine.instruments, &u.name, u.option_exchange, expiry);
    if chain.is_empty() {
        return Err(ApiError::not_found(format!(
            "No options found for {} expiring {} on {}",
            u.name,
            compact_expiry(expiry),
            u.option_exchange.as_str()
        )));
    }
    let (id, _) = options::resolve(&chain, u.ltp, step, steps, is_call, &offset)
        .map_err(|e| ApiError::not_found(e.to_string()))?;
    Ok((id, u, offset))
}

async fn optionsymbol_inner(api: &Api, req: Request) -> ApiResult {
    let body = api.gate(req, Class::Other).await?;
    api.surface.hit("optionsymbol");
    let (id, u, _) = resolve_option(api, &body).await?;
    let i = api.engine.instruments.get(id).ok_or_else(ApiError::internal)?;
    success(json!({
        "status": "success",
        "symbol": i.symbol,
        "exchange": i.exchange.as_str(),
        "lotsize": i.lot_size,
        "tick_size": px(i.tick_size),
        "freeze_qty": 1,
        "underlying_ltp": u.ltp,
    }))
}

/// POST /api/v1/optionsymbol
pub(crate) async fn optionsymbol(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(optionsymbol_inner(&api, req).await)
}

async fn leg_json(api: &Api, id: SymbolId, label: String) -> Value {
    let Some(i) = api.engine.instruments.get(id) else { return Value::Null };
    let tick = super::quotes::latest_tick(api, id).await.ok();
    let close = i.prev_close.map_or(0.0, px);
    let f = |p: Option<crate::types::Price>| p.map_or(0.0, px);
    json!({
        "symbol": i.symbol,
        "label": label,
        "ltp": f(tick.map(|t| t.ltp)),
        "bid": f(tick.map(|t| t.bid)),
        "ask": f(tick.map(|t| t.ask)),
        "bid_qty": tick.map_or(0, |t| t.bid_qty),
        "ask_qty": tick.map_or(0, |t| t.ask_qty),
        "open": f(tick.map(|t| t.open)),
        "high": f(tick.map(|t| t.high)),
        "low": f(tick.map(|t| t.low)),
        "prev_close": tick.map(|t| t.close).filter(|c| c.is_positive()).map_or(close, px),
        "volume": tick.map_or(0, |t| t.volume),
        "oi": tick.map_or(0, |t| t.oi),
        "lotsize": i.lot_size,
        "tick_size": px(i.tick_size),
    })
}

/// Greeks of one chain leg at the underlying's LTP, or `null` when none can be solved
/// (no price, expired, or a price below intrinsic value).
fn leg_greeks(
    spot: f64,
    strike: f64,
    expiry: NaiveDate,
    exchange: Exchange,
    is_call: bool,
    price: f64,
    rate: f64,
) -> Value {
    let seconds = crate::refdata::ist_epoch(expiry, expiry_minute(exchange)) as f64
        - chrono::Utc::now().timestamp() as f64;
    let c = Contract {
        forward: spot,
        strike,
        years: seconds / (365.0 * 86_400.0),
        rate: rate / 100.0,
        is_call,
    };
    match greeks::implied_vol(&c, price) {
        Ok(iv) => {
            let g = greeks::black76(&c, iv);
            json!({
                "implied_volatility": round(iv * 100.0, 2),
                "delta": round(g.delta, 4), "gamma": round(g.gamma, 6), "theta": round(g.theta, 4),
                "vega": round(g.vega, 4), "rho": round(g.rho, 6),
            })
        }
        Err(_) => Value::Null,
    }
}

async fn optionchain_inner(api: &Api, req: Request) -> ApiResult {
    let body = api.gate(req, Class::Other).await?;
    api.surface.hit("optionchain");
    let u = underlying(api, &body).await?;
    let expiry = expiry(api, &body, &u, true)?;
    let count = match as_c("strike_count", body.opt_int("strike_count"))? {
        None => None,
        Some(n) if (1..=MAX_STRIKE_COUNT).contains(&n) => Some(n as usize),
        Some(_) => return Err(shape_c("strike_count", "Must be between 1 and 100")),
    };
    let with_greeks = match body.get("with_greeks") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(shape_c("with_greeks", "Must be true or false")),
    };
    let rate = as_c("interest_rate", body.opt_price("interest_rate"))?.map_or(0.0, |r| r.to_f64());
    let chain = options::chain(&api.engine.instruments, &u.name, u.option_exchange, expiry);
    let atm = options::atm_index(&chain, u.ltp, None).ok_or_else(|| {
        ApiError::not_found(format!(
            "No options found for {} expiring {} on {}",
            u.name,
            compact_expiry(expiry),
            u.option_exchange.as_str()
        ))
    })?;
    let (lo, hi) = match count {
        Some(n) => (atm.saturating_sub(n), (atm + n).min(chain.len() - 1)),
        None => (0, chain.len() - 1),
    };
    let mut rows = Vec::with_capacity(hi - lo + 1);
    for (i, s) in chain.iter().enumerate().take(hi + 1).skip(lo) {
        let steps = i as i32 - atm as i32;
        let mut ce = match s.ce {
            Some(id) => leg_json(api, id, options::label(steps, true)).await,
            None => Value::Null,
        };
        let mut pe = match s.pe {
            Some(id) => leg_json(api, id, options::label(steps, false)).await,
            None => Value::Null,
        };
        if with_greeks {
            for (leg, is_call) in [(&mut ce, true), (&mut pe, false)] {
                if let Some(price) = leg.get("ltp").and_then(Value::as_f64) {
                    let g = leg_greeks(
                        u.ltp,
                        px(s.strike),
                        expiry,
                        u.option_exchange,
                        is_call,
                        price,
                        rate,
                    );
                    leg["greeks"] = g;
                }
            }
        }
        rows.push(json!({"strike": px(s.strike), "ce": ce, "pe": pe}));
    }
    success(json!({
        "status": "success",
        "underlying": u.name,
        "underlying_ltp": u.ltp,
        "expiry_date": compact_expiry(expiry),
        "atm_strike": px(chain[atm].strike),
        "chain": rows,
    }))
}

/// POST /api/v1/optionchain
pub(crate) async fn optionchain(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(optionchain_inner(&api, req).await)
}

/// The IST minute of an option's expiry on its exchange (OpenAlgo's defaults).
fn expiry_minute(exchange: Exchange) -> u32 {
    match exchange {
        Exchange::Cds | Exchange::Bcd => 12 * 60 + 30,
        Exchange::Mcx => 23 * 60 + 30,
        _ => 15 * 60 + 30,
    }
}

/// The underlying of an option for greeks: given, else the index or stock of its name,
/// else its nearest future.
fn greeks_underlying(api: &Api, body: &Body, o: &Instrument) -> Result<SymbolId, ApiError> {
    let m = &api.engine.instruments;
    if let Some(sym) = as_c("underlying_symbol", body.opt_str("underlying_symbol", MAX_STRING))? {
        let ex = match body.get("underlying_exchange") {
            Some(_) => exchange_c(body, "underlying_exchange")?,
            None => o.exchange,
        };
        return underlying_id(api, ex, sym).ok_or_else(|| {
            shape_c("underlying_symbol", format!("{sym} not found on {}", ex.as_str()))
        });
    }
    if let Some(id) = underlying_id(api, o.exchange, &o.name).filter(|id| {
        m.get(*id).is_some_and(|i| matches!(i.kind, InstrumentKind::Index | InstrumentKind::Equity))
    }) {
        return Ok(id);
    }
    let futures = options::expiries(m, &o.name, o.exchange, InstrumentKind::Future, today_ist());
    let same = o.expiry.filter(|e| futures.contains(e)).or_else(|| futures.first().copied());
    same.and_then(|e| {
        m.iter()
            .find(|i| i.kind == InstrumentKind::Future && i.name == o.name && i.expiry == Some(e))
            .map(|i| i.id)
    })
    .ok_or_else(|| {
        ApiError::not_found(format!("No underlying found for {}: give underlying_symbol", o.symbol))
    })
}

/// The greeks reply of one option (`body` holds its fields).
async fn greeks_of(api: &Api, body: &Body, default_rate: Option<f64>) -> Result<Value, ApiError> {
    let exchange = exchange_c(body, "exchange")?;
    let symbol = as_c("symbol", body.str("symbol", MAX_STRING))?;
    let m = &api.engine.instruments;
    let o = m.lookup(exchange, symbol).and_then(|id| m.get(id)).ok_or_else(|| {
        ApiError::not_found(format!("Symbol {symbol} not found on {}", exchange.as_str()))
    })?;
    let (Some(strike), Some(expiry), InstrumentKind::Option) = (o.strike, o.expiry, o.kind) else {
        return Err(shape_c("symbol", format!("{symbol} is not an option (CE or PE)")));
    };
    let is_call = !o.symbol.ends_with("PE");
    let rate = match as_c("interest_rate", body.opt_price("interest_rate"))? {
        Some(r) => r.to_f64(),
        None => default_rate.unwrap_or(0.0),
    };
    let minute = match as_c("expiry_time", body.opt_str("expiry_time", 8))? {
        None => expiry_minute(exchange),
        Some(t) => chrono::NaiveTime::parse_from_str(t.trim(), "%H:%M")
            .map(|t| {
                use chrono::Timelike;
                t.hour() * 60 + t.minute()
            })
            .map_err(|_| shape_c("expiry_time", "Use HH:MM, e.g. 15:30"))?,
    };
    let option_price = super::quotes::latest_tick(api, o.id).await?.ltp.to_f64();
    let spot = match as_c("forward_price", body.opt_price("forward_price"))? {
        Some(f) if f.is_positive() => f.to_f64(),
        Some(_) => return Err(shape_c("forward_price", "Must be greater than 0")),
        None => {
            let uid = greeks_underlying(api, body, o)?;
            super::quotes::latest_tick(api, uid).await?.ltp.to_f64()
        }
    };
    let now = chrono::Utc::now().timestamp() as f64;
    let seconds = crate::refdata::ist_epoch(expiry, minute) as f64 - now;
    if seconds <= 0.0 {
        return Err(ApiError::bad(format!("{symbol} has expired: no greeks after expiry")));
    }
    let c = Contract {
        forward: spot,
        strike: strike.to_f64(),
        years: seconds / (365.0 * 86_400.0),
        rate: rate / 100.0,
        is_call,
    };
    let iv = greeks::implied_vol(&c, option_price)
        .map_err(|e| ApiError::bad(format!("{symbol}: {e}")))?;
    let g = greeks::black76(&c, iv);
    Ok(json!({
        "status": "success",
        "symbol": o.symbol,
        "exchange": exchange.as_str(),
        "underlying": o.name,
        "strike": px(strike),
        "option_type": if is_call { "CE" } else { "PE" },
        "expiry_date": format_expiry(expiry),
        "days_to_expiry": round(seconds / 86_400.0, 4),
        "spot_price": spot,
        "option_price": option_price,
        "interest_rate": rate,
        "implied_volatility": round(iv * 100.0, 2),
        "greeks": {
            "delta": round(g.delta, 4),
            "gamma": round(g.gamma, 6),
            "theta": round(g.theta, 4),
            "vega": round(g.vega, 4),
            "rho": round(g.rho, 6),
        },
    }))
}

async fn optiongreeks_inner(api: &Api, req: Request) -> ApiResult {
    let body = api.gate(req, Class::Other).await?;
    api.surface.hit("optiongreeks");
    success(greeks_of(api, &body, None).await?)
}

/// POST /api/v1/optiongreeks
pub(crate) async fn optiongreeks(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(optiongreeks_inner(&api, req).await)
}

async fn multioptiongreeks_inner(api: &Api, req: Request) -> ApiResult {
    let body = api.gate(req, Class::Other).await?;
    api.surface.hit("multioptiongreeks");
    let symbols = as_c("symbols", body.array("symbols"))?;
    if symbols.is_empty() || symbols.len() > MAX_MULTI_GREEKS {
        return Err(shape_c("symbols", format!("Give 1 to {MAX_MULTI_GREEKS} symbols")));
    }
    let rate = as_c("interest_rate", body.opt_price("interest_rate"))?.map(|r| r.to_f64());
    let mut data = Vec::with_capacity(symbols.len());
    let mut ok = 0usize;
    for v in symbols {
        let entry = Body::from_value(v.clone());
        let result = match &entry {
            Ok(b) => greeks_of(api, b, rate).await,
            Err(e) => Err(e.clone()),
        };
        match result {
            Ok(v) => {
                ok += 1;
                data.push(v);
            }
            Err(e) => {
                let get = |k: &str| v.get(k).cloned().unwrap_or(Value::Null);
                let message = e
                    .shaped
                    .as_ref()
                    .map_or_else(|| e.message.clone(), |s| s["errors"].to_string());
                data.push(json!({
                    "status": "error", "symbol": get("symbol"), "exchange": get("exchange"), "message": message,
                }));
            }
        }
    }
    let status = match ok {
        0 => "error",
        n if n == symbols.len() => "success",
        _ => "partial",
    };
    success(json!({
        "status": status,
        "data": data,
        "summary": {"total": symbols.len(), "success": ok, "failed": symbols.len() - ok},
    }))
}

/// POST /api/v1/multioptiongreeks
pub(crate) async fn multioptiongreeks(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(multioptiongreeks_inner(&api, req).await)
}

async fn syntheticfuture_inner(api: &Api, req: Request) -> ApiResult {
    let body = api.gate(req, Class::Other).await?;
    api.surface.hit("syntheticfuture");
    let u = underlying(api, &body).await?;
    let expiry = expiry(api, &body, &u, true)?;
    let chain = options::chain(&api.engine.instruments, &u.name, u.option_exchange, expiry);
    let missing = || {
        ApiError::not_found(format!(
            "No ATM call and put for {} expiring {} on {}",
            u.name,
            compact_expiry(expiry),
            u.option_exchange.as_str()
        ))
    };
    let atm = options::atm_index(&chain, u.ltp, None).ok_or_else(missing)?;
    let s = chain[atm];
    let (Some(ce), Some(pe)) = (s.ce, s.pe) else { return Err(missing()) };
    let ce_ltp = super::quotes::latest_tick(api, ce).await?.ltp.to_f64();
    let pe_ltp = super::quotes::latest_tick(api, pe).await?.ltp.to_f64();
    let k = px(s.strike);
    success(json!({
        "status": "success",
        "underlying": u.name,
        "underlying_ltp": u.ltp,
        "expiry": compact_expiry(expiry),
        "atm_strike": k,
        "synthetic_future_price": round(k + ce_ltp - pe_ltp, 2),
    }))
}

/// POST /api/v1/syntheticfuture
pub(crate) async fn syntheticfuture(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(syntheticfuture_inner(&api, req).await)
}
