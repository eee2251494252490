//! The two JetStream streams and their settings: `TICKS` (written by the relay, read by
//! engines) and `EVENTS` (written by engines, read by monitoring).
//!
//! Both are file-backed, limits-based and discard their oldest messages at a limit: a
//! market-data log is useful for a bounded time, and a writer must never be refused for
//! being ahead of its readers.

#![forbid(unsafe_code)]

use async_nats::jetstream::{self, stream};
use std::time::Duration;

/// The tick stream.
pub const TICKS: &str = "TICKS";
/// The order-update and trade stream.
pub const EVENTS: &str = "EVENTS";

/// How much a stream keeps (0 = no limit of that kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Messages older than this are removed.
    pub max_age: Duration,
    /// Bytes kept at most.
    pub max_bytes: i64,
    /// Messages kept at most.
    pub max_messages: i64,
    /// Copies kept in a cluster (1 on a single server; 3 for a 3-node cluster).
    pub replicas: usize,
}

impl Default for Retention {
    /// A trading day and a bit, no byte or count limit, one copy. A byte limit is a
    /// reservation: JetStream refuses a stream whose `max_bytes` exceeds the storage it
    /// has left ("insufficient storage resources"), so none is set unless asked for.
    fn default() -> Self {
        Retention {
            max_age: Duration::from_secs(26 * 3600),
            max_bytes: 0,
            max_messages: 0,
            replicas: 1,
        }
    }
}

impl Retention {
    /// What `EVENTS` keeps when an engine creates it: a week of order updates and trades.
    pub fn events() -> Retention {
        Retention { max_age: Duration::from_secs(7 * 24 * 3600), ..Retention::default() }
    }
}

fn config(name: &str, subjects: &str, r: &Retention) -> stream::Config {
    let limit = |v: i64| if v == 0 { -1 } else { v };
    stream::Config {
        name: name.to_owned(),
        subjects: vec![subjects.to_owned()],
        max_age: r.max_age,
        max_bytes: limit(r.max_bytes),
        max_messages: limit(r.max_messages),
        discard: stream::DiscardPolicy::Old,
        storage: stream::StorageType::File,
        num_replicas: r.replicas.max(1),
        ..Default::default()
    }
}

/// Creates `TICKS` with `retention`, or brings an existing one to it.
pub async fn ensure_ticks(
    js: &jetstream::Context,
    retention: &Retention,
) -> Result<stream::Stream, async_nats::Error> {
    ensure(js, config(TICKS, "ticks.>", retention)).await
}

/// Creates `EVENTS` with `retention` when it does not exist (an existing one is kept as
/// it is: several engines share it and the first one's settings stand).
pub async fn ensure_events(
    js: &jetstream::Context,
    retention: &Retention,
) -> Result<stream::Stream, async_nats::Error> {
    Ok(js.get_or_create_stream(config(EVENTS, "events.>", retention)).await?)
}

async fn ensure(
    js: &jetstream::Context,
    config: stream::Config,
) -> Result<stream::Stream, async_nats::Error> {
    match js.get_stream(&config.name).await {
        Ok(mut existing) => {
            let current = existing.info().await?.config.clone();
            let same = current.max_age == config.max_age
                && current.max_bytes == config.max_bytes
                && current.max_messages == config.max_messages;
            if !same {
                js.update_stream(config.clone()).await?;
            }
            Ok(js.get_stream(&config.name).await?)
        }
        Err(_) => Ok(js.create_stream(config).await?),
    }
}
