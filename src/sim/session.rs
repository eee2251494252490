//! One client's side of the OpenAlgo WebSocket protocol (OPENALGO.md section 1), as the
//! upstream broker proxy would answer it: authentication, subscriptions, pings and the
//! error replies. Pure: no sockets, no clock, so every reply shape is unit-tested here.
//!
//! The session owns its client's subscriptions (symbol -> set of modes) and reports every
//! change as a [`Change`], which the server applies to its symbol index.

#![forbid(unsafe_code)]

use crate::openalgo_wire::modes;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use subtle::ConstantTimeEq;

/// The broker name the simulator reports.
pub const BROKER: &str = "sandbox";
/// The user id the simulator reports.
pub const USER_ID: &str = "sim";
/// The largest client message accepted, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// A walker index, as resolved by the server (see [`crate::sim::walk::RandomWalk::index_of`]).
pub type WalkerIndex = u32;

/// One client's subscription to one symbol changed: `modes` is its new bit set
/// (bit `m - 1` for mode `m`; 0 = no longer subscribed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    /// The symbol.
    pub walker: WalkerIndex,
    /// The client's modes for it now.
    pub modes: u8,
}

/// The protocol state of one connection.
#[derive(Debug, Default)]
pub struct Session {
    authenticated: bool,
    subscriptions: BTreeMap<WalkerIndex, u8>,
}

/// An error reply: `{"status":"error","code":..,"message":..}`.
pub fn error(code: &str, message: &str) -> String {
    json!({"status": "error", "code": code, "message": message}).to_string()
}

impl Session {
    /// True once the client has authenticated.
    pub fn is_authenticated(&self) -> bool {
        self.authenticated
    }

