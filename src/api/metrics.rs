//! `GET /metrics` through the official `prometheus-client` crate: OpenMetrics text with
//! base units (`_seconds`, `_total`), counters, gauges and histograms.
//!
//! Two kinds of source:
//! - values other threads already keep in atomics (the feed's, the journal's, the API's
//!   counters) and the stage latencies the hot thread keeps in HDR histograms: read at
//!   scrape time into a registry built for that scrape ([`render`]). The hot thread's
//!   recording stays one HDR increment per hop (`latency.rs`); its histograms are turned
//!   into Prometheus buckets here, off the hot path.
//! - the REST requests themselves, timed by [`track`] (a middleware on the control-plane
//!   runtime, never the hot thread) into `prometheus-client` histograms per endpoint.
//!
//! # Known limitations
//! - A histogram sample within HDR's 0.1% above a bucket bound can count one bucket up.

#![forbid(unsafe_code)]

use super::Api;
use crate::latency::{ExportedHistogram, HOPS, StageHistograms};
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

/// The content type of the OpenMetrics text `prometheus-client` writes (Prometheus
/// scrapes it natively).
pub(crate) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Request-duration buckets, seconds: 50 us (a cached read on loopback) to 10 s.
const REQUEST_BOUNDS_S: [f64; 16] = [
    50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3,
    1.0, 2.5, 10.0,
];

