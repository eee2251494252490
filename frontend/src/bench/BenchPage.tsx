import { useEffect, useMemo, useState } from 'react'
import type { Position } from '../api/types'
import { PositionsTable, TotalsBar, usePositionViews } from '../components/PositionsTable'
import { WatchlistTable } from '../components/WatchlistTable'
import { useNow } from '../lib/view'
import { MarketDataSocket } from '../market/MarketDataSocket'
import { MarketDataContext } from '../market/context'
import { useMarketData } from '../market/useMarketData'
import { SyntheticFeedSocket } from './syntheticFeed'

declare global {
  interface Window {
    __tickfillBench?: { ready: boolean; symbols: number; rate: number; ticks: () => number }
  }
}

function params() {
  const p = new URLSearchParams(window.location.search)
  const n = Math.max(1, Math.min(5000, Number(p.get('n') ?? 1000) || 1000))
  const rate = Math.max(1, Math.min(10000, Number(p.get('rate') ?? 100) || 100))
  return { n, rate }
}

function BenchTables({ n }: { n: number }) {
  const symbols = useMemo(
    () => Array.from({ length: n }, (_, i) => ({ symbol: `SYM${String(i).padStart(4, '0')}`, exchange: 'NSE' })),
    [n],
  )
  const positions: Position[] = useMemo(
    () =>
      symbols.map((s, i) => ({
        ...s,
        product: 'MIS',
        quantity: (i % 2 === 0 ? 1 : -1) * (10 + (i % 7)),
        average_price: 1000,
        ltp: 1000,
        pnl: 0,
        pnlpercent: 0,
        today_realized_pnl: 0,
      })),
    [symbols],
  )
  const positionsFeed = useMarketData({ symbols, mode: 'LTP' })
  const watchFeed = useMarketData({ symbols, mode: 'Quote' })
  const now = useNow(1000)
  const { views, totals } = usePositionViews(positions, positionsFeed.data, now)
  return (
    <>
      <TotalsBar totals={totals} />
      <div className="bench-grid">
        <PositionsTable views={views} caption="Bench positions" />
        <WatchlistTable symbols={symbols} data={watchFeed.data} />
      </div>
    </>
  )
}

/** `?bench=1[&n=1000&rate=100]`: n positions and n watched symbols fed at `rate` ticks/s in total. */
export default function BenchPage() {
  const { n, rate } = params()
  const [socket] = useState(
    () => new MarketDataSocket({ url: 'synthetic://bench', apiKey: 'bench', socketFactory: () => new SyntheticFeedSocket(rate) }),
  )
  useEffect(() => {
    window.__tickfillBench = { ready: true, symbols: n, rate, ticks: () => socket.ticksReceived }
    return () => {
      delete window.__tickfillBench
    }
  }, [socket, n, rate])
  return (
    <MarketDataContext.Provider value={socket}>
      <main id="main">
        <h1>Bench: {n} positions and {n} watched symbols at {rate} ticks/s</h1>
        <BenchTables n={n} />
      </main>
    </MarketDataContext.Provider>
  )
}
