//! The REST API: OpenAlgo's `/api/v1/` endpoints (OPENALGO.md section 2) plus
//! `GET /health`, `GET /metrics` and `POST /api/v1/latency`.
//!
//! ```text
//!  client --HTTP--> axum (2 tokio workers) --gate: body <= 1 MiB, strict JSON, key, rate-->
//!     handler --await--> EngineHandle::submit_async/query_async (a one-shot the journal
//!                        stage completes once the journal passed the command)
//!     <-- JSON reply with "mode":"analyze"
//! ```
//!
//! # Invariants
//! - An order reply is sent only after `EngineHandle::submit` returned, that is after the
//!   journal passed the command: a success means the order survives `kill -9`.
//! - Runtime threads never block: engine calls are awaited on a one-shot (a full intake,
//!   or a request the sequencer does not take within `EngineConfig::admit_within`, answers
//!   503 "engine busy" and is never journaled).
//! - No panic reaches a client: a panicking handler becomes a 500 with OpenAlgo's
//!   "An unexpected error occurred".
//! - Every reply, success or error, carries `"mode":"analyze"`.
//!
//! # Known limitations
//! - quotes, multiquotes and depth answer from the quote board when its quote is fresh,
//!   else fetch one through the watchdog; when none can be fetched an old quote is
//!   served marked `"stale": true` with its `age_ms`, never as current.
//! - `failed_cancellations` of cancelallorder lists no ids: the engine reports a count.
//! - Request headers have no read deadline (axum's server sets none): a client that sends
//!   headers slowly holds its connection. Bodies have one ([`BODY_DEADLINE`]). The
//!   default loopback bind keeps this to local clients.
//!
//! # Performance
//! Off the hot path. Each request costs one JSON parse, one SHA-256 for the key check and
//! one hop to the blocking pool; the engine round trip dominates.

#![forbid(unsafe_code)]

mod account;
mod auth;
mod baskets;
mod books;
pub mod error;
mod gtt;
mod history;
pub mod host;
pub mod json;
pub mod limits;
mod metrics;
mod ops;
mod options;
mod orders;
mod quotes;
mod reference;
mod surface;
pub mod ui;

use crate::auth::KeyStore;
use crate::engine::{CommandOutcome, EngineError, EngineHandle};
use crate::event::{CommandKind, QueryKind};
use crate::views::QueryReply;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use error::{ApiError, ApiResult};
use limits::Limits;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How long a client may take to send a request body (408 after).
pub const BODY_DEADLINE: Duration = Duration::from_secs(10);

/// Settings of the REST server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfig {
    /// Where to listen (loopback by default; port 0 picks a free port).
    pub addr: SocketAddr,
    /// Order requests a second (placeorder, placesmartorder, modifyorder, cancelorder,
    /// cancelallorder, closeposition); 0 = unlimited.
    pub order_rate_per_sec: u32,
    /// Other requests a second; 0 = unlimited.
    pub other_rate_per_sec: u32,
    /// Largest request body accepted (413 beyond).
    pub max_body_bytes: usize,
    /// The user id reported to clients.
    pub user_id: String,
    /// A built frontend on disk, served at `/` when set (else the embedded copy).
    pub static_dir: Option<std::path::PathBuf>,
    /// The WebSocket server's port, told to the frontend through `/config.js`.
    pub ws_port: u16,
    /// Failed authentications allowed per source address (429 beyond, checked before the
    /// key).
    pub auth_guard: crate::auth::guard::GuardConfig,
    /// The upstream OpenAlgo server (`--upstream-rest`): history, intervals, ticker,
    /// margin and telegram/notify are forwarded to it when set.
    pub upstream: Option<crate::refdata::upstream::UpstreamRest>,
    /// Connections open at once; more are answered 503 and closed.
    pub max_connections: usize,
    /// A client must send each request's headers within this time, also between requests
    /// on a kept-alive connection (so idle connections are closed after it).
    pub idle_timeout: Duration,
    /// Host names besides loopback and the bind address that browser-facing endpoints
    /// answer ([`host`]).
    pub allowed_hosts: Vec<String>,
    /// The engine's data dir, for the snapshot status in `/health` and `/metrics`.
    pub data_dir: Option<std::path::PathBuf>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 5000)),
            order_rate_per_sec: 10,
            other_rate_per_sec: 50,
            max_body_bytes: 1 << 20,
            user_id: "sandbox".into(),
            static_dir: None,
            ws_port: 8765,
            auth_guard: crate::auth::guard::GuardConfig::default(),
            upstream: None,
            max_connections: 1024,
            idle_timeout: HEADER_DEADLINE,
            allowed_hosts: Vec::new(),
            data_dir: None,
        }
    }
}

