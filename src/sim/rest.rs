//! The REST side: OpenAlgo's `quotes`, `multiquotes` and `depth` (OPENALGO.md section 2)
//! served from the walk's current state, plus the simulator's own `/sim/control` (which
//! needs the key: [`super::SimConfig::control_keys`]) and `/sim/status`. axum on a current-thread tokio runtime in one thread: quotes are rare
//! (the watchdog polls every few seconds), so one thread is plenty.

#![forbid(unsafe_code)]

use super::session::MAX_MESSAGE_BYTES;
use super::state::Shared;
use super::{Control, ControlError};
use crate::event::{Level, Tick};
use crate::types::{Exchange, Price};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::{Map, Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use subtle::ConstantTimeEq;

type Reply = (StatusCode, axum::Json<Value>);
type SharedState = State<Arc<Shared>>;

/// The running REST server.
#[derive(Debug)]
pub(crate) struct RestServer {
    addr: SocketAddr,
    shutdown: tokio::sync::oneshot::Sender<()>,
    thread: JoinHandle<()>,
}

impl RestServer {
    /// Binds `addr` and serves on a new thread.
    pub fn start(addr: SocketAddr, shared: Arc<Shared>) -> std::io::Result<RestServer> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = router(shared);
        let thread = std::thread::Builder::new().name("sim-rest".into()).spawn(move || {
            runtime.block_on(async move {
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => {
                        tokio::spawn(axum::serve(listener, app).into_future());
                        let _ = stopped.await;
                    }
                    Err(e) => tracing::error!(error = %e, "sim: REST listener failed"),
                }
            });
            // Dropping the runtime cancels the server task and every open connection.
            drop(runtime);
        })?;
        Ok(RestServer { addr, shutdown, thread })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving and joins the thread.
    pub fn stop(self) {
        let _ = self.shutdown.send(());
        let _ = self.thread.join();
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/v1/quotes", post(quotes))
        .route("/api/v1/quotes/", post(quotes))
        .route("/api/v1/depth", post(depth))
        .route("/api/v1/depth/", post(depth))
        .route("/api/v1/multiquotes", post(multiquotes))
        .route("/api/v1/multiquotes/", post(multiquotes))
        .route("/sim/control", post(control))
        .route("/sim/status", get(status))
        .layer(DefaultBodyLimit::max(MAX_MESSAGE_BYTES))
        .with_state(shared)
}

fn bad(status: StatusCode, message: impl Into<String>) -> Reply {
    (status, axum::Json(json!({"status": "error", "message": message.into()})))
}

fn ok(body: Value) -> Reply {
    (StatusCode::OK, axum::Json(body))
}

fn object(body: &[u8]) -> Result<Map<String, Value>, Reply> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(bad(StatusCode::BAD_REQUEST, "The body must be a JSON object")),
    }
}

fn text<'a>(obj: &'a Map<String, Value>, field: &str) -> Result<&'a str, Reply> {
    match obj.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim()),
        None | Some(Value::Null) => {
            Err(bad(StatusCode::BAD_REQUEST, format!("{field}: Missing data for required field.")))
        }
        Some(_) => {
            Err(bad(StatusCode::BAD_REQUEST, format!("{field}: must be a non-empty string")))
        }
    }
}

/// `apikey` present (400) and right (403).
fn authorize(shared: &Shared, obj: &Map<String, Value>) -> Result<(), Reply> {
    let key = text(obj, "apikey")?;
    if bool::from(key.as_bytes().ct_eq(shared.api_key.as_bytes())) {
        Ok(())
    } else {
        Err(bad(StatusCode::FORBIDDEN, "Invalid openalgo apikey"))
    }
}

fn quote_data(t: &Tick) -> Value {
    json!({"open": t.open.to_f64(), "high": t.high.to_f64(), "low": t.low.to_f64(),
        "ltp": t.ltp.to_f64(), "ask": t.ask.to_f64(), "bid": t.bid.to_f64(),
        "prev_close": t.close.to_f64(), "volume": t.volume, "oi": t.oi})
}

