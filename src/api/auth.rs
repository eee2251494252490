//! The gate every `/api/v1/` request passes: read the body (bounded), parse it, refuse a
//! source address that has used up its failed authentications, check the key in constant
//! time, then draw from the rate limit of its class.
//!
//! Order of checks: a body too large is a 413 before anything is parsed; an address over
//! its failure limit ([`crate::auth::guard`]) is a 429 whatever key it sends, so a right
//! guess is throttled like a wrong one; a request that cannot be authenticated
//! (unreadable body, missing or wrong key) draws from the shared unauthenticated bucket,
//! so it is a 429 once that is empty and otherwise a 400 (no `apikey`) or 403 (wrong
//! one); an authenticated request draws from its own class's bucket.

#![forbid(unsafe_code)]

use super::error::ApiError;
use super::json::Body;
use super::limits::Class;
use super::{Api, BODY_DEADLINE};
use crate::auth::guard::retry_after_secs;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use http_body_util::BodyExt;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::Ordering;
use std::time::Instant;

/// The client's address, put on each request by the accept loop.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer(pub IpAddr);

impl Peer {
    /// The peer of `req` (unspecified when the request did not come through `serve`).
    pub(crate) fn of(req: &Request) -> IpAddr {
        req.extensions().get::<Peer>().map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.0)
    }
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("Request body too large: the limit is {limit} bytes"),
    )
}

/// An over-long body is read and discarded up to this many times the limit before the 413
/// is sent, so an ordinary client that is still writing sees the reply rather than a
/// broken pipe; beyond it (or when the declared length is beyond it) the reply goes at
/// once and the connection closes.
const DRAIN_FACTOR: u64 = 8;

/// Reads at most `limit` bytes of the body.
async fn read_body(req: Request, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    let limit = limit as u64;
    let drain_cap = limit.saturating_mul(DRAIN_FACTOR);
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > drain_cap) {
        return Err(too_large(limit));
    }
    let mut body = req.into_body();
    let mut buf = Vec::with_capacity(declared.unwrap_or(0).min(limit) as usize);
    let mut seen: u64 = 0;
    let read = async {
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|_| ApiError::bad("Could not read the request body"))?;
            let Ok(data) = frame.into_data() else { continue };
            seen += data.len() as u64;
            if seen <= limit {
                buf.extend_from_slice(&data);
            } else if seen > drain_cap {
                break;
            }
        }
        Ok::<(), ApiError>(())
    };
    tokio::time::timeout(BODY_DEADLINE, read).await.map_err(|_| {
        ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            format!("Request body not received within {} s", BODY_DEADLINE.as_secs()),
        )
    })??;
    if seen > limit {
        return Err(too_large(limit));
    }
    Ok(buf.into())
}

impl Api {
    /// Runs the gate; the body of an admitted request comes back parsed.
    pub(crate) async fn gate(&self, req: Request, class: Class) -> Result<Body, ApiError> {
        let peer = Peer::of(&req);
        let bytes = read_body(req, self.config.max_body_bytes).await?;
        let body = Body::parse(&bytes).map_err(|e| self.unauthenticated(e))?;
        let key = match body.get("apikey") {
            None => None,
            Some(v) => match v.as_str() {
                Some(k) => Some(k),
                None => {
                    return Err(self.unauthenticated(ApiError::bad("apikey must be a string")));
                }
            },
        };
        self.admit(peer, key, class).await?;
        Ok(body)
    }

    /// The gate of a `GET` endpoint, whose key comes in the query string (`?apikey=`):
    /// the same failure guard, key check and rate classes as a POST body's key.
    pub(crate) async fn gate_key(
        &self,
        peer: Option<Peer>,
        key: Option<&str>,
        class: Class,
    ) -> Result<(), ApiError> {
        let peer = peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.0);
        self.admit(peer, key, class).await
    }

    /// A request that cannot be authenticated draws from the shared unauthenticated
    /// bucket: its own error while that has tokens, a 429 once it is empty.
    fn unauthenticated(&self, e: ApiError) -> ApiError {
        if self.limits.allow(Class::Unauthenticated) {
            e
        } else {
            self.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
            ApiError::rate_limited(1)
        }
    }

    /// The address guard, then the key, then the class's bucket.
    async fn admit(&self, peer: IpAddr, key: Option<&str>, class: Class) -> Result<(), ApiError> {
        if let Err(wait) = self.guard.check(peer, Instant::now()) {
            self.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
            return Err(ApiError::rate_limited(retry_after_secs(wait)));
        }
        let Some(key) = key else {
            return Err(self.unauthenticated(ApiError::bad("apikey is required")));
        };
        if !self.verify_key(key).await {
            self.counters.auth_failures.fetch_add(1, Ordering::Relaxed);
            self.guard.fail(peer, Instant::now());
            return Err(self.unauthenticated(ApiError::forbidden()));
        }
        if !self.limits.allow(class) {
            self.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
            return Err(ApiError::rate_limited(1));
        }
        Ok(())
    }

    /// The address limit, then the key, for requests that carry the key outside a JSON
    /// body (`GET /health`): `Ok` when right, the 429 or 403 otherwise.
    pub(crate) async fn check_key(&self, peer: IpAddr, key: &str) -> Result<(), ApiError> {
        if let Err(wait) = self.guard.check(peer, Instant::now()) {
            self.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
            return Err(ApiError::rate_limited(retry_after_secs(wait)));
        }
        if self.verify_key(key).await {
            return Ok(());
        }
        self.counters.auth_failures.fetch_add(1, Ordering::Relaxed);
        self.guard.fail(peer, Instant::now());
        Err(ApiError::forbidden())
    }

    /// Checks a key: inline once the right key is cached (one SHA-256), else on the
    /// blocking pool (the KDF takes milliseconds and must not stall a runtime worker).
    async fn verify_key(&self, key: &str) -> bool {
        if self.keys.is_cached() {
            return self.keys.verify(key);
        }
        let (keys, key) = (self.keys.clone(), key.to_owned());
        tokio::task::spawn_blocking(move || keys.verify(&key)).await.unwrap_or(false)
    }
}
