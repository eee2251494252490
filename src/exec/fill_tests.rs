//! The fill models through the execution stage: partial fills in the order, trade and
//! position books, margin per fill, and determinism (replay and snapshot).

use super::fill::{FillConfig, FillModel, PPM};
use super::testkit::*;
use super::*;
use crate::event::{Depth, Input, Level, Reply, Tick};
use crate::types::{OrderStatus, Price, PriceType, Product, Qty, Side};
use proptest::prelude::*;

fn config(model: FillModel) -> ExecConfig {
    ExecConfig { fill: FillConfig { model, ..FillConfig::default() }, ..ExecConfig::default() }
}

/// A depth tick for SBIN at `ltp` with day `volume`: bids ltp-1, ltp-2, ... and asks
/// ltp+1, ltp+2, ... of sizes 10, 20, 30, 40, 50.
fn depth_tick(ltp: i64, volume: i64) -> Tick {
    let mut d = Depth { levels: 5, ..Depth::default() };
    for i in 0..5 {
        let size = 10 * (i as i64 + 1);
        d.buy[i] = Level { price: rs(ltp - 1 - i as i64), quantity: size, orders: 1 };
        d.sell[i] = Level { price: rs(ltp + 1 + i as i64), quantity: size, orders: 1 };
    }
    Tick {
        symbol: SBIN,
        ltp: rs(ltp),
        bid: rs(ltp - 1),
        ask: rs(ltp + 1),
        high: rs(1000),
        low: rs(1),
        volume,
        mode: 3,
        depth: d,
        ..Tick::default()
    }
}

fn limit(side: Side, qty: i64, price: i64) -> crate::event::OrderRequest {
    req(SBIN, side, qty, PriceType::Limit, Product::Mis, price, 0)
}

