//! Test harness: a small instrument master and an engine driven by events.

use super::*;
use crate::clock::ist_to_epoch_ns;
use crate::event::{Command, Header, OrderRequest, OrderUpdate, RejectStatus, Reply, Ticket};
use crate::event::{Input, Tick};
use crate::types::{Money, OrderId, Price, PriceType, Product, Qty, Seq, Side, Tag};

pub(super) const CSV: &str =
    "symbol,exchange,lotsize,tick_size,instrumenttype,contract_value,expiry
SBIN,NSE,1,0.05,EQ,,
NIFTYFUT,NFO,75,0.1,FUT,,26-NOV-26
NIFTYCE,NFO,75,0.05,CE,,26-NOV-26
NIFTY,NSE_INDEX,1,0.05,INDEX,,
CRUDEFUT,MCX,100,1,FUT,,17-DEC-26
INFY,BSE,1,0.05,EQ,,
";
pub(super) const SBIN: SymbolId = SymbolId(0);
pub(super) const NIFTYFUT: SymbolId = SymbolId(1);
pub(super) const NIFTYCE: SymbolId = SymbolId(2);
pub(super) const NIFTY: SymbolId = SymbolId(3);
pub(super) const CRUDE: SymbolId = SymbolId(4);
pub(super) const INFY: SymbolId = SymbolId(5);

pub(super) fn rs(r: i64) -> Price {
    Price(r * Price::SCALE)
}

/// `r` rupees as an amount of money (funds, margin, P&L).
pub(super) fn amt(r: i64) -> Money {
    Money(r * Money::SCALE)
}

/// Drives an engine (execution, then MTM, as the ring does) with events at a settable
/// IST time, keeping every event for replay.
pub(super) struct H {
    pub ex: Exec,
    pub mtm: crate::mtm::Mtm,
    pub out: StageOutput,
    pub time: i64,
    pub events: Vec<Event>,
    seq: u64,
}

impl H {
    pub fn new() -> H {
        H::with(ExecConfig::default())
    }

    pub fn with(config: ExecConfig) -> H {
        let im = Arc::new(InstrumentMaster::from_csv_str(CSV).unwrap());
        let ex = Exec::new(config, Arc::clone(&im));
        H {
            mtm: crate::mtm::Mtm::new(im.len(), ex.funds()),
            ex,
            out: StageOutput::new(),
            time: at(10, 0),
            events: Vec::new(),
            seq: 0,
        }
    }

    pub fn send(&mut self, input: Input) -> Reply {
        self.seq += 1;
        let ev = Event {
            header: Header { seq: Seq(self.seq), time_ns: self.time, recv_ns: 0, stream_seq: 0 },
            input,
        };
        self.out.clear();
        self.ex.apply(&ev, &mut self.out);
        self.mtm.apply(&ev, &mut self.out);
        self.events.push(ev);
        // Every symbol's O(1) answer against the scan it replaces (a debug assertion
        // inside `needs_quotes`), after every event of every test.
        for s in 0..self.ex.books.len() as u32 {
            self.ex.needs_quotes(SymbolId(s));
        }
        self.out.reply
    }

    /// A fresh engine fed the same events: its (execution, MTM) digests.
    pub fn replayed_digests(&self) -> (u64, u64) {
        let mut r = H::with(self.ex.config.clone());
        for ev in &self.events {
            r.out.clear();
            r.ex.apply(ev, &mut r.out);
            r.mtm.apply(ev, &mut r.out);
        }
        (r.ex.digest(), r.mtm.digest())
    }

    pub fn digests(&self) -> (u64, u64) {
        (self.ex.digest(), self.mtm.digest())
    }

    pub fn quote(&mut self, sym: SymbolId, ltp: i64, bid: i64, ask: i64, high: i64, low: i64) {
        let tick = Tick {
            symbol: sym,
            ltp: rs(ltp),
            bid: rs(bid),
            ask: rs(ask),
            high: rs(high),
            low: rs(low),
            ..Tick::default()
        };
        self.send(Input::Tick(tick));
    }

    pub fn tick(&mut self, sym: SymbolId, ltp: i64) {
        self.quote(sym, ltp, 0, 0, 0, 0);
    }

    pub fn cmd(&mut self, kind: CommandKind) -> Reply {
        self.send(Input::Command(Command { ticket: Ticket(1), kind }))
    }

    pub fn place(&mut self, r: OrderRequest) -> Reply {
        self.cmd(CommandKind::Place(r))
    }

    pub fn placed(&mut self, r: OrderRequest) -> OrderId {
        match self.place(r) {
            Reply::Placed(id) => id,
            other => panic!("expected Placed, got {other:?}"),
        }
    }

    pub fn order(&self, id: OrderId) -> crate::views::Order {
        match self.ex.answer(&QueryKind::OrderStatus(id)) {
            Some(QueryReply::Order(Some(r))) => r,
            other => panic!("no order {id}: {other:?}"),
        }
    }

    pub fn pos(&self, sym: SymbolId, product: Product) -> i64 {
        match self.ex.answer(&QueryKind::OpenPosition { symbol: sym, product }) {
            Some(QueryReply::OpenPosition(q)) => q.0,
            other => panic!("{other:?}"),
        }
    }

    pub fn last_update(&self) -> OrderUpdate {
        *self.out.updates.last().expect("an update")
    }

    pub fn conserved(&self) -> bool {
        let f = self.ex.funds();
        f.available.plus(f.used_margin).plus(self.ex.holdings_cost())
            == self.ex.config.starting_capital.plus(f.realized)
    }
}

pub(super) fn at(h: u32, m: u32) -> i64 {
    ist_to_epoch_ns(2026, 11, 26, h, m)
}

pub(super) fn req(
    symbol: SymbolId,
    side: Side,
    qty: i64,
    price_type: PriceType,
    product: Product,
    price: i64,
    trigger: i64,
) -> OrderRequest {
    OrderRequest {
        symbol,
        side,
        qty: Qty(qty),
        price_type,
        product,
        price: rs(price),
        trigger: rs(trigger),
        disclosed: Qty(0),
        strategy: Tag::new("test").unwrap(),
    }
}

pub(super) fn mkt(sym: SymbolId, side: Side, qty: i64, product: Product) -> OrderRequest {
    req(sym, side, qty, PriceType::Market, product, 0, 0)
}

pub(super) fn rejected(r: Reply) -> (RejectStatus, String) {
    match r {
        Reply::Rejected { status, message } => (status, message.as_str().to_string()),
        other => panic!("expected a refusal, got {other:?}"),
    }
}
