//! Order families answered by the engine: basketorder, splitorder, optionsorder (and its
//! split variant), optionsmultiorder. Each leg is an ordinary `placeorder` command through
//! the ring, submitted one after the other and each journaled before the next is sent.
//!
//! # Crash between legs
//! Every leg acknowledged before a crash is journaled and comes back on restart, exactly
//! like an order placed by hand; legs not yet submitted never existed. The client sees no
//! reply (the request failed), and the orderbook shows exactly which legs exist, each
//! under its own order id and the request's strategy tag, so the state is one a client can
//! see and reason about: re-send only the missing legs. Grouping the legs into one event
//! would make a basket all-or-nothing, but OpenAlgo's baskets are not atomic either (a leg
//! can be rejected while others fill), so consecutive commands keep its semantics.

#![forbid(unsafe_code)]

use super::Api;
use super::error::{ApiError, ApiResult, success};
use super::json::{Body, MAX_STRING};
use super::limits::Class;
use super::orders::{PLACE_FIELDS, order_request, strategy};
use crate::event::{CommandKind, OrderRequest, Reply};
use crate::types::{OrderStatus, Product, Qty, Side};
use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Most orders one splitorder may create.
pub const MAX_SPLIT_ORDERS: i64 = 100;
/// Most legs of a basket.
pub const MAX_BASKET_LEGS: usize = 100;
/// Most legs of an optionsmultiorder.
pub const MAX_OPTION_LEGS: usize = 20;

/// Places one leg; the order id, or the reason it was refused.
pub(crate) async fn place_leg(api: &Api, order: OrderRequest) -> Result<String, String> {
    api.freshen_quote(order.symbol).await;
    let out = api.submit(CommandKind::Place(order)).await.map_err(|e| e.message)?;
    let fills = out.updates.iter().filter(|u| u.fill.is_some()).count() as u64;
    api.counters.placement_fills.fetch_add(fills, Ordering::Relaxed);
    match out.reply {
        Reply::Placed(id) => {
            if let Some(u) = out
                .updates
                .iter()
                .find(|u| u.order.id == id && u.order.status == OrderStatus::Rejected)
            {
                api.counters.orders_refused.fetch_add(1, Ordering::Relaxed);
                return Err(u.order.rejection.as_str().to_string());
            }
            api.counters.orders_accepted.fetch_add(1, Ordering::Relaxed);
            Ok(id.to_string())
        }
        Reply::Rejected { message, .. } => {
            api.counters.orders_refused.fetch_add(1, Ordering::Relaxed);
            Err(message.as_str().to_string())
        }
        _ => Err(super::error::UNEXPECTED.to_string()),
    }
}

/// A leg object with the request's strategy added, read as a placeorder body.
fn leg_body(v: &Value, strategy: &str) -> Result<Body, ApiError> {
    let mut v = v.clone();
    if let Value::Object(m) = &mut v {
        m.insert("strategy".into(), Value::String(strategy.to_string()));
    }
    let b = Body::from_value(v)?;
    b.deny_unknown(PLACE_FIELDS)?;
    Ok(b)
}

/// Indices of `sides` with every BUY before every SELL, otherwise in order.
fn buys_first(sides: &[Option<Side>]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..sides.len()).collect();
    idx.sort_by_key(|&i| sides[i] != Some(Side::Buy));
    idx
}

async fn basket_inner(api: &Api, req: Request) -> ApiResult {
    let body = api.gate(req, Class::Order).await?;
    api.surface.hit("basketorder");
    body.deny_unknown(&["apikey", "strategy", "orders"])?;
    let tag = strategy(&body)?;
    let orders = body.array("orders")?;
    if orders.is_empty() || orders.len() > MAX_BASKET_LEGS {
        return Err(ApiError::bad(format!("Invalid orders: give 1 to {MAX_BASKET_LEGS} orders")));
    }
    let parsed: Vec<Result<OrderRequest, ApiError>> = orders
        .iter()
        .map(|v| leg_body(v, tag.as_str()).and_then(|b| order_request(api, &b, true)))
        .collect();
    let sides: Vec<Option<Side>> = parsed.iter().map(|p| p.as_ref().ok().map(|o| o.side)).collect();
    let mut results = Vec::with_capacity(orders.len());
    for i in buys_first(&sides) {
        let raw = &orders[i];
        let sym = raw.get("symbol").cloned().unwrap_or(Value::Null);
        let ex = raw.get("exchange").cloned().unwrap_or(Value::Null);
        let row = match &parsed[i] {
            Err(e) => {
                json!({"symbol": sym, "exchange": ex, "status": "error", "message": e.message})
            }
            Ok(order) => {
                let product = order.product.as_str();
                match place_leg(api, *order).await {
                    Ok(id) => {
                        json!({"symbol": sym, "exchange": ex, "product": product, "status": "success", "orderid": id})
                    }
                    Err(m) => {
                        json!({"symbol": sym, "exchange": ex, "product": product, "status": "error", "message": m})
                    }
                }
            }
        };
        results.push(row);
    }
    success(json!({"status": "success", "results": results}))
}

