/**
 * Runtime checks of what the engine sends (OPENALGO.md sections 1, 2 and 2b). Every REST reply
 * and WebSocket frame passes through one of these before the app reads it; the TypeScript
 * types in `types.ts` are inferred from them, so a type and its check cannot drift apart.
 * Objects are loose (extra fields pass through): the engine may add fields, never lose them.
 */
import { z } from 'zod'

/** An amount: the sandbox sends numbers, live brokers numeric strings; both are read with `num`. */
export const amount = z.union([z.number(), z.string()])
const optAmount = amount.optional()
const optText = z.string().optional()

export const PositionSchema = z.looseObject({
  symbol: z.string(),
  exchange: z.string(),
  product: z.string(),
  quantity: amount,
  average_price: amount,
  ltp: optAmount,
  pnl: optAmount,
  pnlpercent: optAmount,
  unrealized_pnl: optAmount,
  today_realized_pnl: optAmount,
  total_pnl_today: optAmount,
  /** The contract value (1.0 for most instruments), as OpenAlgo's sandbox reports it. */
  lot_size: optAmount,
})

export const OrderSchema = z.looseObject({
  orderid: z.string(),
  symbol: z.string(),
  exchange: z.string(),
  action: z.string(),
  quantity: amount,
  price: amount,
  trigger_price: amount,
  pricetype: z.string(),
  product: z.string(),
  order_status: z.string(),
  average_price: optAmount,
  filled_quantity: optAmount,
  pending_quantity: optAmount,
  rejection_reason: optText,
  timestamp: optText,
  strategy: optText,
})

export const TradeSchema = z.looseObject({
  tradeid: optText,
  orderid: z.string(),
  symbol: z.string(),
  exchange: z.string(),
  action: z.string(),
  quantity: amount,
  average_price: amount,
  price: optAmount,
  trade_value: optAmount,
  product: z.string(),
  strategy: optText,
  timestamp: optText,
})

/**
 * OpenAlgo's sandbox funds: every amount a JSON number (live brokers send strings, so the
 * string form is still read through `num`). `grossexposure` is the used margin,
 * `m2mrealized` today's realized P&L; `last_reset` is "YYYY-MM-DD HH:MM:SS" IST.
 */
export const FundsSchema = z.looseObject({
  availablecash: optAmount,
  collateral: optAmount,
  m2munrealized: optAmount,
  m2mrealized: optAmount,
  utiliseddebits: optAmount,
  grossexposure: optAmount,
  totalpnl: optAmount,
  today_realized_pnl: optAmount,
  total_realized_pnl: optAmount,
  last_reset: optText,
  reset_count: z.number().optional(),
})

export const FeedHealthSchema = z.looseObject({
  mode: optText,
  connected: z.boolean().optional(),
  authenticated: z.boolean().optional(),
  last_data_age_ms: z.number().nullable().optional(),
  reconnects: z.number().optional(),
  validation_errors: z.number().optional(),
  ticks: z.number().optional(),
})

export const HealthSchema = z.looseObject({
  engine: z.looseObject({ healthy: z.boolean().optional() }).optional(),
  feed: FeedHealthSchema.optional(),
})

export const LatencyStageSchema = z.looseObject({
  hop: z.string(),
  count: z.number().optional(),
  p50_ns: z.number().optional(),
  p90_ns: z.number().optional(),
  p99_ns: z.number().optional(),
  p999_ns: z.number().optional(),
  max_ns: z.number().optional(),
})

export const InstrumentSchema = z.looseObject({
  symbol: z.string(),
  exchange: z.string(),
  name: optText,
  lot_size: z.number().optional(),
})

/** `GET /instruments.json`: an array, or `{data: [...]}`. */
export const InstrumentsReply = z.union([
  z.array(InstrumentSchema),
  z.looseObject({ data: z.array(InstrumentSchema) }).transform((r) => r.data),
])

