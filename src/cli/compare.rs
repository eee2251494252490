//! `tickfill compare`: one tick stream, one scripted strategy, every fill model, side by
//! side: how optimistic is a paper P&L?
//!
//! The stream is recorded (`--from DIR`: the ticks of a data dir's journal, re-timed) or
//! generated from a seed (one NSE equity, tick 0.05: a random walk with a
//! one-tick spread, five depth levels a side with random sizes, day volume, the last
//! trade at the bid or the ask; events 50 ms apart in event time), so every run with the
//! same options prints the same table. The strategy is scripted: every
//! `--every` ticks it sends a MARKET order of `--qty` (alternately BUY and SELL) and a
//! LIMIT of `--qty` one tick behind the touch on the same side. Each model runs the same
//! events through the real execution and MTM stages (no ring, no journal: the stages are
//! deterministic functions of the events). Slippage is the fill price against the LTP of
//! the last tick before the fill, signed so that positive costs the trader.

use super::options::ExecArgs;
use anyhow::Context;
use clap::Args;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tickfill::event::{
    Command, CommandKind, Depth, Event, Header, Input, Level, OrderRequest, StageOutput, Tick,
    Ticket,
};
use tickfill::exec::Exec;
use tickfill::exec::fill::FillModel;
use tickfill::instruments::InstrumentMaster;
use tickfill::journal::reader::read_events;
use tickfill::mtm::Mtm;
use tickfill::types::{Exchange, Money, Price, PriceType, Product, Qty, Seq, Side, SymbolId, Tag};

/// Options of `tickfill compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Ticks in the generated stream.
    #[arg(long, default_value_t = 20_000)]
    pub ticks: u64,
    /// Seed of the generated stream.
    #[arg(long, default_value_t = 1)]
    pub stream_seed: u64,
    /// The strategy acts every this many ticks.
    #[arg(long, default_value_t = 25)]
    pub every: u64,
    /// Quantity of each order.
    #[arg(long, default_value_t = 300)]
    pub qty: i64,
    /// Replay the ticks recorded in this data dir's journal instead of a generated stream
    /// (re-timed 50 ms apart from 09:30 IST, so that MIS orders are allowed).
    #[arg(long)]
    pub from: Option<PathBuf>,
    /// With --from: the symbol the strategy trades, EXCHANGE:SYMBOL (default: the one
    /// with the most ticks).
    #[arg(long)]
    pub symbol: Option<String>,
    /// With --from: the instrument master CSV the recording used (default: the data
    /// dir's embedded universe).
    #[arg(long)]
    pub instruments: Option<PathBuf>,
    /// Also write an SVG plot of each model's cumulative P&L (realized + unrealized, ₹)
    /// over the stream to this file, next to the table.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// The fill settings (the model itself is every model in turn).
    #[command(flatten)]
    exec: ExecArgs,
}

const TICK: i64 = 500; // 0.05 in Price units

/// One model's outcome.
#[derive(Debug, Default)]
struct Outcome {
    orders: u64,
    fills: u64,
    filled: i64,
    /// Sum over fills of signed (price - LTP) x quantity, in Price units.
    slippage: i128,
    realized: Money,
    unrealized: Money,
    /// (event number, P&L in ₹) about [`CURVE_POINTS`] times over the stream and at its end.
    curve: Vec<(f64, f64)>,
}

/// Points of each model's P&L curve in the plot.
const CURVE_POINTS: usize = 500;

/// The traded symbol's P&L (realized + unrealized) in `mtm` now.
fn pnl(mtm: &Mtm, symbol: SymbolId) -> Money {
    mtm.positions()
        .iter()
        .filter(|p| p.symbol == symbol)
        .fold(Money::ZERO, |acc, p| acc.plus(p.realized).plus(p.unrealized))
}

/// The generated ticks (symbol 0).
fn generate(args: &CompareArgs) -> Vec<Tick> {
    let mut rng = SmallRng::seed_from_u64(args.stream_seed);
    let mut mid = 800_0000i64;
    let mut volume = 100_000i64;
    let mut out = Vec::with_capacity(args.ticks as usize);
    for i in 0..args.ticks {
        mid = (mid + TICK * rng.random_range(-2i64..=2)).max(100 * TICK);
        let (bid, ask) = (mid, mid + TICK);
        let traded = rng.random_range(0i64..400);
        volume += traded;
        let ltp = if rng.random_bool(0.5) { bid } else { ask };
        let mut depth = Depth { levels: 5, ..Depth::default() };
        for l in 0..5 {
            let away = TICK * l as i64;
            let bq = rng.random_range(20i64..400);
            depth.buy[l] = Level { price: Price(bid - away), quantity: bq, orders: 1 };
            let aq = rng.random_range(20i64..400);
            depth.sell[l] = Level { price: Price(ask + away), quantity: aq, orders: 1 };
        }
        out.push(Tick {
            symbol: SymbolId(0),
            ltp: Price(ltp),
            bid: Price(bid),
            ask: Price(ask),
            bid_qty: depth.buy[0].quantity,
            ask_qty: depth.sell[0].quantity,
            volume,
            ltt_ms: i as i64,
            mode: 3,
            depth,
            ..Tick::default()
        });
    }
    out
}