fn trades(h: &H) -> Vec<(i64, i64)> {
    match h.ex.answer(&QueryKind::TradeBook) {
        Some(QueryReply::Trades(t)) => {
            let mut v: Vec<(i64, i64)> = t.iter().map(|t| (t.qty.0, t.price.0)).collect();
            v.reverse();
            v
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn depth_fills_per_level_with_one_trade_update_and_position_change_each() {
    let mut h = H::with(config(FillModel::Depth));
    h.send(Input::Tick(depth_tick(100, 1_000)));
    // BUY 50 LIMIT 102: 10 at 101 and 20 at 102 now; 20 rest at 102.
    let id = h.placed(limit(Side::Buy, 50, 102));
    let ups: Vec<_> = h
        .out
        .updates
        .iter()
        .map(|u| (u.order.status, u.order.filled.0, u.fill.map(|f| f.qty.0)))
        .collect();
    assert_eq!(
        ups,
        [
            (OrderStatus::Open, 0, None),
            (OrderStatus::Open, 10, Some(10)),
            (OrderStatus::Open, 30, Some(20))
        ]
    );
    assert_eq!(h.out.positions.len(), 2, "one position change per fill");
    let row = h.order(id);
    assert_eq!((row.status, row.filled, row.pending()), (OrderStatus::Open, Qty(30), Qty(20)));
    // (10 x 101 + 20 x 102) / 30 = 101.6667 (4 decimals, rounded).
    assert_eq!(row.avg, Price(1_016_667));
    assert_eq!(trades(&h), [(10, rs(101).0), (20, rs(102).0)]);
    assert_eq!(h.pos(SBIN, Product::Mis), 30);
    // Margin: 50 x 102 / 5 = 1020 blocked; 30/50 of it moved to the position.
    let f = h.ex.funds();
    assert_eq!(f.used_margin, amt(1020));
    assert!(h.conserved());
    // 25 trade at 102 with nobody ahead (no visible bid at 102): 20 fill, complete.
    let mut t = depth_tick(102, 1_025);
    t.depth.sell[0].price = rs(103);
    h.send(Input::Tick(t));
    let row = h.order(id);
    assert_eq!((row.status, row.filled, row.pending()), (OrderStatus::Complete, Qty(50), Qty(0)));
    assert_eq!(trades(&h).len(), 3);
    assert_eq!(h.ex.funds().used_margin, amt(1020), "all of it now held by the position");
    assert!(h.conserved());
}

#[test]
fn cancelling_a_partly_filled_order_releases_only_the_rest_of_its_margin() {
    let mut h = H::with(config(FillModel::Depth));
    h.send(Input::Tick(depth_tick(100, 0)));
    let id = h.placed(limit(Side::Buy, 50, 101));
    assert_eq!(h.order(id).filled, Qty(10));
    // 50 x 101 / 5 = 1010 blocked; 10/50 (202) went to the position.
    assert!(matches!(h.cmd(CommandKind::Cancel { order_id: id }), Reply::Cancelled(_)));
    let row = h.order(id);
    assert_eq!((row.status, row.filled, row.pending()), (OrderStatus::Cancelled, Qty(10), Qty(40)));
    assert_eq!(h.ex.funds().used_margin, amt(202));
    assert!(h.conserved());
}

#[test]
fn modifying_a_partly_filled_order_keeps_what_filled() {
    let mut h = H::with(config(FillModel::Depth));
    h.send(Input::Tick(depth_tick(100, 0)));
    let id = h.placed(limit(Side::Buy, 50, 101));
    let m = |qty, price| {
        CommandKind::Modify(crate::event::ModifyRequest {
            order_id: id,
            order: limit(Side::Buy, qty, price),
        })
    };
    let (_, why) = rejected(h.cmd(m(10, 101)));
    assert!(why.contains("filled quantity 10"), "{why}");
    assert!(matches!(h.cmd(m(30, 100)), Reply::Modified(_)));
    let row = h.order(id);
    assert_eq!((row.qty, row.filled, row.pending()), (Qty(30), Qty(10), Qty(20)));
    // Margin: the position's 202 plus 20 x 100 / 5 for the rest.
    assert_eq!(h.ex.funds().used_margin, amt(202 + 400));
    assert!(h.conserved());
    // Moved to 99, where 10 are visible on the bid: it queues behind them.
    assert!(matches!(h.cmd(m(30, 99)), Reply::Modified(_)));
    let idx = h.ex.order_index(id).unwrap();
    assert_eq!(h.ex.orders[idx].queue, 10);
}

#[test]
fn touch_rests_a_limit_the_touch_does_not_reach_and_fills_at_the_touch() {
    let mut h = H::with(config(FillModel::Touch));
    h.quote(SBIN, 100, 99, 101, 1000, 1);
    // OpenAlgo would fill this at LTP 100; the ask is 101.
    let id = h.placed(limit(Side::Buy, 5, 100));
    assert_eq!(h.order(id).status, OrderStatus::Open);
    h.quote(SBIN, 100, 99, 101, 1000, 1);
    assert_eq!(h.order(id).status, OrderStatus::Open, "a touch is not a trade through");
    h.quote(SBIN, 99, 98, 100, 1000, 1);
    let row = h.order(id);
    assert_eq!((row.status, row.avg), (OrderStatus::Complete, rs(100)));
    let m = h.placed(mkt(SBIN, Side::Buy, 5, Product::Mis));
    assert_eq!(h.order(m).avg, rs(100), "MARKET pays the ask");
}

/// A session of ticks and orders under `config`, returning the harness.
fn session(config: ExecConfig, n: u64) -> H {
    let mut h = H::with(config);
    let mut volume = 1_000;
    for i in 0..n {
        step(&mut h, i, &mut volume);
    }
    h
}

/// Step `i` of [`session`]: a depth tick, then one order.
fn step(h: &mut H, i: u64, volume: &mut i64) {
    let ltp = 100 + (i % 7) as i64 - 3;
    *volume += (i % 5) as i64 * 7;
    h.time += 10_000_000; // 10 ms of event time a step (venue latency needs it)
    h.send(Input::Tick(depth_tick(ltp, *volume)));
    let side = if i % 2 == 0 { Side::Buy } else { Side::Sell };
    match i % 4 {
        0 => h.place(mkt(SBIN, side, 25, Product::Mis)),
        1 | 2 => h.place(limit(side, 15, ltp + if side == Side::Buy { -1 } else { 1 })),
        _ => h.place(req(SBIN, side, 12, PriceType::StopMarket, Product::Mis, 0, ltp)),
    };
}

fn knobs(model: FillModel) -> ExecConfig {
    ExecConfig {
        fill: FillConfig {
            model,
            touch_fill_ppm: PPM / 3,
            slippage_ppm: PPM / 2,
            seed: 11,
            depth_levels: 3,
            ..FillConfig::default()
        },
        ..ExecConfig::default()
    }
}

/// As [`knobs`], with a venue latency of 25 ms plus up to 30 ms of jitter.
fn knobs_late(model: FillModel) -> ExecConfig {
    let mut c = knobs(model);
    c.fill.latency_ns = 25_000_000;
    c.fill.jitter_ns = 30_000_000;
    c
}

#[test]
fn every_model_replays_and_restores_from_a_snapshot_to_the_same_digest() {
    for (model, config) in
        FillModel::ALL.into_iter().flat_map(|m| [(m, knobs(m)), (m, knobs_late(m))])
    {
        let knobs = |_| config.clone();
        let h = session(knobs(model), 60);
        assert!(h.ex.totals().1 > 10, "{model:?} filled something");
        assert_eq!(h.replayed_digests(), h.digests(), "{model:?}: replay");
        // A snapshot half-way, restored, then the rest of the events: the same state.
        let half = h.events.len() / 2;
        let mut a = H::with(knobs(model));
        for ev in &h.events[..half] {
            a.out.clear();
            a.ex.apply(ev, &mut a.out);
        }
        let im = Arc::clone(&a.ex.instruments);
        let mut b = Exec::restore(knobs(model), im, &a.ex.snapshot()).expect("restores");
        let mut out = StageOutput::new();
        for ev in &h.events[half..] {
            out.clear();
            b.apply(ev, &mut out);
        }
        assert_eq!(b.digest(), h.ex.digest(), "{model:?}: snapshot + rest of the journal");
    }
}

/// Replays `events` on a fresh engine configured with `config`: its digests.
fn replay_under(config: ExecConfig, events: &[crate::event::Event]) -> (u64, u64) {
    let mut r = H::with(config);
    for ev in events {
        r.out.clear();
        r.ex.apply(ev, &mut r.out);
        r.mtm.apply(ev, &mut r.out);
    }
    r.digests()
}

#[test]
fn journaled_fill_settings_win_over_the_config_in_replay_and_snapshots() {
    let depth = knobs(FillModel::Depth);
    let mut touch = knobs(FillModel::Touch);
    touch.fill.seed = 12;
    // Live: depth from the first event (as a fresh data dir journals it), touch from
    // step 30 on (a restart with other flags).
    let mut live = H::with(ExecConfig::default());
    live.send(Input::FillSettings(depth.fill));
    let mut volume = 1_000;
    for i in 0..30 {
        step(&mut live, i, &mut volume);
    }
    let changed_at = live.events.len();
    let trades_before = trades(&live);
    live.send(Input::FillSettings(touch.fill));
    assert_eq!(live.ex.fill_config(), &touch.fill);
    for i in 30..60 {
        step(&mut live, i, &mut volume);
    }
    // The same events under depth throughout: the same fills up to the change, other
    // fills after it.
    let mut only_depth = H::with(depth.clone());
    let mut volume = 1_000;
    for i in 0..60 {
        step(&mut only_depth, i, &mut volume);
    }
    let (all, other) = (trades(&live), trades(&only_depth));
    assert_eq!(all[..trades_before.len()], other[..trades_before.len()]);
    assert_ne!(all, other, "touch fills the second half otherwise");
    // Replayed under any configuration, the journal's settings decide.
    for config in [ExecConfig::default(), depth.clone(), touch.clone()] {
        assert_eq!(replay_under(config, &live.events), live.digests());
    }
    // A snapshot taken under depth restores depth whatever the engine is configured with,
    // and the rest of the journal (the change included) reaches the same state.
    let mut a = H::with(ExecConfig::default());
    for ev in &live.events[..changed_at] {
        a.out.clear();
        a.ex.apply(ev, &mut a.out);
    }
    let im = Arc::clone(&a.ex.instruments);
    let mut b = Exec::restore(touch.clone(), im, &a.ex.snapshot()).expect("restores");
    assert_eq!(b.fill_config(), &depth.fill, "the snapshot's settings, not the config's");
    let mut out = StageOutput::new();
    for ev in &live.events[changed_at..] {
        out.clear();
        b.apply(ev, &mut out);
    }
    assert_eq!(b.digest(), live.ex.digest());
}

#[test]
fn the_draws_are_used_and_depend_on_the_seed() {
    let a = session(knobs(FillModel::Touch), 60);
    let mut other = knobs(FillModel::Touch);
    other.fill.seed = 12;
    let b = session(other, 60);
    assert!(a.ex.fills.draws.drawn() > 0);
    assert_ne!(trades(&a), trades(&b), "another seed slips other fills");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 4 } else { 64 }))]

    /// Under every model, with the knobs on (and venue latency or not): no order fills
    /// beyond its quantity, each order's trades add up to its filled quantity, a depth
    /// leg never takes more than was visible, positions equal the signed fills, funds are
    /// conserved, and a replay gives the same digests.
    #[test]
    fn partial_fills_keep_the_books_consistent(
        model in prop::sample::select(FillModel::ALL.to_vec()),
        late in any::<bool>(),
        steps in prop::collection::vec(
            (0i64..9, 0i64..40, 0u8..4, any::<bool>(), 1i64..80, 0i64..40), 1..40),
    ) {
        let mut h = H::with(if late { knobs_late(model) } else { knobs(model) });
        let mut volume = 1_000;
        for (move_, traded, kind, buy, qty, gap_ms) in steps {
            let ltp = 96 + move_;
            volume += traded;
            h.time += gap_ms * MS;
            h.send(Input::Tick(depth_tick(ltp, volume)));
            let visible: i64 = 10 + 20 + 30;
            let before = h.ex.trades.len();
            let side = if buy { Side::Buy } else { Side::Sell };
            let r = match kind {
                0 => mkt(SBIN, side, qty, Product::Mis),
                1 => limit(side, qty, ltp + if buy { 2 } else { -2 }),
                2 => limit(side, qty, ltp + if buy { -1 } else { 1 }),
                _ => req(SBIN, side, qty, PriceType::StopMarket, Product::Mis, 0, ltp),
            };
            h.place(r);
            if model == FillModel::Depth {
                let took: i64 = h.ex.trades[before..].iter().map(|t| t.qty.0).sum();
                prop_assert!(took <= visible, "took {took} of {visible} visible (3 levels)");
            }
            prop_assert!(h.conserved());
        }
        let mut net = 0;
        for (i, o) in h.ex.orders.iter().enumerate() {
            prop_assert!(o.filled.0 <= o.qty.0);
            let traded: i64 = h.ex.trades.iter().filter(|t| t.order as usize == i).map(|t| t.qty.0).sum();
            prop_assert_eq!(traded, o.filled.0);
            prop_assert_eq!(o.status == OrderStatus::Complete, o.filled == o.qty);
            net += o.side.sign() * o.filled.0;
        }
        prop_assert_eq!(h.pos(SBIN, Product::Mis), net);
        prop_assert_eq!(h.replayed_digests(), h.digests());
    }
}

