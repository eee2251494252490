"""Drive a running `tickfill serve` through OpenAlgo's official Python SDK.

Usage: python journey.py HTTP_URL WS_URL API_KEY
Prints one line per check and ends with 'N passed, M failed'; exits 1 on any failure.
"""

import sys
import threading
import time

from openalgo import api

HTTP, WS, KEY = sys.argv[1], sys.argv[2], sys.argv[3]
client = api(api_key=KEY, host=HTTP, ws_url=WS)
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name}: {detail}")


def success(name, reply):
    ok = isinstance(reply, dict) and reply.get("status") == "success"
    check(name, ok, reply)
    return reply if ok else {}


def wait_for(fn, seconds=20.0):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.2)
    return None


def parity_checks(client):
    """OpenAlgo sandbox parity (issue 13) through the SDK, on TCS (CNC, valid at any hour):
    smart-order fresh trade, a float quantity, an SL-M modify with the SDK's defaults,
    numeric funds, newest-first books and the positionbook totals. Leaves TCS flat."""
    sym = dict(symbol="TCS", exchange="NSE")
    q = wait_for(lambda: (lambda r: r if r.get("status") == "success" else None)(
        client.quotes(**sym)))
    ltp = q["data"]["ltp"] if q else 3450.0

    def position():
        r = client.openposition(strategy="parity", product="CNC", **sym)
        return int(float(r.get("quantity", 0))) if r.get("status") == "success" else None

    start = position() or 0
    r = client.placesmartorder(strategy="parity", action="BUY", price_type="MARKET",
                               product="CNC", quantity=5, position_size=0, **sym)
    if start == 0:
        check("parity: smart order, target 0 and no position, is a fresh trade",
              r.get("status") == "success" and len(r.get("orderid", "")) == 14
              and position() == 5, r)
    r = client.placeorder(strategy="parity", action="BUY", price_type="MARKET",
                          product="CNC", quantity=10.0, **sym)  # sent as "10.0"
    st = client.orderstatus(order_id=r.get("orderid"), strategy="parity") if r.get("orderid") else r
    check("parity: quantity 10.0 is 10", st.get("status") == "success"
          and int(st["data"]["quantity"]) == 10, (r, st))
    last_trade = r.get("orderid")

    r = client.placeorder(strategy="parity", action="SELL", price_type="SL-M", product="CNC",
                          quantity=5, trigger_price=round(ltp * 0.9, 1), **sym)
    slm = r.get("orderid")
    # The SDK's defaults: price_type "LIMIT", disclosed_quantity "0"; price 0.
    m = client.modifyorder(order_id=slm, strategy="parity", action="SELL", product="CNC",
                           quantity=5, price=0, trigger_price=round(ltp * 0.85, 1), **sym)
    st = client.orderstatus(order_id=slm, strategy="parity").get("data", {})
    check("parity: SL-M modified with the SDK's defaults stays SL-M with the new trigger",
          m.get("status") == "success" and st.get("pricetype") == "SL-M"
          and st.get("order_status") == "trigger pending"
          and abs(float(st.get("trigger_price", 0)) - round(ltp * 0.85, 1)) < 0.01, (m, st))

    f = client.funds().get("data", {})
    amounts = ["availablecash", "collateral", "m2munrealized", "m2mrealized", "utiliseddebits",
               "grossexposure", "totalpnl", "today_realized_pnl", "total_realized_pnl"]
    check("parity: funds are numbers, grossexposure = used margin, with reset fields",
          all(isinstance(f.get(k), (int, float)) and not isinstance(f.get(k), bool)
              for k in amounts)
          and f.get("grossexposure") == f.get("utiliseddebits")
          and isinstance(f.get("last_reset"), str) and f.get("reset_count") == 0, f)

    orders = client.orderbook().get("data", {}).get("orders", [])
    check("parity: orderbook newest first", bool(orders) and orders[0].get("orderid") == slm,
          orders[:2])
    trades = client.tradebook().get("data", [])
    check("parity: tradebook newest first with TRADE- ids",
          bool(trades) and trades[0].get("orderid") == last_trade
          and str(trades[0].get("tradeid", "")).startswith("TRADE-"), trades[:2])
    pb = client.positionbook()
    rows = pb.get("data", [])
    check("parity: positionbook totals",
          all(k in pb for k in ("total_pnl", "total_unrealized_pnl",
                                "total_today_realized_pnl", "total_pnl_today"))
          and abs(pb["total_pnl"] - sum(float(p["pnl"]) for p in rows)) < 0.05
          and all(isinstance(p.get("lot_size"), float) for p in rows), pb)

    client.cancelorder(order_id=slm, strategy="parity")
    r = client.placesmartorder(strategy="parity", action="SELL", price_type="MARKET",
                               product="CNC", quantity=0, position_size=start, **sym)
    check("parity: smart order back to the starting position", position() == start, r)


# Market data first: the simulator streams, the engine subscribes for what it needs.
q = wait_for(lambda: (lambda r: r if r.get("status") == "success" else None)(
    client.quotes(symbol="SBIN", exchange="NSE")))
check("quotes SBIN", q is not None and q["data"]["ltp"] > 0, q)
ltp = q["data"]["ltp"] if q else 800.0

