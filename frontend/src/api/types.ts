/** REST reply rows (OPENALGO.md section 2), inferred from the runtime checks in `schemas.ts`. */
import type { z } from 'zod'
import type {
  FeedHealthSchema,
  FundsSchema,
  HealthSchema,
  InstrumentSchema,
  LatencyStageSchema,
  OptionChainSchema,
  OptionGreeksSchema,
  OrderSchema,
  PolledQuoteSchema,
  PositionSchema,
  TradeSchema,
} from './schemas'

export type Position = z.infer<typeof PositionSchema>
export type Order = z.infer<typeof OrderSchema>
export type Trade = z.infer<typeof TradeSchema>
export type Funds = z.infer<typeof FundsSchema>
export type FeedHealth = z.infer<typeof FeedHealthSchema>
export type Health = z.infer<typeof HealthSchema>
export type LatencyStage = z.infer<typeof LatencyStageSchema>
export type Instrument = z.infer<typeof InstrumentSchema>
export type OptionChain = z.infer<typeof OptionChainSchema>
export type OptionGreeks = z.infer<typeof OptionGreeksSchema>
export type PolledQuote = z.infer<typeof PolledQuoteSchema>

export type Action = 'BUY' | 'SELL'
export type PriceType = 'MARKET' | 'LIMIT' | 'SL' | 'SL-M'
export type Product = 'MIS' | 'CNC' | 'NRML'

export const STRATEGY = 'tickfill-ui'