fn late(ms: i64) -> ExecConfig {
    let fill = FillConfig { latency_ns: ms * 1_000_000, ..FillConfig::default() };
    ExecConfig { fill, ..ExecConfig::default() }
}

const MS: i64 = 1_000_000;

#[test]
fn a_delayed_order_reaches_the_book_after_the_latency_at_the_price_then() {
    let mut h = H::with(late(100));
    h.quote(SBIN, 100, 99, 101, 1000, 1);
    let id = h.placed(mkt(SBIN, Side::Buy, 5, Product::Mis));
    let row = h.order(id);
    assert_eq!((row.status, row.filled), (OrderStatus::Open, Qty(0)), "accepted, not at the venue");
    assert_eq!(h.ex.funds().used_margin, amt(100), "margin blocked on acceptance (5 x 100 / 5)");
    h.time += 50 * MS;
    h.quote(SBIN, 102, 101, 103, 1000, 1);
    assert_eq!(h.order(id).filled, Qty(0), "50 ms: still on its way");
    h.time += 60 * MS;
    h.quote(SBIN, 104, 103, 105, 1000, 1);
    // Due at 100 ms, run before the 110 ms tick: against the quote of 50 ms (ask 103).
    let row = h.order(id);
    assert_eq!((row.status, row.avg), (OrderStatus::Complete, rs(103)));
    assert!(h.conserved());
}

