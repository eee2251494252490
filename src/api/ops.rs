//! Operations: ping, `POST /api/v1/latency`, `GET /health` and the
//! unauthenticated `GET /metrics` (which carries no secrets: no key, no hash, no paths,
//! no symbols).
//!
//! `/health` without a key is the status only (`{"status":"ok"|"unhealthy"}`, 200 or
//! 503), for load balancers; with the key (`X-API-KEY` header or `?apikey=`) it has the
//! details: engine, feed, snapshots, and which symbols are wanted. A wrong key is a 403
//! and counts against the address like any failed authentication.

#![forbid(unsafe_code)]

use super::Api;
use super::error::{ApiError, ApiResult, success};
use super::limits::Class;
use crate::latency::HopSummary;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::Ordering;

async fn ping_inner(api: &Api, req: Request) -> ApiResult {
    api.gate(req, Class::Other).await?;
    success(json!({"status": "success", "data": {"message": "pong", "broker": "sandbox"}}))
}

/// POST /api/v1/ping
pub(crate) async fn ping(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(ping_inner(&api, req).await)
}

/// Copies the published histograms off the runtime threads (the copy takes a lock).
async fn latency_summary(api: &Api) -> Result<Vec<HopSummary>, ApiError> {
    let latency = Arc::clone(&api.engine.latency);
    tokio::task::spawn_blocking(move || latency.snapshot().summary())
        .await
        .map_err(|_| ApiError::internal())
}

async fn latency_inner(api: &Api, req: Request) -> ApiResult {
    api.gate(req, Class::Other).await?;
    let hops = latency_summary(api).await?;
    success(json!({"status": "success", "data": {"unit": "ns", "stages": hops}}))
}

/// POST /api/v1/latency: per-stage p50/p90/p99/p99.9/max/count, in ns.
pub(crate) async fn latency(State(api): State<Arc<Api>>, req: Request) -> Response {
    api.respond(latency_inner(&api, req).await)
}

/// The key a GET request carries: the `X-API-KEY` header, else `?apikey=`.
fn get_key(req: &Request) -> Option<String> {
    if let Some(v) = req.headers().get("x-api-key") {
        return Some(v.to_str().unwrap_or("").to_owned());
    }
    req.uri().query()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == "apikey").then(|| v.to_owned())
    })
}

