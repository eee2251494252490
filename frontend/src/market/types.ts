/** Market data shapes of OpenAlgo's WebSocket protocol (OPENALGO.md section 1). */

export type Mode = 'LTP' | 'Quote' | 'Depth'

export const MODE_NUMBER: Record<Mode, 1 | 2 | 3> = { LTP: 1, Quote: 2, Depth: 3 }

export interface SymbolRef {
  symbol: string
  exchange: string
}

export interface DepthLevel {
  price: number
  quantity: number
  orders?: number
}

export interface QuoteData {
  ltp?: number
  ltt?: number
  timestamp?: number
  open?: number
  high?: number
  low?: number
  close?: number
  volume?: number
  change?: number
  change_percent?: number
  bid_price?: number
  ask_price?: number
  bid_size?: number
  ask_size?: number
  depth?: { buy: DepthLevel[]; sell: DepthLevel[] }
  [field: string]: unknown
}

export interface MarketEntry {
  symbol: string
  exchange: string
  data: QuoteData
  /** Local receipt time (epoch ms): freshness is judged on our own clock. */
  lastUpdate: number
  source: 'ws' | 'rest'
}

export interface OrderUpdate {
  type: 'order_update'
  orderid: string
  symbol: string
  exchange: string
  action: string
  quantity: number
  price: number
  trigger_price: number
  pricetype: string
  product: string
  order_status: string
  filled_quantity?: number
  pending_quantity?: number
  average_price?: number
  rejection_reason?: string
  [field: string]: unknown
}

export function symbolKey(s: SymbolRef): string {
  return `${s.exchange}:${s.symbol}`
}

export function parseSymbolKey(key: string): SymbolRef {
  const i = key.indexOf(':')
  return { exchange: key.slice(0, i), symbol: key.slice(i + 1) }
}
