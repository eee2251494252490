import { describe, expect, it } from 'vitest'
import { feedState } from './StatusBadge'
import { mergeOrderUpdate } from '../api/useOrderUpdates'

describe('feedState', () => {
  const base = { isAuthenticated: true, enginePolling: false, symbolCount: 2, freshestAgeMs: 1000 }
  it('is live while authenticated with fresh prices', () => {
    expect(feedState(base)).toBe('live')
    expect(feedState({ ...base, symbolCount: 0, freshestAgeMs: null })).toBe('live')
  })
  it('is polling when the socket is down, prices are stale, or the engine is on REST', () => {
    expect(feedState({ ...base, isAuthenticated: false })).toBe('polling')
    expect(feedState({ ...base, freshestAgeMs: 5001 })).toBe('polling')
    expect(feedState({ ...base, freshestAgeMs: null })).toBe('polling')
    expect(feedState({ ...base, enginePolling: true })).toBe('polling')
  })
})

describe('mergeOrderUpdate', () => {
  const u = {
    type: 'order_update' as const,
    orderid: '1',
    symbol: 'SBIN',
    exchange: 'NSE',
    action: 'BUY',
    quantity: 10,
    price: 790,
    trigger_price: 0,
    pricetype: 'LIMIT',
    product: 'MIS',
    order_status: 'open',
  }
  it('adds a new order first and updates an existing one in place', () => {
    const one = mergeOrderUpdate(undefined, u)
    expect(one).toHaveLength(1)
    const first = one[0]
    if (!first) throw new Error('missing order')
    const two = mergeOrderUpdate(
      [{ ...first, timestamp: '2026-11-26 10:00:00', strategy: 's' }],
      { ...u, order_status: 'complete', average_price: 790 },
    )
    expect(two).toEqual([expect.objectContaining({ order_status: 'complete', average_price: 790, timestamp: '2026-11-26 10:00:00', strategy: 's' })])
  })
})
