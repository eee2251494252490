import { describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import { ApiError, ReplyShapeError, createApiClient, errorFromBody, fieldFromMessage } from './client'
import { OrderBookReply, PositionBookReply } from './schemas'

const Any = z.unknown()

describe('fieldFromMessage (shape B sentences only)', () => {
  it.each([
    ['Price must be greater than 0 for LIMIT orders', 'price'],
    ['Trigger price is required for SL orders', 'trigger_price'],
    ['trigger_price must be > 0', 'trigger_price'],
    ['Quantity must be in multiples of lot size 75', 'quantity'],
    ['Invalid quantity', 'quantity'],
    ['Symbol FOO not found on NSE', 'symbol'],
    ['NRML is not allowed on NSE', 'product'],
    ['Invalid exchange', 'exchange'],
    ['Invalid pricetype', 'pricetype'],
    ['Invalid action', 'action'],
    ['Insufficient funds. Required: ₹10.00, Available: ₹5.00, Shortage: ₹5.00', null],
  ])('%s -> %s', (msg, field) => {
    expect(fieldFromMessage(msg)).toBe(field)
  })
})

describe('errorFromBody', () => {
  it('takes the field from a shape A body, not from the words', () => {
    const e = errorFromBody(400, { status: 'error', message: { interval: ['Must be one of: 1m, 5m.'] } })
    expect(e).toMatchObject({ status: 400, field: 'interval', message: 'interval: Must be one of: 1m, 5m.' })
  })

  it('takes the field from a shape C body', () => {
    const e = errorFromBody(400, {
      status: 'error',
      message: 'Validation error',
      errors: { expiry_date: ['Invalid expiry_date: use DDMMMYY, e.g. 30DEC26'] },
    })
    expect(e).toMatchObject({ field: 'expiry_date', message: 'expiry_date: Invalid expiry_date: use DDMMMYY, e.g. 30DEC26' })
  })

  it('keeps a 429 retry_after', () => {
    const e = errorFromBody(429, { status: 'error', message: 'Rate limit exceeded. Please slow down your requests.', retry_after: 60 })
    expect(e.retryAfter).toBe(60)
  })
})

describe('createApiClient', () => {
  it('POSTs JSON with the key in the body', async () => {
    const fetchImpl = vi.fn(async () => new Response(JSON.stringify({ status: 'success', data: [] }), { status: 200 }))
    const api = createApiClient('http://h:5000', () => 'secret', fetchImpl as unknown as typeof fetch)
    await api.post('positionbook', {}, PositionBookReply)
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
    const e1 = await api.post('placeorder', {}, Any).catch((e: unknown) => e)
    expect(e1).toBeInstanceOf(ApiError)
    expect(e1).toMatchObject({ status: 400, field: 'price' })
    await expect(api.post('funds', {}, Any)).rejects.toMatchObject({ status: 403 })
    await expect(api.post('funds', {}, Any)).rejects.toMatchObject({ status: 429, message: 'Rate limited, try again shortly' })
  })

  it('refuses a reply that does not match the endpoint, naming where', async () => {
    const body = { status: 'success', data: { orders: [{ orderid: 7, symbol: 'SBIN' }] } }
    const fetchImpl = vi.fn(async () => new Response(JSON.stringify(body), { status: 200 }))
    const api = createApiClient('', () => 'k', fetchImpl as unknown as typeof fetch)
    const e = await api.post('orderbook', {}, OrderBookReply).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(ReplyShapeError)
    expect(String(e)).toContain('Unexpected reply from orderbook: data.orders.0.orderid')
  })

  it('reads numbers sent as numbers or numeric strings', async () => {
    const row = { symbol: 'SBIN', exchange: 'NSE', product: 'MIS', quantity: '10', average_price: 800.5 }
    const fetchImpl = vi.fn(async () => new Response(JSON.stringify({ status: 'success', data: [row] }), { status: 200 }))
    const api = createApiClient('', () => 'k', fetchImpl as unknown as typeof fetch)
    await expect(api.post('positionbook', {}, PositionBookReply)).resolves.toEqual([row])
  })
})