    /// Every symbol this client is subscribed to, with its mode bits.
    pub fn subscriptions(&self) -> impl Iterator<Item = (WalkerIndex, u8)> + '_ {
        self.subscriptions.iter().map(|(w, m)| (*w, *m))
    }

    /// Answers one text message: pushes the replies to `replies` and the subscription
    /// changes to `changes`. `resolve` maps (exchange, symbol) to a walker index, or to
    /// the message of an error entry.
    pub fn handle<R>(
        &mut self,
        text: &str,
        api_key: &str,
        now_ms: i64,
        resolve: R,
        replies: &mut Vec<String>,
        changes: &mut Vec<Change>,
    ) where
        R: Fn(&str, &str) -> Result<WalkerIndex, String>,
    {
        let Ok(Value::Object(msg)) = serde_json::from_str::<Value>(text) else {
            replies.push(error("INVALID_JSON", "Invalid JSON message"));
            return;
        };
        let action = match msg.get("action").or_else(|| msg.get("type")) {
            Some(Value::String(a)) => a.as_str(),
            Some(other) => {
                replies.push(error("INVALID_ACTION", &format!("Invalid action: {other}")));
                return;
            }
            None => {
                replies.push(error(
                    "INVALID_ACTION",
                    "Invalid action: None (the message needs an `action` field)",
                ));
                return;
            }
        };
        if matches!(action, "authenticate" | "auth") {
            replies.push(self.authenticate(&msg, api_key));
            return;
        }
        if !self.authenticated {
            replies.push(error("NOT_AUTHENTICATED", "You must authenticate first"));
            return;
        }
        let reply = match action {
            "subscribe" => self.subscribe(&msg, &resolve, changes),
            "unsubscribe" => self.unsubscribe(&msg, &resolve, changes),
            "unsubscribe_all" => Ok(self.unsubscribe_all(changes)),
            "ping" => Ok(pong(&msg, now_ms)),
            "get_broker_info" => Ok(json!({"type": "broker_info", "status": "success",
                "broker": BROKER, "adapter_status": "connected", "user_id": USER_ID})
            .to_string()),
            "subscribe_orders" | "unsubscribe_orders" => Ok(json!({"type": action,
                "status": "success",
                "message": if action == "subscribe_orders" { "Subscribed to order updates" }
                           else { "Unsubscribed from order updates" }})
            .to_string()),
            other => Err(error("INVALID_ACTION", &format!("Invalid action: {other}"))),
        };
        replies.push(reply.unwrap_or_else(|e| e));
    }

    fn authenticate(&mut self, msg: &Map<String, Value>, api_key: &str) -> String {
        let given = msg.get("api_key").or_else(|| msg.get("apikey"));
        let Some(key) = given.and_then(Value::as_str).filter(|k| !k.is_empty()) else {
            return error("AUTHENTICATION_ERROR", "API key is required");
        };
        if !bool::from(key.as_bytes().ct_eq(api_key.as_bytes())) {
            return error("AUTHENTICATION_ERROR", "Invalid API key");
        }
        self.authenticated = true;
        json!({"type": "auth", "status": "success", "message": "Authentication successful",
            "broker": BROKER, "user_id": USER_ID,
            "supported_features": {"ltp": true, "quote": true, "depth": true}})
        .to_string()
    }

    fn subscribe<R>(
        &mut self,
        msg: &Map<String, Value>,
        resolve: &R,
        changes: &mut Vec<Change>,
    ) -> Result<String, String>
    where
        R: Fn(&str, &str) -> Result<WalkerIndex, String>,
    {
        let mode = mode_of(msg.get("mode"), 2)?;
        let depth = match msg.get("depth") {
            None | Some(Value::Null) => 5,
            Some(v) => v.as_u64().filter(|d| (1..=50).contains(d)).ok_or_else(|| {
                error("INVALID_PARAMETERS", "depth must be a whole number from 1 to 50")
            })?,
        };
        let entries = entries(msg)?;
        if entries.is_empty() {
            return Err(error("INVALID_PARAMETERS", "At least one symbol must be specified"));
        }
        let mut all_ok = true;
        let mut out = Vec::with_capacity(entries.len());
        for entry in &entries {
            let (symbol, exchange) = names(entry);
            let found = check_names(entry).and_then(|(s, e)| resolve(e, s));
            match found {
                Ok(walker) => {
                    let bits = self.subscriptions.entry(walker).or_insert(0);
                    if *bits & bit(mode) == 0 {
                        *bits |= bit(mode);
                        changes.push(Change { walker, modes: *bits });
                    }
                    out.push(json!({"symbol": symbol, "exchange": exchange,
                        "status": "success", "mode": modes::label(mode), "depth": depth,
                        "broker": BROKER}));
                }
                Err(message) => {
                    all_ok = false;
                    out.push(json!({"symbol": symbol, "exchange": exchange,
                        "status": "error", "message": message, "broker": BROKER}));
                }
            }
        }
        let mut reply = json!({"type": "subscribe",
            "status": if all_ok { "success" } else { "partial" },
            "subscriptions": out, "message": "Subscription processing complete",
            "broker": BROKER});
        if let Some(id) = msg.get("request_id") {
            reply["request_id"] = id.clone();
        }
        Ok(reply.to_string())
    }

    fn unsubscribe<R>(
        &mut self,
        msg: &Map<String, Value>,
        resolve: &R,
        changes: &mut Vec<Change>,
    ) -> Result<String, String>
    where
        R: Fn(&str, &str) -> Result<WalkerIndex, String>,
    {
        if msg.get("unsubscribe_all").and_then(Value::as_bool) == Some(true) {
            return Ok(self.unsubscribe_all(changes));
        }
        let top_mode = mode_of(msg.get("mode"), 2)?;
        let entries = entries(msg)?;
        if entries.is_empty() {
            return Err(error(
                "INVALID_PARAMETERS",
                "Either symbols or unsubscribe_all is required",
            ));
        }
        let (mut ok, mut failed) = (Vec::new(), Vec::new());
        for entry in &entries {
            let (symbol, exchange) = names(entry);
            let mode = match entry.get("mode") {
                Some(v) => mode_of(Some(v), 2)?,
                None => top_mode,
            };
            let result = check_names(entry).and_then(|(s, e)| resolve(e, s)).and_then(|w| {
                let bits = self.subscriptions.get_mut(&w).filter(|b| **b & bit(mode) != 0);
                let bits = bits.ok_or_else(|| {
                    format!("Not subscribed to {symbol} on {exchange} in mode {mode}")
                })?;
                *bits &= !bit(mode);
                let modes = *bits;
                if modes == 0 {
                    self.subscriptions.remove(&w);
                }
                changes.push(Change { walker: w, modes });
                Ok(())
            });
            match result {
                Ok(()) => ok.push(json!({"symbol": symbol, "exchange": exchange,
                    "mode": modes::label(mode), "status": "success"})),
                Err(message) => failed.push(json!({"symbol": symbol, "exchange": exchange,
                    "status": "error", "message": message})),
            }
        }
        let status = match (ok.is_empty(), failed.is_empty()) {
            (_, true) => "success",
            (false, false) => "partial",
            (true, false) => "error",
        };
        let mut reply = json!({"type": "unsubscribe", "status": status,
            "message": "Unsubscription processing complete",
            "successful": ok, "failed": failed, "broker": BROKER});
        if let Some(id) = msg.get("request_id") {
            reply["request_id"] = id.clone();
        }
        Ok(reply.to_string())
    }

    fn unsubscribe_all(&mut self, changes: &mut Vec<Change>) -> String {
        let count = self.subscriptions.len();
        for (walker, _) in std::mem::take(&mut self.subscriptions) {
            changes.push(Change { walker, modes: 0 });
        }
        json!({"type": "unsubscribe", "status": "success",
            "message": format!("Unsubscribed from all {count} symbols"),
            "successful": [], "failed": [], "broker": BROKER})
        .to_string()
    }
}

