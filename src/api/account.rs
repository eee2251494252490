//! The account endpoints: `holdings` (OPENALGO.md 2b) and the sandbox reset
//! (`POST /api/v1/sandbox/reset`, tickfill's counterpart of OpenAlgo's reset button).
//!
//! # Invariants
//! - Holdings are read from execution through the ring (after the journal); amounts are
//!   JSON numbers; rows with no quantity never exist.
//! - A reset is a journaled command ([`CommandKind::ResetFunds`]): replay and restart
//!   reproduce it. It takes only `apikey`; any other field is a 400 naming it.

#![forbid(unsafe_code)]

use super::Api;
use super::books::num;
use super::error::{ApiError, ApiResult, success};
use super::limits::Class;
use crate::clock::format_ist;
use crate::event::{CommandKind, QueryKind, RejectStatus, Reply};
use crate::exec::session::day_start_ns;
use crate::types::Price;
use crate::views::{HoldingRow, QueryReply};
use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::Arc;

/// `part / whole x 100`, 2 decimals; 0 when `whole` is 0.
fn percent(part: Price, whole: Price) -> f64 {
    if whole.0 == 0 {
        return 0.0;
    }
    (part.0 as f64 / whole.0 as f64 * 10_000.0).round() / 100.0
}

/// One holding row and its (current value, cost, pnl).
fn holding_json(api: &Api, h: &HoldingRow) -> (Value, Price, Price) {
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
        "pnl": num(pnl),
        "pnlpercent": percent(pnl, h.cost),
        "current_value": num(value),
        "settlement_date": date.get(..10).unwrap_or(""),
    });
    (row, value, pnl)
}

async fn holdings_inner(api: &Api, req: Request) -> ApiResult {
    let _body = api.gate(req, Class::Other).await?;
    let QueryReply::Holdings(rows) = api.query(QueryKind::Holdings).await? else {
        return Err(ApiError::internal());
    };
    let (mut value, mut cost, mut pnl) = (Price::ZERO, Price::ZERO, Price::ZERO);
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
                "totalholdingvalue": num(value),
                "totalinvvalue": num(cost),
                "totalprofitandloss": num(pnl),
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
                    "availablecash": num(f.available),
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
