//! The read endpoints: orderbook, tradebook, positionbook, funds, orderstatus,
//! openposition. Answered by the stage that owns the data, after the journal.

#![forbid(unsafe_code)]

use super::Api;
use super::error::{ApiError, ApiResult, success};
use super::json::{Body, MAX_STRING};
use super::limits::Class;
use super::orders::{instrument, order_id};
use crate::clock::format_ist;
use crate::event::QueryKind;
use crate::types::{ContractValue, Money, OrderStatus, Price, Product, Side, SymbolId};
use crate::views::{FundsRow, Order, PositionRow, QueryReply, TradeRow};
use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::Arc;

/// A price as a JSON number rounded to 2 decimals.
pub(crate) fn num(p: Price) -> f64 {
    (p.0 as f64 / 100.0).round() / 100.0
}

/// An amount of money as a JSON number rounded to 2 decimals (same scale as a price).
pub(crate) fn amount(m: Money) -> f64 {
    num(Price(m.0))
}

/// Symbol, exchange and contract value of an instrument.
fn names(api: &Api, id: SymbolId) -> (String, &'static str, ContractValue) {
    match api.engine.instruments.get(id) {
        Some(i) => (i.symbol.clone(), i.exchange.as_str(), i.contract_value),
        None => (format!("#{}", id.0), "", ContractValue::ONE),
    }
}

fn order_json(api: &Api, o: &Order) -> Value {
    let (symbol, exchange, _) = names(api, o.symbol);
    json!({
        "orderid": o.id.to_string(),
        "symbol": symbol,
        "exchange": exchange,
        "action": o.side.as_str(),
        "quantity": o.qty.0,
        "price": num(o.shown_price()),
        "trigger_price": num(o.trigger),
        "pricetype": o.price_type.as_str(),
        "product": o.product.as_str(),
        "order_status": o.status.as_str(),
        "average_price": num(o.avg),
        "filled_quantity": o.filled.0,
        "pending_quantity": o.pending().0,
        "rejection_reason": o.rejection.as_str(),
        "timestamp": format_ist(o.time_ns),
        "strategy": o.strategy.as_str(),
    })
}

fn trade_json(api: &Api, t: &TradeRow) -> Value {
    let (symbol, exchange, _) = names(api, t.symbol);
    json!({
        "tradeid": t.trade_id(),
        "orderid": t.order_id.to_string(),
        "symbol": symbol,
        "exchange": exchange,
        "action": t.side.as_str(),
        "quantity": t.qty.0,
        "average_price": num(t.price),
        "price": num(t.price),
        "trade_value": amount(t.price.times(t.qty, 1)),
        "product": t.product.as_str(),
        "strategy": t.strategy.as_str(),
        "timestamp": format_ist(t.time_ns),
    })
}

pub(crate) fn position_json(api: &Api, p: &PositionRow) -> Value {
    let (symbol, exchange, contract_value) = names(api, p.symbol);
    json!({
        "symbol": symbol,
        "exchange": exchange,
        "product": p.product.as_str(),
        "quantity": p.qty.0,
        "average_price": num(p.avg_price),
        "ltp": num(p.ltp),
        "pnl": amount(p.pnl),
        "pnlpercent": p.pnl_percent_bp as f64 / 100.0,
        "unrealized_pnl": amount(p.unrealized),
        "today_realized_pnl": amount(p.realized),
        "total_pnl_today": amount(p.pnl),
        // OpenAlgo's sandbox reports the contract value here, not the exchange lot.
        "lot_size": contract_value.to_f64(),
    })
}

/// OpenAlgo's sandbox funds: every amount a JSON number; `grossexposure` is the used
/// margin and `m2mrealized` today's realized P&L, as the sandbox reports them.
fn funds_json(f: &FundsRow) -> Value {
    let last_reset = if f.last_reset_ns == 0 { String::new() } else { format_ist(f.last_reset_ns) };
    json!({
        "availablecash": amount(f.available),
        "collateral": 0.0,
        "m2munrealized": amount(f.unrealized),
        "m2mrealized": amount(f.today_realized),
        "utiliseddebits": amount(f.used_margin),
        "grossexposure": amount(f.used_margin),
        "totalpnl": amount(f.realized.plus(f.unrealized)),
        "today_realized_pnl": amount(f.today_realized),
        "total_realized_pnl": amount(f.realized),
        "last_reset": last_reset,
        "reset_count": f.reset_count,
    })
}

