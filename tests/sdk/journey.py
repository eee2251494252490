"""Drive a running `tickfill serve` through OpenAlgo's official Python SDK (1.0.47).

Usage: python journey.py HTTP_URL WS_URL API_KEY [SIM_CONTROL_URL]
SIM_CONTROL_URL (the simulator's http://HOST:PORT/sim/control) lets the last journey move
the simulator's clock past midnight to see a CNC buy settle into holdings.
Prints one line per check and ends with 'N passed, M failed'; exits 1 on any failure.

Structure: one function per journey, each self-contained (it may assume only that the
server runs with the simulator feed and the default universe). To add one, write a
function that calls check()/success() and append it to JOURNEYS at the bottom. A journey
that raises counts as one failure and the next journey still runs.
"""

import json
import os
import sys
import urllib.error
import urllib.request
import threading
import time
from datetime import datetime, timedelta, timezone

from openalgo import api

HTTP, WS, KEY = sys.argv[1], sys.argv[2], sys.argv[3]
SIM_CONTROL = sys.argv[4] if len(sys.argv) > 4 else None
IST = timezone(timedelta(hours=5, minutes=30))
# Set by tests/upstream_journey.rs: market data comes from a scripted OpenAlgo upstream
# (forwarded), not from the simulator, so a few checks expect the upstream's answers.
UPSTREAM = os.environ.get("TICKFILL_JOURNEY_UPSTREAM") == "1"
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




_futures = {}


def near_future(name):
    """The nearest live future of `name` on NFO, as the server's `expiry` lists it
    (NAME+DDMMMYY+FUT): no journey names a contract that will expire."""
    if name not in _futures:
        r = client.expiry(symbol=name, exchange="NFO", instrumenttype="futures")
        dates = r.get("data") or []
        if r.get("status") != "success" or not dates:
            raise RuntimeError(f"no live {name} future: {r}")
        _futures[name] = name + dates[0].replace("-", "") + "FUT"
    return _futures[name]


def quote_ltp(symbol, exchange, default):
    q = wait_for(lambda: (lambda r: r if r.get("status") == "success" else None)(
        client.quotes(symbol=symbol, exchange=exchange)))
    return q, (q["data"]["ltp"] if q else default)