/// Counters kept by the API where the engine has none (exported by `/metrics`).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub requests: AtomicU64,
    pub orders_accepted: AtomicU64,
    pub orders_refused: AtomicU64,
    pub placement_fills: AtomicU64,
    pub rate_limited: AtomicU64,
    pub auth_failures: AtomicU64,
    pub server_errors: AtomicU64,
    pub connections_refused: AtomicU64,
}

/// Shared state of every handler.
#[derive(Debug)]
pub(crate) struct Api {
    pub engine: EngineHandle,
    pub keys: KeyStore,
    pub limits: Limits,
    pub guard: crate::auth::guard::AuthGuard,
    pub config: ApiConfig,
    pub counters: Counters,
    pub tick_rate: ops::TickRate,
    /// Per-endpoint counts of the reference, market-data and order-family endpoints.
    pub surface: surface::EndpointCounters,
    /// REST connections open now.
    pub connections: Arc<std::sync::atomic::AtomicUsize>,
    /// REST request durations and responses by endpoint.
    pub http_metrics: metrics::HttpMetrics,
}

/// Maps an engine error to a reply: overload and stop are 503, anything else 500.
fn engine_error(e: EngineError) -> ApiError {
    match e {
        // "engine busy: ...": never sequenced, so never journaled; the client may retry.
        EngineError::Busy | EngineError::TooManyWaiting(_) => ApiError::unavailable(e.to_string()),
        EngineError::Stopped | EngineError::Timeout(_) => {
            ApiError::unavailable(format!("Engine unavailable: {e}"))
        }
        _ => ApiError::internal(),
    }
}

impl Api {
    /// Submits a command; returns once the journal passed it.
    pub(crate) async fn submit(&self, kind: CommandKind) -> Result<CommandOutcome, ApiError> {
        self.engine.submit_async(kind).await.map_err(engine_error)
    }

    /// True when the board holds a quote of `symbol` written within `max_age`.
    pub(crate) fn quote_is_fresh(&self, symbol: crate::types::SymbolId, max_age: Duration) -> bool {
        let max_ns = u64::try_from(max_age.as_nanos()).unwrap_or(u64::MAX);
        self.engine
            .board
            .read(symbol)
            .is_some_and(|q| crate::clock::mono_now_ns().saturating_sub(q.updated_ns) <= max_ns)
    }

    /// Data freshness (OPENALGO.md section 3): an order is decided against a quote at most
    /// the freshness limit old. When the board's quote is older than half the limit (so it
    /// cannot age past the limit before execution sees the order), or there is none, the
    /// watchdog fetches a REST quote (upstream, or the simulator's) and publishes it
    /// through the sequencer ahead of the order. Without a watchdog nothing is fetched;
    /// execution then refuses a MARKET order on a stale quote and rests the other types.
    pub(crate) async fn freshen_quote(&self, symbol: crate::types::SymbolId) {
        if self.quote_is_fresh(symbol, self.engine.quote_max_age / 2) {
            return;
        }
        let Some(watchdog) = self.engine.watchdog.clone() else { return };
        let _ = tokio::task::spawn_blocking(move || watchdog.fetch_quote_now(symbol)).await;
    }

    /// Runs a query; returns once the journal passed it.
    pub(crate) async fn query(&self, kind: QueryKind) -> Result<QueryReply, ApiError> {
        let reply = self.engine.query_async(kind).await.map_err(engine_error)?;
        match reply {
            QueryReply::Unavailable(why) => Err(ApiError::unavailable(why)),
            other => Ok(other),
        }
    }

    /// Turns a handler's result into a response, counting server errors.
    pub(crate) fn respond(&self, r: ApiResult) -> Response {
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        match r {
            Ok(resp) => resp,
            Err(e) => {
                if e.status.is_server_error() {
                    self.counters.server_errors.fetch_add(1, Ordering::Relaxed);
                }
                e.into_response()
            }
        }
    }
}

/// The `/api/v1/<name>` route and its trailing-slash twin.
fn both(r: Router<Arc<Api>>, name: &str, m: MethodRouter<Arc<Api>>) -> Router<Arc<Api>> {
    r.route(&format!("/api/v1/{name}"), m.clone()).route(&format!("/api/v1/{name}/"), m)
}

fn panic_reply(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::internal().into_response()
}

