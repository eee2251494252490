//! GTT endpoints: placegttorder, modifygttorder, cancelgttorder, gttorderbook. The
//! triggers live in the execution engine (`src/exec/gtt.rs`), journaled and replayed;
//! errors use shape B (plain text), unknown or inactive ids are 404s.

#![forbid(unsafe_code)]

use super::Api;
use super::error::{ApiError, ApiResult, success};
use super::json::{Body, MAX_STRING};
use super::limits::Class;
use super::orders::{instrument, strategy};
use crate::clock::format_ist;
use crate::event::{CommandKind, GttRequest, QueryKind, RejectStatus, Reply};
use crate::exec::gtt::{GttRow, GttStatus, parse_trigger_id, trigger_id};
use crate::types::{Price, Product, Qty, Side};
use crate::views::QueryReply;
use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::Arc;

const FIELDS: &[&str] = &[
    "apikey",
    "strategy",
    "trigger_id",
    "trigger_type",
    "exchange",
    "symbol",
    "action",
    "product",
    "quantity",
    "price",
    "pricetype",
    "triggerprice_sl",
    "triggerprice_tg",
    "stoploss",
    "target",
    "expires_at",
];

/// A GTT's default life: one year.
const DEFAULT_LIFE_NS: i64 = 365 * 86_400 * 1_000_000_000;

fn expires_at(body: &Body) -> Result<i64, ApiError> {
    let now = crate::clock::wall_now_ns();
    let Some(text) = body.opt_str("expires_at", 32)? else { return Ok(now + DEFAULT_LIFE_NS) };
    let t = text.trim();
    let parsed = chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .map(|d| d.and_hms_opt(23, 59, 59).unwrap_or_default())
        })
        .map_err(|_| {
            ApiError::bad("Invalid expires_at: use YYYY-MM-DD or YYYY-MM-DD HH:MM:SS (IST)")
        })?;
    let ns = (parsed.and_utc().timestamp() - 19_800) * 1_000_000_000;
    if ns <= now {
        return Err(ApiError::bad("Invalid expires_at: must be in the future"));
    }
    Ok(ns)
}

fn positive(body: &Body, field: &str) -> Result<Price, ApiError> {
    Ok(body.opt_price(field)?.unwrap_or_default())
}

/// Reads a GTT request (place and modify share the fields).
fn gtt_request(api: &Api, body: &Body) -> Result<GttRequest, ApiError> {
    let symbol = instrument(api, body)?;
    let side = Side::parse(body.str("action", MAX_STRING)?)
        .ok_or_else(|| ApiError::bad("Invalid action: must be BUY or SELL"))?;
    let product = match body.str("product", MAX_STRING)?.to_ascii_uppercase().as_str() {
        "CNC" => Product::Cnc,
        "NRML" => Product::Nrml,
        _ => return Err(ApiError::bad("Invalid product: GTT orders take CNC or NRML")),
    };
    let qty = body.count("quantity")?;
    if qty == 0 {
        return Err(ApiError::bad("Invalid quantity: must be greater than 0"));
    }
    if let Some(pt) = body.opt_str("pricetype", MAX_STRING)? {
        if !pt.eq_ignore_ascii_case("LIMIT") {
            return Err(ApiError::bad("Invalid pricetype: GTT legs are LIMIT orders"));
        }
    }
    let single = match body.str("trigger_type", MAX_STRING)?.to_ascii_uppercase().as_str() {
        "SINGLE" => true,
        "OCO" | "TWO-LEG" => false,
        _ => return Err(ApiError::bad("Invalid trigger_type: must be SINGLE or OCO")),
    };
    let price = positive(body, "price")?;
    let (sl, tg) = (positive(body, "triggerprice_sl")?, positive(body, "triggerprice_tg")?);
    let (below_price, above_price) = if single {
        if sl.is_positive() == tg.is_positive() {
            return Err(ApiError::bad(
                "A SINGLE GTT needs exactly one of triggerprice_sl and triggerprice_tg",
            ));
        }
        (price, price)
    } else {
        if !(sl.is_positive() && tg.is_positive()) {
            return Err(ApiError::bad("An OCO GTT needs both triggerprice_sl and triggerprice_tg"));
        }
        if sl >= tg {
            return Err(ApiError::bad("Invalid triggerprice_sl: must be below triggerprice_tg"));
        }
        let or_price = |p: Price| if p.is_positive() { p } else { price };
        (or_price(positive(body, "stoploss")?), or_price(positive(body, "target")?))
    };
    if (sl.is_positive() && !below_price.is_positive())
        || (tg.is_positive() && !above_price.is_positive())
    {
        return Err(ApiError::bad(
            "Invalid price: each leg needs a limit price > 0 (price, stoploss, target)",
        ));
    }
    Ok(GttRequest {
        symbol,
        side,
        qty: Qty(qty),
        product,
        below_trigger: sl,
        below_price: if sl.is_positive() { below_price } else { Price::ZERO },
        above_trigger: tg,
        above_price: if tg.is_positive() { above_price } else { Price::ZERO },
        single,
        expires_ns: expires_at(body)?,
        strategy: strategy(body)?,
    })
}

async fn rows(api: &Api) -> Result<Vec<GttRow>, ApiError> {
    match api.query(QueryKind::GttBook).await? {
        QueryReply::Gtts(rows) => Ok(rows),
        _ => Err(ApiError::internal()),
    }
}

