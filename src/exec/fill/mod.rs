//! Fill models: the policy that decides how much of a working order fills, at what price,
//! on a placement or a tick (DESIGN.md "Fill models").
//!
//! ```text
//!   openalgo (default)  rules.rs: every comparison against LTP, the whole quantity at once
//!   touch               touch.rs: marketable orders at the touch, resting limits only when
//!                       the market trades through them (or touches them, with a probability)
//!   depth               depth.rs: marketable orders walk the visible levels (partial fills,
//!                       liquidity consumed until the book refreshes), resting limits wait
//!                       behind an estimated queue that traded volume works down
//! ```
//!
//! A model is chosen per engine by [`FillConfig::model`], an enum: the tick path branches
//! on it once, so the default path costs one predictable comparison (no `dyn`, no
//! allocation). The models are pure functions of the order, the quote and (depth) the
//! visible book; the only other input is [`draw::Draws`], a seeded generator whose state is
//! part of the execution snapshot, so a replay of the same journal draws the same numbers.
//!
//! # Invariants
//! - The legs of one decision never exceed the order's remaining quantity, and a depth
//!   leg never exceeds the visible quantity left at its level.
//! - `openalgo` is [`super::rules`] unchanged: one leg, the whole quantity.
//!
//! # Known limitations
//! - At most [`MAX_OVERRIDES`] per-strategy models (`--fill-model-for STRATEGY=MODEL`);
//!   the probability knobs and the venue latency are per engine.
//! - Queue position counts the visible size at the order's price plus the engine's own
//!   earlier orders there; hidden size and cancellations ahead are not modelled.
//! - The knobs are integers in parts per million; a probability of 0 or 1 draws nothing.
//!
//! # Performance
//! `openalgo` pays one check of the configuration (the model, the first per-strategy
//! override) per tick and per placement.
//! `touch` and `depth` take their own path (`modelled.rs`): candidates are found with the
//! same one-comparison-per-side test, widened to the touch; `depth` also copies the tick's
//! levels into the symbol's visible book (boxed once per symbol). A tick that fills
//! nothing measured -13 to +75 ns against `openalgo` (+16 in the median pair) on the
//! loaded shared VM (`benches/fill_models.rs`,
//! `latency-reports/2026-11-30-vm-746982e-fill-models`). A decision never allocates.

#![forbid(unsafe_code)]

pub mod depth;
pub mod draw;
pub mod openalgo;
pub mod touch;

use crate::types::{Price, Qty, SymbolId, Tag};
use depth::Visible;
use draw::Draws;
use serde::{Deserialize, Serialize};

/// Which fill model the engine applies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum FillModel {
    /// OpenAlgo's sandbox exactly (`OPENALGO.md` section 3).
    #[default]
    OpenAlgo,
    /// Fills at the touch; resting limits need a trade through.
    Touch,
    /// Walks the visible depth; queue position for resting limits.
    Depth,
}

impl FillModel {
    /// Every model, for help texts and tables.
    pub const ALL: [FillModel; 3] = [FillModel::OpenAlgo, FillModel::Touch, FillModel::Depth];

    /// The command-line name.
    pub fn as_str(self) -> &'static str {
        match self {
            FillModel::OpenAlgo => "openalgo",
            FillModel::Touch => "touch",
            FillModel::Depth => "depth",
        }
    }

    /// Parses a command-line name (case-insensitive).
    pub fn parse(s: &str) -> Option<FillModel> {
        let s = s.trim();
        FillModel::ALL.into_iter().find(|m| m.as_str().eq_ignore_ascii_case(s))
    }
}

/// One in a million: probabilities are integers, so draws compare exactly on every host.
pub const PPM: u32 = 1_000_000;

/// The fill model and its knobs. Journaled ([`crate::event::Input::FillSettings`]) and
/// stored in snapshots: a replay applies the journal's settings, not its process's flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FillConfig {
    /// The model.
    pub model: FillModel,
    /// depth: how many visible levels a marketable order may walk on one event (1..=5);
    /// what is left of a MARKET order waits for the next refreshed book.
    pub depth_levels: u8,
    /// touch: probability, in parts per million, that a resting LIMIT fills when the LTP
    /// only touches its price (0: never, as a trade-through is required).
    pub touch_fill_ppm: u32,
    /// touch and depth: probability, in parts per million, that an aggressive fill (a
    /// MARKET, a triggered stop, a marketable LIMIT) slips one tick against the order.
    pub slippage_ppm: u32,
    /// Seed of the generator the probabilities draw from.
    pub seed: u64,
    /// Venue latency: a client's placements, modifies and cancels take effect this long
    /// after they arrive, in event time (0: at once). See [`crate::exec`]'s `venue`.
    pub latency_ns: i64,
    /// Venue latency jitter: a uniform draw from 0 to this is added to each delay.
    pub jitter_ns: i64,
    /// Per-strategy models: an order whose strategy tag matches fills under that model
    /// instead of [`FillConfig::model`]. Packed from the front (`None` after the last).
    pub overrides: [Option<(Tag, FillModel)>; MAX_OVERRIDES],
}