/// The recorded ticks of `--from`, the master they refer to, and the traded symbol.
fn recorded(
    args: &CompareArgs,
    dir: &Path,
) -> anyhow::Result<(Arc<InstrumentMaster>, Vec<Tick>, SymbolId)> {
    anyhow::ensure!(dir.is_dir(), "--from {} is not a data dir", dir.display());
    let im = Arc::new(match &args.instruments {
        Some(p) => {
            InstrumentMaster::load(p).with_context(|| format!("--instruments {}", p.display()))?
        }
        None => tickfill::refdata::universe::default_universe_for(dir)
            .with_context(|| format!("default universe of {}", dir.display()))?,
    });
    let mut reader = read_events(dir, None)?;
    let mut ev = Event::default();
    let mut ticks = Vec::new();
    while reader.next_into(&mut ev)? {
        if let Input::Tick(t) = ev.input {
            ticks.push(t);
        }
    }
    let symbol = match &args.symbol {
        Some(s) => {
            let (ex, sym) = s.split_once(':').context("--symbol takes EXCHANGE:SYMBOL")?;
            let ex = Exchange::parse(ex).with_context(|| format!("--symbol: no exchange {ex}"))?;
            im.lookup(ex, sym).with_context(|| format!("--symbol: {s} is not in the master"))?
        }
        None => {
            let mut count = vec![0u64; im.len()];
            for t in &ticks {
                if let Some(c) = count.get_mut(t.symbol.index()) {
                    *c += 1;
                }
            }
            let best = count.iter().enumerate().max_by_key(|&(i, c)| (*c, std::cmp::Reverse(i)));
            SymbolId(best.map_or(0, |(i, _)| i as u32))
        }
    };
    anyhow::ensure!(
        ticks.iter().any(|t| t.symbol == symbol),
        "no ticks of the traded symbol in {}",
        dir.display()
    );
    Ok((im, ticks, symbol))
}

/// The events: the ticks, with the strategy's two orders after every `--every`-th tick
/// of the traded symbol (BUY first, then alternately), the LIMIT one `tick` behind the
/// touch.
fn script(args: &CompareArgs, ticks: &[Tick], symbol: SymbolId, tick: i64) -> Vec<Input> {
    let mut out = Vec::with_capacity(ticks.len() + ticks.len() / args.every as usize * 2);
    let mut seen = 0u64;
    for t in ticks {
        out.push(Input::Tick(*t));
        if t.symbol != symbol || !t.ltp.is_positive() {
            continue;
        }
        seen += 1;
        if seen % args.every != 0 {
            continue;
        }
        let side = if (seen / args.every) % 2 == 1 { Side::Buy } else { Side::Sell };
        let bid = if t.bid.is_positive() { t.bid.0 } else { t.ltp.0 };
        let ask = if t.ask.is_positive() { t.ask.0 } else { t.ltp.0 };
        let behind = if side == Side::Buy { bid - tick } else { ask + tick };
        for (pt, price) in [(PriceType::Market, 0), (PriceType::Limit, behind.max(tick))] {
            let order = OrderRequest {
                symbol,
                side,
                qty: Qty(args.qty),
                price_type: pt,
                product: Product::Mis,
                price: Price(price),
                trigger: Price::ZERO,
                disclosed: Qty::ZERO,
                strategy: Tag::new("compare").unwrap_or(Tag::EMPTY),
            };
            let kind = CommandKind::Place(order);
            out.push(Input::Command(Command { ticket: Ticket(0), kind }));
        }
    }
    out
}