/// Builds the router over the shared state.
pub(crate) fn router(api: Arc<Api>) -> Router {
    let mut r = Router::new();
    let routes: [(&str, MethodRouter<Arc<Api>>); 20] = [
        ("placeorder", post(orders::place)),
        ("placesmartorder", post(orders::place_smart)),
        ("modifyorder", post(orders::modify)),
        ("cancelorder", post(orders::cancel)),
        ("cancelallorder", post(orders::cancel_all)),
        ("closeposition", post(orders::close_position)),
        ("orderbook", post(books::orderbook)),
        ("tradebook", post(books::tradebook)),
        ("positionbook", post(books::positionbook)),
        ("funds", post(books::funds)),
        ("orderstatus", post(books::orderstatus)),
        ("openposition", post(books::openposition)),
        ("quotes", post(quotes::quotes)),
        ("multiquotes", post(quotes::multiquotes)),
        ("depth", post(quotes::depth)),
        ("ping", post(ops::ping)),
        ("analyzer", post(account::analyzer)),
        ("latency", post(ops::latency)),
        ("holdings", post(account::holdings)),
        ("sandbox/reset", post(account::reset)),
    ];
    for (name, m) in routes {
        r = both(r, name, m);
    }
    // OPENALGO.md 2b: reference and market data (answered from the master and the walk).
    let surface: [(&str, MethodRouter<Arc<Api>>); 25] = [
        ("placegttorder", post(gtt::place)),
        ("modifygttorder", post(gtt::modify)),
        ("cancelgttorder", post(gtt::cancel)),
        ("gttorderbook", post(gtt::book)),
        ("basketorder", post(baskets::basket)),
        ("splitorder", post(baskets::split)),
        ("optionsorder", post(baskets::options_order)),
        ("optionsmultiorder", post(baskets::options_multi)),
        ("analyzer/toggle", post(account::toggle)),
        ("pnl/symbols", post(account::pnl_symbols)),
        ("history", post(history::history)),
        ("intervals", post(reference::intervals)),
        ("symbol", post(reference::symbol)),
        ("search", post(reference::search)),
        ("expiry", post(reference::expiry)),
        ("instruments", get(reference::instruments)),
        ("optionsymbol", post(options::optionsymbol)),
        ("optionchain", post(options::optionchain)),
        ("optiongreeks", post(options::optiongreeks)),
        ("multioptiongreeks", post(options::multioptiongreeks)),
        ("syntheticfuture", post(options::syntheticfuture)),
        ("margin", post(reference::margin)),
        ("market/holidays", post(reference::holidays)),
        ("market/timings", post(reference::timings)),
        ("telegram/notify", post(reference::telegram)),
    ];
    for (name, m) in surface {
        r = both(r, name, m);
    }
    r = r.route("/api/v1/ticker/{symbol}", get(history::ticker));
    let r = r
        .route("/health", get(ops::health))
        .route("/metrics", get(ops::metrics))
        .route("/instruments.json", get(ops::instruments))
        .route("/config.js", get(ops::config_js));
    let r = match api.config.static_dir.clone() {
        // The single-page app: real files as they are, any other path its index.html;
        // unknown API paths still get a JSON 404.
        Some(dir) => {
            let index = tower_http::services::ServeFile::new(dir.join("index.html"));
            let files = tower_http::services::ServeDir::new(dir).fallback(index);
            r.route("/api/{*rest}", axum::routing::any(not_found)).fallback_service(files)
        }
        // Else the copy embedded at build time (or a page saying there is none).
        None => r.route("/api/{*rest}", axum::routing::any(not_found)).fallback(ui::serve),
    };
    let r = r.layer(axum::middleware::from_fn_with_state(Arc::clone(&api), host::check));
    let r = r.layer(axum::middleware::from_fn_with_state(Arc::clone(&api), metrics::track));
    harden(r).with_state(api)
}

async fn not_found() -> ApiError {
    ApiError::not_found("Not found: the endpoints are POST /api/v1/<name>")
}

/// JSON replies for unknown routes and methods, and a 500 instead of a dropped
/// connection when a handler panics.
fn harden<S: Clone + Send + Sync + 'static>(r: Router<S>) -> Router<S> {
    r.method_not_allowed_fallback(|| async {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method not allowed: /api/v1 endpoints take POST, /health and /metrics GET",
        )
    })
    .layer(tower_http::catch_panic::CatchPanicLayer::custom(panic_reply))
}

/// A client must finish sending its request headers within this time, else its
/// connection is closed (slowloris connections cannot pile up).
pub const HEADER_DEADLINE: Duration = Duration::from_secs(10);

