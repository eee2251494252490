//! `tickfill replay`: verify a data dir's journal and print the state it rebuilds.

use super::options::{ExecArgs, StorageArgs};
use super::print;
use clap::Args;
use tickfill::engine::describe_fill;
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
    let flags = args.exec.config();
    let r = rebuild(&args.storage.data_dir, &flags, &instruments)?;
    // The fill settings are journaled: the journal's win over the flags, so the replay
    // makes the fills the live run made. (A journal written before they were journaled
    // has none, and replays under the flags given here.)
    let in_effect = *r.exec.fill_config();
    if in_effect != flags.fill {
        eprintln!(
            "tickfill replay: the journal's fill settings win over the fill flags given \
             ({}); in effect at the end of the journal: {}",
            describe_fill(&flags.fill),
            describe_fill(&in_effect)
        );
    }
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
