//! GTT (good till triggered) orders: resting triggers owned by the execution stage,
//! journaled as commands and replayed like orders (OPENALGO.md 2b).
//!
//! A GTT has a lower trigger (fires when LTP <= it; the stop-loss leg) and/or an upper
//! one (fires when LTP >= it; the target leg). OCO has both, lower < upper. A single
//! trigger is put on the side of the LTP it lies on at placement (a buy above the market
//! is a breakout, a sell below a stop), or as given when no price is known yet. When a
//! trigger fires, the GTT becomes `triggered` and places a LIMIT order at that leg's
//! price through the ordinary placement path, in the same event; the other leg dies.
//!
//! Margin: placement blocks the larger leg's `qty x price / leverage` (OpenAlgo's OCO
//! rule); firing, cancelling or expiring releases it (the placed order blocks its own).
//!
//! # Invariants
//! - Only `active` GTTs are checked on ticks; every other status is final.
//! - Time comes from the event (expiry is checked on timer events), ids from the ordinal:
//!   replay reproduces every trigger and every id.
//!
//! # Known limitations
//! - Only LIMIT legs (as OpenAlgo); a GTT does not follow later position changes.
//! - A trigger that fires places its order even when the order is then refused (funds):
//!   the GTT is `triggered` with no order, as a broker's GTT would be.
//!
//! # Performance
//! Nothing while no GTT exists (one `is_empty` check per tick). With GTTs, a tick scans
//! the GTT list (linear; GTTs are few, a per-symbol index would be the next step).

use super::Exec;
use super::funds::margin;
use crate::clock::ist_yymmdd;
use crate::event::{GttRequest, OrderRequest, RejectStatus, Reply, StageOutput};
use crate::msg;
use crate::types::{Money, OrderId, Price, PriceType, Product, Qty, SymbolId};
use serde::{Deserialize, Serialize};

/// A GTT's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GttStatus {
    /// Waiting for a trigger.
    Active,
    /// A trigger fired and placed its order.
    Triggered,
    /// Cancelled by the client.
    Cancelled,
    /// Its expiry passed.
    Expired,
}

impl GttStatus {
    /// The wire label.
    pub fn as_str(self) -> &'static str {
        match self {
            GttStatus::Active => "active",
            GttStatus::Triggered => "triggered",
            GttStatus::Cancelled => "cancelled",
            GttStatus::Expired => "expired",
        }
    }
}

/// One GTT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gtt {
    /// Ordinal, 1-based (the id on the wire is [`trigger_id`]).
    pub id: u64,
    /// The triggers and legs.
    pub req: GttRequest,
    /// State.
    pub status: GttStatus,
    /// Created, epoch ns.
    pub created_ns: i64,
    /// Last changed, epoch ns.
    pub updated_ns: i64,
    /// Margin blocked while active.
    pub margin: Money,
    /// The order a trigger placed.
    pub order: Option<OrderId>,
}

/// An active GTT as `gttorderbook` shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GttRow {
    /// The GTT.
    pub gtt: Gtt,
    /// The symbol's last price known to execution (0 when none).
    pub last_price: Price,
}

/// The wire id of a GTT: `GTT-YYMMDD-<8 hex of the ordinal>`.
pub fn trigger_id(g: &Gtt) -> String {
    format!("GTT-{:06}-{:08x}", ist_yymmdd(g.created_ns), g.id)
}

