import { useCallback, useEffect, useState } from 'react'

export const VIEWS = ['positions', 'orders', 'trades', 'ticket', 'watchlist', 'options', 'engine'] as const
export type View = (typeof VIEWS)[number]

export const VIEW_LABELS: Record<View, string> = {
  positions: 'Positions',
  orders: 'Orders',
  trades: 'Trades',
  ticket: 'Order ticket',
  watchlist: 'Watchlist',
  options: 'Option chain',
  engine: 'Engine',
}

function readView(): View {
  const v = new URLSearchParams(window.location.search).get('view')
  return (VIEWS as readonly string[]).includes(v ?? '') ? (v as View) : 'positions'
}

/** The current page, kept in `?view=` so that reload and back work without server routes. */
export function useView(): [View, (v: View) => void] {
  const [view, setView] = useState<View>(readView)
  useEffect(() => {
    const onPop = () => setView(readView())
    window.addEventListener('popstate', onPop)
    return () => window.removeEventListener('popstate', onPop)
  }, [])
  const go = useCallback((v: View) => {
    const params = new URLSearchParams(window.location.search)
    params.set('view', v)
    window.history.pushState(null, '', `${window.location.pathname}?${params.toString()}`)
    setView(v)
  }, [])
  return [view, go]
}

/** A clock that re-renders its caller every `ms`. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms)
    return () => clearInterval(t)
  }, [ms])
  return now
}