r = success("placeorder MARKET", client.placeorder(
    strategy="sdk", symbol="SBIN", action="BUY", exchange="NSE",
    price_type="MARKET", product="CNC", quantity=10))
market_id = r.get("orderid")
check("orderid is 14 digits", isinstance(market_id, str) and len(market_id) == 14, market_id)

r = success("placeorder LIMIT", client.placeorder(
    strategy="sdk", symbol="SBIN", action="BUY", exchange="NSE",
    price_type="LIMIT", product="CNC", quantity=5, price=round(ltp * 0.9, 1)))
limit_id = r.get("orderid")
st = success("orderstatus", client.orderstatus(order_id=limit_id, strategy="sdk"))
check("limit order is open", st.get("data", {}).get("order_status") == "open", st)
success("modifyorder", client.modifyorder(
    order_id=limit_id, strategy="sdk", symbol="SBIN", action="BUY", exchange="NSE",
    price_type="LIMIT", product="CNC", quantity=5, price=round(ltp * 0.85, 1)))
success("cancelorder", client.cancelorder(order_id=limit_id, strategy="sdk"))

fut = wait_for(lambda: (lambda r: r if r.get("status") == "success" else None)(
    client.quotes(symbol="NIFTY29DEC26FUT", exchange="NFO")))
fut_ltp = fut["data"]["ltp"] if fut else 25000.0
success("placeorder SL-M", client.placeorder(
    strategy="sdk", symbol="NIFTY29DEC26FUT", action="BUY", exchange="NFO",
    price_type="SL-M", product="NRML", quantity=75, trigger_price=round(fut_ltp * 1.1, 1)))
success("placeorder SL", client.placeorder(
    strategy="sdk", symbol="NIFTY29DEC26FUT", action="BUY", exchange="NFO",
    price_type="SL", product="NRML", quantity=75,
    trigger_price=round(fut_ltp * 1.1, 1), price=round(fut_ltp * 1.11, 1)))
r = success("cancelallorder", client.cancelallorder(strategy="sdk"))
check("cancelallorder cancelled two", len(r.get("canceled_orders", [])) == 2, r)

r = client.placeorder(strategy="sdk", symbol="SBIN", action="BUY", exchange="NSE",
                      price_type="LIMIT", product="CNC", quantity=0, price=1)
check("quantity 0 is refused naming the field",
      r.get("status") == "error" and "uantity" in r.get("message", ""), r)

ob = success("orderbook", client.orderbook())
check("orderbook lists orders", len(ob.get("data", {}).get("orders", [])) >= 4, ob)
tb = success("tradebook", client.tradebook())
check("tradebook has the market fill", any(t.get("orderid") == market_id for t in tb.get("data", [])), tb)
pb = success("positionbook", client.positionbook())
check("position of 10 SBIN", any(p.get("symbol") == "SBIN" and int(float(p.get("quantity", 0))) == 10
                                  for p in pb.get("data", [])), pb)
success("funds", client.funds())
op = client.openposition(strategy="sdk", symbol="SBIN", exchange="NSE", product="CNC")
check("openposition", op.get("status") == "success" and int(float(op.get("quantity", 0))) == 10, op)
mq = success("multiquotes", client.multiquotes(symbols=[
    {"symbol": "SBIN", "exchange": "NSE"}, {"symbol": "RELIANCE", "exchange": "NSE"}]))
check("multiquotes two results", len(mq.get("results", [])) == 2, mq)
d = success("depth", client.depth(symbol="SBIN", exchange="NSE"))
check("depth has 5 bids", len(d.get("data", {}).get("bids", [])) == 5, d)
r = success("closeposition", client.closeposition(strategy="sdk"))
pb = client.positionbook()
check("position closed", all(int(float(p.get("quantity", 0))) == 0 for p in pb.get("data", [])), pb)

# The WebSocket feed.
got = {"ltp": 0, "quote": 0, "depth": 0}
lock = threading.Lock()


def counter(kind):
    def on_data(message):
        with lock:
            got[kind] += 1
    return on_data


check("connect", client.connect() is not False)
instruments = [{"exchange": "NSE", "symbol": "SBIN"}, {"exchange": "NSE", "symbol": "RELIANCE"}]
check("subscribe_ltp", client.subscribe_ltp(instruments, on_data_received=counter("ltp")))
check("subscribe_quote", client.subscribe_quote(instruments, on_data_received=counter("quote")))
check("subscribe_depth", client.subscribe_depth(instruments, on_data_received=counter("depth")))
for kind in ("ltp", "quote", "depth"):
    check(f"{kind} ticks received", wait_for(lambda: got[kind] > 0, 15.0) is not None, got)
check("unsubscribe_ltp", client.unsubscribe_ltp(instruments))
check("unsubscribe_quote", client.unsubscribe_quote(instruments))
check("unsubscribe_depth", client.unsubscribe_depth(instruments))
time.sleep(1.0)
with lock:
    before = dict(got)
time.sleep(1.5)
with lock:
    check("no ticks after unsubscribing", got == before, (before, got))
client.disconnect()

parity_checks(client)

print(f"sdk: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
