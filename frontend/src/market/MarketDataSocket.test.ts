import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { MarketDataSocket, quoteFromRest, type ManagerOptions } from './MarketDataSocket'
import { FakeSocket } from '../test/fakeSocket'

const SBIN = { symbol: 'SBIN', exchange: 'NSE' }
const TCS = { symbol: 'TCS', exchange: 'NSE' }

let frames: Array<() => void>
function runFrame() {
  const f = frames
  frames = []
  for (const cb of f) cb()
}

function make(extra: Partial<ManagerOptions> = {}) {
  return new MarketDataSocket({
    url: 'ws://test:8765',
    apiKey: 'k1',
    socketFactory: FakeSocket.factory,
    scheduleFrame: (cb) => frames.push(cb),
    ...extra,
  })
}

/** Lets queued microtasks (subscription sync) run. */
const settle = () => vi.advanceTimersByTimeAsync(0)

beforeEach(() => {
  vi.useFakeTimers()
  FakeSocket.all = []
  frames = []
})
afterEach(() => {
  vi.useRealTimers()
})

describe('connection and subscriptions', () => {
  it('connects lazily, authenticates, then subscribes in one frame per mode', async () => {
    const m = make()
    expect(FakeSocket.all).toHaveLength(0)
    m.retain([SBIN, TCS], 'LTP')
    m.retain([SBIN], 'Depth')
    const ws = FakeSocket.latest()
    expect(ws.url).toBe('ws://test:8765')
    ws.open()
    expect(ws.sent[0]).toEqual({ action: 'authenticate', api_key: 'k1' })
    await settle()
    expect(ws.frames('subscribe')).toHaveLength(0) // not before auth
    ws.acceptAuth()
    await settle()
    const subs = ws.frames('subscribe')
    expect(subs).toHaveLength(2)
    expect(subs).toContainEqual({ action: 'subscribe', symbols: [SBIN, TCS], mode: 1, depth: 5 })
    expect(subs).toContainEqual({ action: 'subscribe', symbols: [SBIN], mode: 3, depth: 5 })
    expect(m.getStatus()).toMatchObject({ isConnected: true, isAuthenticated: true, error: null })
  })

  it('reference counts: one subscribe for two holders, unsubscribe only after the last release, with its mode', async () => {
    const m = make()
    const a = m.retain([SBIN], 'LTP')
    const b = m.retain([SBIN], 'LTP')
    const ws = FakeSocket.latest()
    ws.open()
    ws.acceptAuth()
    await settle()
    expect(ws.frames('subscribe')).toHaveLength(1)
    expect(m.refCount(SBIN, 'LTP')).toBe(2)
    a()
    a() // releasing twice is harmless
    await settle()
    expect(m.refCount(SBIN, 'LTP')).toBe(1)
    expect(ws.frames('unsubscribe')).toHaveLength(0)
    b()
    await settle()
    expect(m.refCount(SBIN, 'LTP')).toBe(0)
    expect(ws.frames('unsubscribe')).toEqual([{ action: 'unsubscribe', symbols: [{ ...SBIN, mode: 1 }] }])
  })

  it('unsubscribes only the mode released when a symbol is held in two modes', async () => {
    const m = make()
    m.retain([SBIN], 'Quote')
    const depth = m.retain([SBIN], 'Depth')
    const ws = FakeSocket.latest()
    ws.open()
    ws.acceptAuth()
    await settle()
    depth()
    await settle()
    expect(ws.frames('unsubscribe')).toEqual([{ action: 'unsubscribe', symbols: [{ ...SBIN, mode: 3 }] }])
  })

  it('a retain and release inside one tick sends nothing', async () => {
    const m = make()
    m.retain([TCS], 'LTP')
    const ws = FakeSocket.latest()
    ws.open()
    ws.acceptAuth()
    await settle()
    const n = ws.sent.length
    const r = m.retain([SBIN], 'LTP')
    r()
    await settle()
    expect(ws.sent.length).toBe(n)
  })

  it('subscribes to order updates and delivers them', async () => {
    const m = make()
    const got: string[] = []
    m.onOrderUpdate((u) => got.push(`${u.orderid}:${u.order_status}`))
    const ws = FakeSocket.latest()
    ws.open()
    ws.acceptAuth()
    await settle()
    expect(ws.frames('subscribe_orders')).toHaveLength(1)
    // The engine's frame (src/ws/fanout.rs), field for field.
    const frame = {
      type: 'order_update', user_id: 'sandbox', mode: 'analyze', broker: 'sandbox', orderid: '1', symbol: 'SBIN',
      exchange: 'NSE', action: 'BUY', quantity: 10, price: 0, trigger_price: 0, pricetype: 'MARKET', product: 'MIS',
      order_status: 'complete', filled_quantity: 10, pending_quantity: 0, average_price: 801.5, rejection_reason: '',
    }
    ws.push(frame)
    expect(got).toEqual(['1:complete'])
    // A frame missing what the app reads is dropped and counted, never half-delivered.
    ws.push({ type: 'order_update', orderid: '2', symbol: 'SBIN', exchange: 'NSE', order_status: 'complete' })
    expect(got).toEqual(['1:complete'])
    expect(m.invalidFrames).toBe(1)
  })
})

