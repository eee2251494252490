//! The upstream OpenAlgo server as the source of truth for market data (`--upstream-rest`):
//! forwarding a request with the upstream's key, and downloading its instrument master.
//!
//! # Instrument master
//! At start, `serve --upstream-rest URL` without `--instruments` takes the master from the
//! upstream's `GET /api/v1/instruments` (all exchanges), keeps it in the data dir
//! (`upstream-instruments.csv`, in OpenAlgo's master columns) and uses that copy for the
//! rest of the IST day; the next start on a later day downloads it again. When the upstream
//! cannot be reached, yesterday's copy is used (and said so); with no copy at all the start
//! fails with the reason. Rows of exchanges tickfill does not trade are left out, and so
//! are rows whose quantities the engine cannot take: a fractional lot size (crypto spot,
//! `0.0001` BTC; tickfill's quantities are whole contracts), or a contract value that is
//! not a positive decimal of at most 8 places. A decimal contract value (crypto futures,
//! `0.001` BTC per contract) is kept: it is exact fixed point
//! ([`crate::types::ContractValue`]) in P&L, margin and position value. The log line counts
//! what was left out.
//!
//! # Known limitations
//! - Forwarding is blocking HTTP/1.1 (ureq) on the REST runtime's blocking pool, with the
//!   watchdog's request timeout.

#![forbid(unsafe_code)]

use crate::instruments::InstrumentMaster;
use crate::types::{ContractValue, Exchange};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// Where the upstream is and how to authenticate to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamRest {
    /// Base URL, `http://host:port` (a trailing `/api/v1` is accepted).
    pub base: String,
    /// The upstream's API key (never logged).
    pub api_key: String,
    /// Per-request timeout.
    pub timeout: Duration,
}

/// Why a forwarded request failed.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// Connection refused, reset, timed out.
    #[error("upstream OpenAlgo server unreachable: {0}")]
    Unreachable(String),
    /// The reply was not JSON.
    #[error("upstream OpenAlgo server sent a reply that is not JSON")]
    NotJson,
    /// The master could not be parsed or stored.
    #[error("upstream instrument master: {0}")]
    Master(String),
}

impl UpstreamRest {
    /// `{base}/api/v1/{endpoint}`.
    pub fn url(&self, endpoint: &str) -> String {
        let base = self.base.trim_end_matches('/');
        let base = base.strip_suffix("/api/v1").unwrap_or(base);
        format!("{base}/api/v1/{endpoint}")
    }

    fn agent(&self) -> ureq::Agent {
        ureq::Agent::config_builder()
            .tls_config(crate::tls::ureq_config(&self.base))
            .http_status_as_error(false)
            .timeout_global(Some(self.timeout))
            .build()
            .into()
    }

    /// POSTs `body` with the upstream's key in place of the client's; status and JSON reply.
    pub fn post(&self, endpoint: &str, mut body: Value) -> Result<(u16, Value), UpstreamError> {
        if let Value::Object(m) = &mut body {
            m.insert("apikey".into(), Value::String(self.api_key.clone()));
        }
        let mut r = self
            .agent()
            .post(self.url(endpoint))
            .send_json(&body)
            .map_err(|e| UpstreamError::Unreachable(crate::tls::explain(e.to_string())))?;
        let status = r.status().as_u16();
        let v = r.body_mut().read_json::<Value>().map_err(|_| UpstreamError::NotJson)?;
        Ok((status, v))
    }

    /// GETs `path` with `query` (the upstream's key added); status, content type, body.
    pub fn get(
        &self,
        path: &str,
        query: &[(String, String)],
    ) -> Result<(u16, String, Vec<u8>), UpstreamError> {
        let mut req = self.agent().get(self.url(path)).query("apikey", &self.api_key);
        for (k, v) in query.iter().filter(|(k, _)| k != "apikey") {
            req = req.query(k, v);
        }
        let mut r = req
            .call()
            .map_err(|e| UpstreamError::Unreachable(crate::tls::explain(e.to_string())))?;
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/json")
            .to_string();
        let body = r
            .body_mut()
            .with_config()
            .limit(512 * 1024 * 1024)
            .read_to_vec()
            .map_err(|e| UpstreamError::Unreachable(crate::tls::explain(e.to_string())))?;
        Ok((status, ct, body))
    }
}

/// The cached master's file name in the data dir.
pub const MASTER_FILE: &str = "upstream-instruments.csv";

/// OpenAlgo's instrument master columns: the ones kept in the cache, and the columns of
/// the `instruments` CSV the REST API serves.
pub const MASTER_COLUMNS: [&str; 12] = [
    "symbol",
    "brsymbol",
    "name",
    "exchange",
    "brexchange",
    "token",
    "expiry",
    "strike",
    "lotsize",
    "instrumenttype",
    "tick_size",
    "contract_value",
];