#[test]
fn a_delayed_cancel_can_lose_the_race_with_a_fill() {
    let mut h = H::with(late(100));
    h.quote(SBIN, 100, 99, 101, 1000, 1);
    let id = h.placed(limit(Side::Buy, 5, 99));
    h.time += 150 * MS;
    h.quote(SBIN, 100, 99, 101, 1000, 1); // the order reaches the book (due at 100 ms)
    assert!(matches!(h.cmd(CommandKind::Cancel { order_id: id }), Reply::Cancelled(_)));
    assert_eq!(h.order(id).status, OrderStatus::Open, "the cancel is on its way");
    h.time += 50 * MS;
    h.tick(SBIN, 98); // fills before the cancel arrives
    h.time += 100 * MS;
    h.tick(SBIN, 99);
    let row = h.order(id);
    assert_eq!((row.status, row.filled), (OrderStatus::Complete, Qty(5)));
    // A cancel that reaches the venue first wins: the order never fills.
    let id = h.placed(limit(Side::Buy, 5, 95));
    assert!(matches!(h.cmd(CommandKind::Cancel { order_id: id }), Reply::Cancelled(_)));
    h.time += 150 * MS;
    h.tick(SBIN, 94); // would fill it, had the cancel not reached the venue first
    assert_eq!(h.order(id).status, OrderStatus::Cancelled);
    assert!(h.conserved());
}

