//! The OpenAlgo REST quote client: `multiquotes` for polling, `quotes` for a single
//! symbol. Blocking (`ureq`), used only by the watchdog thread and by callers of
//! [`super::Watchdog::fetch_quote_now`], never on the hot path.

#![forbid(unsafe_code)]

use super::config::WatchdogConfig;
use crate::event::{QuoteSource, Tick};
use crate::instruments::InstrumentMaster;
use crate::sequencer::decode::{self, Decoder};
use crate::types::SymbolId;
use thiserror::Error;

/// Largest REST reply read.
const MAX_BODY: u64 = 16 << 20;

/// Why a REST quote request failed. The watchdog logs it and retries with backoff.
#[derive(Debug, Error)]
pub enum RestError {
    /// No `upstream_rest` is configured; set one to poll.
    #[error("no upstream REST server is configured (set upstream_rest)")]
    NotConfigured,
    /// Refused or cut off.
    #[error("request to {url} failed: {message}")]
    Transport {
        /// The URL.
        url: String,
        /// The transport error.
        message: String,
    },
    /// No complete reply within `request_timeout` (connect, headers and body together);
    /// the request was abandoned. Raise `request_timeout` if the upstream is merely slow.
    #[error("request to {url} timed out: no complete reply within {after:?} (request_timeout)")]
    Timeout {
        /// The URL.
        url: String,
        /// The configured `request_timeout`.
        after: std::time::Duration,
    },
    /// An HTTP error status.
    #[error("{url} answered HTTP {status}: {body}")]
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// A reply that is not the expected JSON.
    #[error("{url} answered something that is not a quote reply: {why}")]
    Garbage {
        /// The URL.
        url: String,
        /// What was wrong.
        why: String,
    },
    /// The symbol is not in the instrument master.
    #[error("unknown symbol id {0:?}")]
    UnknownSymbol(SymbolId),
}

impl RestError {
    /// True for a request that reached (or tried to reach) the upstream and failed there:
    /// what [`crate::health::FeedHealth::rest_errors`] counts. `NotConfigured` and
    /// `UnknownSymbol` sent nothing.
    pub fn is_upstream_failure(&self) -> bool {
        !matches!(self, RestError::NotConfigured | RestError::UnknownSymbol(_))
    }

    /// True when the request hit `request_timeout`.
    pub fn is_timeout(&self) -> bool {
        matches!(self, RestError::Timeout { .. })
    }
}

/// A REST client for quotes.
#[derive(Debug, Clone)]
pub struct RestClient {
    agent: ureq::Agent,
    config: WatchdogConfig,
}

impl RestClient {
    /// A client with the configured timeout.
    pub fn new(config: &WatchdogConfig) -> RestClient {
        let agent = ureq::Agent::config_builder()
            .tls_config(crate::tls::ureq_config(config.upstream_rest.as_deref().unwrap_or("")))
            .timeout_global(Some(config.request_timeout))
            .http_status_as_error(false)
            .build()
            .into();
        RestClient { agent, config: config.clone() }
    }

    fn post(
        &self,
        endpoint: &str,
        body: serde_json::Value,
    ) -> Result<(String, Vec<u8>), RestError> {
        let url = self.config.endpoint(endpoint).ok_or(RestError::NotConfigured)?;
        let timeout = self.config.request_timeout;
        let transport = |e: ureq::Error| match e {
            ureq::Error::Timeout(_) => RestError::Timeout { url: url.clone(), after: timeout },
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
                RestError::Timeout { url: url.clone(), after: timeout }
            }
            e => RestError::Transport {
                url: url.clone(),
                message: crate::tls::explain(e.to_string()),
            },
        };
        let mut resp = self.agent.post(&url).send_json(&body).map_err(transport)?;
        let status = resp.status().as_u16();
        let bytes =
            resp.body_mut().with_config().limit(MAX_BODY).read_to_vec().map_err(transport)?;
        if !(200..300).contains(&status) {
            let body = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned();
            return Err(RestError::Status { url, status, body });
        }
        Ok((url, bytes))
    }

    /// Polls `multiquotes` for `symbols`; returns the quotes it could decode, tagged
    /// [`QuoteSource::Poll`], and how many entries it had to skip.
    pub fn multiquotes(
        &self,
        symbols: &[SymbolId],
        instruments: &InstrumentMaster,
    ) -> Result<(Vec<Tick>, usize), RestError> {
        let list: Vec<serde_json::Value> = symbols
            .iter()
            .filter_map(|s| instruments.get(*s))
            .map(|i| serde_json::json!({"symbol": i.symbol, "exchange": i.exchange.as_str()}))
            .collect();
        let body = serde_json::json!({"apikey": self.config.api_key, "symbols": list});
        let (url, bytes) = self.post("multiquotes", body)?;
        let garbage = |why: String| RestError::Garbage { url: url.clone(), why };
        Decoder::new()
            .with_root(&bytes, |root| {
                let results = root
                    .get("results")
                    .and_then(|r| r.as_array())
                    .ok_or(decode::DecodeError::Missing("results"))?;
                let mut ticks = Vec::with_capacity(results.len());
                let mut skipped = 0;
                for entry in results.iter() {
                    match decode::quote_object(entry, instruments) {
                        Ok(mut t) => {
                            t.source = QuoteSource::Poll;
                            t.mode = t.mode.max(2);
                            ticks.push(t);
                        }
                        Err(_) => skipped += 1, // an `error` entry, or an unknown symbol
                    }
                }
                Ok((ticks, skipped))
            })
            .map_err(|e| garbage(e.to_string()))
    }

    /// Fetches one symbol's `quotes`, tagged [`QuoteSource::Poll`].
    pub fn quote(
        &self,
        symbol: SymbolId,
        instruments: &InstrumentMaster,
    ) -> Result<Tick, RestError> {
        let ins = instruments.get(symbol).ok_or(RestError::UnknownSymbol(symbol))?;
        let body = serde_json::json!({
            "apikey": self.config.api_key,
            "symbol": ins.symbol,
            "exchange": ins.exchange.as_str(),
        });
        let (url, bytes) = self.post("quotes", body)?;
        Decoder::new()
            .with_root(&bytes, |root| {
                let data = root.get("data").ok_or(decode::DecodeError::Missing("data"))?;
                let mut t = decode::quote_fields(data)?;
                t.symbol = symbol;
                t.mode = 2;
                t.source = QuoteSource::Poll;
                Ok(t)
            })
            .map_err(|e| RestError::Garbage { url, why: e.to_string() })
    }
}
