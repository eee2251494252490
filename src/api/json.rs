//! Request bodies: strict JSON parsing and typed field access whose every error names the
//! field.
//!
//! - Duplicate keys are refused at any depth (serde_json would keep the last silently).
//! - Nesting is bounded by serde_json's recursion limit (128), so deep input is a 400.
//! - Numbers may be JSON numbers or numeric strings (the SDK sends `"quantity":"10"`);
//!   prices from strings are parsed exactly, without a float on the way.

#![forbid(unsafe_code)]

use super::error::ApiError;
use crate::types::Price;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// The longest string accepted in any field not given its own limit.
pub const MAX_STRING: usize = 256;

/// A JSON value whose objects (at any depth) have no duplicate keys.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Strict, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v).map(Value::Number).ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
            }
            let Strict(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

/// A request body: a JSON object, read field by field.
#[derive(Debug, Clone, Default)]
pub struct Body {
    map: Map<String, Value>,
}

fn invalid(field: &str, why: &str) -> ApiError {
    ApiError::bad(format!("Invalid {field}: {why}"))
}

fn missing(field: &str) -> ApiError {
    ApiError::bad(format!("Missing data for required field: {field}"))
}

impl Body {
    /// Parses bytes into an object; anything else (bad UTF-8, bad JSON, duplicate keys,
    /// too deep, not an object) is a 400.
    pub fn parse(bytes: &[u8]) -> Result<Body, ApiError> {
        let Strict(v) = serde_json::from_slice(bytes)
            .map_err(|e| ApiError::bad(format!("Invalid JSON in request body: {e}")))?;
        Body::from_value(v)
    }

    /// Wraps an already parsed value (nested objects such as multiquotes entries).
    pub fn from_value(v: Value) -> Result<Body, ApiError> {
        match v {
            Value::Object(map) => Ok(Body { map }),
            _ => Err(ApiError::bad("Request body must be a JSON object")),
        }
    }

    /// The whole object (to forward it upstream).
    pub fn to_value(&self) -> Value {
        Value::Object(self.map.clone())
    }

    /// The `apikey` field, if it is a string.
    pub fn apikey(&self) -> Option<&str> {
        self.map.get("apikey").and_then(Value::as_str)
    }

    /// Refuses any field not in `allowed` (order endpoints).
    pub fn deny_unknown(&self, allowed: &[&str]) -> Result<(), ApiError> {
        match self.map.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => {
                let shown: String = k.chars().take(64).collect();
                Err(ApiError::bad(format!("Unknown field: {shown}")))
            }
            None => Ok(()),
        }
    }

    /// The raw value (absent and `null` are the same).
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.map.get(field).filter(|v| !v.is_null())
    }

    /// An optional string of at most `max` bytes.
    pub fn opt_str(&self, field: &str, max: usize) -> Result<Option<&str>, ApiError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) if s.len() > max => {
                Err(invalid(field, &format!("longer than {max} characters")))
            }
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(invalid(field, "not a valid string")),
        }
    }

    /// A required, non-empty string of at most `max` bytes.
    pub fn str(&self, field: &str, max: usize) -> Result<&str, ApiError> {
        match self.opt_str(field, max)? {
            None => Err(missing(field)),
            Some(s) if s.trim().is_empty() => Err(invalid(field, "must not be empty")),
            Some(s) => Ok(s),
        }
    }

    /// An optional signed integer (number or numeric string).
    pub fn opt_int(&self, field: &str) -> Result<Option<i64>, ApiError> {
        let Some(v) = self.get(field) else { return Ok(None) };
        let not_int = || invalid(field, "not a valid integer");
        let too_big = || invalid(field, "out of range");
        match v {
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Ok(Some(i))
                } else if n.is_u64() {
                    Err(too_big())
                } else {
                    let f = n.as_f64().ok_or_else(not_int)?;
                    if f.fract() != 0.0 {
                        Err(not_int())
                    } else if f.abs() >= 9.0e15 {
                        Err(too_big())
                    } else {
                        Ok(Some(f as i64))
                    }
                }
            }
            Value::String(s) => {
                let t = s.trim();
                let digits = t.strip_prefix('-').unwrap_or(t);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(not_int());
                }
                t.parse::<i64>().map(Some).map_err(|_| too_big())
            }
            _ => Err(not_int()),
        }
    }

    /// An optional whole quantity: a number or numeric string whose fraction is zero
    /// (`"10"`, `10`, `10.0` and `"10.0"` are all 10, as OpenAlgo reads quantity as a
    /// float); `"10.5"` is refused naming the field. Must not be negative.
    pub fn opt_whole(&self, field: &str) -> Result<Option<i64>, ApiError> {
        let whole = || invalid(field, "must be a whole number");
        let text = match self.get(field) {
            Some(Value::String(s)) => s.trim(),
            Some(Value::Number(n)) if n.as_f64().is_some_and(|f| f.fract() != 0.0) => {
                return Err(whole());
            }
            _ => return self.opt_count(field),
        };
        let (int, frac) = text.split_once('.').unwrap_or((text, ""));
        let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() || !digits(int.strip_prefix('-').unwrap_or(int)) || !digits(frac) {
            return Err(invalid(field, "not a valid number"));
        }
        if frac.bytes().any(|b| b != b'0') {
            return Err(whole());
        }
        match int.parse::<i64>() {
            Ok(n) if n < 0 => Err(invalid(field, "must not be negative")),
            Ok(n) => Ok(Some(n)),
            Err(_) => Err(invalid(field, "out of range")),
        }
    }

    /// A required whole quantity (see [`Body::opt_whole`]).
    pub fn whole(&self, field: &str) -> Result<i64, ApiError> {
        self.opt_whole(field)?.ok_or_else(|| missing(field))
    }

    /// An optional integer that must not be negative.
    pub fn opt_count(&self, field: &str) -> Result<Option<i64>, ApiError> {
        match self.opt_int(field)? {
            Some(i) if i < 0 => Err(invalid(field, "must not be negative")),
            other => Ok(other),
        }
    }

    /// A required integer that must not be negative.
    pub fn count(&self, field: &str) -> Result<i64, ApiError> {
        self.opt_count(field)?.ok_or_else(|| missing(field))
    }

    /// An optional price (number or decimal string), >= 0 and at most [`Price::MAX_INPUT`].
    pub fn opt_price(&self, field: &str) -> Result<Option<Price>, ApiError> {
        let Some(v) = self.get(field) else { return Ok(None) };
        let not_num = || invalid(field, "not a valid number");
        let negative = || invalid(field, "must not be negative");
        let too_big = || invalid(field, &format!("must be at most {}", Price::MAX_INPUT));
        match v {
            Value::Number(n) => {
                let f = n.as_f64().ok_or_else(not_num)?;
                if f < 0.0 {
                    return Err(negative());
                }
                Price::from_f64(f).map(Some).ok_or_else(too_big)
            }
            Value::String(s) => {
                let t = s.trim();
                if t.starts_with('-') && t.len() > 1 {
                    return Err(negative());
                }
                let well_formed = !t.is_empty()
                    && t.bytes().all(|b| b.is_ascii_digit() || b == b'.')
                    && t.bytes().filter(|&b| b == b'.').count() <= 1
                    && t != ".";
                if !well_formed {
                    return Err(not_num());
                }
                Price::parse(t).map(Some).ok_or_else(too_big)
            }
            _ => Err(not_num()),
        }
    }

    /// A required price.
    pub fn price(&self, field: &str) -> Result<Price, ApiError> {
        self.opt_price(field)?.ok_or_else(|| missing(field))
    }

    /// A required array.
    pub fn array(&self, field: &str) -> Result<&[Value], ApiError> {
        match self.get(field) {
            None => Err(missing(field)),
            Some(Value::Array(a)) => Ok(a),
            Some(_) => Err(invalid(field, "not a valid list")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(s: &str) -> Body {
        Body::parse(s.as_bytes()).expect("valid body")
    }

    #[test]
    fn duplicates_at_any_depth_and_non_objects_are_refused() {
        for bad in [
            r#"{"a":1,"a":2}"#,
            r#"{"s":[{"x":1,"x":1}]}"#,
            "[1]",
            "",
            "nul",
            r#"{"a":NaN}"#,
            r#"{"a":1e400}"#,
        ] {
            let e = Body::parse(bad.as_bytes()).unwrap_err();
            assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST, "{bad}");
        }
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(Body::parse(format!(r#"{{"a":{deep}}}"#).as_bytes()).is_err());
        assert!(Body::parse(b"{\"a\":\"\xff\"}").is_err());
    }

    #[test]
    fn integers_from_numbers_and_strings_name_the_field() {
        let b = body(
            r#"{"q":"10","n":10,"f":10.0,"neg":-3,"frac":1.5,"big":18446744073709551615,"s":"1x","b":true}"#,
        );
        assert_eq!(b.count("q").unwrap(), 10);
        assert_eq!(b.count("n").unwrap(), 10);
        assert_eq!(b.count("f").unwrap(), 10);
        assert_eq!(b.opt_int("neg").unwrap(), Some(-3));
        for (field, why) in [
            ("neg", "negative"),
            ("frac", "integer"),
            ("big", "range"),
            ("s", "integer"),
            ("b", "integer"),
            ("missing", "required"),
        ] {
            let e = b.count(field).unwrap_err().message;
            assert!(e.contains(field) && e.contains(why), "{field}: {e}");
        }
    }

    #[test]
    fn quantities_are_whole_numbers_in_any_spelling() {
        let b = body(
            r#"{"a":"10","b":10,"c":10.0,"d":"10.0","e":"10.5","f":10.5,"g":"-1","h":"1e3","i":"."}"#,
        );
        for field in ["a", "b", "c", "d"] {
            assert_eq!(b.whole(field).unwrap(), 10, "{field}");
        }
        for (field, why) in
            [("e", "whole"), ("f", "whole"), ("g", "negative"), ("h", "number"), ("i", "number")]
        {
            let e = b.whole(field).unwrap_err().message;
            assert!(e.contains(field) && e.contains(why), "{field}: {e}");
        }
    }

    #[test]
    fn prices_parse_exactly_and_refuse_junk() {
        let b = body(
            r#"{"a":"812.35","b":812.35,"c":-1,"d":"-1","e":"NaN","f":"Infinity","g":1e20,"h":"1.2.3","i":[]}"#,
        );
        assert_eq!(b.price("a").unwrap(), Price(8_123_500));
        assert_eq!(b.price("b").unwrap(), Price(8_123_500));
        for (field, why) in [
            ("c", "negative"),
            ("d", "negative"),
            ("e", "number"),
            ("f", "number"),
            ("g", "at most"),
            ("h", "number"),
            ("i", "number"),
        ] {
            let e = b.price(field).unwrap_err().message;
            assert!(e.contains(field) && e.contains(why), "{field}: {e}");
        }
    }

    #[test]
    fn strings_unknown_fields_and_lengths() {
        let b = body(r#"{"s":"x","long":"xxxxxxxxxx","n":1,"e":" "}"#);
        assert_eq!(b.str("s", 5).unwrap(), "x");
        assert!(b.str("long", 5).unwrap_err().message.contains("long"));
        assert!(b.str("n", 5).unwrap_err().message.contains("n"));
        assert!(b.str("e", 5).unwrap_err().message.contains("empty"));
        let e = b.deny_unknown(&["s", "long", "n"]).unwrap_err().message;
        assert_eq!(e, "Unknown field: e");
    }
}
