//! The one error type every handler returns, rendered as OpenAlgo's error body:
//! `{"status":"error","message":...,"mode":"analyze"}` with the matching status code.

#![forbid(unsafe_code)]

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The message of every 403.
pub const INVALID_KEY: &str = "Invalid openalgo apikey";
/// The message of every 429.
pub const RATE_LIMITED: &str = "Rate limit exceeded. Please slow down your requests.";
/// The message of every 500.
pub const UNEXPECTED: &str = "An unexpected error occurred";

/// An error reply: a status code and a message that names the field and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Human text, sent as `message`.
    pub message: String,
    /// Extra fields merged into the body (e.g. the `orderid` of a recorded rejection).
    pub extra: Option<(&'static str, String)>,
    /// Seconds to wait before retrying, sent as the number `retry_after` (429 only).
    pub retry_after: Option<u64>,
    /// A whole body in another of OpenAlgo's error shapes (per-field messages, shape A;
    /// "Validation error" with `errors`, shape C); `mode` is still added.
    pub shaped: Option<Value>,
}

impl ApiError {
    /// An error with a status and message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError { status, message: message.into(), extra: None, retry_after: None, shaped: None }
    }

    /// 400: validation failed; the message names the field.
    pub fn bad(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 403: the key is wrong or missing.
    pub fn forbidden() -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, INVALID_KEY)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// 429: a rate limit was hit; retry after `retry_after` seconds (OpenAlgo's body:
    /// `{"status":"error","message":RATE_LIMITED,"retry_after":<s>}`).
    pub fn rate_limited(retry_after: u64) -> ApiError {
        ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, RATE_LIMITED)
        }
    }

    /// 503: the engine refuses or cannot answer now.
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }

    /// 500: anything unexpected (the details go to the log, not the client).
    pub fn internal() -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, UNEXPECTED)
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        if let Some(Value::Object(m)) = &self.shaped {
            let mut m = m.clone();
            m.insert("mode".into(), Value::String("analyze".into()));
            return Value::Object(m);
        }
        let mut v = json!({"status": "error", "message": self.message, "mode": "analyze"});
        if let Some((k, x)) = &self.extra {
            v[*k] = Value::String(x.clone());
        }
        if let Some(s) = self.retry_after {
            v["retry_after"] = Value::from(s);
        }
        v
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body())).into_response()
    }
}

/// A handler's result.
pub type ApiResult = Result<Response, ApiError>;

/// A 200 reply with `"mode":"analyze"` added to the object.
pub fn success(mut body: Value) -> ApiResult {
    if let Value::Object(m) = &mut body {
        m.insert("mode".into(), Value::String("analyze".into()));
    }
    Ok((StatusCode::OK, axum::Json(body)).into_response())
}
