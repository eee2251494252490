//! Plain-text tables for the terminal.

use tickfill::instruments::InstrumentMaster;
use tickfill::latency::HopSummary;
use tickfill::views::{FundsRow, HoldingRow, PositionRow};

fn us(ns: u64) -> String {
    format!("{:.1}", ns as f64 / 1000.0)
}

/// Latency percentiles per hop, in microseconds.
pub fn latency(rows: &[HopSummary]) {
    println!(
        "{:<24} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "hop (us)", "count", "p50", "p90", "p99", "p99.9", "max"
    );
    for r in rows {
        println!(
            "{:<24} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
            r.hop,
            r.count,
            us(r.p50_ns),
            us(r.p90_ns),
            us(r.p99_ns),
            us(r.p999_ns),
            us(r.max_ns)
        );
    }
}

/// Positions and funds.
pub fn book(master: &InstrumentMaster, positions: &[PositionRow], funds: &FundsRow) {
    println!(
        "{:<26} {:>5} {:>9} {:>12} {:>12} {:>14}",
        "position", "prod", "qty", "avg", "ltp", "pnl"
    );
    for p in positions {
        let name = master.get(p.symbol).map_or_else(
            || format!("#{}", p.symbol.0),
            |i| format!("{}:{}", i.exchange.as_str(), i.symbol),
        );
        println!(
            "{:<26} {:>5} {:>9} {:>12} {:>12} {:>14}",
            name,
            p.product.as_str(),
            p.qty.0,
            p.avg_price.to_string(),
            p.ltp.to_string(),
            p.pnl.to_string()
        );
    }
    println!(
        "funds: available {}  used margin {}  realized {}  unrealized {}",
        funds.available, funds.used_margin, funds.realized, funds.unrealized
    );
}

/// Settled CNC holdings (nothing when there are none).
pub fn holdings(master: &InstrumentMaster, rows: &[HoldingRow]) {
    if rows.is_empty() {
        return;
    }
    println!("{:<26} {:>9} {:>12} {:>12} {:>14}", "holding", "qty", "avg", "ltp", "cost");
    for h in rows {
        let name = master.get(h.symbol).map_or_else(
            || format!("#{}", h.symbol.0),
            |i| format!("{}:{}", i.exchange.as_str(), i.symbol),
        );
        println!(
            "{:<26} {:>9} {:>12} {:>12} {:>14}",
            name,
            h.qty.0,
            h.avg_price.to_string(),
            h.ltp.to_string(),
            h.cost.to_string()
        );
    }
}