/// GET /health: 200 while the engine accepts orders ("ok", or "degraded" during a busy
/// episode: requests were refused as "engine busy" and the intake has not drained since),
/// 503 once it refuses them; details only with the key.
pub(crate) async fn health(State(api): State<Arc<Api>>, req: Request) -> Response {
    let h = &api.engine.health;
    let refusing = h.refusing_orders();
    let busy = h.busy_episode(api.engine.intake_queued());
    let status = if refusing { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
    let label = match (refusing, busy) {
        (true, _) => "unhealthy",
        (false, true) => "degraded",
        (false, false) => "ok",
    };
    let Some(key) = get_key(&req) else {
        return (status, axum::Json(json!({"status": label, "mode": "analyze"}))).into_response();
    };
    let peer = super::auth::Peer::of(&req);
    drop(req);
    if let Err(e) = api.check_key(peer, &key).await {
        return e.into_response();
    }
    let f = &h.feed;
    // The digest restart must rebuild (the crash loop compares it across kill -9).
    let digest = match api.query(crate::event::QueryKind::StateHash).await {
        Ok(crate::views::QueryReply::StateHash(d)) => Some(format!("{d:016x}")),
        _ => None,
    };
    let body = json!({
        "status": label,
        "mode": "analyze",
        "engine": {
            "state_digest": digest,
            "healthy": !refusing,
            "refusing_orders": refusing,
            "reason": h.reason(),
            "durable_seq": h.durable_seq.load(Ordering::Acquire),
            "fanout_overflows": h.fanout_overflows.load(Ordering::Relaxed),
            "busy": busy,
            "busy_refusals": h.busy_refusals.load(Ordering::Relaxed),
            "intake_queued": api.engine.intake_queued(),
            "recovery": h.recovery_notes(),
        },
        "feed": {
            "mode": if f.polling.load(Ordering::Acquire) { "polling" } else { "websocket" },
            "connected": f.connected.load(Ordering::Acquire),
            "authenticated": f.authenticated.load(Ordering::Acquire),
            "last_data_age_ms": f.last_data_age_ms(),
            "reconnects": f.reconnects.load(Ordering::Relaxed),
            "validation_errors": f.validation_errors.load(Ordering::Relaxed),
            "ticks": f.stream_ticks.load(Ordering::Relaxed),
            "ticks_per_second": api.tick_rate.sample(f.stream_ticks.load(Ordering::Relaxed)),
            "polled_quotes": f.polled_quotes.load(Ordering::Relaxed),
            "rest_errors": f.rest_errors.load(Ordering::Relaxed),
            "rest_timeouts": f.rest_timeouts.load(Ordering::Relaxed),
        },
        "snapshots": snapshots(&api),
        "connections": {
            "rest_open": api.connections.load(Ordering::Relaxed),
            "rest_refused": api.counters.connections_refused.load(Ordering::Relaxed),
        },
        "quotes": {"ticks": api.engine.board.ticks()},
        "symbols": freshness(&api),
    });
    (status, axum::Json(body)).into_response()
}

/// The data dir's snapshot status, when the API knows the data dir.
fn snapshots(api: &Api) -> serde_json::Value {
    let Some(dir) = &api.config.data_dir else { return serde_json::Value::Null };
    let s = crate::journal::snapshot::status(dir);
    json!({
        "written": s.written.load(Ordering::Relaxed),
        "last_seq": s.last_seq.load(Ordering::Relaxed),
        "failures": s.failures.load(Ordering::Relaxed),
        "skipped_at_recovery": s.skipped_at_recovery.load(Ordering::Relaxed),
        "last_error": s.last_error(),
        "retired_snapshots": s.retired_snapshots.load(Ordering::Relaxed),
        "retired_segments": s.retired_segments.load(Ordering::Relaxed),
    })
}

/// Per-symbol freshness of every symbol the engine or a client needs: the age of its
/// latest quote and whether it came from the stream or from REST polling.
fn freshness(api: &Api) -> Vec<serde_json::Value> {
    let now = crate::clock::mono_now_ns();
    api.engine
        .interest
        .wanted()
        .into_iter()
        .map(|(id, mode)| {
            let name = api.engine.instruments.get(id);
            let quote = api.engine.board.read(id);
            json!({
                "symbol": name.map(|i| i.symbol.as_str()),
                "exchange": name.map(|i| i.exchange.as_str()),
                "mode": crate::openalgo_wire::modes::label(mode),
                "engine_needs": api.engine.interest.engine_needs(id),
                "age_ms": quote.map(|q| now.saturating_sub(q.updated_ns) / 1_000_000),
                "source": quote.map(|q| match q.tick.source {
                    crate::event::QuoteSource::Stream => "stream",
                    crate::event::QuoteSource::Poll => "poll",
                }),
            })
        })
        .collect()
}

/// Ticks per second between successive `/health` reads (at least 1 s apart).
#[derive(Debug, Default)]
pub(crate) struct TickRate {
    last: std::sync::Mutex<Option<(std::time::Instant, u64, f64)>>,
}

impl TickRate {
    /// Updates with the current tick count and returns the latest rate.
    pub(crate) fn sample(&self, ticks: u64) -> f64 {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let now = std::time::Instant::now();
        match *last {
            Some((at, count, rate)) => {
                let dt = now.duration_since(at).as_secs_f64();
                if dt < 1.0 {
                    return rate;
                }
                let rate = (ticks.saturating_sub(count)) as f64 / dt;
                *last = Some((now, ticks, rate));
                (rate * 10.0).round() / 10.0
            }
            None => {
                *last = Some((now, ticks, 0.0));
                0.0
            }
        }
    }
}

/// GET /metrics: OpenMetrics text (see `metrics.rs`).
pub(crate) async fn metrics(State(api): State<Arc<Api>>) -> Response {
    // The copy of the published histograms takes a lock and the journal's size a directory
    // listing: off the runtime threads.
    let scraped = Arc::clone(&api);
    let render = move || super::metrics::render(&scraped, &scraped.engine.latency.snapshot());
    match tokio::task::spawn_blocking(render).await {
        Ok(text) => ([(header::CONTENT_TYPE, super::metrics::CONTENT_TYPE)], text).into_response(),
        Err(_) => ApiError::internal().into_response(),
    }
}

/// GET /instruments.json: the instrument master for the frontend's symbol search
/// (public data, no key needed).
pub(crate) async fn instruments(State(api): State<Arc<Api>>) -> Response {
    let rows: Vec<serde_json::Value> = api
        .engine
        .instruments
        .iter()
        .map(|i| {
            json!({
                "symbol": i.symbol,
                "exchange": i.exchange.as_str(),
                "lot_size": i.lot_size,
                "tick_size": i.tick_size.to_f64(),
                "instrumenttype": i.instrument_type,
            })
        })
        .collect();
    (StatusCode::OK, axum::Json(json!({ "data": rows }))).into_response()
}

/// GET /config.js: tells the frontend where the WebSocket server listens (same host as the
/// page, the configured port). Loaded by `index.html` before the app; contains no secret.
pub(crate) async fn config_js(State(api): State<Arc<Api>>) -> Response {
    let js = format!(
        "window.TICKFILL_CONFIG = Object.assign({{ wsUrl: (location.protocol === 'https:' ? \
         'wss://' : 'ws://') + location.hostname + ':{}' }}, window.TICKFILL_CONFIG || {{}});\n",
        api.config.ws_port
    );
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], js).into_response()
}