/// True when a master cell (number or text) is a whole number of at least `at_least`.
fn is_whole(cell: &Value, at_least: f64) -> bool {
    let v = match cell {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    v.is_some_and(|v| v.fract() == 0.0 && v >= at_least)
}

/// The `contract_value` cell as exact fixed point: absent or empty is OpenAlgo's default
/// 1; `None` for a cell that is not a positive decimal of at most 8 places. A JSON number
/// is read through its shortest decimal form (`0.001`, not its binary neighbour).
fn contract_value(cell: &Value) -> Option<ContractValue> {
    match cell {
        Value::Null => Some(ContractValue::ONE),
        Value::String(s) if s.trim().is_empty() => Some(ContractValue::ONE),
        Value::String(s) => ContractValue::parse(s),
        Value::Number(n) => n.as_f64().and_then(ContractValue::from_f64),
        _ => None,
    }
}

/// What [`master_csv`] left out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LeftOut {
    /// Rows of exchanges tickfill does not know.
    pub other_exchanges: usize,
    /// Rows with a fractional lot size (or a contract value that is not a positive decimal
    /// of at most 8 places).
    pub fractional: usize,
}

/// Converts an `instruments` JSON reply to master CSV, keeping exchanges tickfill knows
/// and rows it can account for exactly (see the module doc).
pub fn master_csv(reply: &Value) -> Result<(String, LeftOut), UpstreamError> {
    let rows = reply["data"].as_array().ok_or_else(|| {
        UpstreamError::Master(format!("reply has no data array: {}", reply["message"]))
    })?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let bad = |e: csv::Error| UpstreamError::Master(e.to_string());
    w.write_record(MASTER_COLUMNS).map_err(bad)?;
    let mut skipped = LeftOut::default();
    for r in rows {
        if r["exchange"].as_str().and_then(Exchange::parse).is_none() {
            skipped.other_exchanges += 1;
            continue;
        }
        let cv = contract_value(&r["contract_value"]);
        let Some(cv) = cv.filter(|_| is_whole(&r["lotsize"], 1.0)) else {
            skipped.fractional += 1;
            continue;
        };
        let cells: Vec<String> = MASTER_COLUMNS
            .iter()
            .map(|c| match &r[*c] {
                _ if *c == "contract_value" => cv.to_string(),
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            })
            .collect();
        w.write_record(&cells).map_err(bad)?;
    }
    let bytes = w.into_inner().map_err(|e| UpstreamError::Master(e.to_string()))?;
    Ok((String::from_utf8_lossy(&bytes).into_owned(), skipped))
}

