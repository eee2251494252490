import type { SocketLike } from '../market/transport'

/**
 * An in-page stand-in for the engine's WebSocket used only by the `?bench=1` page: it speaks
 * the same protocol (auth, subscribe, market_data), so the bench exercises the real client path
 * (JSON parse, per-frame batching, memoized rows) at a chosen tick rate.
 */
export class SyntheticFeedSocket implements SocketLike {
  readyState = 0
  onopen: ((ev: unknown) => void) | null = null
  onclose: ((ev: { code: number; wasClean: boolean; reason?: string }) => void) | null = null
  onmessage: ((ev: { data: unknown }) => void) | null = null
  onerror: ((ev: unknown) => void) | null = null
  private timer: ReturnType<typeof setInterval> | null = null
  private symbols: Array<{ symbol: string; exchange: string; price: number; prev: number }> = []
  private known = new Set<string>()
  private cursor = 0
  private owed = 0
  private seed = 12345
  private readonly ratePerSecond: number

  constructor(ratePerSecond: number) {
    this.ratePerSecond = ratePerSecond
    setTimeout(() => {
      this.readyState = 1
      this.onopen?.({})
    }, 0)
  }

  private rand(): number {
    // xorshift: deterministic, no ambient randomness
    let x = this.seed
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    this.seed = x >>> 0
    return this.seed / 0xffffffff
  }

  private reply(msg: unknown): void {
    this.onmessage?.({ data: JSON.stringify(msg) })
  }

  send(data: string): void {
    const msg = JSON.parse(data) as { action?: string; symbols?: Array<{ symbol: string; exchange: string }> }
    if (msg.action === 'authenticate') {
      this.reply({ type: 'auth', status: 'success', message: 'Authentication successful', broker: 'bench' })
      this.start()
    } else if (msg.action === 'subscribe') {
      for (const s of msg.symbols ?? []) {
        const k = `${s.exchange}:${s.symbol}`
        if (this.known.has(k)) continue
        this.known.add(k)
        const price = 100 + Math.round(this.rand() * 2000)
        this.symbols.push({ symbol: s.symbol, exchange: s.exchange, price, prev: price })
      }
      this.reply({ type: 'subscribe', status: 'success', subscriptions: [], message: 'Subscription processing complete' })
    }
  }

  private start(): void {
    if (this.timer) return
    const periodMs = 10
    let last = performance.now()
    this.timer = setInterval(() => {
      // owed ticks follow elapsed time, so a busy page still receives the full rate
      const now = performance.now()
      this.owed += (this.ratePerSecond * (now - last)) / 1000
      last = now
      while (this.owed >= 1 && this.symbols.length > 0) {
        this.owed -= 1
        const s = this.symbols[this.cursor % this.symbols.length]
        this.cursor++
        if (!s) continue
        s.price = Math.max(1, Math.round((s.price + (this.rand() - 0.5) * 2) * 20) / 20)
        const change = s.price - s.prev
        this.reply({
          type: 'market_data',
          symbol: s.symbol,
          exchange: s.exchange,
          mode: 2,
          data: {
            ltp: s.price,
            ltt: Date.now(),
            timestamp: Date.now(),
            close: s.prev,
            change,
            change_percent: (change / s.prev) * 100,
            bid_price: s.price - 0.05,
            ask_price: s.price + 0.05,
            bid_size: 10,
            ask_size: 12,
          },
          broker: 'bench',
        })
      }
    }, periodMs)
  }

  close(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    this.readyState = 3
    this.onclose?.({ code: 1000, wasClean: true })
  }
}
