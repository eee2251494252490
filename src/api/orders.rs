//! The order endpoints: placeorder, placesmartorder, modifyorder, cancelorder,
//! cancelallorder, closeposition. Unknown fields are refused; every reply is sent after
//! the journal passed the command.

#![forbid(unsafe_code)]

use super::Api;
use super::error::{ApiError, ApiResult, success};
use super::json::{Body, MAX_STRING};
use super::limits::Class;
use crate::engine::CommandOutcome;
use crate::event::{CommandKind, ModifyRequest, OrderRequest, QueryKind, RejectStatus, Reply};
use crate::types::{Exchange, OrderId, OrderStatus, PriceType, Product, Qty, Side, SymbolId, Tag};
use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;

pub(crate) const PLACE_FIELDS: &[&str] = &[
    "apikey",
    "strategy",
    "symbol",
    "exchange",
    "action",
    "quantity",
    "pricetype",
    "product",
    "price",
    "trigger_price",
    "disclosed_quantity",
];

/// Longest symbol accepted (OpenAlgo option symbols are about 30 characters).
pub(crate) const MAX_SYMBOL: usize = 64;

/// Resolves `exchange` and `symbol` to an instrument id, naming the field that is wrong.
pub(crate) fn instrument(api: &Api, body: &Body) -> Result<SymbolId, ApiError> {
    let ex_text = body.str("exchange", MAX_STRING)?;
    let exchange = Exchange::parse(ex_text).ok_or_else(|| {
        let all: Vec<&str> = Exchange::ALL.iter().map(|e| e.as_str()).collect();
        ApiError::bad(format!("Invalid exchange: must be one of {}", all.join(", ")))
    })?;
    let symbol = body.str("symbol", MAX_SYMBOL)?;
    api.engine
        .instruments
        .lookup(exchange, symbol)
        .ok_or_else(|| ApiError::bad(format!("Symbol {symbol} not found on {}", exchange.as_str())))
}

pub(crate) fn strategy(body: &Body) -> Result<Tag, ApiError> {
    let s = body.opt_str("strategy", Tag::CAPACITY)?.unwrap_or("");
    Tag::new(s).ok_or_else(|| ApiError::bad("Invalid strategy: longer than 40 bytes"))
}

pub(crate) fn order_id(body: &Body) -> Result<OrderId, ApiError> {
    let bad = || ApiError::bad("Invalid orderid: must be the 14-digit order id");
    match body.get("orderid") {
        None => Err(ApiError::bad("Missing data for required field: orderid")),
        Some(Value::String(s)) if s.len() <= 32 => OrderId::parse(s).ok_or_else(bad),
        Some(Value::Number(n)) => n.as_u64().map(OrderId).ok_or_else(bad),
        Some(_) => Err(bad()),
    }
}

/// Reads the order fields; `defaults` gives OpenAlgo's optional fields their defaults
/// (placeorder), else they are required (modifyorder).
pub(crate) fn order_request(
    api: &Api,
    body: &Body,
    defaults: bool,
) -> Result<OrderRequest, ApiError> {
    let symbol = instrument(api, body)?;
    let side = Side::parse(body.str("action", MAX_STRING)?)
        .ok_or_else(|| ApiError::bad("Invalid action: must be BUY or SELL"))?;
    let qty = body.whole("quantity")?;
    let text = |field: &str, default: &'static str| -> Result<String, ApiError> {
        if defaults {
            Ok(body.opt_str(field, MAX_STRING)?.unwrap_or(default).to_owned())
        } else {
            Ok(body.str(field, MAX_STRING)?.to_owned())
        }
    };
    let price_type = PriceType::parse(&text("pricetype", "MARKET")?)
        .ok_or_else(|| ApiError::bad("Invalid pricetype: must be MARKET, LIMIT, SL or SL-M"))?;
    let product = Product::parse(&text("product", "MIS")?)
        .ok_or_else(|| ApiError::bad("Invalid product: must be MIS, CNC or NRML"))?;
    let price =
        if defaults { body.opt_price("price")?.unwrap_or_default() } else { body.price("price")? };
    Ok(OrderRequest {
        symbol,
        side,
        qty: Qty(qty),
        price_type,
        product,
        price,
        trigger: body.opt_price("trigger_price")?.unwrap_or_default(),
        disclosed: Qty(body.opt_count("disclosed_quantity")?.unwrap_or(0)),
        strategy: strategy(body)?,
    })
}

