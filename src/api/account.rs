//! Account endpoints the sandbox answers itself: analyzer (with `total_logs`, the orders
//! of this session), analyzer/toggle (a sandbox has no live mode: `mode:false` is a 400)
//! and pnl/symbols (per-symbol P&L from the positionbook).

#![forbid(unsafe_code)]

use super::Api;
use super::error::{ApiError, ApiResult, success};
use super::limits::Class;
use crate::event::QueryKind;
use crate::views::QueryReply;
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