fn reply_of(r: Reply) -> Result<u64, ApiError> {
    match r {
        Reply::Gtt(id) => Ok(id),
        Reply::Rejected { status: RejectStatus::NotFound, message } => {
            Err(ApiError::not_found(message.as_str()))
        }
        Reply::Rejected { status: RejectStatus::Unavailable, message } => {
            Err(ApiError::unavailable(message.as_str()))
        }
        Reply::Rejected { message, .. } => Err(ApiError::bad(message.as_str())),
        _ => Err(ApiError::internal()),
    }
}

async fn wire_id(api: &Api, id: u64) -> Result<String, ApiError> {
    let rows = rows(api).await?;
    rows.iter().find(|r| r.gtt.id == id).map(|r| trigger_id(&r.gtt)).ok_or_else(ApiError::internal)
}

fn id_of(body: &Body) -> Result<(u64, String), ApiError> {
    let text = body.str("trigger_id", 64)?;
    let id = parse_trigger_id(text)
        .ok_or_else(|| ApiError::not_found(format!("No active GTT with trigger_id '{text}'")))?;
    Ok((id, text.to_string()))
}

async fn place_inner(api: &Api, req: Request) -> ApiResult {
    let body = api.gate(req, Class::Order).await?;
    api.surface.hit("placegttorder");
    body.deny_unknown(FIELDS)?;
    let g = gtt_request(api, &body)?;
    let id = reply_of(api.submit(CommandKind::PlaceGtt(g)).await?.reply)?;
    success(json!({"status": "success", "trigger_id": wire_id(api, id).await?}))
}

/// POST /api/v1/placegttorder
pub(crate) async fn place(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(place_inner(&api, req).await)
}

async fn modify_inner(api: &Api, req: Request) -> ApiResult {
    let body = api.gate(req, Class::Order).await?;
    api.surface.hit("modifygttorder");
    body.deny_unknown(FIELDS)?;
    let (id, text) = id_of(&body)?;
    let current =
        rows(api).await?.into_iter().find(|r| r.gtt.id == id && r.gtt.status == GttStatus::Active);
    let Some(current) = current else {
        return Err(ApiError::not_found(format!("No active GTT with trigger_id '{text}'")));
    };
    let g = gtt_request(api, &body)?;
    let old = current.gtt.req;
    if (g.symbol, g.side, g.single) != (old.symbol, old.side, old.single) {
        return Err(ApiError::bad(
            "action, symbol, exchange and trigger_type cannot be changed on a GTT. Cancel and re-place.",
        ));
    }
    reply_of(api.submit(CommandKind::ModifyGtt { id, gtt: g }).await?.reply)?;
    success(
        json!({"status": "success", "trigger_id": text, "message": "GTT modified successfully"}),
    )
}

/// POST /api/v1/modifygttorder
pub(crate) async fn modify(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(modify_inner(&api, req).await)
}

async fn cancel_inner(api: &Api, req: Request) -> ApiResult {
    let body = api.gate(req, Class::Order).await?;
    api.surface.hit("cancelgttorder");
    body.deny_unknown(&["apikey", "strategy", "trigger_id"])?;
    let (id, text) = id_of(&body)?;
    match reply_of(api.submit(CommandKind::CancelGtt { id }).await?.reply) {
        Ok(_) => success(
            json!({"status": "success", "trigger_id": text, "message": "GTT cancelled successfully"}),
        ),
        Err(e) if e.status == axum::http::StatusCode::NOT_FOUND => {
            Err(ApiError::not_found(format!("No active GTT with trigger_id '{text}'")))
        }
        Err(e) => Err(e),
    }
}

/// POST /api/v1/cancelgttorder
pub(crate) async fn cancel(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(cancel_inner(&api, req).await)
}

fn row_json(api: &Api, r: &GttRow) -> Value {
    let g = &r.gtt;
    let q = g.req;
    let (symbol, exchange) = api
        .engine
        .instruments
        .get(q.symbol)
        .map_or((String::new(), ""), |i| (i.symbol.clone(), i.exchange.as_str()));
    let leg = |price: Price| {
        json!({"action": q.side.as_str(), "quantity": q.qty.0, "price": price.to_f64(),
               "pricetype": "LIMIT", "product": q.product.as_str()})
    };
    let mut triggers = Vec::new();
    let mut legs = Vec::new();
    for (t, p) in [(q.below_trigger, q.below_price), (q.above_trigger, q.above_price)] {
        if t.is_positive() {
            triggers.push(t.to_f64());
            legs.push(leg(p));
        }
    }
    json!({
        "trigger_id": trigger_id(g),
        "trigger_type": if q.single { "single" } else { "two-leg" },
        "status": g.status.as_str(),
        "symbol": symbol,
        "exchange": exchange,
        "trigger_prices": triggers,
        "last_price": r.last_price.to_f64(),
        "legs": legs,
        "created_at": format_ist(g.created_ns),
        "updated_at": format_ist(g.updated_ns),
        "expires_at": format_ist(q.expires_ns),
        "strategy": q.strategy.as_str(),
        "margin_blocked": g.margin.to_f64(),
    })
}

async fn book_inner(api: &Api, req: Request) -> ApiResult {
    api.gate(req, Class::Other).await?;
    api.surface.hit("gttorderbook");
    let rows = rows(api).await?;
    let data: Vec<Value> = rows
        .iter()
        .filter(|r| r.gtt.status == GttStatus::Active)
        .map(|r| row_json(api, r))
        .collect();
    success(json!({"status": "success", "data": data}))
}

/// POST /api/v1/gttorderbook
pub(crate) async fn book(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(book_inner(&api, req).await)
}