describe('market data batching', () => {
  it('merges ticks per symbol and notifies once per frame', async () => {
    const m = make({ now: () => 1000 })
    m.retain([SBIN, TCS], 'Quote')
    const ws = FakeSocket.latest()
    ws.open()
    ws.acceptAuth()
    await settle()
    const seen: string[][] = []
    m.subscribeData((changed) => seen.push([...changed].sort()))
    ws.push({ type: 'market_data', symbol: 'SBIN', exchange: 'NSE', mode: 2, data: { ltp: 800, volume: 5 } })
    ws.push({ type: 'market_data', symbol: 'SBIN', exchange: 'NSE', mode: 2, data: { ltp: 801 } })
    ws.push({ type: 'market_data', symbol: 'TCS', exchange: 'NSE', mode: 2, data: { ltp: 3500 } })
    expect(seen).toHaveLength(0)
    expect(frames).toHaveLength(1)
    runFrame()
    expect(seen).toEqual([['NSE:SBIN', 'NSE:TCS']])
    expect(m.getEntry('NSE:SBIN')).toMatchObject({ data: { ltp: 801, volume: 5 }, lastUpdate: 1000, source: 'ws' })
    expect(m.ticksReceived).toBe(3)
  })

  it('keeps the identity of entries that did not change', async () => {
    const m = make()
    m.retain([SBIN, TCS], 'LTP')
    const ws = FakeSocket.latest()
    ws.open()
    ws.acceptAuth()
    ws.push({ type: 'market_data', symbol: 'SBIN', exchange: 'NSE', mode: 1, data: { ltp: 1 } })
    ws.push({ type: 'market_data', symbol: 'TCS', exchange: 'NSE', mode: 1, data: { ltp: 2 } })
    runFrame()
    const tcs = m.getEntry('NSE:TCS')
    ws.push({ type: 'market_data', symbol: 'SBIN', exchange: 'NSE', mode: 1, data: { ltp: 3 } })
    runFrame()
    expect(m.getEntry('NSE:TCS')).toBe(tcs)
  })

  it('ignores malformed frames', async () => {
    const m = make()
    m.retain([SBIN], 'LTP')
    const ws = FakeSocket.latest()
    ws.open()
    ws.acceptAuth()
    ws.onmessage?.({ data: 'not json' })
    ws.push({ type: 'market_data', symbol: 'SBIN' })
    ws.push({ type: 'market_data', exchange: 'NSE', data: { ltp: 1 } })
    ws.push({ type: 'market_data', symbol: 'SBIN', exchange: 'NSE', data: { ltp: 'abc' } })
    expect(frames).toHaveLength(0)
    expect(m.invalidFrames).toBe(4)
  })
})