fn statistics(orders: &[Order]) -> Value {
    let count = |f: &dyn Fn(&Order) -> bool| orders.iter().filter(|o| f(o)).count();
    json!({
        "total_buy_orders": count(&|o| o.side == Side::Buy),
        "total_sell_orders": count(&|o| o.side == Side::Sell),
        "total_completed_orders": count(&|o| o.status == OrderStatus::Complete),
        "total_open_orders": count(&|o| o.status == OrderStatus::Open),
        "total_rejected_orders": count(&|o| o.status == OrderStatus::Rejected),
        "total_trigger_pending_orders": count(&|o| o.status == OrderStatus::TriggerPending),
    })
}

/// Only `apikey` (and OpenAlgo's optional `strategy`) are expected on the book reads;
/// extra fields are ignored there, as OpenAlgo does.
async fn read(api: &Api, req: Request, kind: QueryKind) -> Result<(Body, QueryReply), ApiError> {
    let body = api.gate(req, Class::Other).await?;
    Ok((body, api.query(kind).await?))
}

async fn orderbook_inner(api: &Api, req: Request) -> ApiResult {
    match read(api, req, QueryKind::OrderBook).await?.1 {
        QueryReply::Orders(orders) => {
            let rows: Vec<Value> = orders.iter().map(|o| order_json(api, o)).collect();
            success(json!({
                "status": "success",
                "data": {"orders": rows, "statistics": statistics(&orders)}
            }))
        }
        _ => Err(ApiError::internal()),
    }
}

/// POST /api/v1/orderbook
pub(crate) async fn orderbook(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(orderbook_inner(&api, req).await)
}

async fn tradebook_inner(api: &Api, req: Request) -> ApiResult {
    match read(api, req, QueryKind::TradeBook).await?.1 {
        QueryReply::Trades(trades) => {
            let rows: Vec<Value> = trades.iter().map(|t| trade_json(api, t)).collect();
            success(json!({"status": "success", "data": rows}))
        }
        _ => Err(ApiError::internal()),
    }
}

/// POST /api/v1/tradebook
pub(crate) async fn tradebook(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(tradebook_inner(&api, req).await)
}

async fn positionbook_inner(api: &Api, req: Request) -> ApiResult {
    match read(api, req, QueryKind::PositionBook).await?.1 {
        QueryReply::Positions(rows) => {
            let sum =
                |f: fn(&PositionRow) -> Money| rows.iter().map(f).fold(Money::ZERO, Money::plus);
            let (pnl, unrealized, realized) =
                (sum(|p| p.pnl), sum(|p| p.unrealized), sum(|p| p.realized));
            let data: Vec<Value> = rows.iter().map(|p| position_json(api, p)).collect();
            success(json!({
                "status": "success",
                "data": data,
                "total_pnl": amount(pnl),
                "total_unrealized_pnl": amount(unrealized),
                "total_today_realized_pnl": amount(realized),
                "total_pnl_today": amount(pnl),
            }))
        }
        _ => Err(ApiError::internal()),
    }
}

/// POST /api/v1/positionbook
pub(crate) async fn positionbook(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(positionbook_inner(&api, req).await)
}

async fn funds_inner(api: &Api, req: Request) -> ApiResult {
    match read(api, req, QueryKind::Funds).await?.1 {
        QueryReply::Funds(f) => success(json!({"status": "success", "data": funds_json(&f)})),
        _ => Err(ApiError::internal()),
    }
}

/// POST /api/v1/funds
pub(crate) async fn funds(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(funds_inner(&api, req).await)
}

async fn orderstatus_inner(api: &Api, req: Request) -> ApiResult {
    let body = api.gate(req, Class::Other).await?;
    let id = order_id(&body)?;
    body.opt_str("strategy", MAX_STRING)?;
    match api.query(QueryKind::OrderStatus(id)).await? {
        QueryReply::Order(Some(o)) => {
            success(json!({"status": "success", "data": order_json(api, &o)}))
        }
        QueryReply::Order(None) => Err(ApiError::not_found(format!("Order {id} not found"))),
        _ => Err(ApiError::internal()),
    }
}

/// POST /api/v1/orderstatus
pub(crate) async fn orderstatus(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(orderstatus_inner(&api, req).await)
}

async fn openposition_inner(api: &Api, req: Request) -> ApiResult {
    let body = api.gate(req, Class::Other).await?;
    let symbol = instrument(api, &body)?;
    let product = Product::parse(body.str("product", MAX_STRING)?)
        .ok_or_else(|| ApiError::bad("Invalid product: must be MIS, CNC or NRML"))?;
    body.opt_str("strategy", MAX_STRING)?;
    match api.query(QueryKind::OpenPosition { symbol, product }).await? {
        QueryReply::OpenPosition(q) => success(json!({"status": "success", "quantity": q.0})),
        _ => Err(ApiError::internal()),
    }
}

/// POST /api/v1/openposition
pub(crate) async fn openposition(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(openposition_inner(&api, req).await)
}
