//! Execution settings: capital, leverage per contract kind, square-off times.

use crate::instruments::InstrumentKind;
use crate::types::{Exchange, Money, Price, Product};

/// Settings of the execution stage. [`ExecConfig::default`] gives OpenAlgo's sandbox values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecConfig {
    /// Cash at the start (default 10,000,000.00).
    pub starting_capital: Money,
    /// Leverage of intraday (MIS) equity: margin = notional / leverage (default 5).
    pub leverage_equity_mis: i64,
    /// Leverage of delivery equity (CNC and NRML; default 1).
    pub leverage_equity_delivery: i64,
    /// Leverage of futures (default 10).
    pub leverage_futures: i64,
    /// Leverage of options (default 1: the premium is paid in full).
    pub leverage_options: i64,
    /// Square-off minute since IST midnight per exchange, indexed by [`Exchange::index`];
    /// `None` disables square-off there (indices).
    pub square_off_minute: [Option<u32>; Exchange::COUNT],
    /// From square-off until this IST minute, MIS orders that do not reduce are refused
    /// (default 09:00).
    pub mis_open_minute: u32,
}

impl Default for ExecConfig {
    fn default() -> Self {
        let mut square_off_minute = [None; Exchange::COUNT];
        for ex in Exchange::ALL {
            square_off_minute[ex.index()] = match ex {
                Exchange::Nse | Exchange::Bse | Exchange::Nfo | Exchange::Bfo => Some(15 * 60 + 15),
                Exchange::Cds | Exchange::Bcd => Some(16 * 60 + 45),
                Exchange::Mcx => Some(23 * 60 + 30),
                Exchange::Ncdex => Some(17 * 60),
                // OPENALGO.md 3b: NCO, CRYPTO and the index exchanges have no square-off.
                Exchange::NseIndex
                | Exchange::BseIndex
                | Exchange::Nco
                | Exchange::Crypto
                | Exchange::McxIndex
                | Exchange::GlobalIndex => None,
            };
        }
        ExecConfig {
            starting_capital: Price(10_000_000 * Price::SCALE),
            leverage_equity_mis: 5,
            leverage_equity_delivery: 1,
            leverage_futures: 10,
            leverage_options: 1,
            square_off_minute,
            mis_open_minute: 9 * 60,
        }
    }
}

impl ExecConfig {
    /// The leverage of a contract kind and product; never below 1.
    pub fn leverage(&self, kind: InstrumentKind, product: Product) -> i64 {
        let l = match kind {
            InstrumentKind::Future => self.leverage_futures,
            InstrumentKind::Option => self.leverage_options,
            InstrumentKind::Equity | InstrumentKind::Index => match product {
                Product::Mis => self.leverage_equity_mis,
                Product::Cnc | Product::Nrml => self.leverage_equity_delivery,
            },
        };
        l.max(1)
    }

    /// The square-off minute of an exchange.
    pub fn square_off(&self, exchange: Exchange) -> Option<u32> {
        self.square_off_minute.get(exchange.index()).copied().flatten()
    }

    /// True when MIS orders that open or add are refused at `minute` (IST) on `exchange`.
    pub fn mis_blocked(&self, exchange: Exchange, minute: u32) -> Option<u32> {
        let sq = self.square_off(exchange)?;
        (minute >= sq || minute < self.mis_open_minute).then_some(sq)
    }
}