/// The ordinal in a wire id; `None` for anything not of that form.
pub fn parse_trigger_id(s: &str) -> Option<u64> {
    let mut parts = s.trim().split('-');
    let (Some("GTT"), Some(day), Some(hex), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    if day.len() != 6 || !day.bytes().all(|b| b.is_ascii_digit()) || hex.len() != 8 {
        return None;
    }
    u64::from_str_radix(hex, 16).ok().filter(|id| *id > 0)
}

fn refused(message: crate::message::Msg) -> Reply {
    Reply::Rejected { status: RejectStatus::BadRequest, message }
}

fn not_active(id: u64) -> Reply {
    Reply::Rejected {
        status: RejectStatus::NotFound,
        message: msg!("No active GTT with trigger_id {id}"),
    }
}

impl Exec {
    /// Validates a request against the master and the rules of its kind; the margin.
    fn gtt_margin(&self, g: &GttRequest) -> Result<Money, crate::message::Msg> {
        let inst = self
            .instruments
            .get(g.symbol)
            .ok_or_else(|| msg!("Unknown symbol id {}", g.symbol.0))?;
        if !matches!(g.product, Product::Cnc | Product::Nrml) {
            return Err(msg!("Invalid product: GTT orders take CNC or NRML"));
        }
        if g.qty.0 <= 0 || g.qty.0 % inst.lot_size.max(1) != 0 {
            return Err(msg!("Quantity must be in multiples of lot size {}", inst.lot_size));
        }
        let below = g.below_trigger.is_positive();
        let above = g.above_trigger.is_positive();
        if g.single && below == above {
            return Err(msg!("A SINGLE GTT needs exactly one trigger price"));
        }
        if !g.single && (!below || !above) {
            return Err(msg!("An OCO GTT needs both triggerprice_sl and triggerprice_tg"));
        }
        if below && above && g.below_trigger >= g.above_trigger {
            return Err(msg!("triggerprice_sl must be below triggerprice_tg"));
        }
        if (below && !g.below_price.is_positive()) || (above && !g.above_price.is_positive()) {
            return Err(msg!("Invalid price: each leg needs a limit price > 0"));
        }
        let lev = self.config.leverage(inst.kind, g.product);
        let (qty, cv) = (g.qty, inst.contract_value);
        let leg = |p: Price, on: bool| if on { margin(qty, p, cv, lev) } else { Money::ZERO };
        Ok(leg(g.below_price, below).max(leg(g.above_price, above)))
    }

    /// A single trigger moves to the side of the last price it lies on.
    fn orient(&self, mut g: GttRequest) -> GttRequest {
        let ltp = self.books.get(g.symbol.index()).map_or(Price::ZERO, |b| b.quote.ltp);
        if !g.single || !ltp.is_positive() {
            return g;
        }
        let (trigger, price) = if g.below_trigger.is_positive() {
            (g.below_trigger, g.below_price)
        } else {
            (g.above_trigger, g.above_price)
        };
        (g.below_trigger, g.below_price, g.above_trigger, g.above_price) = if trigger >= ltp {
            (Price::ZERO, Price::ZERO, trigger, price)
        } else {
            (trigger, price, Price::ZERO, Price::ZERO)
        };
        g
    }

    /// placegttorder.
    pub(crate) fn place_gtt(&mut self, req: &GttRequest, t: i64, out: &mut StageOutput) -> Reply {
        let required = match self.gtt_margin(req) {
            Ok(m) => m,
            Err(m) => return refused(m),
        };
        if let Err(m) = self.funds.check(required) {
            return refused(m);
        }
        self.funds.block(required);
        out.funds_changed = true;
        let id = self.gtts.len() as u64 + 1;
        let req = self.orient(*req);
        self.watch(req.symbol, 1);
        self.gtts.push(Gtt {
            id,
            req,
            status: GttStatus::Active,
            created_ns: t,
            updated_ns: t,
            margin: required,
            order: None,
        });
        Reply::Gtt(id)
    }

    fn active_index(&self, id: u64) -> Option<usize> {
        let idx = usize::try_from(id).ok()?.checked_sub(1)?;
        self.gtts.get(idx).filter(|g| g.status == GttStatus::Active).map(|_| idx)
    }

    /// modifygttorder: new triggers, prices, quantity and expiry; the margin follows.
    pub(crate) fn modify_gtt(
        &mut self,
        id: u64,
        req: &GttRequest,
        t: i64,
        out: &mut StageOutput,
    ) -> Reply {
        let Some(idx) = self.active_index(id) else { return not_active(id) };
        let old = self.gtts[idx];
        if (req.symbol, req.side, req.single) != (old.req.symbol, old.req.side, old.req.single) {
            return refused(msg!(
                "symbol, action and trigger_type cannot be changed on a GTT. Cancel and re-place."
            ));
        }
        let required = match self.gtt_margin(req) {
            Ok(m) => m,
            Err(m) => return refused(m),
        };
        self.funds.release(old.margin, Money::ZERO);
        if let Err(m) = self.funds.check(required) {
            self.funds.block(old.margin);
            return refused(m);
        }
        self.funds.block(required);
        out.funds_changed = true;
        let req = self.orient(*req);
        let g = &mut self.gtts[idx];
        g.req = req;
        g.margin = required;
        g.updated_ns = t;
        Reply::Gtt(id)
    }

    /// Ends an active GTT: releases its margin.
    fn close_gtt(&mut self, idx: usize, status: GttStatus, t: i64, out: &mut StageOutput) {
        let g = &mut self.gtts[idx];
        debug_assert_eq!(g.status, GttStatus::Active, "only an active GTT closes");
        g.status = status;
        g.updated_ns = t;
        let (m, symbol) = (g.margin, g.req.symbol);
        g.margin = Money::ZERO;
        self.watch(symbol, -1);
        self.funds.release(m, Money::ZERO);
        out.funds_changed = true;
    }

    /// cancelgttorder.
    pub(crate) fn cancel_gtt(&mut self, id: u64, t: i64, out: &mut StageOutput) -> Reply {
        let Some(idx) = self.active_index(id) else { return not_active(id) };
        self.close_gtt(idx, GttStatus::Cancelled, t, out);
        Reply::Gtt(id)
    }

    /// True when `symbol` has an active GTT (its quotes are needed).
    pub(crate) fn has_active_gtt(&self, symbol: SymbolId) -> bool {
        self.gtts.iter().any(|g| g.status == GttStatus::Active && g.req.symbol == symbol)
    }

    /// Fires the active GTTs of `symbol` that `ltp` crosses (called after the quote update).
    pub(crate) fn check_gtts(
        &mut self,
        symbol: SymbolId,
        ltp: Price,
        t: i64,
        out: &mut StageOutput,
    ) {
        for idx in 0..self.gtts.len() {
            let g = self.gtts[idx];
            if g.status != GttStatus::Active || g.req.symbol != symbol {
                continue;
            }
            let r = g.req;
            let price = if r.below_trigger.is_positive() && ltp <= r.below_trigger {
                r.below_price
            } else if r.above_trigger.is_positive() && ltp >= r.above_trigger {
                r.above_price
            } else {
                continue;
            };
            self.close_gtt(idx, GttStatus::Triggered, t, out);
            let order = OrderRequest {
                symbol,
                side: r.side,
                qty: r.qty,
                price_type: PriceType::Limit,
                product: r.product,
                price,
                trigger: Price::ZERO,
                disclosed: Qty::ZERO,
                strategy: r.strategy,
            };
            // A refused placement (funds) is recorded on the order book by the normal path
            // when it is a recorded rejection; otherwise the GTT is triggered with no order.
            if let Reply::Placed(id) = self.place(&order, t, out) {
                self.gtts[idx].order = Some(id);
            }
        }
    }

    /// Expires the active GTTs whose expiry has passed (timer events).
    pub(crate) fn expire_gtts(&mut self, t: i64, out: &mut StageOutput) {
        for idx in 0..self.gtts.len() {
            let g = self.gtts[idx];
            if g.status == GttStatus::Active && t >= g.req.expires_ns {
                self.close_gtt(idx, GttStatus::Expired, t, out);
            }
        }
    }

    /// Every GTT with its symbol's last price, oldest first (the book shows the active).
    pub(crate) fn gtt_rows(&self) -> Vec<GttRow> {
        self.gtts
            .iter()
            .map(|g| GttRow {
                gtt: *g,
                last_price: self
                    .books
                    .get(g.req.symbol.index())
                    .map_or(Price::ZERO, |b| b.quote.ltp),
            })
            .collect()
    }

    /// Every GTT (tests and snapshots).
    pub fn gtts(&self) -> &[Gtt] {
        &self.gtts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::CommandKind;
    use crate::exec::testkit::{H, SBIN, amt, rs};
    use crate::types::{Side, Tag};

    fn req(side: Side, below: i64, above: i64, single: bool) -> GttRequest {
        GttRequest {
            symbol: SBIN,
            side,
            qty: Qty(10),
            product: Product::Cnc,
            below_trigger: rs(below),
            below_price: rs(below),
            above_trigger: rs(above),
            above_price: rs(above),
            single,
            expires_ns: i64::MAX,
            strategy: Tag::EMPTY,
        }
    }

    fn id(r: Reply) -> u64 {
        match r {
            Reply::Gtt(id) => id,
            other => panic!("not a GTT reply: {other:?}"),
        }
    }

    #[test]
    fn oco_fires_one_leg_and_releases_its_margin() {
        let mut h = H::new();
        h.quote(SBIN, 100, 100, 100, 120, 80);
        h.place(crate::exec::testkit::mkt(SBIN, Side::Buy, 10, Product::Cnc));
        let used = h.ex.funds().used_margin;
        let g = id(h.cmd(CommandKind::PlaceGtt(req(Side::Sell, 90, 110, false))));
        // The larger leg: 10 x 110 at CNC leverage 1.
        assert_eq!(h.ex.funds().used_margin, used.plus(amt(1_100)));
        h.quote(SBIN, 105, 105, 105, 120, 80);
        assert_eq!(h.ex.gtts()[0].status, GttStatus::Active);
        h.quote(SBIN, 111, 111, 111, 120, 80);
        let fired = h.ex.gtts()[0];
        assert_eq!((fired.id, fired.status), (g, GttStatus::Triggered));
        let order = h.order(fired.order.unwrap());
        assert_eq!(
            (order.side, order.price_type, order.price),
            (Side::Sell, PriceType::Limit, rs(110))
        );
        assert_eq!(h.pos(SBIN, Product::Cnc), 0);
        assert!(h.ex.gtt_rows().iter().all(|r| r.gtt.status != GttStatus::Active));
        // Inactive ids are 404s.
        let r = h.cmd(CommandKind::CancelGtt { id: g });
        assert!(matches!(r, Reply::Rejected { status: RejectStatus::NotFound, .. }), "{r:?}");
        assert!(h.conserved());
    }

    #[test]
    fn single_triggers_orient_by_the_last_price_and_cancel_releases() {
        let mut h = H::new();
        h.quote(SBIN, 100, 100, 100, 120, 80);
        let free = h.ex.funds().available;
        // A breakout buy given in the lower slot sits above the market.
        let g = id(h.cmd(CommandKind::PlaceGtt(req(Side::Buy, 105, 0, true))));
        let placed = h.ex.gtts()[0].req;
        assert_eq!((placed.below_trigger, placed.above_trigger), (Price::ZERO, rs(105)));
        h.quote(SBIN, 104, 104, 104, 120, 80);
        assert_eq!(h.ex.gtts()[0].status, GttStatus::Active);
        let bad = req(Side::Sell, 90, 0, true);
        let r = h.cmd(CommandKind::ModifyGtt { id: g, gtt: bad });
        assert!(matches!(r, Reply::Rejected { status: RejectStatus::BadRequest, .. }), "{r:?}");
        let r = h.cmd(CommandKind::ModifyGtt { id: g, gtt: req(Side::Buy, 0, 108, true) });
        assert_eq!(r, Reply::Gtt(g));
        assert_eq!(h.ex.gtts()[0].req.above_trigger, rs(108));
        assert_eq!(h.cmd(CommandKind::CancelGtt { id: g }), Reply::Gtt(g));
        assert_eq!(h.ex.funds().available, free);
        h.quote(SBIN, 109, 109, 109, 120, 80);
        assert_eq!(h.ex.gtts()[0].status, GttStatus::Cancelled);
    }

    #[test]
    fn invalid_requests_expiry_and_snapshots() {
        let mut h = H::new();
        h.quote(SBIN, 100, 100, 100, 120, 80);
        for bad in [
            req(Side::Sell, 110, 90, false),
            req(Side::Sell, 90, 0, false),
            req(Side::Sell, 90, 110, true),
        ] {
            let r = h.cmd(CommandKind::PlaceGtt(bad));
            assert!(matches!(r, Reply::Rejected { .. }), "{bad:?} {r:?}");
        }
        let mut short = req(Side::Sell, 90, 110, false);
        short.expires_ns = h.time + 1;
        id(h.cmd(CommandKind::PlaceGtt(short)));
        id(h.cmd(CommandKind::PlaceGtt(req(Side::Buy, 95, 0, true))));
        let back = Exec::restore(
            h.ex.config.clone(),
            std::sync::Arc::clone(&h.ex.instruments),
            &h.ex.snapshot(),
        )
        .unwrap();
        assert_eq!(back.gtts(), h.ex.gtts());
        h.time += 2;
        h.send(crate::event::Input::Timer);
        assert_eq!(h.ex.gtts()[0].status, GttStatus::Expired);
        assert_eq!(h.ex.gtts()[1].status, GttStatus::Active);
        assert!(h.conserved());
    }

    #[test]
    fn ids_round_trip() {
        let g = Gtt {
            id: 42,
            req: req(Side::Sell, 1, 2, false),
            status: GttStatus::Active,
            created_ns: 0,
            updated_ns: 0,
            margin: Money::ZERO,
            order: None,
        };
        let s = trigger_id(&g);
        assert!(s.starts_with("GTT-") && s.ends_with("-0000002a"), "{s}");
        assert_eq!(parse_trigger_id(&s), Some(42));
        for bad in ["GTT-1-2", "XYZ-260101-0000002a", "GTT-260101-zz", "GTT-260101-00000000"] {
            assert_eq!(parse_trigger_id(bad), None, "{bad}");
        }
    }
}