/// The master from the upstream, cached in `data_dir` for the IST day (see the module doc).
/// Returns the master and a line for the log.
pub fn load_master(
    up: &UpstreamRest,
    data_dir: &Path,
) -> Result<(InstrumentMaster, String), UpstreamError> {
    let path = data_dir.join(MASTER_FILE);
    let today = super::today_ist();
    let fresh = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .ok()
        .map(|t| chrono::DateTime::<chrono::Utc>::from(t).with_timezone(&super::ist()).date_naive())
        .is_some_and(|d| d == today);
    let parse = |text: &str| {
        InstrumentMaster::from_csv_str(text).map_err(|e| UpstreamError::Master(e.to_string()))
    };
    if fresh {
        let text =
            std::fs::read_to_string(&path).map_err(|e| UpstreamError::Master(e.to_string()))?;
        let m = parse(&text)?;
        let line =
            format!("instrument master: {} rows from today's copy of the upstream's", m.len());
        return Ok((m, line));
    }
    let downloaded = up.get("instruments", &[]).and_then(|(status, _, body)| {
        let v: Value = serde_json::from_slice(&body).map_err(|_| UpstreamError::NotJson)?;
        if status != 200 {
            return Err(UpstreamError::Master(format!("HTTP {status}: {}", v["message"])));
        }
        master_csv(&v)
    });
    match downloaded {
        Ok((text, skipped)) => {
            let m = parse(&text)?;
            std::fs::create_dir_all(data_dir).map_err(|e| UpstreamError::Master(e.to_string()))?;
            let tmp = path.with_extension("csv.tmp");
            std::fs::write(&tmp, &text)
                .and_then(|()| std::fs::rename(&tmp, &path))
                .map_err(|e| UpstreamError::Master(e.to_string()))?;
            let line = format!(
                "instrument master: {} rows downloaded from the upstream ({} rows of other \
                 exchanges left out; {} rows with a fractional lot size or an unusable contract \
                 value left out: tickfill's quantities are whole contracts)",
                m.len(),
                skipped.other_exchanges,
                skipped.fractional
            );
            Ok((m, line))
        }
        Err(e) => match std::fs::read_to_string(&path) {
            Ok(text) => {
                let m = parse(&text)?;
                let line = format!(
                    "instrument master: upstream unavailable ({e}); using the older copy ({} rows)",
                    m.len()
                );
                Ok((m, line))
            }
            Err(_) => Err(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn master_rows_convert_and_unknown_exchanges_are_left_out() {
        let reply = json!({"status": "success", "data": [
            {"symbol": "SBIN", "brsymbol": "SBIN-EQ", "name": "SBI", "exchange": "NSE", "brexchange": "NSE",
             "token": "3045", "expiry": "", "strike": -1.0, "lotsize": 1, "instrumenttype": "EQ", "tick_size": 0.05},
            {"symbol": "NIFTY30DEC2625000CE", "brsymbol": "X", "name": "NIFTY", "exchange": "NFO",
             "brexchange": "NFO", "token": "1", "expiry": "30-DEC-26", "strike": 25000.0, "lotsize": 75,
             "instrumenttype": "CE", "tick_size": 0.05},
            {"symbol": "BTCUSD", "exchange": "SOMEWHERE", "lotsize": 1, "tick_size": 0.5, "instrumenttype": "X"},
            // Delta Exchange's rows as OpenAlgo's master carries them: a perpetual of
            // 0.001 BTC per contract, spot with a fractional lot, one of whole coins.
            {"symbol": "BTCUSDFUT", "name": "BTC", "exchange": "CRYPTO", "lotsize": 1.0,
             "tick_size": 0.5, "instrumenttype": "PERPFUT", "contract_value": 0.001},
            {"symbol": "BTCINR", "name": "BTC", "exchange": "CRYPTO", "lotsize": 0.0001,
             "tick_size": 1.0, "instrumenttype": "SPOT", "contract_value": 1.0},
            {"symbol": "SOLUSDFUT", "name": "SOL", "exchange": "CRYPTO", "lotsize": "1",
             "tick_size": 0.001, "instrumenttype": "PERPFUT", "contract_value": "1.0"},
            // Unusable contract values are left out, not loaded wrong.
            {"symbol": "BADFUT", "exchange": "CRYPTO", "lotsize": 1, "tick_size": 0.5,
             "instrumenttype": "PERPFUT", "contract_value": 0.0},
            {"symbol": "TINYFUT", "exchange": "CRYPTO", "lotsize": 1, "tick_size": 0.5,
             "instrumenttype": "PERPFUT", "contract_value": 1e-9},
            {"symbol": "ETHUSDFUT", "name": "ETH", "exchange": "CRYPTO", "lotsize": 1,
             "tick_size": 0.05, "instrumenttype": "PERPFUT", "contract_value": "0.01"},
        ]});
        let (text, skipped) = master_csv(&reply).unwrap();
        // Left out: the unknown exchange, the fractional spot lot, the two unusable values.
        assert_eq!(skipped, LeftOut { other_exchanges: 1, fractional: 3 });
        let m = InstrumentMaster::from_csv_str(&text).unwrap();
        assert_eq!(m.len(), 5);
        let cv =
            |sym: &str| m.get(m.lookup(Exchange::Crypto, sym).unwrap()).unwrap().contract_value;
        // BTCUSDFUT, 0.001 BTC a contract, now loads with its exact value.
        assert_eq!(cv("BTCUSDFUT"), ContractValue::parse("0.001").unwrap());
        assert_eq!(cv("BTCUSDFUT").0, 100_000);
        assert_eq!(cv("ETHUSDFUT"), ContractValue::parse("0.01").unwrap());
        assert_eq!(cv("SOLUSDFUT"), ContractValue::ONE);
        let sbin = m.get(m.lookup(Exchange::Nse, "SBIN").unwrap()).unwrap();
        assert_eq!(sbin.contract_value, ContractValue::ONE, "absent means 1");
        let sol = m.get(m.lookup(Exchange::Crypto, "SOLUSDFUT").unwrap()).unwrap();
        assert_eq!(sol.tick_size, crate::types::Price::parse("0.001").unwrap());
        let id = m.lookup(Exchange::Nfo, "NIFTY30DEC2625000CE").unwrap();
        let i = m.get(id).unwrap();
        assert_eq!(i.strike.map(|p| p.to_f64()), Some(25_000.0));
        assert_eq!(i.name, "NIFTY");
        assert!(master_csv(&json!({"status": "error", "message": "x"})).is_err());
    }

    #[test]
    fn urls_accept_a_trailing_api_path() {
        let u = UpstreamRest {
            base: "http://h:5000/api/v1/".into(),
            api_key: "k".into(),
            timeout: Duration::from_secs(1),
        };
        assert_eq!(u.url("history"), "http://h:5000/api/v1/history");
    }
}
