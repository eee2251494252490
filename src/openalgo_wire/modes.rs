//! Market-data modes: 1 = LTP, 2 = Quote, 3 = Depth.

#![forbid(unsafe_code)]

use serde_json::Value;

/// The canonical label of a mode in replies.
pub fn label(mode: u8) -> &'static str {
    match mode {
        1 => "LTP",
        2 => "Quote",
        _ => "Depth",
    }
}

/// Parses a mode from JSON: the ints 1..=3 or a case-insensitive name. A bool, a float,
/// another number or an unknown string is `None` (the caller answers `INVALID_MODE`).
pub fn parse(v: &Value) -> Option<u8> {
    match v {
        Value::Number(n) => n.as_u64().filter(|m| (1..=3).contains(m)).map(|m| m as u8),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "ltp" | "1" => Some(1),
            "quote" | "2" => Some(2),
            "depth" | "3" => Some(3),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ints_and_names_only() {
        assert_eq!(parse(&json!(1)), Some(1));
        assert_eq!(parse(&json!("QUOTE")), Some(2));
        assert_eq!(parse(&json!("depth")), Some(3));
        for bad in [json!(4), json!(0), json!(2.5), json!(true), json!("full"), json!(null)] {
            assert_eq!(parse(&bad), None, "{bad}");
        }
        assert_eq!(label(2), "Quote");
    }
}
