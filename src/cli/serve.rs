//! `tickfill serve`: the engine with its feed, the OpenAlgo REST API, the WebSocket server
//! and the frontend, until SIGINT or SIGTERM.
//!
//! With `--feed sim` (the default) the simulated broker runs in-process on loopback and
//! the engine reaches it through its real socket path: the upstream WebSocket client for
//! the stream and the watchdog's REST client for fallback quotes.

use super::options::{ExecArgs, RingArgs, StorageArgs};
use anyhow::{Context, bail};
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tickfill::api::{ApiConfig, ApiServer};
use tickfill::auth::guard::GuardConfig;
use tickfill::auth::{HASH_FILE, KeyOrigin, KeyStore, LEGACY_FILE};
use tickfill::engine::{Engine, EngineConfig};
use tickfill::sequencer::FeedConfig;
use tickfill::sim::{self, SimConfig, SimServer};
use tickfill::watchdog::{EngineType, parse_duration};
use tickfill::ws::{WsConfig, WsServer};

fn duration(setting: &'static str) -> impl Fn(&str) -> Result<Duration, String> + Clone {
    move |s| parse_duration(setting, s).map_err(|e| e.to_string())
}

/// Options of `tickfill serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Market data: `sim` (the embedded simulated broker), an OpenAlgo WebSocket feed
    /// `ws://HOST:PORT` or `wss://HOST[:PORT]` (TLS), or a relay's JetStream stream
    /// `nats://HOST:PORT` (`tickfill relay`).
    #[arg(long, env = "TICKFILL_FEED", default_value = "sim")]
    pub feed: String,
    /// The key the upstream feed and REST server expect (not needed with `sim`).
    #[arg(long, env = "TICKFILL_FEED_API_KEY")]
    pub feed_api_key: Option<String>,
    /// OpenAlgo REST server for fallback quotes (`http://HOST:PORT` or `https://...`); with
    /// `sim`, the simulator's.
    #[arg(long, env = "TICKFILL_UPSTREAM_REST")]
    pub upstream_rest: Option<String>,
    /// REST API (and frontend) address.
    #[arg(long, env = "TICKFILL_HTTP", default_value = "127.0.0.1:5000")]
    pub http: SocketAddr,
    /// WebSocket server address.
    #[arg(long, env = "TICKFILL_WS", default_value = "127.0.0.1:8765")]
    pub ws: SocketAddr,
    /// The API key clients must present; without it the first start generates one and
    /// stores only its hash.
    #[arg(long, env = "TICKFILL_API_KEY")]
    pub api_key: Option<String>,
    /// `websocket` (stream, REST when stale) or `polling` (REST only).
    #[arg(long = "engine", env = "SANDBOX_ENGINE_TYPE", default_value = "websocket")]
    pub engine_type: EngineType,
    /// Whether to poll REST quotes when the stream is stale.
    #[arg(long, env = "SANDBOX_ENGINE_FALLBACK", default_value_t = true, action = clap::ArgAction::Set)]
    pub fallback: bool,
    /// How often the watchdog checks freshness.
    #[arg(long, default_value = "5s", value_parser = duration("--health-interval"))]
    pub health_interval: Duration,
    /// No stream data for this long starts REST polling.
    #[arg(long, default_value = "30s", value_parser = duration("--stale-after"))]
    pub stale_after: Duration,
    /// REST polling period.
    #[arg(long, default_value = "5s", value_parser = duration("--poll-interval"))]
    pub poll_interval: Duration,
    /// MTM uses a streamed price at most this old, else the polled one.
    #[arg(long, default_value = "5s", value_parser = duration("--mtm-max-age"))]
    pub mtm_max_age: Duration,
    /// Browser origins allowed on the WebSocket server (default: loopback on any port).
    #[arg(long, env = "TICKFILL_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// Order requests per second per key (0 = unlimited).
    #[arg(long, default_value_t = 10)]
    pub order_rate: u32,
    /// Other requests per second per key (0 = unlimited).
    #[arg(long, default_value_t = 50)]
    pub other_rate: u32,
    /// Failed authentications allowed per source address per minute, REST and WebSocket
    /// each (then 429 / a close until the minute is over, whatever key is sent); 0 = off.
    #[arg(long, default_value_t = 10)]
    pub auth_failures: u32,
    /// WebSocket connections served at once (more are closed with 1013).
    #[arg(long, default_value_t = 1024)]
    pub max_ws_connections: usize,
    /// REST connections open at once (more get 503).
    #[arg(long, default_value_t = 1024)]
    pub max_http_connections: usize,
    /// A REST connection is closed when a request's headers (or the next request on a
    /// kept-alive connection) do not arrive within this time.
    #[arg(long, default_value = "10s", value_parser = duration("--idle-timeout"))]
    pub idle_timeout: Duration,
    /// Host names (besides localhost, 127.0.0.1 and the bind address) the frontend and
    /// /health answer to; others are refused (DNS rebinding). Repeat or comma-separate.
    #[arg(long = "allowed-host", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,
    /// A built frontend directory to serve at `/` instead of the copy embedded in the binary
    /// (for development: `npm run build` output, or `npm run dev` elsewhere).
    #[arg(long, env = "TICKFILL_FRONTEND")]
    pub frontend: Option<PathBuf>,
    /// Simulator WebSocket address (with `--feed sim`).
    #[arg(long, default_value = sim::DEFAULT_WS_ADDR)]
    pub sim_ws: SocketAddr,
    /// Simulator REST and control address (with `--feed sim`).
    #[arg(long, default_value = sim::DEFAULT_REST_ADDR)]
    pub sim_rest: SocketAddr,
    /// Simulator ticks per second over all subscribed symbols.
    #[arg(long, default_value_t = 2_000)]
    pub sim_rate: u64,
    /// Simulator symbol count (0 = the instrument master; more adds synthetic equities).
    #[arg(long, default_value_t = 0)]
    pub sim_symbols: usize,
    /// Simulator seed.
    #[arg(long, default_value_t = 42)]
    pub sim_seed: u64,
    /// Journaled events between snapshots.
    #[arg(long, default_value_t = 1_000_000)]
    pub snapshot_every: u64,
    /// Where event time (trading days, CNC settlement, expiries, square-off) comes from:
    /// `wall` (the host clock), `feed` (the host clock, moved forward by the exchange time
    /// the feed's ticks carry: the simulator's `set_clock` then moves the trading day), or
    /// `auto` (`feed` with `--feed sim`, else `wall`).
    #[arg(long, env = "TICKFILL_EVENT_CLOCK", default_value = "auto", value_parser = ["auto", "wall", "feed"])]
    pub event_clock: String,
    #[command(flatten)]
    exec: ExecArgs,
    #[command(flatten)]
    storage: StorageArgs,
    #[command(flatten)]
    ring: RingArgs,
    #[command(flatten)]
    nats: super::relay::NatsServeArgs,
    #[command(flatten)]
    pub log: super::logging::LogArgs,
    #[command(flatten)]
    pub tls: super::options::TlsArgs,
}