def orders_and_books():
    """placeorder (all price types), modify, cancel, the books, quotes and depth."""
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

    nifty_fut = near_future("NIFTY")
    fut = wait_for(lambda: (lambda r: r if r.get("status") == "success" else None)(
        client.quotes(symbol=nifty_fut, exchange="NFO")))
    fut_ltp = fut["data"]["ltp"] if fut else 25000.0
    success("placeorder SL-M", client.placeorder(
        strategy="sdk", symbol=nifty_fut, action="BUY", exchange="NFO",
        price_type="SL-M", product="NRML", quantity=75, trigger_price=round(fut_ltp * 1.1, 1)))
    success("placeorder SL", client.placeorder(
        strategy="sdk", symbol=nifty_fut, action="BUY", exchange="NFO",
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


got = {"ltp": 0, "quote": 0, "depth": 0}
lock = threading.Lock()


def counter(kind):
    def on_data(message):
        with lock:
            got[kind] += 1
    return on_data


def websocket_feed():
    """The WebSocket feed: LTP, quote and depth subscriptions, then unsubscribing."""
    check("connect", client.connect() is not False)
    instruments = [{"exchange": "NSE", "symbol": "SBIN"}, {"exchange": "NSE", "symbol": "RELIANCE"}]
    check("subscribe_ltp", client.subscribe_ltp(instruments, on_data_received=counter("ltp")))
    check("subscribe_quote", client.subscribe_quote(instruments, on_data_received=counter("quote")))
    check("subscribe_depth", client.subscribe_depth(instruments, on_data_received=counter("depth")))
    for kind in ("ltp", "quote", "depth"):
        check(f"{kind} ticks received", wait_for(lambda: got[kind] > 0, 15.0) is not None, got)
    ltp = client.get_ltp(exchange="NSE", symbol="SBIN")
    check("get_ltp holds the streamed LTP",
          ltp.get("ltp", {}).get("NSE", {}).get("SBIN", {}).get("ltp", 0) > 0, ltp)
    quote = client.get_quotes(exchange="NSE", symbol="SBIN")
    check("get_quotes holds the streamed quote",
          quote.get("quote", {}).get("NSE", {}).get("SBIN", {}).get("ltp", 0) > 0, quote)
    depth = client.get_depth(exchange="NSE", symbol="SBIN")
    check("get_depth holds the streamed depth", "SBIN" in depth.get("depth", {}).get("NSE", {}), depth)
    check("unsubscribe_ltp", client.unsubscribe_ltp(instruments))
    check("unsubscribe_quote", client.unsubscribe_quote(instruments))
    check("unsubscribe_depth", client.unsubscribe_depth(instruments))
    # Absence needs a witness: ticks of another symbol subscribed after the unsubscribes.
    # One connection delivers in order, so once the first witness tick is here every tick
    # sent before the unsubscribes has arrived; later witness ticks were sent after them.
    witness = {"n": 0}

    def on_witness(message):
        with lock:
            witness["n"] += 1

    infy = [{"exchange": "NSE", "symbol": "INFY"}]
    check("subscribe_ltp witness", client.subscribe_ltp(infy, on_data_received=on_witness))
    check("witness ticks arrive", wait_for(lambda: witness["n"] > 0, 15.0) is not None, witness)
    with lock:
        before, seen = dict(got), witness["n"]
    check("more witness ticks", wait_for(lambda: witness["n"] >= seen + 5, 15.0) is not None,
          witness)
    with lock:
        check("no ticks after unsubscribing", got == before, (before, got))
    client.unsubscribe_ltp(infy)
    client.disconnect()


def ist_date(ts):
    return datetime.fromtimestamp(ts, tz=timezone.utc).astimezone(IST).date()


def reference_data():
    """intervals, symbol, search, expiry, instruments, holidays, timings."""
    r = success("intervals", client.intervals())
    data = r.get("data", {})
    check("intervals lists minutes and days", "5m" in data.get("minutes", []) and "D" in data.get("days", []), r)
    check("interval() (legacy) answers", client.interval().get("status") == "success")
    r = success("symbol SBIN", client.symbol(symbol="SBIN", exchange="NSE"))
    row = r.get("data", {})
    check("symbol row has the master columns", row.get("symbol") == "SBIN" and row.get("lotsize") == 1
          and row.get("instrumenttype") == "EQ" and "tick_size" in row and "token" in row, r)
    r = client.symbol(symbol="NOPE", exchange="NSE")
    check("unknown symbol is an error naming it", r.get("status") == "error" and "NOPE" in str(r), r)
    r = success("search", client.search(query="NIFTY", exchange="NFO"))
    rows = r.get("data", [])
    check("search finds NIFTY options and futures", len(rows) > 10
          and all("NIFTY" in x["symbol"] for x in rows) and all(x["exchange"] == "NFO" for x in rows), len(rows))
    r = client.search(query="ZZZNOTHING")
    check("search without matches is an empty success", r.get("status") == "success" and r.get("data") == [], r)
    r = success("expiry options", client.expiry(symbol="NIFTY", exchange="NFO", instrumenttype="options"))
    exp = r.get("data", [])
    parsed = [datetime.strptime(e, "%d-%b-%y").date() for e in exp]
    check("expiries ascending and not past", parsed == sorted(parsed) and parsed
          and parsed[0] >= datetime.now(IST).date(), exp)
    r = success("expiry futures", client.expiry(symbol="NIFTY", exchange="NFO", instrumenttype="futures"))
    check("a NIFTY future expiry", len(r.get("data", [])) >= 1, r)
    df = client.instruments(exchange="NFO")
    check("instruments NFO is a DataFrame", hasattr(df, "columns") and len(df) > 10, df)
    if hasattr(df, "columns"):
        want = {"symbol", "brsymbol", "name", "exchange", "token", "expiry", "strike", "lotsize",
                "instrumenttype", "tick_size"}
        check("instruments columns", want <= set(df.columns), list(df.columns))
        check("instruments only NFO", set(df["exchange"]) == {"NFO"}, set(df["exchange"]))
    alldf = client.instruments()
    check("instruments of every exchange", hasattr(alldf, "columns") and {"NSE", "NFO", "NSE_INDEX"}
          <= set(alldf["exchange"]), alldf)
    r = success("holidays", client.holidays(year=2026))
    check("holidays in 2026 on weekdays", all(h["date"].startswith("2026-")
          and datetime.strptime(h["date"], "%Y-%m-%d").weekday() < 5 for h in r.get("data", []))
          and r.get("timezone") == "Asia/Kolkata", r)
    r = success("timings on a Monday", client.timings(date="2026-11-30"))
    nse = [t for t in r.get("data", []) if t["exchange"] == "NSE"]
    check("NSE 09:15-15:30 IST", nse and nse[0]["end_time"] - nse[0]["start_time"] == 375 * 60_000
          and datetime.fromtimestamp(nse[0]["start_time"] / 1000, IST).strftime("%H:%M") == "09:15", r)
    r = success("timings on a Sunday", client.timings(date="2026-11-29"))
    check("closed on Sunday (CRYPTO aside)",
          [t["exchange"] for t in r.get("data", [])] == ["CRYPTO"], r)


def history_data():
    """history as a DataFrame, in the requested range, the same on every call."""
    today = datetime.now(IST).date()
    start, end = today - timedelta(days=10), today - timedelta(days=1)
    args = dict(symbol="SBIN", exchange="NSE", interval="5m",
                start_date=start.isoformat(), end_date=end.isoformat())
    df = client.history(**args)
    ok = hasattr(df, "columns")
    check("history 5m is a DataFrame", ok and len(df) > 0, df)
    if ok:
        check("history columns", {"open", "high", "low", "close", "volume"} <= set(df.columns), df.columns)
        dates = {ts.date() for ts in df.index}
        check("history candles within the range", min(dates) >= start and max(dates) <= end, (min(dates), max(dates)))
        check("history candles consistent", bool(((df["low"] <= df[["open", "close"]].min(axis=1))
                                                 & (df["high"] >= df[["open", "close"]].max(axis=1))).all()))
        again = client.history(**args)
        check("history deterministic", hasattr(again, "equals") and again.equals(df))
        check("5m candles start on the 5 minutes from 09:15",
              all(ts.minute % 5 == 0 and (ts.hour, ts.minute) >= (9, 15) for ts in df.index), df.index[:3])
    d = client.history(symbol=near_future("NIFTY"), exchange="NFO", interval="D",
                       start_date=(today - timedelta(days=60)).isoformat(), end_date=today.isoformat())
    check("daily history of a future", hasattr(d, "columns") and 30 <= len(d) <= 45
          and (d["oi"] > 0).all(), d)
    r = client.history(symbol="NOPE", exchange="NSE", interval="D", start_date="2026-01-01", end_date="2026-01-31")
    check("history of an unknown symbol names it", isinstance(r, dict) and "NOPE" in str(r), r)
    r = client.history(symbol="SBIN", exchange="NSE", interval="7m", start_date="2026-01-01", end_date="2026-01-31")
    check("history with a bad interval names the field", isinstance(r, dict) and "interval" in str(r), r)


def option_data():
    """optionsymbol, optionchain, optiongreeks, syntheticfuture on the NIFTY chain."""
    r = success("expiry for options", client.expiry(symbol="NIFTY", exchange="NFO", instrumenttype="options"))
    expiry = r["data"][0].replace("-", "")
    r = success("optionsymbol ATM CE", client.optionsymbol(
        underlying="NIFTY", exchange="NSE_INDEX", expiry_date=expiry, offset="ATM", option_type="CE"))
    atm_symbol = r.get("symbol", "")
    check("optionsymbol is NIFTY+expiry+strike+CE", atm_symbol.startswith("NIFTY" + expiry)
          and atm_symbol.endswith("CE") and r.get("exchange") == "NFO" and r.get("lotsize") == 75, r)
    spot = r.get("underlying_ltp", 0)
    ch = success("optionchain", client.optionchain(underlying="NIFTY", exchange="NSE_INDEX", expiry_date=expiry))
    strikes = [row["strike"] for row in ch.get("chain", [])]
    atm = ch.get("atm_strike")
    check("chain ATM is the strike nearest the underlying", strikes and atm == min(
        strikes, key=lambda k: (abs(k - ch["underlying_ltp"]), k)), (atm, ch.get("underlying_ltp")))
    check("optionsymbol ATM agrees with the chain", atm_symbol == f"NIFTY{expiry}{int(atm)}CE"
          or abs(spot - ch.get("underlying_ltp", 0)) > 1, (atm_symbol, atm))
    labels = {row["strike"]: row["ce"]["label"] for row in ch.get("chain", []) if row.get("ce")}
    below = [k for k in strikes if k < atm]
    check("chain labels: ATM, ITM below for calls", labels.get(atm) == "ATM"
          and (not below or labels.get(below[-1]) == "ITM1"), labels)
    small = success("optionchain strike_count 2", client.optionchain(
        underlying="NIFTY", exchange="NSE_INDEX", expiry_date=expiry, strike_count=2))
    check("strike_count 2 gives at most 5 strikes", 1 <= len(small.get("chain", [])) <= 5, small)
    otm = success("optionsymbol OTM2 CE", client.optionsymbol(
        underlying="NIFTY", exchange="NSE_INDEX", expiry_date=expiry, offset="OTM2", option_type="CE"))
    g = success("optiongreeks call", client.optiongreeks(symbol=otm.get("symbol", ""), exchange="NFO"))
    gk = g.get("greeks", {})
    check("call delta in (0, 1)", 0 < gk.get("delta", -1) < 1, g)
    check("gamma and vega positive, theta negative", gk.get("gamma", 0) > 0 and gk.get("vega", 0) > 0
          and gk.get("theta", 0) < 0, gk)
    check("implied volatility in percent", 0 < g.get("implied_volatility", 0) < 500, g)
    put = success("optionsymbol OTM2 PE", client.optionsymbol(
        underlying="NIFTY", exchange="NSE_INDEX", expiry_date=expiry, offset="OTM2", option_type="PE"))
    pg = success("optiongreeks put", client.optiongreeks(symbol=put.get("symbol", ""), exchange="NFO",
                                                          interest_rate=6.5))
    check("put delta in (-1, 0)", -1 < pg.get("greeks", {}).get("delta", 1) < 0, pg)
    r = client.optionsymbol(underlying="NIFTY", exchange="NSE_INDEX", offset="XTM3", option_type="CE")
    check("bad offset is a validation error", r.get("status") == "error" and "offset" in str(r), r)
    sf = success("syntheticfuture", client.syntheticfuture(underlying="NIFTY", exchange="NSE_INDEX",
                                                           expiry_date=expiry))
    check("synthetic future = ATM + CE - PE, near the underlying",
          abs(sf.get("synthetic_future_price", 0) - sf.get("underlying_ltp", 1)) < 0.2 * sf.get("underlying_ltp", 1)
          and sf.get("atm_strike") in strikes, sf)


def margin_and_account():
    """margin, analyzer status and toggle, telegram without an upstream."""
    nifty_fut = near_future("NIFTY")
    _, fut = quote_ltp(nifty_fut, "NFO", 25000.0)
    r = success("margin", client.margin(positions=[
        {"symbol": nifty_fut, "exchange": "NFO", "action": "BUY", "quantity": "75",
         "product": "NRML", "pricetype": "LIMIT", "price": str(round(fut, 1))}]))
    m = r.get("data", {}).get("total_margin_required", 0)
    if UPSTREAM:
        check("margin forwarded to the upstream", m == 12345.5, r)
    else:
        check("margin = qty x price / futures leverage 10", abs(m - 75 * round(fut, 1) / 10) < 1, (m, fut))
    if not UPSTREAM:
        r = client.margin(positions=[{"symbol": nifty_fut, "exchange": "NFO", "action": "HOLD",
                                      "quantity": "75", "product": "NRML", "pricetype": "MARKET"}])
        check("margin names a bad action", r.get("status") == "error" and "action" in str(r), r)
    a = success("analyzerstatus", client.analyzerstatus())
    check("analyze mode with total_logs", a.get("data", {}).get("analyze_mode") is True
          and isinstance(a.get("data", {}).get("total_logs"), int), a)
    success("analyzertoggle to analyze", client.analyzertoggle(mode=True))
    r = client.analyzertoggle(mode=False)
    check("no live mode", r.get("status") == "error" and "live" in str(r), r)
    r = client.telegram(username="someone", message="hello")
    if UPSTREAM:
        check("telegram forwarded to the upstream", r.get("status") == "success", r)
    else:
        check("telegram needs an upstream", r.get("status") == "error" and "upstream" in str(r), r)


def ordinal(orderid):
    return int(orderid) % 100_000_000


def order_families():
    """basketorder (BUY legs first), splitorder, optionsorder (+split), optionsmultiorder."""
    nifty_fut, bank_fut = near_future("NIFTY"), near_future("BANKNIFTY")
    r = success("basketorder", client.basketorder(strategy="basket", orders=[
        {"symbol": bank_fut, "exchange": "NFO", "action": "SELL", "quantity": 35,
         "pricetype": "MARKET", "product": "NRML"},
        {"symbol": nifty_fut, "exchange": "NFO", "action": "BUY", "quantity": 75,
         "pricetype": "MARKET", "product": "NRML"},
        {"symbol": "NOPE", "exchange": "NFO", "action": "BUY", "quantity": 75},
    ]))
    res = r.get("results", [])
    ok = [x for x in res if x.get("status") == "success"]
    check("basket: two legs placed, one refused by name", len(ok) == 2 and any(
        x.get("status") == "error" and "NOPE" in x.get("message", "") for x in res), res)
    ids = {x["symbol"]: ordinal(x["orderid"]) for x in ok}
    check("basket: BUY leg placed before SELL leg",
          ids.get(nifty_fut, 9e9) < ids.get(bank_fut, -1), ids)
    r = success("splitorder", client.splitorder(strategy="split", symbol="SBIN", exchange="NSE", action="BUY",
                                                quantity=25, splitsize=10, price_type="MARKET", product="CNC"))
    check("split 25 by 10 is 10, 10, 5", [x.get("quantity") for x in r.get("results", [])] == [10, 10, 5]
          and all(x.get("status") == "success" for x in r.get("results", [])), r)
    r = client.splitorder(strategy="split", symbol="SBIN", exchange="NSE", action="BUY",
                          quantity=1000, splitsize=1, price_type="MARKET", product="CNC")
    check("split beyond 100 orders is refused", r.get("status") == "error" and "100" in str(r), r)
    r = success("optionsorder ATM CE", client.optionsorder(
        strategy="opt", underlying="NIFTY", exchange="NSE_INDEX", offset="ATM", option_type="CE",
        action="BUY", quantity=75, price_type="MARKET", product="NRML"))
    check("optionsorder reply", len(r.get("orderid", "")) == 14 and r.get("symbol", "").endswith("CE")
          and r.get("underlying_ltp", 0) > 0 and r.get("offset") == "ATM", r)
    st = success("optionsorder order status", client.orderstatus(order_id=r.get("orderid", ""), strategy="opt"))
    check("option order filled", st.get("data", {}).get("order_status") == "complete", st)
    r = success("optionsorder split", client.optionsorder(
        strategy="opt", underlying="NIFTY", exchange="NSE_INDEX", offset="OTM1", option_type="PE",
        action="BUY", quantity=225, splitsize=150, price_type="MARKET", product="NRML"))
    check("optionsorder split 225 by 150", [x.get("quantity") for x in r.get("results", [])] == [150, 75], r)
    r = success("optionsmultiorder", client.optionsmultiorder(
        strategy="iron", underlying="NIFTY", exchange="NSE_INDEX", legs=[
            {"offset": "OTM1", "option_type": "CE", "action": "SELL", "quantity": 75, "product": "NRML"},
            {"offset": "OTM3", "option_type": "CE", "action": "BUY", "quantity": 75, "product": "NRML"},
        ]))
    res = r.get("results", [])
    check("multiorder results in leg order", [x.get("leg") for x in res] == [1, 2]
          and all(x.get("status") == "success" for x in res), res)
    if len(res) == 2 and all("orderid" in x for x in res):
        check("multiorder BUY leg placed first", ordinal(res[1]["orderid"]) < ordinal(res[0]["orderid"]), res)
    a = success("analyzer counts orders", client.analyzerstatus())
    check("total_logs counts this session's orders", a.get("data", {}).get("total_logs", 0) >= 8, a)
    client.closeposition(strategy="basket")


def parity_checks():
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


def holdings_checks():
    """Holdings as the SDK sees them (OPENALGO.md 2b): the shape, numbers, no empty rows.

    A CNC buy settles into holdings at 00:00 IST (T+1), decided from event time: the
    last journey, cnc_settlement, moves the simulator's clock across midnight to see it.
    """
    h = success("holdings", client.holdings())
    data = h.get("data", {})
    rows, stats = data.get("holdings"), data.get("statistics", {})
    check("holdings rows are a list", isinstance(rows, list), h)
    keys = {"totalholdingvalue", "totalinvvalue", "totalprofitandloss", "totalpnlpercentage"}
    check("holdings statistics are numbers",
          keys <= set(stats) and all(isinstance(stats[k], (int, float)) for k in keys), stats)
    row_keys = {"symbol", "exchange", "product", "quantity", "average_price", "ltp", "pnl",
                "pnlpercent", "current_value", "settlement_date"}
    for r in rows or []:
        check(f"holding {r.get('symbol')} shape",
              row_keys <= set(r) and r["product"] == "CNC" and r["quantity"] != 0
              and isinstance(r["average_price"], (int, float)), r)
    f = client.funds().get("data", {})
    check("funds carry reset_count", isinstance(f.get("reset_count"), int), f)
def smart_orders():
    """placesmartorder: open to a target, already matched, then reduce."""
    def position():
        r = client.openposition(strategy="smart", symbol="INFY", exchange="NSE", product="CNC")
        return int(float(r.get("quantity", -1)))
    r = success("placesmartorder opens", client.placesmartorder(
        strategy="smart", symbol="INFY", action="BUY", exchange="NSE", price_type="MARKET",
        product="CNC", quantity=5, position_size=5))
    check("smart order placed", len(r.get("orderid", "")) == 14, r)
    check("position reaches 5", position() == 5)
    r = success("placesmartorder matched", client.placesmartorder(
        strategy="smart", symbol="INFY", action="BUY", exchange="NSE", price_type="MARKET",
        product="CNC", quantity=5, position_size=5))
    check("already matched, no order", "Already Matched" in r.get("message", ""), r)
    success("placesmartorder reduces", client.placesmartorder(
        strategy="smart", symbol="INFY", action="SELL", exchange="NSE", price_type="MARKET",
        product="CNC", quantity=3, position_size=2))
    check("position reduced to 2", position() == 2)


def sim_control(body):
    """POSTs to the simulator's control endpoint (the operator's key); status and reply."""
    req = urllib.request.Request(SIM_CONTROL, data=json.dumps({"apikey": KEY, **body}).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def cnc_settlement():
    """holdings after a CNC buy has settled (T+1 at 00:00 IST, OPENALGO.md 3b).

    How the clock crosses midnight: the simulator's clock is moved to 09:20 IST the next
    day (POST /sim/control {"action": "set_clock"}, key-protected); its ticks then carry
    that time, the engine's event clock follows its feed's time (serve --event-clock,
    `feed` by default with the simulator), and the engine's 00:00 boundary settles every
    CNC position into holdings, as it would after a real night. Runs last: the server
    lives on the next trading day afterwards.
    """
    if not SIM_CONTROL:
        print("skip cnc_settlement: no simulator clock to move (market data from an upstream)")
        return
    qty = 7
    r = success("placeorder CNC to settle", client.placeorder(
        strategy="settle", symbol="ITC", action="BUY", exchange="NSE",
        price_type="MARKET", product="CNC", quantity=qty))
    st = success("orderstatus of the CNC buy", client.orderstatus(order_id=r.get("orderid"), strategy="settle"))
    data = st.get("data", {})
    check("CNC buy filled", data.get("order_status") == "complete", st)
    day = datetime.strptime(data["timestamp"][:10], "%Y-%m-%d").date()

    def itc():
        rows = client.holdings().get("data", {}).get("holdings") or []
        return [h for h in rows if h.get("symbol") == "ITC"]
    check("not in holdings before the night", itc() == [], itc())

    status, v = sim_control({"action": "set_clock", "time": "2001-01-01 09:15:00"})
    check("set_clock refuses to go back, naming the field", status == 400
          and str(v.get("message", "")).startswith("time:"), (status, v))
    tomorrow = day + timedelta(days=1)
    at = f"{tomorrow.isoformat()} 09:20:00"
    status, v = sim_control({"action": "set_clock", "time": at})
    check("set_clock to 09:20 IST the next day", status == 200
          and v.get("sim", {}).get("clock", "") >= at, (status, v))

    rows = wait_for(itc, 30.0)
    check("the CNC buy settled into holdings", rows is not None and len(rows) == 1, rows)
    if rows:
        h = rows[0]
        check("holding: quantity, product, settlement date", h.get("quantity") == qty
              and h.get("product") == "CNC" and h.get("settlement_date") == tomorrow.isoformat(), h)
        check("holding at the buy's average price",
              abs(h.get("average_price", 0) - data.get("average_price", -1)) < 0.01, (h, data))
    pb = client.positionbook().get("data") or []
    check("no open CNC position after settlement",
          not any(p.get("product") == "CNC" and p.get("quantity") not in (0, "0") for p in pb), pb)
    ob = success("orderbook on the new trading day", client.orderbook())
    check("the new session's orderbook starts empty", ob.get("data", {}).get("orders") == [], ob)


JOURNEYS = [
    orders_and_books,
    websocket_feed,
    reference_data,
    history_data,
    option_data,
    margin_and_account,
    order_families,
    parity_checks,
    holdings_checks,
    smart_orders,
    cnc_settlement,  # last: it moves the server to the next trading day
]


def main():
    for journey in JOURNEYS:
        try:
            journey()
        except Exception as e:  # one failure, and the next journey still runs
            check(f"{journey.__name__} finished", False, repr(e))
    print(f"sdk: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