#[test]
fn a_snapshot_with_an_order_in_flight_restores_it_out_of_the_book() {
    let mut h = H::with(late(100));
    h.quote(SBIN, 100, 99, 101, 1000, 1);
    h.placed(limit(Side::Buy, 5, 99));
    let im = Arc::clone(&h.ex.instruments);
    let r = Exec::restore(late(100), im, &h.ex.snapshot()).expect("restores");
    assert_eq!(r.pending_count(SBIN), 0, "in flight: not in the book yet");
    assert!(r.needs_quotes(SBIN), "but its symbol's quotes are needed");
    assert_eq!(r.digest(), h.ex.digest());
}

fn with_override(engine: FillModel, tag: &str, model: FillModel) -> ExecConfig {
    let mut c = config(engine);
    c.fill.overrides[0] = Some((crate::types::Tag::new(tag).unwrap(), model));
    c
}

#[test]
fn a_strategy_fills_under_its_own_model_and_the_rest_keep_openalgo() {
    let mut h = H::with(with_override(FillModel::OpenAlgo, "deep", FillModel::Depth));
    h.send(Input::Tick(depth_tick(100, 0)));
    let mut deep = limit(Side::Buy, 50, 102);
    deep.strategy = crate::types::Tag::new("deep").unwrap();
    let d = h.placed(deep);
    assert_eq!(h.order(d).filled, Qty(30), "walked 10 at 101 and 20 at 102");
    // Untagged: OpenAlgo's rule, the whole quantity at LTP.
    let plain = h.placed(limit(Side::Buy, 50, 102));
    let row = h.order(plain);
    assert_eq!((row.status, row.filled, row.avg), (OrderStatus::Complete, Qty(50), rs(100)));
    assert_eq!(h.replayed_digests(), h.digests());
}

#[test]
fn openalgo_through_the_modelled_path_fills_exactly_as_the_default_path() {
    // Every order is untagged for the override, so each is decided by the openalgo adapter
    // on the modelled path: the trades must be those of the default engine.
    let a = session(ExecConfig::default(), 80);
    let b = session(with_override(FillModel::OpenAlgo, "nobody", FillModel::Depth), 80);
    assert!(trades(&a).len() > 10);
    assert_eq!(trades(&a), trades(&b));
    let statuses =
        |h: &H| h.ex.orders.iter().map(|o| (o.status, o.filled, o.avg)).collect::<Vec<_>>();
    assert_eq!(statuses(&a), statuses(&b));
}
