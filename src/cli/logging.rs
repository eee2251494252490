//! Where the library's `tracing` events go: stderr, filtered by `RUST_LOG` (default
//! `info`), as text for a terminal or one JSON object per line for a log shipper.
//!
//! stdout stays the command's own output (the startup banner with addresses, `replay`'s
//! state, bench reports), so a script can read it while the logs go elsewhere.

use clap::{Args, ValueEnum};
use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines: time, level, target, message and `field=value` pairs.
    Text,
    /// One JSON object per line (`timestamp`, `level`, `target`, `message` and the event's
    /// fields at the top level), for Vector, Fluent Bit, Loki or journald shippers.
    Json,
}

/// Logging options of the long-running commands (`serve`, `sim`).
#[derive(Clone, Copy, Debug, Args)]
pub struct LogArgs {
    /// Log line format on stderr; levels are chosen with `RUST_LOG` (default `info`, e.g.
    /// `RUST_LOG=tickfill=debug` or `RUST_LOG=warn,tickfill::watchdog=info`).
    #[arg(long, env = "TICKFILL_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,
}

/// Installs the process-wide subscriber. A `RUST_LOG` that does not parse is an error
/// naming the variable rather than silently logging everything or nothing.
pub fn init(format: LogFormat) -> anyhow::Result<()> {
    let filter = match std::env::var(EnvFilter::DEFAULT_ENV) {
        Ok(spec) => EnvFilter::builder()
            .parse(&spec)
            .map_err(|e| anyhow::anyhow!("RUST_LOG={spec:?} is not a valid filter: {e}"))?,
        Err(_) => EnvFilter::new("info"),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => {
            builder.json().flatten_event(true).with_current_span(false).with_span_list(false).init()
        }
    }
    Ok(())
}