/// POST /api/v1/basketorder
pub(crate) async fn basket(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(basket_inner(&api, req).await)
}

/// The sizes a split produces: `total / size` full orders plus one remainder.
pub fn split_sizes(total: i64, size: i64) -> Result<Vec<i64>, String> {
    if total <= 0 {
        return Err("Invalid quantity: must be greater than 0".into());
    }
    if size <= 0 {
        return Err("Invalid splitsize: must be greater than 0".into());
    }
    let (full, rest) = (total / size, total % size);
    let n = full + i64::from(rest > 0);
    if n > MAX_SPLIT_ORDERS {
        return Err(format!(
            "Total number of orders would exceed maximum limit of {MAX_SPLIT_ORDERS}"
        ));
    }
    let mut v = vec![size; full as usize];
    if rest > 0 {
        v.push(rest);
    }
    Ok(v)
}

/// Places `order` in slices; the results rows.
async fn place_split(api: &Api, order: &OrderRequest, sizes: &[i64]) -> Vec<Value> {
    let mut results = Vec::with_capacity(sizes.len());
    for (n, &q) in sizes.iter().enumerate() {
        let leg = OrderRequest { qty: Qty(q), ..*order };
        let row = match place_leg(api, leg).await {
            Ok(id) => {
                json!({"order_num": n + 1, "quantity": q, "status": "success", "orderid": id})
            }
            Err(m) => json!({"order_num": n + 1, "quantity": q, "status": "error", "message": m}),
        };
        results.push(row);
    }
    results
}

async fn split_inner(api: &Api, req: Request) -> ApiResult {
    let body = api.gate(req, Class::Order).await?;
    api.surface.hit("splitorder");
    let mut allowed = PLACE_FIELDS.to_vec();
    allowed.push("splitsize");
    body.deny_unknown(&allowed)?;
    let order = order_request(api, &body, true)?;
    let size = body.count("splitsize")?;
    let sizes = split_sizes(order.qty.0, size).map_err(ApiError::bad)?;
    let results = place_split(api, &order, &sizes).await;
    success(json!({
        "status": "success",
        "total_quantity": order.qty.0,
        "split_size": size,
        "results": results,
    }))
}

/// POST /api/v1/splitorder
pub(crate) async fn split(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(split_inner(&api, req).await)
}

const OPTION_FIELDS: &[&str] = &[
    "apikey",
    "strategy",
    "underlying",
    "exchange",
    "expiry_date",
    "strike_int",
    "offset",
    "option_type",
    "action",
    "quantity",
    "splitsize",
    "pricetype",
    "product",
    "price",
    "trigger_price",
    "disclosed_quantity",
];

/// An option order's fields as a placeorder body for the resolved option.
fn option_order(
    api: &Api,
    body: &Body,
    id: crate::types::SymbolId,
    tag: &str,
) -> Result<OrderRequest, ApiError> {
    let i = api.engine.instruments.get(id).ok_or_else(ApiError::internal)?;
    let mut m = serde_json::Map::new();
    // The order's own terms: placeorder's fields but the key and the three set below.
    for &k in PLACE_FIELDS {
        if matches!(k, "apikey" | "symbol" | "exchange" | "strategy") {
            continue;
        }
        if let Some(v) = body.get(k) {
            m.insert(k.into(), v.clone());
        }
    }
    m.insert("symbol".into(), Value::String(i.symbol.clone()));
    m.insert("exchange".into(), Value::String(i.exchange.as_str().into()));
    m.insert("strategy".into(), Value::String(tag.into()));
    let order = order_request(api, &Body::from_value(Value::Object(m))?, true)?;
    if order.product == Product::Cnc {
        return Err(ApiError::bad("Invalid product: options take MIS or NRML"));
    }
    Ok(order)
}

async fn options_order_inner(api: &Api, req: Request) -> ApiResult {
    let body = api.gate(req, Class::Order).await?;
    api.surface.hit("optionsorder");
    body.deny_unknown(OPTION_FIELDS)?;
    let tag = strategy(&body)?;
    let (id, u, offset) = super::options::resolve_option(api, &body).await?;
    let order = option_order(api, &body, id, tag.as_str())?;
    let i = api.engine.instruments.get(id).ok_or_else(ApiError::internal)?;
    let option_type = if i.symbol.ends_with("PE") { "PE" } else { "CE" };
    let mut reply = json!({
        "status": "success",
        "symbol": i.symbol,
        "exchange": i.exchange.as_str(),
        "underlying": u.name,
        "underlying_ltp": u.ltp,
        "offset": offset,
        "option_type": option_type,
    });
    match body.opt_count("splitsize")? {
        Some(size) if size > 0 => {
            let sizes = split_sizes(order.qty.0, size).map_err(ApiError::bad)?;
            reply["total_quantity"] = json!(order.qty.0);
            reply["split_size"] = json!(size);
            reply["results"] = Value::Array(place_split(api, &order, &sizes).await);
        }
        _ => {
            let id = place_leg(api, order).await.map_err(ApiError::bad)?;
            reply["orderid"] = Value::String(id);
        }
    }
    success(reply)
}