describe('reconnect', () => {
  it('reconnects 3 s after an unclean close, re-authenticates and resubscribes every symbol', async () => {
    const m = make()
    m.retain([SBIN], 'LTP')
    m.retain([TCS], 'Quote')
    m.onOrderUpdate(() => {})
    const ws1 = FakeSocket.latest()
    ws1.open()
    ws1.acceptAuth()
    await settle()
    ws1.drop()
    expect(m.getStatus()).toMatchObject({ isConnected: false, isAuthenticated: false, nextReconnectMs: 3000 })
    await vi.advanceTimersByTimeAsync(2999)
    expect(FakeSocket.all).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(FakeSocket.all).toHaveLength(2)
    const ws2 = FakeSocket.latest()
    ws2.open()
    expect(ws2.sent[0]).toEqual({ action: 'authenticate', api_key: 'k1' })
    ws2.acceptAuth()
    await settle()
    expect(ws2.frames('subscribe')).toEqual(
      expect.arrayContaining([
        { action: 'subscribe', symbols: [SBIN], mode: 1, depth: 5 },
        { action: 'subscribe', symbols: [TCS], mode: 2, depth: 5 },
      ]),
    )
    expect(ws2.frames('subscribe_orders')).toHaveLength(1)
    expect(m.getStatus().reconnectAttempt).toBe(0)
  })

  it('backs off 3, 6, 12, 24, then 30 s while the server stays away', async () => {
    const m = make()
    m.retain([SBIN], 'LTP')
    FakeSocket.latest().drop()
    const delays: Array<number | null> = []
    for (let i = 0; i < 6; i++) {
      const d = m.getStatus().nextReconnectMs
      delays.push(d)
      const before = FakeSocket.all.length
      await vi.advanceTimersByTimeAsync(d ?? 0)
      expect(FakeSocket.all.length).toBe(before + 1)
      FakeSocket.latest().drop() // connection refused
    }
    expect(delays).toEqual([3000, 6000, 12000, 24000, 30000, 30000])
  })

  it('starts again at 3 s after a successful authentication', async () => {
    const m = make()
    m.retain([SBIN], 'LTP')
    FakeSocket.latest().drop()
    await vi.advanceTimersByTimeAsync(3000)
    FakeSocket.latest().drop()
    expect(m.getStatus().nextReconnectMs).toBe(6000)
    await vi.advanceTimersByTimeAsync(6000)
    const ws = FakeSocket.latest()
    ws.open()
    ws.acceptAuth()
    ws.drop()
    expect(m.getStatus().nextReconnectMs).toBe(3000)
  })

  it('does not reconnect after a clean close', async () => {
    const m = make()
    m.retain([SBIN], 'LTP')
    const ws = FakeSocket.latest()
    ws.open()
    ws.acceptAuth()
    ws.close(1000)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(FakeSocket.all).toHaveLength(1)
  })

  it('reconnects after a clean "going away" close (server restart)', async () => {
    const m = make()
    m.retain([SBIN], 'LTP')
    const ws = FakeSocket.latest()
    ws.open()
    ws.close(1001)
    await vi.advanceTimersByTimeAsync(3000)
    expect(FakeSocket.all).toHaveLength(2)
  })

  it('stops on a wrong key: error reported, no reconnect loop, no polling', async () => {
    const poll = vi.fn(async () => [])
    const m = make({ pollQuotes: poll })
    m.retain([SBIN], 'LTP')
    const ws = FakeSocket.latest()
    ws.open()
    ws.push({ status: 'error', code: 'AUTHENTICATION_ERROR', message: 'Invalid API key' })
    expect(m.getStatus()).toMatchObject({ error: 'Invalid API key', isAuthenticated: false })
    await vi.advanceTimersByTimeAsync(60_000)
    expect(FakeSocket.all).toHaveLength(1)
    expect(poll).not.toHaveBeenCalled()
  })

  it('reconnects with the new key when the key changes', () => {
    const m = make()
    m.retain([SBIN], 'LTP')
    const ws = FakeSocket.latest()
    ws.open()
    ws.push({ status: 'error', code: 'AUTHENTICATION_ERROR', message: 'Invalid API key' })
    m.setApiKey('k2')
    const ws2 = FakeSocket.latest()
    expect(ws2).not.toBe(ws)
    ws2.open()
    expect(ws2.sent[0]).toEqual({ action: 'authenticate', api_key: 'k2' })
  })

  it('does not connect without a key or without demand', () => {
    const m = make({ apiKey: null })
    m.retain([SBIN], 'LTP')
    expect(FakeSocket.all).toHaveLength(0)
    const m2 = make()
    expect(m2.getStatus().isConnected).toBe(false)
    expect(FakeSocket.all).toHaveLength(0)
  })
})

