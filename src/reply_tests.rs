//! The reply router: register, deliver and forget, alone and racing. Counts are scaled
//! for Miri (`cargo +nightly miri test --lib reply::tests`).

use super::*;

/// A response that names the ticket it was meant for.
fn reply_for(ticket: Ticket) -> Response {
    Response::Query(QueryReply::StateHash(ticket.0))
}

#[test]
fn a_reply_reaches_its_waiter_once_and_a_forgotten_ticket_gets_none() {
    let r = ReplyRouter::with_capacity(4);
    let (a, rx_a) = r.register().unwrap();
    let (b, rx_b) = r.register().unwrap();
    let (c, mut rx_c) = r.register_async().unwrap();
    assert!(a != b && b != c && a.0 > 1 && b.0 > 1 && c.0 > 1);
    assert!(r.deliver(b, reply_for(b)));
    assert_eq!(rx_b.try_recv(), Ok(reply_for(b)));
    assert!(!r.deliver(b, reply_for(b)), "delivered twice");
    assert!(r.deliver(c, reply_for(c)));
    assert_eq!(rx_c.try_recv().unwrap(), reply_for(c));
    assert!(r.forget(a));
    assert!(!r.deliver(a, reply_for(a)), "delivered after forget");
    assert!(rx_a.try_recv().is_err() && rx_a.recv().is_err(), "the receiver is disconnected");
    assert!(!r.forget(a));
    // Nobody (0), and tickets never issued, are ignored.
    assert!(!r.deliver(Ticket(0), reply_for(Ticket(0))));
    assert!(!r.deliver(Ticket(1), reply_for(Ticket(1))));
    assert!(!r.deliver(Ticket(u64::MAX), reply_for(Ticket(0))));
}

#[test]
fn a_full_router_refuses_clearly_until_a_cell_is_freed() {
    let r = ReplyRouter::with_capacity(8);
    let held: Vec<_> = (0..8).map(|_| r.register().unwrap()).collect();
    let full = r.register().unwrap_err();
    assert_eq!(full, RouterFull(8));
    assert_eq!(
        full.to_string(),
        "8 requests already wait for a reply; retry once some are answered"
    );
    assert!(r.register_async().is_err());
    // A delivery frees a cell; a stale ticket of that cell never matches the new waiter.
    let (old, _) = &held[3];
    assert!(r.deliver(*old, reply_for(*old)));
    let (new, rx) = r.register().unwrap();
    assert_ne!(new, *old);
    assert!(!r.deliver(*old, reply_for(*old)));
    assert!(r.deliver(new, reply_for(new)));
    assert_eq!(rx.try_recv(), Ok(reply_for(new)));
}

/// Registering threads race the delivering thread: each sends its ticket to the
/// deliverer and, every other time, forgets it at once. The deliverer's answer is the
/// witness: when it delivered, the waiter holds exactly its own reply; when the forget
/// won, the waiter's receiver is disconnected and holds nothing.
#[test]
fn register_deliver_and_forget_race_without_losing_or_crossing_replies() {
    let per_thread: u64 = if cfg!(miri) { 30 } else { 20_000 };
    let threads = 3;
    let router = std::sync::Arc::new(ReplyRouter::with_capacity(16));
    let (to_deliverer, inbox) = crossbeam_channel::unbounded::<(Ticket, Sender<bool>)>();
    let deliverer = {
        let router = std::sync::Arc::clone(&router);
        std::thread::spawn(move || {
            for (ticket, answer) in inbox {
                let _ = answer.send(router.deliver(ticket, reply_for(ticket)));
            }
        })
    };
    let waiters: Vec<_> = (0..threads)
        .map(|t| {
            let (router, to_deliverer) = (std::sync::Arc::clone(&router), to_deliverer.clone());
            std::thread::spawn(move || {
                let (mut delivered, mut forgotten) = (0u64, 0u64);
                for i in 0..per_thread {
                    let forget = (i + t) % 2 == 0;
                    let was_delivered = if i % 3 == 0 {
                        let (ticket, mut rx, delivered) =
                            race_one(&router, &to_deliverer, forget, ReplyRouter::register_async);
                        if delivered {
                            assert_eq!(rx.try_recv().unwrap(), reply_for(ticket));
                        } else {
                            assert!(rx.try_recv().is_err());
                        }
                        delivered
                    } else {
                        let (ticket, rx, delivered) =
                            race_one(&router, &to_deliverer, forget, ReplyRouter::register);
                        if delivered {
                            assert_eq!(rx.recv(), Ok(reply_for(ticket)));
                        } else {
                            assert!(rx.recv().is_err(), "a forgotten waiter gets nothing");
                        }
                        delivered
                    };
                    if was_delivered {
                        delivered += 1;
                    } else {
                        forgotten += 1;
                    }
                }
                (delivered, forgotten)
            })
        })
        .collect();
    drop(to_deliverer);
    let mut total = 0;
    for w in waiters {
        let (d, f) = w.join().unwrap();
        total += d + f;
    }
    deliverer.join().unwrap();
    assert_eq!(total, per_thread * threads);
    // Every cell is free again.
    let held: Vec<_> = (0..16).map(|_| router.register().unwrap()).collect();
    assert_eq!(held.len(), router.capacity());
}

/// One waiter of the race: registers (retrying while every cell is taken), hands its
/// ticket to the deliverer, forgets it at once when `forget`, and returns the ticket,
/// its receiver and whether the deliverer won. Exactly one of forget and deliver wins.
fn race_one<R>(
    router: &ReplyRouter,
    to_deliverer: &Sender<(Ticket, Sender<bool>)>,
    forget: bool,
    register: impl Fn(&ReplyRouter) -> Result<(Ticket, R), RouterFull>,
) -> (Ticket, R, bool) {
    let (answer_tx, answer) = crossbeam_channel::bounded(1);
    let (ticket, rx) = loop {
        match register(router) {
            Ok(r) => break r,
            Err(RouterFull(_)) => std::thread::yield_now(),
        }
    };
    to_deliverer.send((ticket, answer_tx)).unwrap();
    let forgot = forget && router.forget(ticket);
    let delivered = answer.recv().unwrap();
    assert_eq!(forgot, !delivered, "exactly one of forget and deliver wins");
    (ticket, rx, delivered)
}