fn depth_data(t: &Tick) -> Value {
    let side = |levels: &[Level; 5]| -> Vec<Value> {
        levels.iter().map(|l| json!({"price": l.price.to_f64(), "quantity": l.quantity})).collect()
    };
    json!({"open": t.open.to_f64(), "high": t.high.to_f64(), "low": t.low.to_f64(),
        "ltp": t.ltp.to_f64(), "ltq": t.last_qty, "prev_close": t.close.to_f64(),
        "volume": t.volume, "oi": t.oi, "totalbuyqty": t.total_buy_qty,
        "totalsellqty": t.total_sell_qty, "bids": side(&t.depth.buy),
        "asks": side(&t.depth.sell)})
}

/// The one-symbol endpoints: validate, authorize, look up.
fn one_symbol(shared: &Shared, body: &[u8]) -> Result<Tick, Reply> {
    let obj = object(body)?;
    let (symbol, exchange) = (text(&obj, "symbol")?, text(&obj, "exchange")?);
    authorize(shared, &obj)?;
    shared.quote(exchange, symbol, shared.now_ms()).map_err(|m| bad(StatusCode::BAD_REQUEST, m))
}

async fn quotes(State(shared): SharedState, body: Bytes) -> Reply {
    match one_symbol(&shared, &body) {
        Ok(t) => ok(json!({"status": "success", "data": quote_data(&t)})),
        Err(e) => e,
    }
}

async fn depth(State(shared): SharedState, body: Bytes) -> Reply {
    match one_symbol(&shared, &body) {
        Ok(t) => ok(json!({"status": "success", "data": depth_data(&t)})),
        Err(e) => e,
    }
}

async fn multiquotes(State(shared): SharedState, body: Bytes) -> Reply {
    let run = || -> Result<Value, Reply> {
        let obj = object(&body)?;
        let list = match obj.get("symbols") {
            Some(Value::Array(list)) if !list.is_empty() => list,
            None | Some(Value::Null) => {
                return Err(bad(
                    StatusCode::BAD_REQUEST,
                    "symbols: Missing data for required field.",
                ));
            }
            Some(_) => {
                return Err(bad(
                    StatusCode::BAD_REQUEST,
                    "symbols: must be a non-empty list of {symbol, exchange}",
                ));
            }
        };
        authorize(&shared, &obj)?;
        let ms = shared.now_ms();
        let results: Vec<Value> = list
            .iter()
            .map(|entry| {
                let get = |k: &str| entry.get(k).cloned().unwrap_or(Value::Null);
                let (symbol, exchange) = (get("symbol"), get("exchange"));
                let found = match (symbol.as_str(), exchange.as_str()) {
                    (Some(s), Some(e)) => shared.quote(e, s, ms),
                    (None, _) => Err("symbol: Missing data for required field.".to_string()),
                    (_, None) => Err("exchange: Missing data for required field.".to_string()),
                };
                match found {
                    Ok(t) => {
                        json!({"symbol": symbol, "exchange": exchange, "data": quote_data(&t)})
                    }
                    Err(e) => json!({"symbol": symbol, "exchange": exchange, "error": e}),
                }
            })
            .collect();
        Ok(json!({"status": "success", "results": results}))
    };
    match run() {
        Ok(v) => ok(v),
        Err(e) => e,
    }
}

