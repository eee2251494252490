//! What the reference, market-data and order-family endpoints share: OpenAlgo's error
//! shapes (OPENALGO.md 2b: A per-field, B plain text, C "Validation error" with `errors`),
//! the gate for `GET` endpoints (key in the query string), and per-endpoint request
//! counters exported by `/metrics`.

#![forbid(unsafe_code)]

use super::Api;
use super::error::ApiError;
use crate::types::Price;
use axum::http::StatusCode;
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};

/// Shape A (data endpoints): `{"status":"error","message":{field:[msg]}}`, 400.
pub(crate) fn shape_a(field: &str, msg: impl Into<String>) -> ApiError {
    let mut e = ApiError::bad(msg);
    e.shaped = Some(json!({"status": "error", "message": {field: [e.message.clone()]}}));
    e
}

/// Shape C (option endpoints): `{"status":"error","message":"Validation error","errors":{field:[msg]}}`.
pub(crate) fn shape_c(field: &str, msg: impl Into<String>) -> ApiError {
    let mut e = ApiError::bad(msg);
    e.shaped = Some(json!({
        "status": "error", "message": "Validation error", "errors": {field: [e.message.clone()]}
    }));
    e
}

/// Re-shapes a 400 from a body accessor into shape A for `field`.
pub(crate) fn as_a<T>(field: &str, r: Result<T, ApiError>) -> Result<T, ApiError> {
    r.map_err(|e| if e.status == StatusCode::BAD_REQUEST { shape_a(field, e.message) } else { e })
}

/// Re-shapes a 400 from a body accessor into shape C for `field`.
pub(crate) fn as_c<T>(field: &str, r: Result<T, ApiError>) -> Result<T, ApiError> {
    r.map_err(|e| if e.status == StatusCode::BAD_REQUEST { shape_c(field, e.message) } else { e })
}

/// A price as a JSON number rounded to 4 decimals (the fixed-point precision).
pub(crate) fn px(p: Price) -> f64 {
    p.to_f64()
}

/// Rounds a float for display.
pub(crate) fn round(v: f64, decimals: i32) -> f64 {
    let m = 10f64.powi(decimals);
    (v * m).round() / m
}

/// Endpoints counted one by one in `/metrics` (`tickfill_api_endpoint_requests_total`).
pub(crate) const ENDPOINTS: [&str; 28] = [
    "history",
    "intervals",
    "ticker",
    "symbol",
    "search",
    "expiry",
    "instruments",
    "optionsymbol",
    "optionchain",
    "optiongreeks",
    "multioptiongreeks",
    "syntheticfuture",
    "margin",
    "market/holidays",
    "market/timings",
    "telegram/notify",
    "basketorder",
    "splitorder",
    "optionsorder",
    "optionsmultiorder",
    "analyzer",
    "analyzer/toggle",
    "pnl/symbols",
    "holdings",
    "placegttorder",
    "modifygttorder",
    "cancelgttorder",
    "gttorderbook",
];

/// One counter per entry of [`ENDPOINTS`].
#[derive(Debug, Default)]
pub(crate) struct EndpointCounters {
    counts: [AtomicU64; ENDPOINTS.len()],
}

impl EndpointCounters {
    /// Counts one request of `endpoint` (ignored when not listed).
    pub(crate) fn hit(&self, endpoint: &str) {
        if let Some(i) = ENDPOINTS.iter().position(|e| *e == endpoint) {
            self.counts[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Each endpoint with its count, in [`ENDPOINTS`] order.
    pub(crate) fn counts(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        ENDPOINTS.iter().zip(&self.counts).map(|(e, c)| (*e, c.load(Ordering::Relaxed)))
    }
}

impl Api {
    /// Forwards a POST to the upstream OpenAlgo server when one is configured (`None`
    /// otherwise): its status and body come back as they are, with `"mode":"analyze"`.
    pub(crate) async fn forward(
        &self,
        endpoint: &'static str,
        body: &super::json::Body,
    ) -> Option<super::error::ApiResult> {
        let up = self.config.upstream.clone()?;
        let value = body.to_value();
        let r = tokio::task::spawn_blocking(move || up.post(endpoint, value)).await;
        Some(match r {
            Err(_) => Err(ApiError::internal()),
            Ok(Err(e)) => Err(ApiError::new(StatusCode::BAD_GATEWAY, e.to_string())),
            Ok(Ok((status, mut v))) => {
                if let serde_json::Value::Object(m) = &mut v {
                    m.insert("mode".into(), serde_json::Value::String("analyze".into()));
                }
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
                Ok(axum::response::IntoResponse::into_response((status, axum::Json(v))))
            }
        })
    }

    /// The reference price of an instrument: its latest quote, else its reference close.
    pub(crate) async fn ltp_or_close(&self, id: crate::types::SymbolId) -> Option<f64> {
        if let Ok(t) = super::quotes::latest_tick(self, id).await {
            if t.ltp.is_positive() {
                return Some(t.ltp.to_f64());
            }
        }
        self.engine.instruments.get(id).and_then(|i| i.prev_close).map(|p| p.to_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_carry_the_field() {
        let a = shape_a("symbol", "Missing data for required field.").body();
        assert_eq!(a["message"]["symbol"][0], "Missing data for required field.");
        let c = shape_c("offset", "bad").body();
        assert_eq!(c["message"], "Validation error");
        assert_eq!(c["errors"]["offset"][0], "bad");
        assert_eq!(c["mode"], "analyze");
    }
}
