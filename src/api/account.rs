//! Account endpoints the sandbox answers itself:
//! - analyzer (with `total_logs`, the orders of this session), analyzer/toggle (a sandbox
//!   has no live mode: `mode:false` is a 400) and pnl/symbols (per-symbol P&L from the
//!   positionbook);
//! - `holdings` (OPENALGO.md 2b) and the sandbox reset (`POST /api/v1/sandbox/reset`,
//!   tickfill's counterpart of OpenAlgo's reset button).
//!
//! # Invariants
//! - Holdings are read from execution through the ring (after the journal); amounts are
//!   JSON numbers; rows with no quantity never exist.
//! - A reset is a journaled command ([`CommandKind::ResetFunds`]): replay and restart
//!   reproduce it. It takes only `apikey`; any other field is a 400 naming it.

#![forbid(unsafe_code)]

use super::Api;
use super::books::{amount, num};
use super::error::{ApiError, ApiResult, success};
use super::limits::Class;
use crate::clock::format_ist;
use crate::event::{CommandKind, QueryKind, RejectStatus, Reply};
use crate::exec::session::day_start_ns;
use crate::types::Money;
use crate::views::{HoldingRow, QueryReply};
use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::Arc;

/// The orders of the current session.
async fn total_logs(api: &Api) -> Result<usize, ApiError> {
    match api.query(QueryKind::OrderBook).await? {
        QueryReply::Orders(o) => Ok(o.len()),
        _ => Err(ApiError::internal()),
    }
}

async fn analyzer_inner(api: &Api, req: Request) -> ApiResult {
    api.gate(req, Class::Other).await?;
    api.surface.hit("analyzer");
    let n = total_logs(api).await?;
    success(json!({
        "status": "success",
        "data": {"mode": "analyze", "analyze_mode": true, "total_logs": n}
    }))
}

/// POST /api/v1/analyzer
pub(crate) async fn analyzer(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(analyzer_inner(&api, req).await)
}

async fn toggle_inner(api: &Api, req: Request) -> ApiResult {
    let body = api.gate(req, Class::Other).await?;
    api.surface.hit("analyzer/toggle");
    match body.get("mode") {
        None => Err(ApiError::bad("Missing data for required field: mode")),
        Some(Value::Bool(true)) => {
            let n = total_logs(api).await?;
            success(json!({
                "status": "success",
                "data": {
                    "mode": "analyze", "analyze_mode": true, "total_logs": n,
                    "message": "Analyzer mode switched to analyze",
                }
            }))
        }
        Some(Value::Bool(false)) => Err(ApiError::bad(
            "tickfill is a sandbox and has no live mode: analyzer mode stays on (mode false is not supported)",
        )),
        Some(_) => Err(ApiError::bad("Invalid mode: must be true or false")),
    }
}

/// POST /api/v1/analyzer/toggle
pub(crate) async fn toggle(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(toggle_inner(&api, req).await)
}

async fn pnl_symbols_inner(api: &Api, req: Request) -> ApiResult {
    api.gate(req, Class::Other).await?;
    api.surface.hit("pnl/symbols");
    let rows = match api.query(QueryKind::PositionBook).await? {
        QueryReply::Positions(rows) => rows,
        _ => return Err(ApiError::internal()),
    };
    let mut totals = [0.0f64; 4];
    let data: Vec<Value> = rows
        .iter()
        .map(|p| {
            let full = super::books::position_json(api, p);
            let keys = ["pnl", "unrealized_pnl", "today_realized_pnl", "total_pnl_today"];
            for (t, k) in totals.iter_mut().zip(keys) {
                *t += full[k].as_f64().unwrap_or(0.0);
            }
            let mut row = serde_json::Map::new();
            for k in ["symbol", "exchange", "product", "quantity"].into_iter().chain(keys) {
                row.insert(k.into(), full[k].clone());
            }
            Value::Object(row)
        })
        .collect();
    let r = |v: f64| (v * 100.0).round() / 100.0;
    success(json!({
        "status": "success",
        "data": data,
        "total_pnl": r(totals[0]),
        "total_unrealized_pnl": r(totals[1]),
        "total_today_realized_pnl": r(totals[2]),
        "total_pnl_today": r(totals[3]),
    }))
}

