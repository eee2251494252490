//! The gate every `/api/v1/` request passes: read the body (bounded), parse it, check the
//! key in constant time, then draw from the rate limit of its class.
//!
//! Order of checks: a body too large is a 413 before anything is parsed; a request that
//! cannot be authenticated (unreadable body, missing or wrong key) draws from the shared
//! unauthenticated bucket, so it is a 429 once that is empty and otherwise a 400/403;
//! an authenticated request draws from its own class's bucket.

#![forbid(unsafe_code)]

use super::Api;
use super::error::ApiError;
use super::json::Body;
use super::limits::Class;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use std::sync::atomic::Ordering;

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("Request body too large: the limit is {limit} bytes"),
    )
}

/// Reads at most `limit` bytes of the body.
async fn read_body(req: Request, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit));
    }
    axum::body::to_bytes(req.into_body(), limit).await.map_err(|_| too_large(limit))
}

impl Api {
    /// Runs the gate; the body of an admitted request comes back parsed.
    pub(crate) async fn gate(&self, req: Request, class: Class) -> Result<Body, ApiError> {
        let unauthenticated = |e: ApiError| {
            if self.limits.allow(Class::Unauthenticated) {
                e
            } else {
                self.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
                ApiError::rate_limited()
            }
        };
        let bytes = read_body(req, self.config.max_body_bytes).await?;
        let body = Body::parse(&bytes).map_err(unauthenticated)?;
        let key_ok = body.apikey().is_some_and(|k| self.keys.verify(k));
        if !key_ok {
            self.counters.auth_failures.fetch_add(1, Ordering::Relaxed);
            return Err(unauthenticated(ApiError::forbidden()));
        }
        if !self.limits.allow(class) {
            self.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
            return Err(ApiError::rate_limited());
        }
        Ok(body)
    }
}
