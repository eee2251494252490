import type { Position } from '../api/types'
import type { MarketEntry } from '../market/types'
import { num } from './num'

/** A streamed price is used for P&L while it is at most this old (ms). */
export const STREAM_MAX_AGE_MS = 5000

export interface PositionView {
  key: string
  symbol: string
  exchange: string
  product: string
  quantity: number
  averagePrice: number
  ltp: number
  unrealized: number
  realized: number
  pnl: number
  pnlPercent: number
  source: 'stream' | 'rest'
}

export interface Totals {
  open: number
  realized: number
  total: number
}

/** Unrealized P&L: (ltp - avg) x qty x cv; for a short qty < 0 so it is (avg - ltp) x |qty| x cv. */
export function unrealizedPnl(quantity: number, averagePrice: number, ltp: number, contractValue = 1): number {
  if (quantity === 0) return 0
  return (ltp - averagePrice) * quantity * contractValue
}

/** pnl / |avg x qty x cv| x 100, 0 when flat. */
export function pnlPercent(pnl: number, quantity: number, averagePrice: number, contractValue = 1): number {
  const basis = Math.abs(averagePrice * quantity * contractValue)
  return basis === 0 ? 0 : (pnl / basis) * 100
}

/** The streamed LTP when it is fresh (<= 5 s), else the REST one. */
export function effectiveLtp(
  restLtp: number,
  entry: MarketEntry | undefined,
  now: number,
  maxAgeMs = STREAM_MAX_AGE_MS,
): { ltp: number; source: 'stream' | 'rest' } {
  const streamed = entry?.data.ltp
  if (entry && typeof streamed === 'number' && streamed > 0 && now - entry.lastUpdate <= maxAgeMs) {
    return { ltp: streamed, source: 'stream' }
  }
  return { ltp: restLtp, source: 'rest' }
}

/** Today's realized P&L of a REST row; derived from pnl - unrealized when absent. */
export function realizedOf(p: Position): number {
  if (p.today_realized_pnl !== undefined) return num(p.today_realized_pnl)
  const qty = num(p.quantity)
  const unreal = p.unrealized_pnl !== undefined ? num(p.unrealized_pnl) : unrealizedPnl(qty, num(p.average_price), num(p.ltp))
  return num(p.pnl) - unreal
}

export function positionView(p: Position, entry: MarketEntry | undefined, now: number): PositionView {
  const quantity = num(p.quantity)
  const averagePrice = num(p.average_price)
  const restLtp = num(p.ltp)
  const realized = realizedOf(p)
  const { ltp, source } = effectiveLtp(restLtp, entry, now)
  let unrealized: number
  let pnl: number
  if (source === 'rest' && p.pnl !== undefined) {
    pnl = num(p.pnl)
    unrealized = p.unrealized_pnl !== undefined ? num(p.unrealized_pnl) : pnl - realized
  } else {
    unrealized = unrealizedPnl(quantity, averagePrice, ltp)
    pnl = realized + unrealized
  }
  const pct =
    source === 'rest' && p.pnlpercent !== undefined ? num(p.pnlpercent) : pnlPercent(pnl, quantity, averagePrice)
  return {
    key: `${p.exchange}:${p.symbol}:${p.product}`,
    symbol: p.symbol,
    exchange: p.exchange,
    product: p.product,
    quantity,
    averagePrice,
    ltp,
    unrealized,
    realized,
    pnl,
    pnlPercent: pct,
    source,
  }
}

export function totals(views: readonly PositionView[]): Totals {
  let open = 0
  let realized = 0
  for (const v of views) {
    open += v.unrealized
    realized += v.realized
  }
  return { open, realized, total: open + realized }
}

/** Age (ms) of the freshest streamed price among `entries`, or null when there are none. */
export function freshestAge(entries: Iterable<MarketEntry>, now: number): number | null {
  let best: number | null = null
  for (const e of entries) {
    if (e.source !== 'ws') continue
    const age = now - e.lastUpdate
    if (best === null || age < best) best = age
  }
  return best
}
