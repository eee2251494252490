//! Watchdog settings: the thresholds of the fallback design and OpenAlgo's two
//! `SANDBOX_*` environment variables.

#![forbid(unsafe_code)]

use std::str::FromStr;
use std::time::Duration;
use thiserror::Error;

/// Which engine OpenAlgo's `SANDBOX_ENGINE_TYPE` asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EngineType {
    /// Stream first; poll REST only while the stream is stale (when fallback is on).
    #[default]
    Websocket,
    /// Poll REST only, ignoring the stream for the decision.
    Polling,
}

impl FromStr for EngineType {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "websocket" | "ws" => Ok(EngineType::Websocket),
            "polling" | "poll" => Ok(EngineType::Polling),
            _ => Err(ConfigError::EngineType(s.to_string())),
        }
    }
}

impl EngineType {
    /// The label used in logs and health.
    pub fn as_str(self) -> &'static str {
        match self {
            EngineType::Websocket => "websocket",
            EngineType::Polling => "polling",
        }
    }
}

/// A setting that cannot be used. Each names the setting and the accepted values.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    /// `SANDBOX_ENGINE_TYPE` / `--engine`.
    #[error("SANDBOX_ENGINE_TYPE must be websocket or polling, not {0:?}")]
    EngineType(String),
    /// `SANDBOX_ENGINE_FALLBACK` / `--fallback`.
    #[error("SANDBOX_ENGINE_FALLBACK must be true or false, not {0:?}")]
    Fallback(String),
    /// A duration that does not parse.
    #[error("{setting}: {value:?} is not a duration; write e.g. 500ms, 2s, 1m")]
    Duration {
        /// The setting.
        setting: &'static str,
        /// What was given.
        value: String,
    },
    /// A duration outside its range.
    #[error("{setting} must be between {min:?} and {max:?}, not {value:?}")]
    Range {
        /// The setting.
        setting: &'static str,
        /// What was given.
        value: Duration,
        /// Smallest accepted.
        min: Duration,
        /// Largest accepted.
        max: Duration,
    },
    /// The REST URL is not `http://HOST:PORT` or `https://HOST[:PORT]`.
    #[error("upstream REST URL {0:?} must look like http://HOST:PORT or https://HOST:PORT")]
    RestUrl(String),
}

/// Parses `500ms`, `2s`, `1m`, `1m 30s` (humantime), or a bare number of seconds.
pub fn parse_duration(setting: &'static str, value: &str) -> Result<Duration, ConfigError> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(v)
        .map_err(|_| ConfigError::Duration { setting, value: value.to_string() })
}

/// The watchdog's settings (the fallback design of OPENALGO.md section 3).
#[derive(Clone, PartialEq, Eq)]
pub struct WatchdogConfig {
    /// OpenAlgo REST server for `multiquotes` and `quotes` (`http://HOST:PORT`); without
    /// it nothing is polled.
    pub upstream_rest: Option<String>,
    /// The `apikey` sent to the REST server.
    pub api_key: String,
    /// How often freshness is checked (default 5 s).
    pub health_interval: Duration,
    /// No stream data for this long starts polling (default 30 s).
    pub stale_after: Duration,
    /// Polling period (default 5 s; OpenAlgo allows 1-30 s, and sub-second values down to
    /// 100 ms are accepted for tests).
    pub poll_interval: Duration,
    /// MTM uses a streamed price at most this old, else the polled one (default 5 s).
    pub mtm_max_age: Duration,
    /// `SANDBOX_ENGINE_TYPE`.
    pub engine_type: EngineType,
    /// `SANDBOX_ENGINE_FALLBACK`: false never polls.
    pub fallback: bool,
    /// Timeout of one REST request.
    pub request_timeout: Duration,
}

impl std::fmt::Debug for WatchdogConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchdogConfig")
            .field("upstream_rest", &self.upstream_rest)
            .field("api_key", &"***")
            .field("health_interval", &self.health_interval)
            .field("stale_after", &self.stale_after)
            .field("poll_interval", &self.poll_interval)
            .field("mtm_max_age", &self.mtm_max_age)
            .field("engine_type", &self.engine_type)
            .field("fallback", &self.fallback)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

impl Default for WatchdogConfig {
    fn default() -> Self {
        WatchdogConfig {
            upstream_rest: None,
            api_key: String::new(),
            health_interval: Duration::from_secs(5),
            stale_after: Duration::from_secs(30),
            poll_interval: Duration::from_secs(5),
            mtm_max_age: Duration::from_secs(5),
            engine_type: EngineType::Websocket,
            fallback: true,
            request_timeout: Duration::from_secs(5),
        }
    }
}

