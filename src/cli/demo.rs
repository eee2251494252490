//! `tickfill demo`: the engine over a generated tick stream, self-contained.
//!
//! Places resting LIMIT orders around the market through the real command path, streams
//! random-walk ticks through the sequencer at a fixed rate, prints fills as the journal
//! releases them, then the per-stage latency percentiles, positions and funds.

use super::options::{ExecArgs, RingArgs, StorageArgs};
use super::print;
use anyhow::{Context, bail};
use clap::Args;
use std::time::{Duration, Instant};
use tickfill::clock::{mono_now_ns, wall_now_ns};
use tickfill::engine::{Engine, EngineConfig};
use tickfill::event::{CommandKind, OrderRequest, QueryKind, Reply};
use tickfill::fanout::updates::Next;
use tickfill::instruments::InstrumentKind;
use tickfill::sim::walk::RandomWalk;
use tickfill::types::{Price, PriceType, Product, Qty, Side, Tag};
use tickfill::views::QueryReply;

/// Options of `tickfill demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How long to stream ticks, in seconds.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Ticks per second over all symbols.
    #[arg(long, default_value_t = 50_000)]
    pub rate: u64,
    /// Resting orders to place before streaming.
    #[arg(long, default_value_t = 200)]
    pub orders: usize,
    /// Random-walk seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Fills to print one by one (the rest are counted).
    #[arg(long, default_value_t = 15)]
    pub show_fills: usize,
    #[command(flatten)]
    storage: StorageArgs,
    #[command(flatten)]
    exec: ExecArgs,
    #[command(flatten)]
    ring: RingArgs,
}

/// Runs the demo.
pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let instruments = args.storage.instruments()?;
    let mut config = EngineConfig::new(args.storage.journal());
    config.instruments = std::sync::Arc::clone(&instruments);
    config.pipeline = args.ring.pipeline();
    args.exec.check()?;
    config.exec = args.exec.config();
    let mut engine = Engine::start(config).context("starting the engine")?;
    println!("tickfill demo: {}", engine.recovery);
    let handle = engine.handle();
    let mut updates = engine.take_updates().context("update reader")?;
    let mut walk = RandomWalk::new(&instruments, args.seed);
    if walk.is_empty() {
        bail!("the instrument master has no prev_close prices to walk from");
    }

    // Prime every symbol with one tick so orders have a market to rest against.
    for _ in 0..walk.len() {
        let t = walk.next_tick(wall_now_ns() / 1_000_000).expect("non-empty walk");
        handle.send_tick(t, mono_now_ns())?;
    }

    let tradable = RandomWalk::tradable(&instruments);
    let mut placed = 0;
    for i in 0..args.orders {
        let symbol = tradable[i % tradable.len()];
        let inst = instruments.get(symbol).expect("tradable ids are valid");
        let ltp = walk.ltp(symbol).unwrap_or(Price::ZERO);
        // Products that are valid at any hour (MIS is refused outside market hours):
        // NRML both ways on derivatives, CNC buys on equities (a CNC sell needs holdings).
        let derivative = inst.exchange.is_derivative();
        let side = if i % 2 == 0 || !derivative { Side::Buy } else { Side::Sell };
        let product = if derivative { Product::Nrml } else { Product::Cnc };
        // Rest 1..=4 ticks away from the market on the passive side.
        let away = inst.tick_size.0 * (1 + (i as i64 % 4));
        let price = Price(if side == Side::Buy { ltp.0 - away } else { ltp.0 + away });
        let qty = if inst.kind == InstrumentKind::Equity { 10 } else { inst.lot_size };
        let outcome = handle.submit(CommandKind::Place(OrderRequest {
            symbol,
            side,
            qty: Qty(qty),
            price_type: PriceType::Limit,
            product,
            price,
            trigger: Price::ZERO,
            disclosed: Qty::ZERO,
            strategy: Tag::new("demo").expect("short tag"),
        }))?;
        match outcome.reply {
            Reply::Placed(_) => placed += 1,
            Reply::Rejected { message, .. } => println!("order refused: {message}"),
            _ => {}
        }
    }
    println!(
        "placed {placed} resting LIMIT orders; streaming {} ticks/s for {} s",
        args.rate, args.seconds
    );

    let start = Instant::now();
    let total = args.rate * args.seconds;
    let mut fills = 0u64;
    let mut sent = 0u64;
    while sent < total {
        // Open loop: each tick has an intended send time; catch up if behind.
        let due = Duration::from_nanos(sent * 1_000_000_000 / args.rate.max(1));
        let elapsed = start.elapsed();
        if elapsed < due {
            drain(&mut updates, &mut fills, args.show_fills, &instruments);
            std::thread::sleep((due - elapsed).min(Duration::from_millis(1)));
            continue;
        }
        let t = walk.next_tick(wall_now_ns() / 1_000_000).expect("non-empty walk");
        handle.send_tick(t, mono_now_ns())?;
        sent += 1;
    }
    let _ = handle.query(QueryKind::Funds)?; // a barrier: everything before it is durable
    drain(&mut updates, &mut fills, args.show_fills, &instruments);
    println!(
        "\nsent {sent} ticks in {:.2} s; {fills} order updates with fills\n",
        start.elapsed().as_secs_f64()
    );
    print::latency(&handle.latency.snapshot().summary());
    let positions = match handle.query(QueryKind::PositionBook)? {
        QueryReply::Positions(p) => p,
        other => bail!("unexpected positionbook answer {other:?}"),
    };
    let funds = match handle.query(QueryKind::Funds)? {
        QueryReply::Funds(f) => f,
        other => bail!("unexpected funds answer {other:?}"),
    };
    println!();
    let open: Vec<_> = positions.into_iter().filter(|p| p.qty.0 != 0).take(10).collect();
    print::book(&instruments, &open, &funds);
    drop(handle);
    engine.shutdown();
    Ok(())
}

fn drain(
    updates: &mut tickfill::fanout::updates::UpdateReader,
    fills: &mut u64,
    show: usize,
    master: &tickfill::instruments::InstrumentMaster,
) {
    loop {
        let q = match updates.poll() {
            Next::Update(q) | Next::Gap { next: q, .. } => q,
            Next::Empty => return,
        };
        if let Some(fill) = q.update.fill {
            *fills += 1;
            if *fills as usize <= show {
                let name = master.get(q.update.order.symbol).map_or("?", |i| i.symbol.as_str());
                println!(
                    "fill #{:<3} order {} {} {} {} @ {} (seq {})",
                    fills,
                    q.update.order.id,
                    q.update.order.side.as_str(),
                    fill.qty.0,
                    name,
                    fill.price,
                    q.seq.0
                );
            }
        }
    }
}