fn bit(mode: u8) -> u8 {
    1 << (mode - 1)
}

fn mode_of(v: Option<&Value>, default: u8) -> Result<u8, String> {
    match v {
        None | Some(Value::Null) => Ok(default),
        Some(v) => modes::parse(v).ok_or_else(|| {
            error("INVALID_MODE", &format!("Invalid mode {v}: use 1 (LTP), 2 (Quote) or 3 (Depth)"))
        }),
    }
}

/// The entries of either request form: `symbols: [...]`, or the message itself when it
/// carries `symbol`.
fn entries(msg: &Map<String, Value>) -> Result<Vec<&Map<String, Value>>, String> {
    match msg.get("symbols") {
        Some(Value::Array(list)) => list
            .iter()
            .map(|e| {
                e.as_object().ok_or_else(|| {
                    error(
                        "INVALID_PARAMETERS",
                        "symbols entries must be objects with symbol and exchange",
                    )
                })
            })
            .collect(),
        Some(Value::Null) | None if msg.contains_key("symbol") => Ok(vec![msg]),
        Some(Value::Null) | None => Ok(Vec::new()),
        Some(_) => Err(error("INVALID_PARAMETERS", "symbols must be a list")),
    }
}

fn names(entry: &Map<String, Value>) -> (Value, Value) {
    let get = |k| entry.get(k).cloned().unwrap_or(Value::Null);
    (get("symbol"), get("exchange"))
}

fn check_names(entry: &Map<String, Value>) -> Result<(&str, &str), String> {
    let field = |k: &str| match entry.get(k) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.as_str()),
        _ => Err(format!("{k} is required and must be a non-empty string")),
    };
    Ok((field("symbol")?, field("exchange")?))
}