/// Parses `POST /sim/control`.
fn parse_control(obj: &Map<String, Value>) -> Result<Control, Reply> {
    let action = text(obj, "action")?;
    match action.to_ascii_lowercase().as_str() {
        "pause" => Ok(Control::Pause),
        "mute" => Ok(Control::Mute),
        "resume" => Ok(Control::Resume),
        "set_price" => {
            let symbol = text(obj, "symbol")?.to_string();
            let exchange = Exchange::parse(text(obj, "exchange")?).ok_or_else(|| {
                bad(StatusCode::BAD_REQUEST, "exchange: not a known exchange (NSE, NFO, ...)")
            })?;
            let ltp = match obj.get("ltp") {
                Some(Value::Number(n)) => n.as_f64().and_then(Price::from_f64),
                Some(Value::String(s)) => Price::parse(s),
                _ => None,
            }
            .filter(|p| p.is_positive())
            .ok_or_else(|| bad(StatusCode::BAD_REQUEST, "ltp: must be a positive number"))?;
            Ok(Control::SetPrice { exchange, symbol, ltp })
        }
        "set_clock" => Ok(Control::SetClock { epoch_ms: clock_time(obj)? }),
        "liquidity" => {
            let symbol = match (obj.get("symbol"), obj.get("exchange")) {
                (None | Some(Value::Null), None | Some(Value::Null)) => None,
                _ => {
                    let exchange = Exchange::parse(text(obj, "exchange")?).ok_or_else(|| {
                        bad(
                            StatusCode::BAD_REQUEST,
                            "exchange: not a known exchange (NSE, NFO, ...)",
                        )
                    })?;
                    Some((exchange, text(obj, "symbol")?.to_string()))
                }
            };
            let factor = match obj.get("factor") {
                Some(Value::Number(n)) => n.as_f64(),
                Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
                _ => None,
            };
            let factor_ppm = factor.and_then(super::walk::liquidity_ppm).ok_or_else(|| {
                bad(StatusCode::BAD_REQUEST, "factor: must be a number above 0 and at most 100")
            })?;
            Ok(Control::Liquidity { symbol, factor_ppm })
        }
        _ => Err(bad(
            StatusCode::BAD_REQUEST,
            "action: must be one of pause, mute, resume, set_price, set_clock, liquidity",
        )),
    }
}

/// `set_clock`'s `time`: `"YYYY-MM-DD HH:MM:SS"` in IST (how OpenAlgo prints times) or
/// epoch milliseconds.
fn clock_time(obj: &Map<String, Value>) -> Result<i64, Reply> {
    const HELP: &str = "time: must be \"YYYY-MM-DD HH:MM:SS\" (IST) or epoch milliseconds";
    let ms = match obj.get("time") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => {
            chrono::NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%d %H:%M:%S")
                .ok()
                .and_then(|t| t.and_local_timezone(crate::refdata::ist()).single())
                .map(|t| t.timestamp_millis())
        }
        None | Some(Value::Null) => {
            return Err(bad(StatusCode::BAD_REQUEST, "time: Missing data for required field."));
        }
        _ => None,
    };
    // Up to the year 9999: beyond, nanosecond event times overflow.
    ms.filter(|ms| (0..253_402_300_800_000).contains(ms))
        .ok_or_else(|| bad(StatusCode::BAD_REQUEST, HELP))
}

/// `/sim/control`'s key: the engine's when the simulator runs inside `serve`, else the
/// simulator's own.
fn authorize_control(shared: &Shared, obj: &Map<String, Value>) -> Result<(), Reply> {
    let Some(keys) = &shared.control_keys else { return authorize(shared, obj) };
    if keys.verify(text(obj, "apikey")?) {
        Ok(())
    } else {
        Err(bad(StatusCode::FORBIDDEN, "Invalid openalgo apikey"))
    }
}

async fn control(State(shared): SharedState, body: Bytes) -> Reply {
    let authorized = object(&body).and_then(|o| authorize_control(&shared, &o).map(|()| o));
    let control = match authorized.and_then(|o| parse_control(&o)) {
        Ok(c) => c,
        Err(e) => return e,
    };
    match shared.control(control) {
        Ok(()) => ok(json!({"status": "success", "sim": shared.status()})),
        Err(e @ ControlError::UnknownSymbol(_)) => {
            bad(StatusCode::BAD_REQUEST, format!("symbol: {e}"))
        }
        Err(e @ ControlError::BadFactor(_)) => bad(StatusCode::BAD_REQUEST, format!("factor: {e}")),
        Err(e @ ControlError::ClockBackwards { .. }) => {
            bad(StatusCode::BAD_REQUEST, format!("time: {e}"))
        }
        Err(e) => bad(StatusCode::BAD_REQUEST, format!("ltp: {e}")),
    }
}

async fn status(State(shared): SharedState) -> Reply {
    ok(serde_json::to_value(shared.status()).unwrap_or_default())
}
