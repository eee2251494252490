//! `openalgo` as a model: OpenAlgo's tables ([`crate::exec::rules`]) in the models' terms,
//! for an order whose strategy is given this model while the engine runs another (or the
//! other way round). The engine-wide default never comes here: it keeps its own path.

use super::touch::Working;
use super::{Decision, Legs, Rest};
use crate::exec::rules::{self, OnTick, Placement, Quote};

/// The placement table: the whole quantity at once, or rest.
pub fn at_placement(w: &Working, q: &Quote) -> Decision {
    match rules::at_placement(w.side, w.price_type, q, w.limit, w.trigger) {
        Placement::Fill(p) => Decision { legs: Legs::one(w.remaining, p, false), rest: Rest::Same },
        Placement::Open => Decision { legs: Legs::NONE, rest: Rest::Open },
        Placement::TriggerPending => Decision { legs: Legs::NONE, rest: Rest::TriggerPending },
    }
}

/// The later-tick table. OpenAlgo's fills never slip (`aggressive` is false).
pub fn on_tick(w: &Working, q: &Quote) -> Decision {
    match rules::on_tick(w.side, w.price_type, w.status, q, w.limit, w.trigger) {
        OnTick::Hold => Decision::HOLD,
        OnTick::Fill(p) => Decision { legs: Legs::one(w.remaining, p, false), rest: Rest::Same },
        OnTick::Trigger => Decision { legs: Legs::NONE, rest: Rest::Open },
    }
}
