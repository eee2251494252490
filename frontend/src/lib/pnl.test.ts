import { describe, expect, it } from 'vitest'
import type { MarketEntry } from '../market/types'
import { effectiveLtp, freshestAge, pnlPercent, positionView, realizedOf, totals, unrealizedPnl } from './pnl'

const entry = (ltp: number, lastUpdate: number, source: 'ws' | 'rest' = 'ws'): MarketEntry => ({
  symbol: 'SBIN',
  exchange: 'NSE',
  data: { ltp },
  lastUpdate,
  source,
})

describe('P&L arithmetic', () => {
  it('unrealized for a long is (ltp - avg) x qty x cv', () => {
    expect(unrealizedPnl(10, 800, 812.5)).toBeCloseTo(125)
    expect(unrealizedPnl(10, 800, 790)).toBeCloseTo(-100)
    expect(unrealizedPnl(50, 100, 101, 2)).toBeCloseTo(100)
  })

  it('unrealized for a short is (avg - ltp) x |qty| x cv', () => {
    expect(unrealizedPnl(-10, 800, 790)).toBeCloseTo(100)
    expect(unrealizedPnl(-10, 800, 812.5)).toBeCloseTo(-125)
  })

  it('is zero when flat', () => {
    expect(unrealizedPnl(0, 800, 900)).toBe(0)
    expect(pnlPercent(50, 0, 800)).toBe(0)
  })

  it('pnl % is pnl over |avg x qty x cv|', () => {
    expect(pnlPercent(125, 10, 800)).toBeCloseTo(1.5625)
    expect(pnlPercent(100, -10, 800)).toBeCloseTo(1.25)
    expect(pnlPercent(-40, 4, 100, 0.5)).toBeCloseTo(-20)
  })

  it('uses the streamed LTP only while it is at most 5 s old', () => {
    expect(effectiveLtp(800, entry(810, 10_000), 15_000)).toEqual({ ltp: 810, source: 'stream' })
    expect(effectiveLtp(800, entry(810, 10_000), 15_001)).toEqual({ ltp: 800, source: 'rest' })
    expect(effectiveLtp(800, undefined, 0)).toEqual({ ltp: 800, source: 'rest' })
    expect(effectiveLtp(800, entry(0, 10_000), 10_000)).toEqual({ ltp: 800, source: 'rest' })
  })

  it('computes a row from the streamed price with today\'s realized P&L added', () => {
    const v = positionView(
      { symbol: 'SBIN', exchange: 'NSE', product: 'MIS', quantity: 10, average_price: '800', ltp: 805, pnl: 75, pnlpercent: 0.94, today_realized_pnl: 25 },
      entry(812.5, 1000),
      2000,
    )
    expect(v.source).toBe('stream')
    expect(v.ltp).toBe(812.5)
    expect(v.unrealized).toBeCloseTo(125)
    expect(v.realized).toBeCloseTo(25)
    expect(v.pnl).toBeCloseTo(150)
    expect(v.pnlPercent).toBeCloseTo(1.875)
  })

  it('falls back to the REST row when the stream is stale', () => {
    const v = positionView(
      { symbol: 'SBIN', exchange: 'NSE', product: 'MIS', quantity: 10, average_price: 800, ltp: 805, pnl: 75, pnlpercent: 0.94, today_realized_pnl: 25 },
      entry(812.5, 1000),
      7000,
    )
    expect(v).toMatchObject({ source: 'rest', ltp: 805, pnl: 75, pnlPercent: 0.94, realized: 25, unrealized: 50 })
  })

  it('derives realized P&L when the row has no today_realized_pnl', () => {
    expect(realizedOf({ symbol: 'X', exchange: 'NSE', product: 'MIS', quantity: 10, average_price: 100, ltp: 110, pnl: 130 })).toBeCloseTo(30)
    expect(realizedOf({ symbol: 'X', exchange: 'NSE', product: 'MIS', quantity: 0, average_price: 0, pnl: 42, unrealized_pnl: 0 })).toBe(42)
  })

  it('a flat row keeps its realized P&L and 0 %', () => {
    const v = positionView({ symbol: 'X', exchange: 'NSE', product: 'MIS', quantity: 0, average_price: 0, ltp: 0, today_realized_pnl: 40 }, entry(101, 0), 0)
    expect(v.pnl).toBe(40)
    expect(v.pnlPercent).toBe(0)
  })

  it('totals sum open and realized', () => {
    const rows = [
      positionView({ symbol: 'A', exchange: 'NSE', product: 'MIS', quantity: 10, average_price: 100, today_realized_pnl: 5 }, entry(110, 0), 0),
      positionView({ symbol: 'B', exchange: 'NSE', product: 'MIS', quantity: -5, average_price: 200, today_realized_pnl: -2 }, entry(210, 0), 0),
    ]
    const t = totals(rows)
    expect(t.open).toBeCloseTo(100 - 50)
    expect(t.realized).toBeCloseTo(3)
    expect(t.total).toBeCloseTo(53)
  })

  it('freshest age looks only at streamed entries', () => {
    expect(freshestAge([entry(1, 100), entry(1, 900), entry(1, 990, 'rest')], 1000)).toBe(100)
    expect(freshestAge([], 1000)).toBeNull()
  })
})
