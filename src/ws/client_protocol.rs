//! The WebSocket server's client protocol: client messages and the server's replies, field by
//! field (OPENALGO.md section 1). The market-data frames it pushes are
//! [`crate::openalgo_wire::market_data`], written by [`super::push`].
//!
//! Parsing goes through `serde_json::Value` because OpenAlgo's fields are loosely typed
//! (a mode is an int or a name, the action may sit in `action` or `type`); replies are
//! built with `serde_json` too. Nothing here touches sockets.

#![forbid(unsafe_code)]

use crate::openalgo_wire::modes;
use serde_json::{Map, Value, json};

/// The broker name in every reply.
pub const BROKER: &str = "sandbox";

/// Error codes of the `{"status":"error","code":..,"message":..}` replies.
pub mod code {
    /// Missing or wrong API key.
    pub const AUTHENTICATION_ERROR: &str = "AUTHENTICATION_ERROR";
    /// An action other than authenticate before authenticating.
    pub const NOT_AUTHENTICATED: &str = "NOT_AUTHENTICATED";
    /// A mode that is not 1..=3 or LTP/Quote/Depth.
    pub const INVALID_MODE: &str = "INVALID_MODE";
    /// A request without what it needs.
    pub const INVALID_PARAMETERS: &str = "INVALID_PARAMETERS";
    /// An unknown action.
    pub const INVALID_ACTION: &str = "INVALID_ACTION";
    /// A message that is not a JSON object.
    pub const INVALID_JSON: &str = "INVALID_JSON";
    /// Too many subscriptions on one connection.
    pub const LIMIT_EXCEEDED: &str = "LIMIT_EXCEEDED";
}

/// An error reply; the connection stays open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorReply {
    /// One of [`code`].
    pub code: &'static str,
    /// Human-readable text.
    pub message: String,
}

impl ErrorReply {
    /// An error with `code` and `message`.
    pub fn new(code: &'static str, message: impl Into<String>) -> ErrorReply {
        ErrorReply { code, message: message.into() }
    }

    /// The wire form: exactly `status`, `code`, `message`.
    pub fn to_json(&self) -> String {
        json!({"status": "error", "code": self.code, "message": self.message}).to_string()
    }
}

/// One symbol entry of a subscribe or unsubscribe request.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// `symbol` as sent (echoed in the reply).
    pub symbol: Value,
    /// `exchange` as sent (echoed in the reply).
    pub exchange: Value,
    /// The entry's mode: parsed, or the error text for an unparsable one.
    pub mode: Result<u8, String>,
}

impl Entry {
    /// The symbol and exchange when both are non-empty strings.
    pub fn names(&self) -> Option<(&str, &str)> {
        let s = self.symbol.as_str().filter(|s| !s.trim().is_empty())?;
        let e = self.exchange.as_str().filter(|e| !e.trim().is_empty())?;
        Some((s, e))
    }
}

/// A parsed client request.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    /// `authenticate` / `auth`; `None` when no key was given.
    Auth {
        /// `api_key` or `apikey`.
        key: Option<String>,
    },
    /// `subscribe`.
    Subscribe {
        /// The symbols (entry modes are the request's mode).
        entries: Vec<Entry>,
        /// The mode label's number.
        mode: u8,
        /// `depth` as sent (default 5), echoed.
        depth: Value,
        /// Echoed when given.
        request_id: Option<Value>,
    },
    /// `unsubscribe` (with `all` for `unsubscribe_all`).
    Unsubscribe {
        /// The symbols, each with its mode (default: the request's, else 2).
        entries: Vec<Entry>,
        /// Drop every subscription.
        all: bool,
        /// Echoed when given.
        request_id: Option<Value>,
    },
    /// `subscribe_orders` (`on`) or `unsubscribe_orders`.
    Orders {
        /// True to subscribe.
        on: bool,
        /// Echoed when given.
        request_id: Option<Value>,
    },
    /// `ping`.
    Ping {
        /// `client_timestamp` (or `timestamp`), echoed when given.
        client_timestamp: Option<Value>,
        /// `_pingId`, echoed when given.
        ping_id: Option<Value>,
    },
    /// `get_broker_info`.
    BrokerInfo,
    /// `get_supported_brokers` (answered before authentication too, as OpenAlgo does).
    SupportedBrokers,
}

impl Request {
    /// True for the requests allowed before authentication.
    pub fn is_auth(&self) -> bool {
        matches!(self, Request::Auth { .. })
    }
}

fn invalid_mode(v: &Value) -> String {
    format!("Invalid mode: {v}. Use 1 (LTP), 2 (Quote) or 3 (Depth)")
}