type EndpointLabel = [(&'static str, String); 1];
type ResponseLabels = [(&'static str, String); 2];

fn request_histogram() -> Histogram {
    Histogram::new(REQUEST_BOUNDS_S)
}

/// REST request metrics, recorded by [`track`] and exported by [`render`].
#[derive(Debug, Clone)]
pub(crate) struct HttpMetrics {
    duration: Family<EndpointLabel, Histogram, fn() -> Histogram>,
    responses: Family<ResponseLabels, prometheus_client::metrics::counter::Counter>,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        HttpMetrics {
            duration: Family::new_with_constructor(request_histogram),
            responses: Family::default(),
        }
    }
}

/// The endpoint label of a request: the route it matched (`placeorder`,
/// `ticker/{symbol}`, `/health`), one label per route whatever the path held, or
/// `unmatched` (the frontend's files, unknown paths).
fn endpoint(matched: Option<&MatchedPath>) -> String {
    let Some(m) = matched else { return "unmatched".to_owned() };
    let path = m.as_str();
    let path = path.strip_suffix('/').filter(|p| !p.is_empty()).unwrap_or(path);
    path.strip_prefix("/api/v1/").unwrap_or(path).to_owned()
}

/// Middleware: times every request and counts its response by endpoint and status.
pub(crate) async fn track(State(api): State<Arc<Api>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let endpoint = endpoint(req.extensions().get::<MatchedPath>());
    let response = next.run(req).await;
    let m = &api.http_metrics;
    m.duration
        .get_or_create(&[("endpoint", endpoint.clone())])
        .observe(started.elapsed().as_secs_f64());
    let status = response.status().as_u16().to_string();
    m.responses.get_or_create(&[("endpoint", endpoint), ("status", status)]).inc();
    response
}

/// One family of constant samples, one per label set (`fills_total{source=...}`).
#[derive(Debug)]
struct Labelled<M> {
    kind: MetricType,
    samples: Vec<(Vec<(&'static str, String)>, M)>,
}

impl<M: EncodeMetric> EncodeMetric for Labelled<M> {
    fn encode(&self, mut encoder: MetricEncoder<'_>) -> std::fmt::Result {
        for (labels, m) in &self.samples {
            m.encode(encoder.encode_family(labels)?)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        self.kind
    }
}

/// The stage latencies, one histogram per hop, from the HDR copy published by the hot
/// thread.
#[derive(Debug)]
struct HopHistograms(Vec<(&'static str, ExportedHistogram)>);

impl EncodeMetric for HopHistograms {
    fn encode(&self, mut encoder: MetricEncoder<'_>) -> std::fmt::Result {
        for (hop, h) in &self.0 {
            let labels = [("hop", *hop)];
            encoder
                .encode_family(&labels)?
                .encode_histogram::<NoLabelSet>(h.sum_s, h.count, &h.buckets, None)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

/// The journal's commit durations ([`crate::health::CommitTimes`]).
#[derive(Debug)]
struct Commits(ExportedHistogram);

impl EncodeMetric for Commits {
    fn encode(&self, mut encoder: MetricEncoder<'_>) -> std::fmt::Result {
        let h = &self.0;
        encoder.encode_histogram::<NoLabelSet>(h.sum_s, h.count, &h.buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

fn counter(r: &mut Registry, name: &str, help: &str, v: u64) {
    r.register(name, help, ConstCounter::new(v));
}

fn gauge(r: &mut Registry, name: &str, help: &str, v: i64) {
    r.register(name, help, ConstGauge::new(v));
}

fn labelled_counter(
    r: &mut Registry,
    name: &str,
    help: &str,
    key: &'static str,
    v: &[(&str, u64)],
) {
    let samples =
        v.iter().map(|(l, n)| (vec![(key, (*l).to_owned())], ConstCounter::new(*n))).collect();
    r.register(name, help, Labelled { kind: MetricType::Counter, samples });
}

/// Bytes of the journal segment files in `dir` (a directory listing: called on the
/// blocking pool, like the whole render).
fn journal_disk_bytes(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_str().and_then(crate::journal::segment::parse_name).is_some())
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

/// The OpenMetrics text of one scrape.
pub(crate) fn render(api: &Api, latency: &StageHistograms) -> String {
    let mut r = Registry::with_prefix("tickfill");
    let h = &api.engine.health;
    let f = &h.feed;
    let c = &api.counters;
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let flag = |a: &AtomicBool| i64::from(a.load(Ordering::Acquire));
    r.register(
        "build_info",
        "The running version (always 1)",
        Labelled {
            kind: MetricType::Gauge,
            samples: vec![(
                vec![("version", env!("CARGO_PKG_VERSION").to_owned())],
                ConstGauge::new(1i64),
            )],
        },
    );
    counter(&mut r, "ticks", "Quotes written to the quote board", api.engine.board.ticks());
    counter(&mut r, "feed_stream_ticks", "Ticks received from the stream", load(&f.stream_ticks));
    counter(
        &mut r,
        "feed_polled_quotes",
        "Quotes received from REST polling",
        load(&f.polled_quotes),
    );
    counter(
        &mut r,
        "feed_rest_errors",
        "Upstream REST quote requests that failed (nothing from them was used)",
        load(&f.rest_errors),
    );
    counter(
        &mut r,
        "feed_rest_timeouts",
        "Upstream REST quote requests abandoned after the request timeout",
        load(&f.rest_timeouts),
    );
    let fill_ticks = latency.hops[5].len();
    labelled_counter(
        &mut r,
        "fills",
        "Fills: events that filled at placement (seen by the API), ticks that filled at least one order",
        "source",
        &[("placement", load(&c.placement_fills)), ("tick", fill_ticks)],
    );
    labelled_counter(
        &mut r,
        "orders",
        "Order commands answered over REST, by result",
        "result",
        &[("accepted", load(&c.orders_accepted)), ("rejected", load(&c.orders_refused))],
    );
    counter(
        &mut r,
        "rejects",
        "Order commands refused or recorded as rejected",
        load(&c.orders_refused),
    );
    counter(&mut r, "http_requests", "REST requests answered under /api/v1", load(&c.requests));
    let endpoints: Vec<(&str, u64)> = api.surface.counts().collect();
    labelled_counter(
        &mut r,
        "api_endpoint_requests",
        "REST requests by endpoint (reference, market data and order families)",
        "endpoint",
        &endpoints,
    );
    r.register(
        "http_responses",
        "HTTP responses by endpoint (the matched route) and status",
        api.http_metrics.responses.clone(),
    );
    // Histograms carry the unit in the name only: OpenMetrics parsers differ on whether a
    // histogram may have a UNIT line, and Prometheus needs none.
    r.register(
        "http_request_duration_seconds",
        "Time from a request's arrival at the router to its response, by endpoint",
        api.http_metrics.duration.clone(),
    );
    counter(&mut r, "http_rate_limited", "REST requests refused with 429", load(&c.rate_limited));
    counter(
        &mut r,
        "http_auth_failures",
        "REST requests with a wrong or missing key",
        load(&c.auth_failures),
    );
    counter(&mut r, "http_server_errors", "REST replies with a 5xx status", load(&c.server_errors));
    gauge(
        &mut r,
        "engine_healthy",
        "1 while the engine accepts orders",
        i64::from(!h.refusing_orders()),
    );
    gauge(
        &mut r,
        "durable_seq",
        "Highest sequence made durable by the journal",
        h.durable_seq.load(Ordering::Acquire) as i64,
    );
    counter(
        &mut r,
        "fanout_overflows",
        "Order updates the WebSocket queue could not take",
        load(&h.fanout_overflows),
    );
    gauge(&mut r, "feed_connected", "1 while an upstream connection is open", flag(&f.connected));
    gauge(
        &mut r,
        "feed_authenticated",
        "1 while the upstream accepted our key",
        flag(&f.authenticated),
    );
    gauge(&mut r, "feed_polling", "1 while quotes come from REST polling", flag(&f.polling));
    counter(&mut r, "feed_reconnects", "Upstream reconnections", load(&f.reconnects));
    counter(
        &mut r,
        "feed_validation_errors",
        "Upstream frames dropped as invalid",
        load(&f.validation_errors),
    );
    gauge(
        &mut r,
        "http_connections_open",
        "REST connections open",
        api.connections.load(Ordering::Relaxed) as i64,
    );
    counter(
        &mut r,
        "http_connections_refused",
        "REST connections refused with 503 at the connection cap",
        load(&c.connections_refused),
    );
    if let Some(dir) = &api.config.data_dir {
        let s = crate::journal::snapshot::status(dir);
        counter(&mut r, "snapshots_written", "Snapshots written", load(&s.written));
        counter(&mut r, "snapshot_failures", "Snapshot writes that failed", load(&s.failures));
        counter(
            &mut r,
            "snapshots_skipped_at_recovery",
            "Snapshots recovery passed over (corrupt, not restorable, or not committed)",
            load(&s.skipped_at_recovery),
        );
        r.register_with_unit(
            "journal_disk",
            "Size of the journal's segment files in the data dir (preallocated: the disk it holds)",
            Unit::Bytes,
            ConstGauge::new(journal_disk_bytes(dir) as i64),
        );
        counter(
            &mut r,
            "journal_segments_retired",
            "Journal segments deleted by retention",
            load(&s.retired_segments),
        );
    }
    if let Some(age_ms) = f.last_data_age_ms() {
        r.register_with_unit(
            "feed_last_data_age",
            "Time since the last streamed data",
            Unit::Seconds,
            ConstGauge::new(age_ms as f64 / 1e3),
        );
    }
    counter(
        &mut r,
        "engine_busy_refusals",
        "Requests refused with 503 engine busy: not sequenced within the admission deadline",
        load(&h.busy_refusals),
    );
    r.register(
        "journal_commit_duration_seconds",
        "Time each journal commit took (one per batch; a slow disk shows here first)",
        Commits(h.journal_commits.exported()),
    );
    let hops = HOPS.iter().enumerate().map(|(i, hop)| (*hop, latency.exported(i))).collect();
    r.register(
        "stage_latency_seconds",
        "Per-stage latency (each hop of the pipeline; tick_to_fill per tick that filled)",
        HopHistograms(hops),
    );
    let mut out = String::with_capacity(16 * 1024);
    // Writing into a String cannot fail; an encoder error would be a bug in a name.
    let _ = prometheus_client::encoding::text::encode(&mut out, &r);
    out
}