fn run_model(
    args: &CompareArgs,
    model: FillModel,
    inputs: &[Input],
    im: &Arc<InstrumentMaster>,
    symbol: SymbolId,
) -> Outcome {
    let mut config = args.exec.config();
    config.fill.model = model;
    let mut exec = Exec::new(config, Arc::clone(im));
    let mut mtm = Mtm::new(im.len(), exec.funds());
    let mut out = StageOutput::new();
    let mut o = Outcome::default();
    let start = tickfill::clock::ist_to_epoch_ns(2026, 11, 26, 9, 30);
    let mut ltp = 0i64;
    let every = (inputs.len() / CURVE_POINTS).max(1);
    for (i, input) in inputs.iter().enumerate() {
        if let Input::Tick(t) = input {
            if t.symbol == symbol && t.ltp.is_positive() {
                ltp = t.ltp.0;
            }
        }
        let ev = Event {
            header: Header {
                seq: Seq(i as u64 + 1),
                time_ns: start + i as i64 * 50_000_000,
                recv_ns: 0,
                stream_seq: 0,
            },
            input: *input,
        };
        out.clear();
        exec.apply(&ev, &mut out);
        mtm.apply(&ev, &mut out);
        if matches!(input, Input::Command(_)) {
            o.orders += 1;
        }
        for u in &out.updates {
            if let Some(f) = u.fill {
                o.fills += 1;
                o.filled += f.qty.0;
                let sign = i128::from(u.order.side.sign());
                o.slippage += sign * i128::from(f.price.0 - ltp) * i128::from(f.qty.0);
            }
        }
        if i % every == 0 || i + 1 == inputs.len() {
            o.curve.push(((i + 1) as f64, pnl(&mtm, symbol).0 as f64 / Money::SCALE as f64));
        }
    }
    for p in mtm.positions().iter().filter(|p| p.symbol == symbol) {
        o.realized = o.realized.plus(p.realized);
        o.unrealized = o.unrealized.plus(p.unrealized);
    }
    o
}

/// Runs the comparison and prints a markdown table.
pub fn run(args: CompareArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.every > 0, "--every must be at least 1");
    anyhow::ensure!(args.qty > 0, "--qty must be at least 1");
    args.exec.check()?;
    let (im, ticks, symbol) = match &args.from {
        Some(dir) => recorded(&args, dir)?,
        None => {
            let csv = "symbol,exchange,lotsize,tick_size,instrumenttype\nSBIN,NSE,1,0.05,EQ\n";
            (Arc::new(InstrumentMaster::from_csv_str(csv)?), generate(&args), SymbolId(0))
        }
    };
    let tick = im.get(symbol).map(|i| i.tick_size.0).filter(|&t| t > 0).unwrap_or(TICK);
    let inputs = script(&args, &ticks, symbol, tick);
    let name =
        im.get(symbol).map_or(String::new(), |i| format!("{}:{}", i.exchange.as_str(), i.symbol));
    let source = match &args.from {
        Some(dir) => format!("{} recorded ticks from {} ({name})", ticks.len(), dir.display()),
        None => {
            format!("{} generated ticks (stream seed {}, {name})", args.ticks, args.stream_seed)
        }
    };
    let f = args.exec.config().fill;
    println!(
        "tickfill compare: {source}, MARKET + LIMIT of {} every {} ticks; \
         knobs: touch probability {}, slippage probability {}, depth levels {}, fill seed {}, venue latency {} ns + jitter {} ns\n",
        args.qty,
        args.every,
        f64::from(f.touch_fill_ppm) / 1e6,
        f64::from(f.slippage_ppm) / 1e6,
        f.depth_levels,
        f.seed,
        f.latency_ns,
        f.jitter_ns,
    );
    println!(
        "| model | orders | fills | filled qty | avg slippage vs LTP (₹/unit) | realized P&L | unrealized P&L | P&L |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut curves = Vec::new();
    for model in FillModel::ALL {
        let mut o = run_model(&args, model, &inputs, &im, symbol);
        let total = o.realized.plus(o.unrealized);
        curves.push((format!("{} (end: {total})", model.as_str()), std::mem::take(&mut o.curve)));
        let per_unit = if o.filled > 0 {
            o.slippage as f64 / o.filled as f64 / Price::SCALE as f64
        } else {
            0.0
        };
        println!(
            "| {} | {} | {} | {} | {:.4} | {} | {} | {} |",
            model.as_str(),
            o.orders,
            o.fills,
            o.filled,
            per_unit,
            o.realized,
            o.unrealized,
            o.realized.plus(o.unrealized)
        );
    }
    if let Some(path) = &args.plot {
        let title = format!("Cumulative P&L per fill model: {source}");
        let svg = tickfill::plot::lines_svg(
            &title,
            "event (ticks and orders, in stream order)",
            "P&L, realized + unrealized (₹)",
            &curves,
        );
        std::fs::write(path, svg).with_context(|| format!("--plot {}", path.display()))?;
        println!("\nplot: {}", path.display());
    }
    Ok(())
}