/// Runs the server until a signal.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    // First, before any thread starts: everything but the hot thread runs on the
    // housekeeping cores (threads inherit the affinity of the thread that starts them).
    let layout = args.ring.core_layout()?;
    if let Some(l) = &layout {
        tickfill::ring::cores::confine_current(&l.housekeeping);
    }
    let (stop_tx, stop_rx) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop_tx.send(());
    })
    .context("installing the SIGINT/SIGTERM handler")?;
    tickfill::tls::configure(args.tls.upstream_ca.as_deref())?;
    let ws_feed = args.feed.starts_with("ws://") || args.feed.starts_with("wss://");

    // With an upstream OpenAlgo server (and a ws:// feed), it is the source of truth for
    // market data: the master comes from it (cached per day) unless --instruments is given.
    let upstream = match (&args.upstream_rest, ws_feed) {
        (Some(base), true) => Some(tickfill::refdata::upstream::UpstreamRest {
            base: base.clone(),
            api_key: args.feed_api_key.clone().unwrap_or_default(),
            timeout: std::time::Duration::from_secs(30),
        }),
        _ => None,
    };
    let mut instruments = match (&upstream, &args.storage.instruments) {
        (Some(up), None) => {
            let (m, line) = tickfill::refdata::upstream::load_master(up, &args.storage.data_dir)
                .context(
                    "loading the instrument master from --upstream-rest (or pass --instruments)",
                )?;
            tracing::info!("{line}");
            Arc::new(m)
        }
        _ => args.storage.instruments()?,
    };
    let mut config = EngineConfig::new(args.storage.journal());
    config.pipeline = args.ring.pipeline();
    config.cores = layout;
    config.snapshot_every = args.snapshot_every;
    args.exec.check()?;
    args.exec.apply(&mut config.exec);
    config.watchdog.engine_type = args.engine_type;
    config.watchdog.fallback = args.fallback;
    config.watchdog.health_interval = args.health_interval;
    config.watchdog.stale_after = args.stale_after;
    config.watchdog.poll_interval = args.poll_interval;
    config.watchdog.mtm_max_age = args.mtm_max_age;

    let (keys, origin) = KeyStore::open(&args.storage.data_dir, args.api_key.as_deref())?;
    let simulator = if args.feed == "sim" {
        if let Some(bigger) = sim::universe::with_synthetic(&instruments, args.sim_symbols)? {
            instruments = Arc::new(bigger);
        }
        let mut sc = SimConfig::new(Arc::clone(&instruments));
        sc.ws_addr = args.sim_ws;
        sc.rest_addr = args.sim_rest;
        sc.rate = args.sim_rate;
        sc.seed = args.sim_seed;
        // The operator's key drives the simulator's controls.
        sc.control_keys = Some(keys.clone());
        let server = SimServer::start(sc.clone()).with_context(|| {
            format!(
                "starting the simulated broker on {} and {} (choose others with --sim-ws and --sim-rest)",
                args.sim_ws, args.sim_rest
            )
        })?;
        config.feed = FeedConfig::Upstream {
            url: format!("ws://{}", server.ws_addr()),
            api_key: sc.api_key.clone(),
        };
        config.watchdog.upstream_rest = Some(format!("http://{}", server.rest_addr()));
        config.watchdog.api_key = sc.api_key;
        Some(server)
    } else if ws_feed {
        let key = args.feed_api_key.clone().context("--feed ws://... needs --feed-api-key")?;
        config.feed = FeedConfig::Upstream { url: args.feed.clone(), api_key: key.clone() };
        config.watchdog.upstream_rest = args.upstream_rest.clone();
        config.watchdog.api_key = key;
        None
    } else if args.feed.starts_with("nats://") {
        config.feed = FeedConfig::Nats { url: args.feed.clone() };
        config.feed.validate().map_err(anyhow::Error::msg)?;
        config.watchdog.upstream_rest = args.upstream_rest.clone();
        config.watchdog.api_key = args.feed_api_key.clone().unwrap_or_default();
        None
    } else {
        bail!(
            "--feed must be `sim`, a ws://HOST:PORT or wss://HOST:PORT URL, or a nats://HOST:PORT URL, not {:?}",
            args.feed
        );
    };
    // Read before the engine opens the journal: where the relay's stream resumes.
    let nats_config = match &config.feed {
        FeedConfig::Nats { url } => Some(args.nats.config(url, &args.storage.data_dir)?),
        _ => None,
    };
    config.instruments = Arc::clone(&instruments);
    config.feed_clock = match args.event_clock.as_str() {
        "feed" => true,
        "wall" => false,
        _ => simulator.is_some(),
    };

    let feed_clock = config.feed_clock;
    let mut engine = Engine::start(config).context("starting the engine")?;
    println!("tickfill: {}", engine.recovery);
    // A restart after the simulator's clock was moved ahead: the engine resumes at its
    // journal's time, and the simulator's clock continues from there too (its ticks and
    // quotes show the same day as the orders).
    if let (Some(sim), Some(t), true) = (&simulator, engine.resumed_at_ns, feed_clock) {
        let at_ms = t / 1_000_000;
        if at_ms > sim.status().clock_offset_ms + tickfill::clock::wall_now_ns() / 1_000_000 {
            let _ = sim.control(sim::Control::SetClock { epoch_ms: at_ms });
        }
    }
    let handle = engine.handle();
    let updates = engine.take_updates().context("order-update reader")?;
    // With the relay's stream: order updates and trades also go to EVENTS (a tee in
    // front of the WebSocket server's reader), and ticks come from TICKS.
    let (updates, events_tee) = match &nats_config {
        Some(c) => {
            let events = tickfill::relay::events::EventsConfig {
                url: c.url.clone(),
                account: c.account.clone(),
                retention: tickfill::relay::Retention::events(),
            };
            let instruments = Arc::clone(&handle.instruments);
            let (u, t) = tickfill::relay::events::tee(
                updates,
                Arc::clone(&handle.health),
                instruments,
                events,
            )
            .context("starting the EVENTS publisher")?;
            (u, Some(t))
        }
        None => (updates, None),
    };
    let nats_feed = match nats_config {
        Some(c) => Some(
            tickfill::sequencer::nats::NatsFeed::spawn(c, handle.clone())
                .context("starting the NATS feed")?,
        ),
        None => None,
    };

    let static_dir = args.frontend.clone();
    let has_ui = static_dir.is_some() || tickfill::api::ui::embedded();
    let auth_guard = GuardConfig { max_failures: args.auth_failures, ..GuardConfig::default() };
    let nofile = tickfill::fdlimit::raise_nofile(
        (args.max_ws_connections + args.max_http_connections) as u64,
    );
    if let Some(warning) = nofile.shortfall() {
        tracing::warn!("{warning}");
    }
    let mut ws_config = WsConfig {
        addr: args.ws,
        auth_guard,
        max_connections: args.max_ws_connections,
        ..WsConfig::default()
    };
    if !args.allowed_origins.is_empty() {
        ws_config.allowed_origins = args.allowed_origins.clone();
    }
    let ws =
        WsServer::start(ws_config, handle.clone(), updates, keys.clone()).with_context(|| {
            format!("starting the WebSocket server on {} (choose another with --ws)", args.ws)
        })?;

    let api = ApiServer::start(
        ApiConfig {
            addr: args.http,
            order_rate_per_sec: args.order_rate,
            other_rate_per_sec: args.other_rate,
            static_dir: static_dir.clone(),
            ws_port: ws.local_addr().port(),
            auth_guard,
            upstream: upstream.clone(),
            max_connections: args.max_http_connections,
            idle_timeout: args.idle_timeout,
            allowed_hosts: args.allowed_hosts.clone(),
            data_dir: Some(args.storage.data_dir.clone()),
            ..ApiConfig::default()
        },
        handle.clone(),
        keys,
    )
    .with_context(|| {
        format!("starting the REST API on {} (choose another with --http)", args.http)
    })?;
    let http = api.local_addr();
    println!("tickfill: REST API   http://{http}/api/v1/");
    println!("tickfill: WebSocket  ws://{}", ws.local_addr());
    if let Some(s) = &simulator {
        println!(
            "tickfill: simulated broker ws://{} (REST and controls http://{}/sim/control)",
            s.ws_addr(),
            s.rest_addr()
        );
    }
    // A key given to the process is never printed (it may be in a shell history, a unit
    // file or the environment already, and stdout often ends up in a log); only a key
    // generated now is shown, once.
    match &origin {
        KeyOrigin::Generated(key) => {
            println!("tickfill: API key    {key}");
            println!("tickfill: (generated now and shown once; only its salted hash is stored)");
        }
        KeyOrigin::Given => {
            println!("tickfill: API key    as given by --api-key / TICKFILL_API_KEY")
        }
        KeyOrigin::Stored | KeyOrigin::StoredLegacy => println!(
            "tickfill: API key    the one printed at first start (only its salted hash is \
             stored; pass --api-key, or delete {}/{} for a new one)",
            args.storage.data_dir.display(),
            if matches!(origin, KeyOrigin::Stored) { HASH_FILE } else { LEGACY_FILE },
        ),
    }
    match &static_dir {
        Some(dir) => println!("tickfill: frontend   {} (from --frontend)", dir.display()),
        None if has_ui => println!("tickfill: frontend   embedded in the binary"),
        None => println!(
            "tickfill: frontend   none: this binary was built without frontend/dist (npm run \
             build in frontend/ and build again, or pass --frontend DIR)"
        ),
    }
    match (has_ui, &origin) {
        (true, KeyOrigin::Generated(key)) => {
            println!("tickfill: open       http://{http}/#key={key}")
        }
        (true, _) => println!("tickfill: open       http://{http}/ and sign in"),
        (false, _) => {}
    }
    println!("tickfill: ready; Ctrl-C stops");

    let _ = stop_rx.recv();
    println!("tickfill: stopping");
    ws.shutdown();
    api.shutdown();
    if let Some(f) = nats_feed {
        f.stop();
    }
    drop(handle);
    let last = engine.shutdown();
    // After the engine: the last updates it made durable are published before exit.
    if let Some(t) = events_tee {
        t.stop();
    }
    if let Some(s) = simulator {
        s.stop();
    }
    println!(
        "tickfill: stopped; journal flushed (funds available {})",
        last.exec.funds().available
    );
    Ok(())
}