fn pong(msg: &Map<String, Value>, now_ms: i64) -> String {
    let mut reply = json!({"type": "pong", "status": "success", "server_timestamp": now_ms});
    for key in ["client_timestamp", "_pingId"] {
        if let Some(v) = msg.get(key) {
            reply[key] = v.clone();
        }
    }
    reply.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(exchange: &str, symbol: &str) -> Result<WalkerIndex, String> {
        match (exchange, symbol) {
            ("NSE", "RELIANCE") => Ok(1),
            ("NSE", "SBIN") => Ok(2),
            _ => Err(format!("Symbol {symbol} not found on {exchange}")),
        }
    }

    fn say(s: &mut Session, text: &str) -> (Value, Vec<Change>) {
        let (mut replies, mut changes) = (Vec::new(), Vec::new());
        s.handle(text, "k", 7, resolve, &mut replies, &mut changes);
        assert_eq!(replies.len(), 1);
        (serde_json::from_str(&replies[0]).unwrap(), changes)
    }

    fn code(v: &Value) -> &str {
        assert_eq!(v["status"], "error", "{v}");
        assert!(v.get("type").is_none());
        v["code"].as_str().unwrap()
    }

    #[test]
    fn errors_have_the_exact_codes() {
        let mut s = Session::default();
        for (msg, want) in [
            ("{", "INVALID_JSON"),
            ("[1]", "INVALID_JSON"),
            (r#"{"action":"ping"}"#, "NOT_AUTHENTICATED"),
            (r#"{"action":"auth"}"#, "AUTHENTICATION_ERROR"),
            (r#"{"action":"auth","api_key":"x"}"#, "AUTHENTICATION_ERROR"),
        ] {
            assert_eq!(code(&say(&mut s, msg).0), want, "{msg}");
        }
        assert_eq!(say(&mut s, r#"{"type":"auth","apikey":"k"}"#).0["status"], "success");
        for (msg, want) in [
            (r#"{"action":"fly"}"#, "INVALID_ACTION"),
            (r#"{"x":1}"#, "INVALID_ACTION"),
            (r#"{"action":"subscribe","symbol":"SBIN","exchange":"NSE","mode":4}"#, "INVALID_MODE"),
            (r#"{"action":"subscribe","symbols":[],"mode":1}"#, "INVALID_PARAMETERS"),
            (r#"{"action":"subscribe","symbols":"SBIN"}"#, "INVALID_PARAMETERS"),
            (r#"{"action":"unsubscribe"}"#, "INVALID_PARAMETERS"),
        ] {
            assert_eq!(code(&say(&mut s, msg).0), want, "{msg}");
        }
    }

    #[test]
    fn subscribe_both_forms_and_unsubscribe_by_mode() {
        let mut s = Session::default();
        say(&mut s, r#"{"action":"authenticate","api_key":"k"}"#);
        let (r, c) = say(
            &mut s,
            r#"{"action":"subscribe","symbols":[{"symbol":"RELIANCE","exchange":"NSE"},
                {"symbol":"NOPE","exchange":"NSE"},{"exchange":"NSE"}],"request_id":"r1"}"#,
        );
        assert_eq!(r["status"], "partial");
        assert_eq!(r["request_id"], "r1");
        assert_eq!(r["subscriptions"][0]["mode"], "Quote");
        assert_eq!(r["subscriptions"][0]["depth"], 5);
        assert_eq!(r["subscriptions"][1]["status"], "error");
        assert!(r["subscriptions"][2]["message"].as_str().unwrap().contains("symbol"));
        assert_eq!(c, vec![Change { walker: 1, modes: 0b010 }]);
        let (r, c) = say(
            &mut s,
            r#"{"action":"subscribe","symbol":"RELIANCE","exchange":"NSE","mode":"ltp"}"#,
        );
        assert_eq!(r["status"], "success");
        assert_eq!(c, vec![Change { walker: 1, modes: 0b011 }]);
        let (r, c) = say(
            &mut s,
            r#"{"action":"unsubscribe","symbols":[{"symbol":"RELIANCE","exchange":"NSE"}]}"#,
        );
        assert_eq!(r["status"], "success");
        assert_eq!(c, vec![Change { walker: 1, modes: 0b001 }]);
        let (r, _) = say(
            &mut s,
            r#"{"action":"unsubscribe","symbol":"RELIANCE","exchange":"NSE","mode":3}"#,
        );
        assert_eq!(r["status"], "error");
        assert_eq!(r["failed"].as_array().unwrap().len(), 1);
        let (r, c) = say(&mut s, r#"{"action":"unsubscribe_all"}"#);
        assert_eq!(r["status"], "success");
        assert_eq!(c, vec![Change { walker: 1, modes: 0 }]);
        assert_eq!(s.subscriptions().count(), 0);
    }

    #[test]
    fn ping_echoes_what_was_sent() {
        let mut s = Session::default();
        say(&mut s, r#"{"action":"auth","api_key":"k"}"#);
        let (r, _) = say(&mut s, r#"{"action":"ping","client_timestamp":1,"_pingId":"x"}"#);
        assert_eq!(
            r,
            json!({"type":"pong","status":"success","server_timestamp":7,
            "client_timestamp":1,"_pingId":"x"})
        );
        let (r, _) = say(&mut s, r#"{"action":"ping"}"#);
        assert!(r.get("client_timestamp").is_none());
    }
}