fn parse_mode(v: Option<&Value>, default: u8) -> Result<u8, String> {
    match v {
        None => Ok(default),
        Some(v) => modes::parse(v).ok_or_else(|| invalid_mode(v)),
    }
}

fn present(obj: &Map<String, Value>, key: &str) -> Option<Value> {
    obj.get(key).filter(|v| !v.is_null()).cloned()
}

/// Python's rendering of the action in "Invalid action: <action>".
fn action_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "None".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The entries of `symbols`, or of the top-level `symbol`/`exchange` (SDK 1.x form).
fn entries(
    obj: &Map<String, Value>,
    mode_of: impl Fn(&Map<String, Value>) -> Result<u8, String>,
) -> Result<Vec<Entry>, ErrorReply> {
    let entry = |o: &Map<String, Value>| Entry {
        symbol: o.get("symbol").cloned().unwrap_or(Value::Null),
        exchange: o.get("exchange").cloned().unwrap_or(Value::Null),
        mode: mode_of(o),
    };
    match obj.get("symbols") {
        Some(Value::Array(list)) if !list.is_empty() => Ok(list
            .iter()
            .map(|v| match v {
                Value::Object(o) => entry(o),
                _ => Entry {
                    symbol: Value::Null,
                    exchange: Value::Null,
                    mode: Err("each symbol must be an object".into()),
                },
            })
            .collect()),
        Some(v) if !v.is_null() && !v.is_array() => Err(ErrorReply::new(
            code::INVALID_PARAMETERS,
            "symbols must be a list of {\"symbol\", \"exchange\"} objects",
        )),
        _ if obj.contains_key("symbol") || obj.contains_key("exchange") => Ok(vec![entry(obj)]),
        _ => Ok(Vec::new()),
    }
}

/// Actions refused with `NOT_AUTHENTICATED` before authentication (`ping` and
/// `get_supported_brokers` are answered before it, as OpenAlgo does).
const ACTIONS: [&str; 6] = [
    "subscribe",
    "unsubscribe",
    "unsubscribe_all",
    "subscribe_orders",
    "unsubscribe_orders",
    "get_broker_info",
];

/// Parses one text message from a client that is (or is not yet) `authenticated`.
pub fn parse(text: &str, authenticated: bool) -> Result<Request, ErrorReply> {
    let invalid_json = || ErrorReply::new(code::INVALID_JSON, "Invalid JSON message");
    let value: Value = serde_json::from_str(text).map_err(|_| invalid_json())?;
    let Value::Object(obj) = value else { return Err(invalid_json()) };
    let action = obj.get("action").filter(|v| !v.is_null()).or_else(|| obj.get("type"));
    let request_id = present(&obj, "request_id");
    let name = action.and_then(Value::as_str);
    if !authenticated && name.is_some_and(|a| ACTIONS.contains(&a)) {
        return Err(ErrorReply::new(code::NOT_AUTHENTICATED, "You must authenticate first"));
    }
    match name {
        Some("authenticate" | "auth") => {
            let key = obj.get("api_key").filter(|v| !v.is_null()).or_else(|| obj.get("apikey"));
            let key = match key {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if s.is_empty() => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(other) => Some(other.to_string()),
            };
            Ok(Request::Auth { key })
        }
        Some("subscribe") => {
            let mode = parse_mode(obj.get("mode"), 2)
                .map_err(|m| ErrorReply::new(code::INVALID_MODE, m))?;
            let entries = entries(&obj, |_| Ok(mode))?;
            if entries.is_empty() {
                return Err(ErrorReply::new(
                    code::INVALID_PARAMETERS,
                    "At least one symbol must be specified",
                ));
            }
            let depth = present(&obj, "depth").unwrap_or(json!(5));
            Ok(Request::Subscribe { entries, mode, depth, request_id })
        }
        Some(a @ ("unsubscribe" | "unsubscribe_all")) => {
            let all = a == "unsubscribe_all" || obj.get("unsubscribe_all") == Some(&json!(true));
            if all {
                return Ok(Request::Unsubscribe { entries: Vec::new(), all, request_id });
            }
            let top = obj.get("mode");
            let single = !matches!(obj.get("symbols"), Some(Value::Array(l)) if !l.is_empty());
            if single {
                // The one-symbol form: a bad mode is an error for the whole request.
                parse_mode(top, 2).map_err(|m| ErrorReply::new(code::INVALID_MODE, m))?;
            }
            let entries = entries(&obj, |o| match o.get("mode") {
                Some(m) => parse_mode(Some(m), 2),
                None => parse_mode(top, 2),
            })?;
            if entries.is_empty() {
                return Err(ErrorReply::new(
                    code::INVALID_PARAMETERS,
                    "Either symbols or unsubscribe_all is required",
                ));
            }
            Ok(Request::Unsubscribe { entries, all: false, request_id })
        }
        Some(a @ ("subscribe_orders" | "unsubscribe_orders")) => {
            Ok(Request::Orders { on: a == "subscribe_orders", request_id })
        }
        Some("ping") => Ok(Request::Ping {
            client_timestamp: present(&obj, "client_timestamp")
                .or_else(|| present(&obj, "timestamp")),
            ping_id: present(&obj, "_pingId"),
        }),
        Some("get_broker_info") => Ok(Request::BrokerInfo),
        Some("get_supported_brokers") => Ok(Request::SupportedBrokers),
        _ => Err(ErrorReply::new(
            code::INVALID_ACTION,
            format!("Invalid action: {}", action_text(action)),
        )),
    }
}

