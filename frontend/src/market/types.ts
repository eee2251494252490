/** Market data shapes of OpenAlgo's WebSocket protocol (OPENALGO.md section 1). */
import type { z } from 'zod'
import type { OrderUpdateFrame, QuoteDataSchema } from './messages'

export type Mode = 'LTP' | 'Quote' | 'Depth'

export const MODE_NUMBER: Record<Mode, 1 | 2 | 3> = { LTP: 1, Quote: 2, Depth: 3 }

export interface SymbolRef {
  symbol: string
  exchange: string
}

export type QuoteData = z.infer<typeof QuoteDataSchema>
export type DepthLevel = NonNullable<QuoteData['depth']>['buy'][number]
export type OrderUpdate = z.infer<typeof OrderUpdateFrame>

export interface MarketEntry {
  symbol: string
  exchange: string
  data: QuoteData
  /** Local receipt time (epoch ms): freshness is judged on our own clock. */
  lastUpdate: number
  source: 'ws' | 'rest'
}

export function symbolKey(s: SymbolRef): string {
  return `${s.exchange}:${s.symbol}`
}

export function parseSymbolKey(key: string): SymbolRef {
  const i = key.indexOf(':')
  return { exchange: key.slice(0, i), symbol: key.slice(i + 1) }
}