/// POST /api/v1/pnl/symbols
pub(crate) async fn pnl_symbols(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(pnl_symbols_inner(&api, req).await)
}

/// `part / whole x 100`, 2 decimals; 0 when `whole` is 0.
fn percent(part: Money, whole: Money) -> f64 {
    if whole.0 == 0 {
        return 0.0;
    }
    (part.0 as f64 / whole.0 as f64 * 10_000.0).round() / 100.0
}

/// One holding row and its (current value, cost, pnl).
fn holding_json(api: &Api, h: &HoldingRow) -> (Value, Money, Money) {
    let (symbol, exchange) = match api.engine.instruments.get(h.symbol) {
        Some(i) => (i.symbol.clone(), i.exchange.as_str()),
        None => (format!("#{}", h.symbol.0), ""),
    };
    let mark = if h.ltp.is_positive() { h.ltp } else { h.avg_price };
    let value = mark.times(h.qty, 1);
    let pnl = value.minus(h.cost);
    let date = format_ist(day_start_ns(h.settlement_day));
    let row = json!({
        "symbol": symbol,
        "exchange": exchange,
        "product": "CNC",
        "quantity": h.qty.0,
        "average_price": num(h.avg_price),
        "ltp": num(h.ltp),
        "pnl": amount(pnl),
        "pnlpercent": percent(pnl, h.cost),
        "current_value": amount(value),
        "settlement_date": date.get(..10).unwrap_or(""),
    });
    (row, value, pnl)
}

async fn holdings_inner(api: &Api, req: Request) -> ApiResult {
    let _body = api.gate(req, Class::Other).await?;
    let QueryReply::Holdings(rows) = api.query(QueryKind::Holdings).await? else {
        return Err(ApiError::internal());
    };
    let (mut value, mut cost, mut pnl) = (Money::ZERO, Money::ZERO, Money::ZERO);
    let list: Vec<Value> = rows
        .iter()
        .map(|h| {
            let (row, v, p) = holding_json(api, h);
            value = value.plus(v);
            cost = cost.plus(h.cost);
            pnl = pnl.plus(p);
            row
        })
        .collect();
    success(json!({
        "status": "success",
        "data": {
            "holdings": list,
            "statistics": {
                "totalholdingvalue": amount(value),
                "totalinvvalue": amount(cost),
                "totalprofitandloss": amount(pnl),
                "totalpnlpercentage": percent(pnl, cost),
            }
        }
    }))
}

/// POST /api/v1/holdings
pub(crate) async fn holdings(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(holdings_inner(&api, req).await)
}

async fn reset_inner(api: &Api, req: Request) -> ApiResult {
    let body = api.gate(req, Class::Order).await?;
    body.deny_unknown(&["apikey"])?;
    let out = api.submit(CommandKind::ResetFunds).await?;
    match out.reply {
        Reply::Reset(count) => {
            let QueryReply::Funds(f) = api.query(QueryKind::Funds).await? else {
                return Err(ApiError::internal());
            };
            success(json!({
                "status": "success",
                "message": format!("Sandbox reset: funds back to {}", f.available),
                "data": {
                    "availablecash": amount(f.available),
                    "reset_count": count,
                    "last_reset": format_ist(f.last_reset_ns),
                }
            }))
        }
        Reply::Rejected { status: RejectStatus::Unavailable, message } => {
            Err(ApiError::unavailable(message.as_str()))
        }
        Reply::Rejected { message, .. } => Err(ApiError::bad(message.as_str())),
        _ => Err(ApiError::internal()),
    }
}

/// POST /api/v1/sandbox/reset
pub(crate) async fn reset(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(reset_inner(&api, req).await)
}