/// POST /api/v1/optionsorder
pub(crate) async fn options_order(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(options_order_inner(&api, req).await)
}

async fn options_multi_inner(api: &Api, req: Request) -> ApiResult {
    let body = api.gate(req, Class::Order).await?;
    api.surface.hit("optionsmultiorder");
    body.deny_unknown(&[
        "apikey",
        "strategy",
        "underlying",
        "exchange",
        "expiry_date",
        "strike_int",
        "legs",
    ])?;
    let tag = strategy(&body)?;
    let legs = body.array("legs")?;
    if legs.is_empty() || legs.len() > MAX_OPTION_LEGS {
        return Err(ApiError::bad(format!("Invalid legs: give 1 to {MAX_OPTION_LEGS} legs")));
    }
    let underlying = body.str("underlying", MAX_STRING)?.to_string();
    let exchange = body.str("exchange", MAX_STRING)?.to_string();
    let mut resolved = Vec::with_capacity(legs.len());
    let mut u_ltp = None;
    for leg in legs {
        // Each leg is resolved as an optionsorder body with the request's underlying.
        let mut m = match leg {
            Value::Object(m) => m.clone(),
            _ => serde_json::Map::new(),
        };
        m.insert("underlying".into(), Value::String(underlying.clone()));
        m.insert("exchange".into(), Value::String(exchange.clone()));
        for k in ["expiry_date", "strike_int"] {
            if let (false, Some(v)) = (m.contains_key(k), body.get(k)) {
                m.insert(k.into(), v.clone());
            }
        }
        let b = Body::from_value(Value::Object(m))?;
        let r = match super::options::resolve_option(api, &b).await {
            Ok((id, u, offset)) => {
                u_ltp = Some(u.ltp);
                option_order(api, &b, id, tag.as_str()).map(|o| (o, offset))
            }
            Err(e) => Err(e),
        };
        resolved.push((leg, r));
    }
    let sides: Vec<Option<Side>> =
        resolved.iter().map(|(_, r)| r.as_ref().ok().map(|(o, _)| o.side)).collect();
    let mut results: Vec<Value> = vec![Value::Null; legs.len()];
    for i in buys_first(&sides) {
        let (leg, r) = &resolved[i];
        let get = |k: &str| leg.get(k).cloned().unwrap_or(Value::Null);
        results[i] = match r {
            Err(e) => {
                let m = e
                    .shaped
                    .as_ref()
                    .map_or_else(|| e.message.clone(), |s| s["errors"].to_string());
                json!({"leg": i + 1, "offset": get("offset"), "option_type": get("option_type"), "action": get("action"), "status": "error", "message": m})
            }
            Ok((order, offset)) => {
                let inst =
                    api.engine.instruments.get(order.symbol).ok_or_else(ApiError::internal)?;
                let mut row = json!({
                    "leg": i + 1, "symbol": inst.symbol, "exchange": inst.exchange.as_str(),
                    "product": order.product.as_str(), "offset": offset,
                    "option_type": if inst.symbol.ends_with("PE") { "PE" } else { "CE" },
                    "action": order.side.as_str(),
                });
                match place_leg(api, *order).await {
                    Ok(id) => {
                        row["status"] = json!("success");
                        row["orderid"] = json!(id);
                    }
                    Err(m) => {
                        row["status"] = json!("error");
                        row["message"] = json!(m);
                    }
                }
                row
            }
        };
    }
    success(json!({
        "status": "success",
        "underlying": underlying,
        "underlying_ltp": u_ltp,
        "results": results,
    }))
}

/// POST /api/v1/optionsmultiorder
pub(crate) async fn options_multi(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(options_multi_inner(&api, req).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_sizes_table() {
        type Want = Result<Vec<i64>, &'static str>;
        let table: &[(i64, i64, Want)] = &[
            (10, 3, Ok(vec![3, 3, 3, 1])),
            (9, 3, Ok(vec![3, 3, 3])),
            (2, 5, Ok(vec![2])),
            (100, 1, Ok(vec![1; 100])),
            (101, 1, Err("exceed maximum limit of 100")),
            (0, 1, Err("quantity")),
            (5, 0, Err("splitsize")),
        ];
        for (total, size, want) in table {
            match (split_sizes(*total, *size), want) {
                (Ok(got), Ok(w)) => assert_eq!(&got, w),
                (Err(got), Err(w)) => assert!(got.contains(w), "{got}"),
                (got, w) => panic!("{total}/{size}: {got:?} vs {w:?}"),
            }
        }
    }

    #[test]
    fn buys_go_first_in_order() {
        let s = [Some(Side::Sell), Some(Side::Buy), None, Some(Side::Buy), Some(Side::Sell)];
        assert_eq!(buys_first(&s), vec![1, 3, 0, 2, 4]);
    }
}