const OptionLegSchema = z.looseObject({
  symbol: z.string(),
  label: optText,
  ltp: optAmount,
  bid: optAmount,
  ask: optAmount,
  bid_qty: optAmount,
  ask_qty: optAmount,
  volume: optAmount,
  oi: optAmount,
  lotsize: optAmount,
  prev_close: optAmount,
  /** With `with_greeks`: the engine's greeks for this leg. */
  implied_volatility: optAmount,
  greeks: z
    .looseObject({ delta: optAmount, gamma: optAmount, theta: optAmount, vega: optAmount, rho: optAmount })
    .optional(),
})

export const OptionChainSchema = z.looseObject({
  underlying: z.string(),
  underlying_ltp: optAmount,
  expiry_date: optText,
  atm_strike: optAmount,
  chain: z.array(
    z.looseObject({
      strike: amount,
      ce: OptionLegSchema.nullable().optional(),
      pe: OptionLegSchema.nullable().optional(),
    }),
  ),
})

export const OptionGreeksSchema = z.looseObject({
  symbol: z.string(),
  exchange: z.string(),
  underlying: optText,
  strike: optAmount,
  option_type: optText,
  expiry_date: optText,
  days_to_expiry: optAmount,
  spot_price: optAmount,
  option_price: optAmount,
  interest_rate: optAmount,
  implied_volatility: optAmount,
  greeks: z.looseObject({ delta: optAmount, gamma: optAmount, theta: optAmount, vega: optAmount, rho: optAmount }),
})

/** `POST expiry`: dates such as "30-DEC-26", ascending. */
export const ExpiryReply = z.looseObject({ data: z.array(z.string()) })

export const PolledQuoteSchema = z.looseObject({
  symbol: z.string(),
  exchange: z.string(),
  data: z.record(z.string(), z.unknown()).optional(),
  error: optText,
})

export const MultiQuotesReply = z
  .looseObject({ results: z.array(PolledQuoteSchema).optional(), data: z.array(PolledQuoteSchema).optional() })
  .transform((r) => r.results ?? r.data ?? [])

export const PositionBookReply = z.looseObject({ data: z.array(PositionSchema) }).transform((r) => r.data)
export const OrderBookReply = z
  .looseObject({ data: z.looseObject({ orders: z.array(OrderSchema) }) })
  .transform((r) => r.data.orders)
export const TradeBookReply = z.looseObject({ data: z.array(TradeSchema) }).transform((r) => r.data)
export const FundsReply = z.looseObject({ data: FundsSchema }).transform((r) => r.data)
export const LatencyReply = z
  .looseObject({ data: z.looseObject({ stages: z.array(LatencyStageSchema) }) })
  .transform((r) => r.data.stages)
export const OptionChainReply = z.union([
  z.looseObject({ data: OptionChainSchema }).transform((r) => r.data),
  OptionChainSchema,
])
export const OptionGreeksReply = z.union([
  z.looseObject({ data: OptionGreeksSchema }).transform((r) => r.data),
  OptionGreeksSchema,
])
/** placeorder, modifyorder, cancelorder, closeposition, ...: a status and maybe an order id. */
export const ActionReply = z.looseObject({ status: z.string(), message: z.string().optional(), orderid: z.string().optional() })
export const PingReply = z.looseObject({ status: z.literal('success') })

/**
 * An error body in any of OpenAlgo's three shapes: B `{message: "text"}`, A
 * `{message: {field: [msgs]}}`, C `{message: "Validation error", errors: {field: [msgs]}}`.
 */
const fieldMessages = z.record(z.string(), z.union([z.string(), z.array(z.string())]))
export const ErrorBody = z.looseObject({
  status: z.literal('error'),
  message: z.union([z.string(), fieldMessages]).optional(),
  errors: fieldMessages.optional(),
  retry_after: z.number().optional(),
})
export type ErrorBody = z.infer<typeof ErrorBody>

/**
 * `POST multioptiongreeks`: per symbol the greeks, or `{status: "error", symbol, message}`
 * (a leg the engine could not solve, e.g. no price yet); those legs show no greeks.
 */
export const MultiGreeksReply = z.looseObject({ data: z.array(z.unknown()) }).transform((r) =>
  r.data.flatMap((x) => {
    const g = OptionGreeksSchema.safeParse(x)
    return g.success ? [g.data] : []
  }),
)