/// A refused command as an error reply.
fn rejected(status: RejectStatus, message: &str) -> ApiError {
    match status {
        RejectStatus::BadRequest => ApiError::bad(message),
        RejectStatus::NotFound => ApiError::not_found(message),
        RejectStatus::Unavailable => ApiError::unavailable(message),
    }
}

/// Shapes the reply of a command that creates an order (place, smart).
fn placed_reply(api: &Api, out: &CommandOutcome) -> ApiResult {
    let fills = out.updates.iter().filter(|u| u.fill.is_some()).count() as u64;
    api.counters.placement_fills.fetch_add(fills, Ordering::Relaxed);
    match out.reply {
        Reply::Placed(id) => {
            let recorded_rejection = out
                .updates
                .iter()
                .find(|u| u.order.id == id && u.order.status == OrderStatus::Rejected);
            if let Some(u) = recorded_rejection {
                api.counters.orders_refused.fetch_add(1, Ordering::Relaxed);
                let mut e = ApiError::bad(u.order.rejection.as_str());
                e.extra = Some(("orderid", id.to_string()));
                return Err(e);
            }
            api.counters.orders_accepted.fetch_add(1, Ordering::Relaxed);
            success(json!({"status": "success", "orderid": id.to_string()}))
        }
        Reply::AlreadyMatched => success(json!({
            "status": "success",
            "message": "Positions Already Matched. No Action needed."
        })),
        Reply::NoOpenPosition => success(json!({
            "status": "success",
            "message": "No OpenPosition Found. Not placing Exit order."
        })),
        other => other_reply(api, other),
    }
}

/// Rejections and anything a command should not have answered.
fn other_reply(api: &Api, reply: Reply) -> ApiResult {
    match reply {
        Reply::Rejected { status, message } => {
            api.counters.orders_refused.fetch_add(1, Ordering::Relaxed);
            Err(rejected(status, message.as_str()))
        }
        _ => Err(ApiError::internal()),
    }
}

async fn place_inner(api: &Api, req: Request) -> ApiResult {
    let body = api.gate(req, Class::Order).await?;
    body.deny_unknown(PLACE_FIELDS)?;
    let order = order_request(api, &body, true)?;
    api.freshen_quote(order.symbol).await;
    let out = api.submit(CommandKind::Place(order)).await?;
    let reply = placed_reply(api, &out);
    let symbol = body.get("symbol").and_then(|v| v.as_str()).unwrap_or_default();
    match (&out.reply, &reply) {
        (Reply::Placed(id), Ok(_)) => {
            tracing::debug!(order_id = %id, symbol, seq = out.seq.0, "order: placed")
        }
        (_, Err(e)) => {
            tracing::debug!(symbol, seq = out.seq.0, error = %e.message, "order: refused")
        }
        _ => {}
    }
    reply
}

/// POST /api/v1/placeorder
pub(crate) async fn place(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(place_inner(&api, req).await)
}

async fn place_smart_inner(api: &Api, req: Request) -> ApiResult {
    let body = api.gate(req, Class::Order).await?;
    let mut allowed = PLACE_FIELDS.to_vec();
    allowed.push("position_size");
    body.deny_unknown(&allowed)?;
    let order = order_request(api, &body, true)?;
    let position_size = body
        .opt_int("position_size")?
        .ok_or_else(|| ApiError::bad("Missing data for required field: position_size"))?;
    if position_size.unsigned_abs() > crate::exec::validate::MAX_QTY as u64 {
        return Err(ApiError::bad("Invalid position_size: out of range"));
    }
    api.freshen_quote(order.symbol).await;
    let out = api.submit(CommandKind::PlaceSmart { order, position_size }).await?;
    placed_reply(api, &out)
}

