//! `tickfill replay`: verify a data dir's journal and print the state it rebuilds.

use super::options::{ExecArgs, StorageArgs};
use super::print;
use clap::Args;
use tickfill::engine::recovery::rebuild;
use tickfill::event::QueryKind;
use tickfill::views::QueryReply;

/// Options of `tickfill replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    storage: StorageArgs,
    #[command(flatten)]
    exec: ExecArgs,
}

/// Runs the replay.
pub fn run(args: ReplayArgs) -> anyhow::Result<()> {
    // Checked first: a data dir with nothing in it would get an anchor file.
    if !args.storage.data_dir.is_dir() {
        anyhow::bail!("--data-dir {} does not exist", args.storage.data_dir.display());
    }
    // The universe the last start used: replay reads the data dir and changes nothing.
    let instruments = args.storage.stored_instruments()?;
    // Read-only: a torn tail is left for the engine's next start to repair.
    args.exec.check()?;
    let r = rebuild(&args.storage.data_dir, &args.exec.config(), &instruments)?;
    match r.snapshot_seq {
        Some(s) => print!("snapshot at seq {}; ", s.0),
        None => print!("no snapshot; "),
    }
    println!(
        "replayed {} journaled events; last seq {}",
        r.replayed,
        r.last_seq.map_or(0, |s| s.0)
    );
    let orders = match r.exec.answer(&QueryKind::OrderBook) {
        Some(QueryReply::Orders(o)) => o,
        _ => Vec::new(),
    };
    let trades = match r.exec.answer(&QueryKind::TradeBook) {
        Some(QueryReply::Trades(t)) => t,
        _ => Vec::new(),
    };
    let (all_orders, all_trades) = r.exec.totals();
    println!(
        "orders: {all_orders}  trades: {all_trades}  (this session: {} orders, {} trades)",
        orders.len(),
        trades.len()
    );
    print::book(&instruments, &r.mtm.positions(), &r.mtm.funds_row());
    if let Some(QueryReply::Holdings(rows)) = r.exec.answer(&QueryKind::Holdings) {
        print::holdings(&instruments, &rows);
    }
    println!("state digest: {:016x}", tickfill::digest::combine(r.exec.digest(), r.mtm.digest()));
    Ok(())
}
