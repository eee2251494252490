import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react'
import type { ReactNode } from 'react'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ApiError, type ApiClient } from '../api/client'
import { SessionContext } from '../api/context'
import { MarketDataSocket } from '../market/MarketDataSocket'
import { MarketDataContext } from '../market/context'
import { FakeSocket } from '../test/fakeSocket'
import { OrderTicketPage } from './OrderTicketPage'

function wrap(api: ApiClient) {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } })
  const socket = new MarketDataSocket({ url: 'ws://t', apiKey: 'k', socketFactory: FakeSocket.factory, scheduleFrame: (cb) => cb() })
  const config = { apiBase: 'http://t', wsUrl: 'ws://t', instrumentsUrl: 'http://t/instruments.json' }
  return ({ children }: { children: ReactNode }) => (
    <QueryClientProvider client={qc}>
      <SessionContext.Provider value={{ api, config, signOut: () => {} }}>
        <MarketDataContext.Provider value={socket}>{children}</MarketDataContext.Provider>
      </SessionContext.Provider>
    </QueryClientProvider>
  )
}

afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

describe('OrderTicketPage', () => {
  it('sends a LIMIT order and shows the engine message next to the field it names', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response('', { status: 404 })))
    const post = vi.fn(async () => {
      throw new ApiError(400, 'Price must be greater than 0 for LIMIT orders')
    })
    render(<OrderTicketPage />, { wrapper: wrap({ post } as unknown as ApiClient) })
    fireEvent.change(screen.getByLabelText('Quantity'), { target: { value: '10' } })
    fireEvent.click(screen.getByRole('radio', { name: 'LIMIT' }))
    fireEvent.click(screen.getByRole('radio', { name: 'SELL' }))
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Place SELL order' }))
    })
    expect(post).toHaveBeenCalledWith(
      'placeorder',
      expect.objectContaining({ symbol: 'SBIN', exchange: 'NSE', action: 'SELL', quantity: '10', pricetype: 'LIMIT', product: 'MIS', price: '0' }),
      expect.anything(),
    )
    const price = await screen.findByLabelText('Price')
    const msg = await screen.findByText('Price must be greater than 0 for LIMIT orders')
    expect(price.getAttribute('aria-invalid')).toBe('true')
    expect(price.getAttribute('aria-describedby')).toBe(msg.id)
    expect(screen.getByLabelText('Quantity').getAttribute('aria-invalid')).toBeNull()
    vi.unstubAllGlobals()
  })

  it('shows a message naming no field at the form level', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response('', { status: 404 })))
    const post = vi.fn(async () => {
      throw new ApiError(400, 'Insufficient funds. Required: ₹10.00, Available: ₹5.00, Shortage: ₹5.00')
    })
    render(<OrderTicketPage />, { wrapper: wrap({ post } as unknown as ApiClient) })
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Place BUY order' }))
    })
    expect(await screen.findByRole('alert')).toHaveProperty('textContent', 'Insufficient funds. Required: ₹10.00, Available: ₹5.00, Shortage: ₹5.00')
    vi.unstubAllGlobals()
  })
})