describe('REST fallback', () => {
  it('polls multiquotes while the socket is down and stops once it is back', async () => {
    const poll = vi.fn(async (symbols: Array<{ symbol: string; exchange: string }>) =>
      symbols.map((s) => ({ ...s, data: { ltp: 805, bid: 804.9, ask: 805.1, prev_close: 800 } })),
    )
    const m = make({ pollQuotes: poll, pollIntervalMs: 2000, now: () => 42 })
    m.retain([SBIN], 'LTP')
    m.retain([SBIN, TCS], 'Quote')
    const ws = FakeSocket.latest()
    ws.open()
    ws.acceptAuth()
    await settle()
    expect(poll).not.toHaveBeenCalled()

    ws.drop()
    expect(m.getStatus().polling).toBe(true)
    await settle()
    expect(poll).toHaveBeenCalledTimes(1)
    expect(poll.mock.calls[0]?.[0]).toEqual([SBIN, TCS]) // each symbol once
    runFrame()
    expect(m.getEntry('NSE:SBIN')).toMatchObject({
      source: 'rest',
      lastUpdate: 42,
      data: { ltp: 805, bid_price: 804.9, ask_price: 805.1, change: 5 },
    })
    await vi.advanceTimersByTimeAsync(2000)
    expect(poll).toHaveBeenCalledTimes(2)

    await vi.advanceTimersByTimeAsync(1000) // reconnect fires at 3 s
    const ws2 = FakeSocket.latest()
    ws2.open()
    ws2.acceptAuth()
    expect(m.getStatus().polling).toBe(false)
    const calls = poll.mock.calls.length
    await vi.advanceTimersByTimeAsync(10_000)
    expect(poll.mock.calls.length).toBe(calls)
  })

  it('polls a symbol retained while the socket is down', async () => {
    const poll = vi.fn(async () => [])
    const m = make({ pollQuotes: poll })
    m.retain([SBIN], 'LTP')
    FakeSocket.latest().drop()
    await settle()
    m.retain([TCS], 'LTP')
    await vi.advanceTimersByTimeAsync(3000)
    expect(poll).toHaveBeenLastCalledWith([SBIN, TCS])
  })

  it('stops polling when the last symbol is released', async () => {
    const poll = vi.fn(async () => [])
    const m = make({ pollQuotes: poll })
    const release = m.retain([SBIN], 'LTP')
    FakeSocket.latest().drop()
    expect(m.getStatus().polling).toBe(true)
    release()
    expect(m.getStatus().polling).toBe(false)
  })

  it('reports a failed poll as an error and keeps going', async () => {
    const poll = vi.fn(async () => {
      throw new Error('HTTP 500')
    })
    const m = make({ pollQuotes: poll, pollIntervalMs: 1000 })
    m.retain([SBIN], 'LTP')
    FakeSocket.latest().drop()
    await settle()
    expect(m.getStatus().error).toContain('HTTP 500')
    await vi.advanceTimersByTimeAsync(1000)
    expect(poll).toHaveBeenCalledTimes(2)
  })
})

describe('quoteFromRest', () => {
  it('maps REST quote fields onto streamed names and accepts numeric strings', () => {
    expect(quoteFromRest({ ltp: '101', bid: 100.5, ask: 101.5, prev_close: 100, volume: '7' })).toEqual({
      ltp: 101,
      bid_price: 100.5,
      ask_price: 101.5,
      close: 100,
      change: 1,
      change_percent: 1,
      volume: 7,
    })
    expect(quoteFromRest({ ltp: 'x' })).toEqual({})
  })
})