/// How many per-strategy models an engine takes.
pub const MAX_OVERRIDES: usize = 4;

impl FillConfig {
    /// True when some order may fill under another model than `openalgo` or the engine
    /// runs one: the tick and placement paths of `modelled.rs` are taken.
    #[inline]
    pub fn modelled(&self) -> bool {
        self.model != FillModel::OpenAlgo || self.overrides[0].is_some()
    }

    /// True when some order may fill under `depth` (visible books are kept).
    pub fn any_depth(&self) -> bool {
        self.model == FillModel::Depth
            || self.overrides.iter().flatten().any(|(_, m)| *m == FillModel::Depth)
    }

    /// The model of an order with this strategy tag.
    #[inline]
    pub fn model_for(&self, strategy: Tag) -> FillModel {
        for (tag, m) in self.overrides.iter().flatten() {
            if *tag == strategy {
                return *m;
            }
        }
        self.model
    }
}

/// The longest venue latency or jitter the settings take: `--venue-latency` takes up to
/// 3600 whole seconds (and their fraction), so just under 3601 s.
pub const MAX_LATENCY_NS: i64 = 3_601_000_000_000 - 1;

impl FillConfig {
    /// The first field out of range, for settings read back from a journal or snapshot
    /// (the command line refuses them before they get there).
    pub fn invalid_field(&self) -> Option<&'static str> {
        if !(1..=5).contains(&self.depth_levels) {
            return Some("depth_levels");
        }
        if self.touch_fill_ppm > PPM {
            return Some("touch_fill_ppm");
        }
        if self.slippage_ppm > PPM {
            return Some("slippage_ppm");
        }
        if !(0..=MAX_LATENCY_NS).contains(&self.latency_ns) {
            return Some("latency_ns");
        }
        if !(0..=MAX_LATENCY_NS).contains(&self.jitter_ns) {
            return Some("jitter_ns");
        }
        let packed = self.overrides.iter().skip_while(|o| o.is_some()).all(Option::is_none);
        if !packed {
            return Some("overrides");
        }
        None
    }
}

impl Default for FillConfig {
    fn default() -> Self {
        FillConfig {
            model: FillModel::OpenAlgo,
            depth_levels: 5,
            touch_fill_ppm: 0,
            slippage_ppm: 0,
            seed: 0,
            latency_ns: 0,
            jitter_ns: 0,
            overrides: [None; MAX_OVERRIDES],
        }
    }
}

/// The models' own state: the seeded generator and (depth) each symbol's visible book.
/// Both are part of the execution snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    /// The generator the probability knobs draw from.
    pub draws: Draws,
    /// Visible book per symbol id, boxed on the symbol's first tick under `depth` (empty
    /// under the other models).
    pub visible: Vec<Option<Box<Visible>>>,
}

impl State {
    /// A generator at the start of `seed`'s stream, no books.
    pub fn new(seed: u64) -> State {
        State { draws: Draws::new(seed), visible: Vec::new() }
    }

    /// The visible book of `symbol` (created empty on first use).
    pub fn visible_mut(&mut self, symbol: SymbolId) -> &mut Visible {
        let i = symbol.index();
        if i >= self.visible.len() {
            self.visible.resize(i + 1, None);
        }
        self.visible[i].get_or_insert_with(Box::default)
    }

    /// The visible book of `symbol` and the generator, borrowed together.
    pub fn book_and_draws(&mut self, symbol: SymbolId) -> (&mut Visible, &mut Draws) {
        let i = symbol.index();
        if i >= self.visible.len() {
            self.visible.resize(i + 1, None);
        }
        (self.visible[i].get_or_insert_with(Box::default), &mut self.draws)
    }

    /// The books as `(symbol id, book)` pairs, in id order (the snapshot form).
    pub fn books(&self) -> Vec<(u32, Visible)> {
        self.visible
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_deref().map(|v| (i as u32, *v)))
            .collect()
    }
}