/// The reply to a successful authentication.
pub fn auth_ok(user_id: &str) -> String {
    json!({
        "type": "auth",
        "status": "success",
        "message": "Authentication successful",
        "broker": BROKER,
        "user_id": user_id,
        "supported_features": {"ltp": true, "quote": true, "depth": true},
    })
    .to_string()
}

/// A successful subscribe entry.
pub fn subscribed(e: &Entry, mode: u8, depth: &Value) -> Value {
    json!({
        "symbol": e.symbol,
        "exchange": e.exchange,
        "status": "success",
        "mode": modes::label(mode),
        "depth": depth,
        "broker": BROKER,
    })
}

/// A successful unsubscribe entry.
pub fn unsubscribed(symbol: &Value, exchange: &Value) -> Value {
    json!({"symbol": symbol, "exchange": exchange, "status": "success", "broker": BROKER})
}

/// A failed subscribe or unsubscribe entry.
pub fn failed(e: &Entry, message: &str) -> Value {
    json!({
        "symbol": e.symbol,
        "exchange": e.exchange,
        "status": "error",
        "message": message,
        "broker": BROKER,
    })
}

fn with_request_id(mut v: Value, request_id: Option<&Value>) -> String {
    if let (Some(id), Value::Object(o)) = (request_id, &mut v) {
        o.insert("request_id".into(), id.clone());
    }
    v.to_string()
}

/// The subscribe reply: `success` when every entry succeeded, else `partial`.
pub fn subscribe_reply(entries: Vec<Value>, all_ok: bool, request_id: Option<&Value>) -> String {
    let v = json!({
        "type": "subscribe",
        "status": if all_ok { "success" } else { "partial" },
        "subscriptions": entries,
        "message": "Subscription processing complete",
        "broker": BROKER,
    });
    with_request_id(v, request_id)
}

/// The unsubscribe reply: `success`, `partial`, or `error` when nothing succeeded.
pub fn unsubscribe_reply(ok: Vec<Value>, bad: Vec<Value>, request_id: Option<&Value>) -> String {
    let status = match (ok.is_empty(), bad.is_empty()) {
        (_, true) => "success",
        (false, false) => "partial",
        (true, false) => "error",
    };
    let v = json!({
        "type": "unsubscribe",
        "status": status,
        "message": "Unsubscription processing complete",
        "successful": ok,
        "failed": bad,
        "broker": BROKER,
    });
    with_request_id(v, request_id)
}

/// The reply to `subscribe_orders` / `unsubscribe_orders`, echoing `request_id`.
pub fn orders_reply(on: bool, request_id: Option<&Value>) -> String {
    let (kind, message) = if on {
        ("subscribe_orders", "Subscribed to order updates")
    } else {
        ("unsubscribe_orders", "Unsubscribed from order updates")
    };
    with_request_id(json!({"type": kind, "status": "success", "message": message}), request_id)
}

/// The reply to `get_supported_brokers`: OpenAlgo lists its configured brokers
/// (`VALID_BROKERS`) in this shape; tickfill's only broker is the sandbox.
pub fn supported_brokers() -> String {
    json!({"type": "supported_brokers", "status": "success", "brokers": [BROKER], "count": 1})
        .to_string()
}

/// The pong; the client's timestamp and ping id only when it sent them.
pub fn pong(server_ms: i64, client_timestamp: Option<&Value>, ping_id: Option<&Value>) -> String {
    let mut v = json!({"type": "pong", "status": "success", "server_timestamp": server_ms});
    if let Value::Object(o) = &mut v {
        if let Some(t) = client_timestamp {
            o.insert("client_timestamp".into(), t.clone());
        }
        if let Some(p) = ping_id {
            o.insert("_pingId".into(), p.clone());
        }
    }
    v.to_string()
}