impl WatchdogConfig {
    /// Applies `SANDBOX_ENGINE_TYPE` and `SANDBOX_ENGINE_FALLBACK` from the environment.
    pub fn from_env(self) -> Result<WatchdogConfig, ConfigError> {
        self.with_vars(|k| std::env::var(k).ok())
    }

    /// Applies the two variables as `var` reports them (testable without the process
    /// environment). Unset or empty variables keep the current values.
    pub fn with_vars(
        mut self,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<WatchdogConfig, ConfigError> {
        if let Some(t) = var("SANDBOX_ENGINE_TYPE").filter(|v| !v.trim().is_empty()) {
            self.engine_type = t.parse()?;
        }
        if let Some(f) = var("SANDBOX_ENGINE_FALLBACK").filter(|v| !v.trim().is_empty()) {
            self.fallback = match f.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => true,
                "false" | "0" | "no" | "off" => false,
                _ => return Err(ConfigError::Fallback(f)),
            };
        }
        Ok(self)
    }

    /// Checks ranges and the URL.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let range = |setting, value: Duration, min: Duration, max: Duration| {
            if value < min || value > max {
                Err(ConfigError::Range { setting, value, min, max })
            } else {
                Ok(())
            }
        };
        let ms = Duration::from_millis;
        let hour = Duration::from_secs(3600);
        range("poll_interval", self.poll_interval, ms(100), Duration::from_secs(30))?;
        range("health_interval", self.health_interval, ms(10), hour)?;
        range("stale_after", self.stale_after, ms(10), hour)?;
        range("mtm_max_age", self.mtm_max_age, ms(1), hour)?;
        range("request_timeout", self.request_timeout, ms(10), Duration::from_secs(120))?;
        if let Some(url) = &self.upstream_rest {
            let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
            if rest.is_none_or(str::is_empty) {
                return Err(ConfigError::RestUrl(url.clone()));
            }
        }
        Ok(())
    }

    /// `{base}/api/v1/{endpoint}` for the REST server, if one is set.
    pub fn endpoint(&self, endpoint: &str) -> Option<String> {
        let base = self.upstream_rest.as_deref()?.trim_end_matches('/');
        let base = base.strip_suffix("/api/v1").unwrap_or(base);
        Some(format!("{base}/api/v1/{endpoint}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_every_accepted_form() {
        assert_eq!(parse_duration("x", "500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("x", "2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("x", "1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("x", "7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("stale_after", "soon").unwrap_err().to_string().contains("2s"));
    }

    #[test]
    fn sandbox_variables() {
        let vars = |t: &'static str, f: &'static str| {
            move |k: &str| match k {
                "SANDBOX_ENGINE_TYPE" => Some(t.to_string()),
                "SANDBOX_ENGINE_FALLBACK" => Some(f.to_string()),
                _ => None,
            }
        };
        let c = WatchdogConfig::default().with_vars(vars("polling", "false")).unwrap();
        assert_eq!((c.engine_type, c.fallback), (EngineType::Polling, false));
        let c = WatchdogConfig::default().with_vars(vars("WebSocket", "")).unwrap();
        assert_eq!((c.engine_type, c.fallback), (EngineType::Websocket, true));
        assert!(WatchdogConfig::default().with_vars(vars("rest", "true")).is_err());
        assert!(WatchdogConfig::default().with_vars(vars("polling", "maybe")).is_err());
    }

    #[test]
    fn ranges_and_endpoints() {
        let mut c = WatchdogConfig::default();
        assert!(c.validate().is_ok());
        assert_eq!(c.endpoint("quotes"), None);
        c.poll_interval = Duration::from_secs(31);
        assert!(c.validate().is_err());
        c.poll_interval = Duration::from_secs(1);
        c.upstream_rest = Some("http://127.0.0.1:5000/api/v1/".into());
        assert_eq!(c.endpoint("quotes").unwrap(), "http://127.0.0.1:5000/api/v1/quotes");
        c.upstream_rest = Some("ftp://x".into());
        assert!(c.validate().is_err());
        c.upstream_rest = Some("https://openalgo.example".into());
        assert!(c.validate().is_ok());
        c.upstream_rest = Some("https://".into());
        assert!(c.validate().is_err());
    }
}
