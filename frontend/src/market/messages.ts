/**
 * Runtime checks of the frames the engine's WebSocket sends (OPENALGO.md section 1). A frame
 * that does not match is dropped (and counted), never cast into the app.
 */
import { z } from 'zod'

const finite = z.number().refine(Number.isFinite)
const level = z.looseObject({ price: finite, quantity: finite, orders: finite.optional() })

export const QuoteDataSchema = z.looseObject({
  ltp: finite.optional(),
  ltt: finite.optional(),
  timestamp: finite.optional(),
  open: finite.optional(),
  high: finite.optional(),
  low: finite.optional(),
  close: finite.optional(),
  volume: finite.optional(),
  change: finite.optional(),
  change_percent: finite.optional(),
  bid_price: finite.optional(),
  ask_price: finite.optional(),
  bid_size: finite.optional(),
  ask_size: finite.optional(),
  depth: z.looseObject({ buy: z.array(level), sell: z.array(level) }).optional(),
})

export const MarketDataFrame = z.looseObject({
  type: z.literal('market_data'),
  symbol: z.string(),
  exchange: z.string(),
  mode: z.number().optional(),
  data: QuoteDataSchema,
})

export const OrderUpdateFrame = z.looseObject({
  type: z.literal('order_update'),
  orderid: z.string(),
  symbol: z.string(),
  exchange: z.string(),
  action: z.string(),
  quantity: z.number(),
  price: z.number(),
  trigger_price: z.number(),
  pricetype: z.string(),
  product: z.string(),
  order_status: z.string(),
  filled_quantity: z.number().optional(),
  pending_quantity: z.number().optional(),
  average_price: z.number().optional(),
  rejection_reason: z.string().optional(),
})

export const AuthFrame = z.looseObject({ type: z.literal('auth'), status: z.string(), message: z.string().optional() })

export const ErrorFrame = z.looseObject({
  status: z.literal('error'),
  code: z.string().optional(),
  message: z.string().optional(),
})

export type ServerFrame =
  | { kind: 'market_data'; frame: z.infer<typeof MarketDataFrame> }
  | { kind: 'order_update'; frame: z.infer<typeof OrderUpdateFrame> }
  | { kind: 'auth'; frame: z.infer<typeof AuthFrame> }
  | { kind: 'error'; frame: z.infer<typeof ErrorFrame> }
  | { kind: 'other' }
  | { kind: 'invalid' }

function parseJson(raw: unknown): unknown {
  if (typeof raw !== 'string') return undefined
  try {
    return JSON.parse(raw) as unknown
  } catch {
    return undefined
  }
}

const TypeTag = z.looseObject({ type: z.string().optional() })

/** One frame from the wire, checked: `invalid` for anything that does not match its type. */
export function parseFrame(raw: unknown): ServerFrame {
  const json = parseJson(raw)
  const tag = TypeTag.safeParse(json)
  if (!tag.success) return { kind: 'invalid' }
  switch (tag.data.type) {
    case 'market_data': {
      const r = MarketDataFrame.safeParse(json)
      return r.success ? { kind: 'market_data', frame: r.data } : { kind: 'invalid' }
    }
    case 'order_update': {
      const r = OrderUpdateFrame.safeParse(json)
      return r.success ? { kind: 'order_update', frame: r.data } : { kind: 'invalid' }
    }
    case 'auth': {
      const r = AuthFrame.safeParse(json)
      return r.success ? { kind: 'auth', frame: r.data } : { kind: 'invalid' }
    }
  }
  const err = ErrorFrame.safeParse(json)
  return err.success ? { kind: 'error', frame: err.data } : { kind: 'other' }
}