/// One fill of a decision: a quantity at a price.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Leg {
    /// Units filled (> 0).
    pub qty: Qty,
    /// Fill price.
    pub price: Price,
}

/// The fills of one decision, at most one per visible level (no allocation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Legs {
    len: u8,
    legs: [Leg; 5],
    /// True when the fills took liquidity (MARKET, triggered stop, marketable LIMIT):
    /// slippage may apply. Passive fills of a resting LIMIT at its price never slip.
    pub aggressive: bool,
}

impl Legs {
    /// No fills.
    pub const NONE: Legs =
        Legs { len: 0, legs: [Leg { qty: Qty(0), price: Price(0) }; 5], aggressive: false };

    /// One fill of `qty` at `price`.
    pub fn one(qty: Qty, price: Price, aggressive: bool) -> Legs {
        let mut l = Legs { aggressive, ..Legs::NONE };
        l.push(qty, price);
        l
    }

    /// Adds a fill; a fill at the previous leg's price merges into it; zero is ignored.
    pub fn push(&mut self, qty: Qty, price: Price) {
        if qty.0 <= 0 {
            return;
        }
        let n = self.len as usize;
        if n > 0 && self.legs[n - 1].price == price {
            self.legs[n - 1].qty.0 += qty.0;
        } else {
            // A decision has at most one leg per visible level (five): the models never
            // push a sixth price.
            debug_assert!(n < self.legs.len(), "a sixth leg price");
            if n < self.legs.len() {
                self.legs[n] = Leg { qty, price };
                self.len += 1;
            }
        }
    }

    /// The fills, in order.
    pub fn as_slice(&self) -> &[Leg] {
        &self.legs[..self.len as usize]
    }

    /// Total quantity.
    pub fn total(&self) -> i64 {
        self.as_slice().iter().map(|l| l.qty.0).sum()
    }

    /// True when nothing fills.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Moves every price one `tick` against the order (BUY pays more, SELL gets less),
    /// never past `limit` and never below one tick.
    pub fn slip(&mut self, buy: bool, tick: Price, limit: Option<Price>) {
        let n = self.len as usize;
        for l in &mut self.legs[..n] {
            let p = if buy { l.price.0 + tick.0 } else { (l.price.0 - tick.0).max(tick.0) };
            l.price = match limit {
                Some(lim) if buy => Price(p.min(lim.0.max(l.price.0))),
                Some(lim) => Price(p.max(lim.0.min(l.price.0))),
                None => Price(p),
            };
        }
    }
}

/// What a model decides for a working order (placement or tick).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Fills now (possibly none, possibly part of the remaining quantity).
    pub legs: Legs,
    /// What the rest of the order is afterwards (ignored when the legs fill it all).
    pub rest: Rest,
}

/// The state of what is left of an order after a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rest {
    /// Unchanged (a tick that filled nothing, or part of a working order).
    Same,
    /// `open` (a new order that rests; a triggered SL whose limit is not met).
    Open,
    /// `trigger pending` (a stop not yet triggered).
    TriggerPending,
}

impl Decision {
    /// Nothing happens.
    pub const HOLD: Decision = Decision { legs: Legs::NONE, rest: Rest::Same };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legs_merge_equal_prices_and_slip_against_the_order() {
        let mut l = Legs::NONE;
        l.push(Qty(3), Price(100));
        l.push(Qty(2), Price(100));
        l.push(Qty(0), Price(105));
        l.push(Qty(4), Price(110));
        assert_eq!(
            l.as_slice(),
            &[Leg { qty: Qty(5), price: Price(100) }, Leg { qty: Qty(4), price: Price(110) }]
        );
        assert_eq!(l.total(), 9);
        let mut s = l;
        s.slip(true, Price(5), None);
        assert_eq!(s.as_slice()[1].price, Price(115));
        let mut capped = Legs::one(Qty(1), Price(100), true);
        capped.slip(true, Price(5), Some(Price(102)));
        assert_eq!(capped.as_slice()[0].price, Price(102), "never past the limit");
        l.slip(false, Price(100), None);
        assert_eq!(l.as_slice()[0].price, Price(100), "a sell never slips below one tick");
    }

    #[test]
    fn model_names_round_trip() {
        for m in FillModel::ALL {
            assert_eq!(FillModel::parse(m.as_str()), Some(m));
        }
        assert_eq!(FillModel::parse("DEPTH"), Some(FillModel::Depth));
        assert_eq!(FillModel::parse("queue"), None);
    }
}