/// POST /api/v1/placesmartorder
pub(crate) async fn place_smart(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(place_smart_inner(&api, req).await)
}

async fn modify_inner(api: &Api, req: Request) -> ApiResult {
    let body = api.gate(req, Class::Order).await?;
    let mut allowed = PLACE_FIELDS.to_vec();
    allowed.push("orderid");
    body.deny_unknown(&allowed)?;
    let order_id = order_id(&body)?;
    let order = order_request(api, &body, false)?;
    let out = api.submit(CommandKind::Modify(ModifyRequest { order_id, order })).await?;
    match out.reply {
        Reply::Modified(id) => success(json!({
            "status": "success",
            "orderid": id.to_string(),
            "message": "Order modified successfully"
        })),
        other => other_reply(api, other),
    }
}

/// POST /api/v1/modifyorder
pub(crate) async fn modify(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(modify_inner(&api, req).await)
}

async fn cancel_inner(api: &Api, req: Request) -> ApiResult {
    let body = api.gate(req, Class::Order).await?;
    body.deny_unknown(&["apikey", "orderid", "strategy"])?;
    let order_id = order_id(&body)?;
    strategy(&body)?;
    let out = api.submit(CommandKind::Cancel { order_id }).await?;
    match out.reply {
        Reply::Cancelled(id) => success(json!({
            "status": "success",
            "orderid": id.to_string(),
            "message": "Order cancelled successfully"
        })),
        other => other_reply(api, other),
    }
}

/// POST /api/v1/cancelorder
pub(crate) async fn cancel(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(cancel_inner(&api, req).await)
}

async fn cancel_all_inner(api: &Api, req: Request) -> ApiResult {
    let body = api.gate(req, Class::Order).await?;
    body.deny_unknown(&["apikey", "strategy"])?;
    let strategy = strategy(&body)?;
    let out = api.submit(CommandKind::CancelAll { strategy }).await?;
    match out.reply {
        Reply::CancelledAll { cancelled, failed } => {
            let ids: Vec<String> = out
                .updates
                .iter()
                .filter(|u| u.order.status == OrderStatus::Cancelled)
                .map(|u| u.order.id.to_string())
                .collect();
            success(json!({
                "status": "success",
                "message": format!("Canceled {cancelled} orders. Failed to cancel {failed} orders."),
                "canceled_orders": ids,
                "failed_cancellations": [],
            }))
        }
        other => other_reply(api, other),
    }
}

/// POST /api/v1/cancelallorder
pub(crate) async fn cancel_all(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(cancel_all_inner(&api, req).await)
}

async fn close_position_inner(api: &Api, req: Request) -> ApiResult {
    let body = api.gate(req, Class::Order).await?;
    body.deny_unknown(&["apikey", "strategy"])?;
    let strategy = strategy(&body)?;
    // Closing orders are MARKET orders: each open position's symbol gets a fresh quote.
    if let crate::views::QueryReply::Positions(rows) = api.query(QueryKind::PositionBook).await? {
        for p in rows.iter().filter(|p| p.qty.0 != 0) {
            api.freshen_quote(p.symbol).await;
        }
    }
    let out = api.submit(CommandKind::ClosePosition { strategy }).await?;
    let fills = out.updates.iter().filter(|u| u.fill.is_some()).count() as u64;
    api.counters.placement_fills.fetch_add(fills, Ordering::Relaxed);
    match out.reply {
        Reply::Closed { closed, failed } => success(json!({
            "status": "success",
            "message": format!("Closed {closed} positions"),
            "closed_positions": closed,
            "failed_closures": failed,
        })),
        other => other_reply(api, other),
    }
}

/// POST /api/v1/closeposition
pub(crate) async fn close_position(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(close_position_inner(&api, req).await)
}
