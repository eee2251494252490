import { describe, expect, it, vi } from 'vitest'
import { ApiError, createApiClient, fieldFromMessage } from './client'

describe('fieldFromMessage', () => {
  it.each([
    ['Price must be greater than 0 for LIMIT orders', 'price'],
    ['Trigger price is required for SL orders', 'trigger_price'],
    ['trigger_price must be > 0', 'trigger_price'],
    ['Quantity must be in multiples of lot size 75', 'quantity'],
    ['Invalid quantity', 'quantity'],
    ['Invalid quantity: must be a whole number', 'quantity'],
    ['Symbol FOO not found on NSE', 'symbol'],
    ['NRML is not allowed on NSE', 'product'],
    ['Invalid product', 'product'],
    ['Invalid exchange', 'exchange'],
    ['Invalid pricetype', 'pricetype'],
    ['Invalid action', 'action'],
    ['Insufficient funds. Required: ₹10.00, Available: ₹5.00, Shortage: ₹5.00', null],
  ])('%s -> %s', (msg, field) => {
    expect(fieldFromMessage(msg)).toBe(field)
  })
})

describe('createApiClient', () => {
  it('POSTs JSON with the key in the body', async () => {
    const fetchImpl = vi.fn(async () => new Response(JSON.stringify({ status: 'success', data: [] }), { status: 200 }))
    const api = createApiClient('http://h:5000', () => 'secret', fetchImpl as unknown as typeof fetch)
    await api.post('positionbook')
    const [url, init] = fetchImpl.mock.calls[0] as unknown as [string, RequestInit]
    expect(url).toBe('http://h:5000/api/v1/positionbook')
    expect(url).not.toContain('secret')
    expect(init.method).toBe('POST')
    expect(JSON.parse(String(init.body))).toEqual({ apikey: 'secret' })
  })

  it('turns 400 into an ApiError naming the field, 403 into an invalid key', async () => {
    const responses = [
      new Response(JSON.stringify({ status: 'error', message: 'Price must be greater than 0' }), { status: 400 }),
      new Response(JSON.stringify({ status: 'error', message: 'Invalid openalgo apikey' }), { status: 403 }),
      new Response('<html>', { status: 429 }),
    ]
    const fetchImpl = vi.fn(async () => responses.shift() as Response)
    const api = createApiClient('', () => 'k', fetchImpl as unknown as typeof fetch)
    const e1 = await api.post('placeorder', {}).catch((e: unknown) => e)
    expect(e1).toBeInstanceOf(ApiError)
    expect(e1).toMatchObject({ status: 400, field: 'price' })
    await expect(api.post('funds')).rejects.toMatchObject({ status: 403 })
    await expect(api.post('funds')).rejects.toMatchObject({ status: 429, message: 'Rate limited, try again shortly' })
  })
})
