//! Execution settings: capital, leverage per contract kind, square-off, session, expiry
//! and funds-reset times.

use super::fill::FillConfig;
use crate::instruments::InstrumentKind;
use crate::types::{Exchange, Money, Product, Side};

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
    /// Leverage of option buys (default 1: the premium is paid in full).
    pub leverage_options: i64,
    /// Leverage of option sells (OpenAlgo's `option_sell_leverage`, default 1).
    pub leverage_option_sell: i64,
    /// Square-off minute since IST midnight per exchange, indexed by [`Exchange::index`];
    /// `None` disables square-off there (indices).
    pub square_off_minute: [Option<u32>; Exchange::COUNT],
    /// From square-off until this IST minute, MIS orders that do not reduce are refused
    /// (default 09:00).
    pub mis_open_minute: u32,
    /// A quote older than this (event time, ns) does not decide a placement: a MARKET
    /// order is refused and other types rest until the next tick (default 5 s, OpenAlgo's
    /// freshness limit; the REST layer fetches a fresh quote first).
    pub quote_max_age_ns: i64,
    /// Session boundary, IST minute (default 03:00): the books restart and today's
    /// realized P&L resets.
    pub session_minute: u32,
    /// Exchange close per exchange, IST minute, indexed by [`Exchange::index`]: F&O
    /// contracts expiring that day are settled then (NFO/BFO 15:40, CDS/BCD 17:00, MCX
    /// 23:30, NCDEX 17:00, else 15:30).
    pub expiry_minute: [u32; Exchange::COUNT],
    /// Scheduled funds reset: (weekday, 0 = Monday .. 6 = Sunday, IST minute); `None` (the
    /// default) never resets on a schedule.
    pub funds_reset: Option<(u8, u32)>,
    /// The fill model and its knobs (default: OpenAlgo's rules, [`FillConfig::default`]).
    pub fill: FillConfig,
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
        let mut expiry_minute = [15 * 60 + 30; Exchange::COUNT];
        for ex in Exchange::ALL {
            expiry_minute[ex.index()] = match ex {
                Exchange::Nfo | Exchange::Bfo => 15 * 60 + 40,
                Exchange::Cds | Exchange::Bcd | Exchange::Ncdex => 17 * 60,
                Exchange::Mcx => 23 * 60 + 30,
                _ => 15 * 60 + 30,
            };
        }
        ExecConfig {
            starting_capital: Money(10_000_000 * Money::SCALE),
            leverage_equity_mis: 5,
            leverage_equity_delivery: 1,
            leverage_futures: 10,
            leverage_options: 1,
            leverage_option_sell: 1,
            square_off_minute,
            mis_open_minute: 9 * 60,
            quote_max_age_ns: 5_000_000_000,
            session_minute: 3 * 60,
            expiry_minute,
            funds_reset: None,
            fill: FillConfig::default(),
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

    /// The leverage of an order: as [`ExecConfig::leverage`], with option sells on their
    /// own setting.
    pub fn leverage_for(&self, kind: InstrumentKind, product: Product, side: Side) -> i64 {
        match (kind, side) {
            (InstrumentKind::Option, Side::Sell) => self.leverage_option_sell.max(1),
            _ => self.leverage(kind, product),
        }
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
