import { act, cleanup, render, renderHook } from '@testing-library/react'
import { memo, type ReactNode } from 'react'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { MarketDataSocket } from './MarketDataSocket'
import { MarketDataContext } from './context'
import { useMarketData } from './useMarketData'
import { FakeSocket } from '../test/fakeSocket'

let frames: Array<() => void> = []
const runFrame = () => {
  const f = frames
  frames = []
  f.forEach((cb) => cb())
}

function setup() {
  const socket = new MarketDataSocket({
    url: 'ws://t',
    apiKey: 'k',
    socketFactory: FakeSocket.factory,
    scheduleFrame: (cb) => frames.push(cb),
  })
  const wrapper = ({ children }: { children: ReactNode }) => (
    <MarketDataContext.Provider value={socket}>{children}</MarketDataContext.Provider>
  )
  return { socket, wrapper }
}

beforeEach(() => {
  vi.useFakeTimers()
  FakeSocket.all = []
  frames = []
})
afterEach(() => {
  cleanup()
  vi.useRealTimers()
})

const SBIN = { symbol: 'SBIN', exchange: 'NSE' }
const TCS = { symbol: 'TCS', exchange: 'NSE' }

describe('useMarketData', () => {
  it('shares one socket between hooks and releases on unmount', async () => {
    const { socket, wrapper } = setup()
    const a = renderHook(() => useMarketData({ symbols: [SBIN], mode: 'LTP' }), { wrapper })
    const b = renderHook(() => useMarketData({ symbols: [SBIN, TCS], mode: 'LTP' }), { wrapper })
    expect(FakeSocket.all).toHaveLength(1)
    const ws = FakeSocket.latest()
    act(() => {
      ws.open()
      ws.acceptAuth()
    })
    await act(() => vi.advanceTimersByTimeAsync(0))
    expect(a.result.current).toMatchObject({ isConnected: true, isAuthenticated: true, error: null })
    expect(socket.refCount(SBIN, 'LTP')).toBe(2)
    expect(ws.frames('subscribe')).toEqual([{ action: 'subscribe', symbols: [SBIN, TCS], mode: 1, depth: 5 }])

    act(() => {
      ws.push({ type: 'market_data', symbol: 'SBIN', exchange: 'NSE', mode: 1, data: { ltp: 801 } })
      runFrame()
    })
    expect(a.result.current.data.get('NSE:SBIN')?.data.ltp).toBe(801)
    expect(b.result.current.data.get('NSE:SBIN')?.data.ltp).toBe(801)

    b.unmount()
    await act(() => vi.advanceTimersByTimeAsync(0))
    expect(socket.refCount(SBIN, 'LTP')).toBe(1)
    expect(ws.frames('unsubscribe')).toEqual([{ action: 'unsubscribe', symbols: [{ ...TCS, mode: 1 }] }])
    a.unmount()
    await act(() => vi.advanceTimersByTimeAsync(0))
    expect(socket.refCount(SBIN, 'LTP')).toBe(0)
  })

  it('does not subscribe while disabled', () => {
    const { socket, wrapper } = setup()
    renderHook(() => useMarketData({ symbols: [SBIN], mode: 'LTP', enabled: false }), { wrapper })
    expect(socket.refCount(SBIN, 'LTP')).toBe(0)
    expect(FakeSocket.all).toHaveLength(0)
  })

  it('re-renders only rows whose symbol changed', async () => {
    const { wrapper } = setup()
    const renders: Record<string, number> = {}
    const Row = memo(function Row({ k, ltp }: { k: string; ltp: number | undefined }) {
      renders[k] = (renders[k] ?? 0) + 1
      return <li>{ltp}</li>
    })
    function List() {
      const { data } = useMarketData({ symbols: [SBIN, TCS], mode: 'LTP' })
      return (
        <ul>
          {['NSE:SBIN', 'NSE:TCS'].map((k) => (
            <Row key={k} k={k} ltp={data.get(k)?.data.ltp} />
          ))}
        </ul>
      )
    }
    render(<List />, { wrapper })
    const ws = FakeSocket.latest()
    act(() => {
      ws.open()
      ws.acceptAuth()
    })
    const before = { ...renders }
    act(() => {
      for (let i = 0; i < 50; i++) ws.push({ type: 'market_data', symbol: 'SBIN', exchange: 'NSE', mode: 1, data: { ltp: 800 + i } })
      runFrame()
    })
    expect(renders['NSE:SBIN']).toBe((before['NSE:SBIN'] ?? 0) + 1) // 50 ticks, one frame, one render
    expect(renders['NSE:TCS']).toBe(before['NSE:TCS'])
  })
})
