import type { PolledQuote } from '../api/types'
import type { StatusStore } from './status'
import type { QuoteData, SymbolRef } from './types'

export type { PolledQuote }
export type PollQuotes = (symbols: SymbolRef[]) => Promise<PolledQuote[]>

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v)
    return Number.isFinite(n) ? n : undefined
  }
  return undefined
}

/** Maps a multiquotes `data` object onto the streamed field names. */
export function quoteFromRest(d: Record<string, unknown>): QuoteData {
  const out: QuoteData = {}
  const ltp = toNumber(d.ltp)
  if (ltp !== undefined) out.ltp = ltp
  for (const f of ['open', 'high', 'low', 'volume'] as const) {
    const v = toNumber(d[f])
    if (v !== undefined) out[f] = v
  }
  const bid = toNumber(d.bid)
  const ask = toNumber(d.ask)
  if (bid !== undefined) out.bid_price = bid
  if (ask !== undefined) out.ask_price = ask
  const prev = toNumber(d.prev_close)
  if (prev !== undefined) {
    out.close = prev
    if (ltp !== undefined) {
      out.change = ltp - prev
      out.change_percent = prev !== 0 ? ((ltp - prev) / prev) * 100 : 0
    }
  }
  return out
}

export interface PollerOptions {
  poll: PollQuotes | null
  intervalMs: number
  /** What to poll now. */
  symbols(): SymbolRef[]
  /** The socket came back: drop what a poll in flight brings. */
  isLive(): boolean
  onQuote(ref: SymbolRef, data: QuoteData): void
}

/** REST `multiquotes` every few seconds while the socket is down. */
export class QuotePoller {
  private timer: ReturnType<typeof setInterval> | null = null

  constructor(
    private opts: PollerOptions,
    private status: StatusStore,
  ) {}

  start(): void {
    if (this.timer !== null || !this.opts.poll) return
    if (this.opts.symbols().length === 0) return
    this.status.patch({ polling: true })
    void this.once()
    this.timer = setInterval(() => void this.once(), this.opts.intervalMs)
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
    this.status.patch({ polling: false })
  }

  private async once(): Promise<void> {
    const poll = this.opts.poll
    const symbols = this.opts.symbols()
    if (!poll || symbols.length === 0) return
    try {
      const results = await poll(symbols)
      if (this.opts.isLive()) return
      for (const r of results) {
        if (r.data) this.opts.onQuote({ symbol: r.symbol, exchange: r.exchange }, quoteFromRest(r.data))
      }
    } catch (e) {
      this.status.patch({ error: `Quote polling failed: ${e instanceof Error ? e.message : String(e)}` })
    }
  }
}