/// The reply to `get_broker_info`.
pub fn broker_info(user_id: &str) -> String {
    json!({
        "type": "broker_info",
        "status": "success",
        "broker": BROKER,
        "adapter_status": "connected",
        "user_id": user_id,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Request, ErrorReply> {
        super::parse(text, true)
    }

    fn err(text: &str) -> ErrorReply {
        parse(text).unwrap_err()
    }

    #[test]
    fn only_authentication_before_authentication() {
        let e = super::parse(r#"{"action":"subscribe","mode":9}"#, false).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (code::NOT_AUTHENTICATED, "You must authenticate first")
        );
        assert!(super::parse(r#"{"action":"auth","apikey":"k"}"#, false).unwrap().is_auth());
        // OpenAlgo answers these two before authentication.
        assert!(matches!(super::parse(r#"{"action":"ping"}"#, false), Ok(Request::Ping { .. })));
        assert_eq!(
            super::parse(r#"{"action":"get_supported_brokers"}"#, false),
            Ok(Request::SupportedBrokers)
        );
        assert_eq!(
            super::parse(r#"{"action":"x"}"#, false).unwrap_err().code,
            code::INVALID_ACTION
        );
    }

    #[test]
    fn errors_carry_the_documented_codes_and_messages() {
        let e = err("{nope");
        assert_eq!((e.code, e.message.as_str()), (code::INVALID_JSON, "Invalid JSON message"));
        assert_eq!(err("[1]").code, code::INVALID_JSON);
        let e = err(r#"{"action":"dance"}"#);
        assert_eq!(e.message, "Invalid action: dance");
        assert_eq!(err("{}").message, "Invalid action: None");
        let e = err(r#"{"action":"subscribe","symbol":"SBIN","exchange":"NSE","mode":4}"#);
        assert_eq!(e.code, code::INVALID_MODE);
        let e = err(r#"{"action":"subscribe","symbols":[]}"#);
        assert_eq!(e.message, "At least one symbol must be specified");
        let e = err(r#"{"action":"unsubscribe"}"#);
        assert_eq!(e.message, "Either symbols or unsubscribe_all is required");
        let v: Value = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 3);
    }

    #[test]
    fn both_subscribe_forms_and_defaults() {
        let one = parse(r#"{"type":"subscribe","symbol":"SBIN","exchange":"NSE"}"#).unwrap();
        let Request::Subscribe { entries, mode, depth, request_id } = one else { panic!() };
        assert_eq!((entries.len(), mode, depth, request_id), (1, 2, json!(5), None));
        let many = parse(
            r#"{"action":"subscribe","symbols":[{"symbol":"A","exchange":"NSE"},{"exchange":"NSE"}],"mode":"ltp","request_id":"r"}"#,
        )
        .unwrap();
        let Request::Subscribe { entries, mode, request_id, .. } = many else { panic!() };
        assert_eq!((entries.len(), mode, request_id), (2, 1, Some(json!("r"))));
        assert!(entries[1].names().is_none());
    }

    #[test]
    fn unsubscribe_modes_default_to_the_request_then_quote() {
        let r = parse(
            r#"{"action":"unsubscribe","mode":1,"symbols":[{"symbol":"A","exchange":"NSE"},{"symbol":"B","exchange":"NSE","mode":"depth"},{"symbol":"C","exchange":"NSE","mode":9}]}"#,
        )
        .unwrap();
        let Request::Unsubscribe { entries, .. } = r else { panic!() };
        assert_eq!(entries[0].mode, Ok(1));
        assert_eq!(entries[1].mode, Ok(3));
        assert!(entries[2].mode.is_err());
        let r = parse(r#"{"action":"unsubscribe","symbol":"A","exchange":"NSE"}"#).unwrap();
        let Request::Unsubscribe { entries, .. } = r else { panic!() };
        assert_eq!(entries[0].mode, Ok(2));
    }

    #[test]
    fn pong_echoes_only_what_was_sent() {
        let p: Value = serde_json::from_str(&pong(5, None, None)).unwrap();
        assert!(p.get("client_timestamp").is_none() && p.get("_pingId").is_none());
        let p: Value = serde_json::from_str(&pong(5, Some(&json!(1)), Some(&json!("x")))).unwrap();
        assert_eq!((p["client_timestamp"].clone(), p["_pingId"].clone()), (json!(1), json!("x")));
    }
}