/// The reply to a connection over the cap, written before it is closed.
fn at_capacity_reply(max: usize) -> Vec<u8> {
    let body = format!(
        "{{\"status\":\"error\",\"message\":\"Server busy: {max} connections are open, the \
         limit; retry shortly\",\"mode\":\"analyze\"}}"
    );
    format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Decrements the open-connection count when a connection ends.
struct Open(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The accept loop: hyper's HTTP/1 server per connection (a header-read deadline, which
/// `axum::serve` does not offer, also bounding idle keep-alive), no Nagle delay, the
/// peer's address on each request (for the failed-authentication guard), a cap on open
/// connections (503 beyond), and a graceful stop that lets in-flight requests finish for
/// up to 5 s.
async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    api: Arc<Api>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) -> std::io::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let (max, idle) = (api.config.max_connections, api.config.idle_timeout);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(_) => {
                        // Out of file descriptors or a reset during accept: back off a little.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                if api.connections.fetch_add(1, Ordering::Relaxed) >= max {
                    api.connections.fetch_sub(1, Ordering::Relaxed);
                    api.counters.connections_refused.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(async move {
                        use tokio::io::AsyncWriteExt;
                        let mut tcp = tcp;
                        let reply = at_capacity_reply(max);
                        let _ = tokio::time::timeout(Duration::from_secs(1), tcp.write_all(&reply)).await;
                        let _ = tcp.shutdown().await;
                    });
                    continue;
                }
                let open = Open(Arc::clone(&api.connections));
                let _ = tcp.set_nodelay(true);
                // Each request carries its peer address for the failed-authentication guard.
                let peer = auth::Peer(peer.ip());
                let app = tower::ServiceExt::map_request(app.clone(), move |mut req: axum::extract::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(peer);
                    req
                });
                let service = hyper_util::service::TowerToHyperService::new(app);
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(idle)
                    .serve_connection(hyper_util::rt::TokioIo::new(tcp), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _open = open;
                    let _ = conn.await;
                });
            }
            _ = &mut stopped => break,
        }
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(5)) => {}
    }
    Ok(())
}

/// A running REST server with its own small tokio runtime.
#[derive(Debug)]
pub struct ApiServer {
    runtime: tokio::runtime::Runtime,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    addr: SocketAddr,
}

impl ApiServer {
    /// Binds `config.addr` and starts serving on a two-worker runtime.
    pub fn start(
        config: ApiConfig,
        engine: EngineHandle,
        keys: KeyStore,
    ) -> std::io::Result<ApiServer> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(64)
            .thread_name("tickfill-http")
            .enable_all()
            .build()?;
        let std_listener = std::net::TcpListener::bind(config.addr)?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(std_listener)?
        };
        let api = Arc::new(Api {
            limits: Limits::new(config.order_rate_per_sec, config.other_rate_per_sec),
            guard: crate::auth::guard::AuthGuard::new(config.auth_guard, "REST"),
            engine,
            keys,
            config,
            counters: Counters::default(),
            tick_rate: ops::TickRate::default(),
            surface: surface::EndpointCounters::default(),
            connections: Arc::default(),
            http_metrics: metrics::HttpMetrics::default(),
        });
        let app = router(Arc::clone(&api));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = runtime.spawn(serve(listener, app, api, stopped));
        Ok(ApiServer { runtime, stop: Some(stop), task: Some(task), addr })
    }

    /// The bound address (the real port when started on port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets in-flight requests finish (up to 5 s), then stops the runtime.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = self
                .runtime
                .block_on(async { tokio::time::timeout(Duration::from_secs(5), task).await });
        }
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        // Blocking inside an async context would panic; there, just signal the stop.
        if tokio::runtime::Handle::try_current().is_ok() {
            if let Some(stop) = self.stop.take() {
                let _ = stop.send(());
            }
            return;
        }
        self.stop_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn boom() -> &'static str {
        panic!("handler bug")
    }

    #[test]
    fn a_panicking_handler_is_a_json_500_and_the_server_lives_on() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let app: Router =
            harden(Router::new().route("/boom", get(boom)).route("/ok", get(|| async { "fine" })));
        let server = rt.spawn(async move { axum::serve(listener, app).await });
        let text = std::thread::spawn(move || {
            let agent: ureq::Agent =
                ureq::Agent::config_builder().http_status_as_error(false).build().into();
            let mut boom = agent.get(format!("http://{addr}/boom")).call().unwrap();
            let status = boom.status().as_u16();
            let body = boom.body_mut().read_to_string().unwrap();
            let mut ok = agent.get(format!("http://{addr}/ok")).call().unwrap();
            (status, body, ok.body_mut().read_to_string().unwrap())
        });
        let (status, body, ok) = rt.block_on(async {
            loop {
                if text.is_finished() {
                    break text.join().unwrap();
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        server.abort();
        assert_eq!(status, 500);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["message"], error::UNEXPECTED);
        assert_eq!(v["status"], "error");
        assert_eq!(ok, "fine");
    }
}
