/** REST reply rows (OPENALGO.md section 2); every field is read defensively. */
export interface Position {
  symbol: string
  exchange: string
  product: string
  quantity: number | string
  average_price: number | string
  ltp?: number | string
  pnl?: number | string
  pnlpercent?: number | string
  unrealized_pnl?: number | string
  today_realized_pnl?: number | string
  total_pnl_today?: number | string
  lot_size?: number | string
}

export interface Order {
  orderid: string
  symbol: string
  exchange: string
  action: string
  quantity: number | string
  price: number | string
  trigger_price: number | string
  pricetype: string
  product: string
  order_status: string
  average_price?: number | string
  filled_quantity?: number | string
  pending_quantity?: number | string
  rejection_reason?: string
  timestamp?: string
  strategy?: string
}

export interface Trade {
  tradeid?: string
  orderid: string
  symbol: string
  exchange: string
  action: string
  quantity: number | string
  average_price: number | string
  price?: number | string
  trade_value?: number | string
  product: string
  strategy?: string
  timestamp?: string
}

export interface Funds {
  availablecash?: number | string
  collateral?: number | string
  m2munrealized?: number | string
  m2mrealized?: number | string
  utiliseddebits?: number | string
  totalpnl?: number | string
  reset_count?: number
  last_reset?: string
}

export interface FeedHealth {
  mode?: 'websocket' | 'polling' | string
  connected?: boolean
  authenticated?: boolean
  last_data_age_ms?: number | null
  reconnects?: number
  validation_errors?: number
  ticks?: number
}

export interface Health {
  engine?: { healthy?: boolean; [k: string]: unknown }
  feed?: FeedHealth
}

export interface LatencyStage {
  hop: string
  count?: number
  p50_ns?: number
  p90_ns?: number
  p99_ns?: number
  p999_ns?: number
  max_ns?: number
}

export interface Instrument {
  symbol: string
  exchange: string
  name?: string
  lot_size?: number
}

export type Action = 'BUY' | 'SELL'
export type PriceType = 'MARKET' | 'LIMIT' | 'SL' | 'SL-M'
export type Product = 'MIS' | 'CNC' | 'NRML'

export const STRATEGY = 'tickfill-ui'
