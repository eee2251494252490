import {
  MODE_NUMBER,
  parseSymbolKey,
  symbolKey,
  type MarketEntry,
  type Mode,
  type OrderUpdate,
  type QuoteData,
  type SymbolRef,
} from './types'

/** The part of the browser's WebSocket this manager uses; tests inject a double. */
export interface SocketLike {
  readonly readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
  onopen: ((ev: unknown) => void) | null
  onclose: ((ev: { code: number; wasClean: boolean; reason?: string }) => void) | null
  onmessage: ((ev: { data: unknown }) => void) | null
  onerror: ((ev: unknown) => void) | null
}

export type SocketFactory = (url: string) => SocketLike

export interface PolledQuote {
  symbol: string
  exchange: string
  data?: Record<string, unknown>
  error?: string
}

export type PollQuotes = (symbols: SymbolRef[]) => Promise<PolledQuote[]>

export interface ManagerOptions {
  url: string
  apiKey: string | null
  socketFactory?: SocketFactory
  /** REST `multiquotes` used while the socket is down. */
  pollQuotes?: PollQuotes
  pollIntervalMs?: number
  reconnectBaseMs?: number
  reconnectMaxMs?: number
  /** Batches updates; requestAnimationFrame in the browser. */
  scheduleFrame?: (cb: () => void) => void
  now?: () => number
}

export interface SocketStatus {
  isConnected: boolean
  isAuthenticated: boolean
  error: string | null
  /** True while the REST multiquotes fallback is running. */
  polling: boolean
  reconnectAttempt: number
  /** Delay (ms) of the reconnect that is scheduled, or null. */
  nextReconnectMs: number | null
}

type DataListener = (changed: ReadonlySet<string>) => void

const OPEN = 1

/** Close codes after which the server asks us to come back even though the close was clean. */
const RETRYABLE_CLEAN_CODES = new Set([1001, 1012, 1013])

function defaultFactory(url: string): SocketLike {
  return new WebSocket(url) as unknown as SocketLike
}

function defaultScheduler(cb: () => void): void {
  if (typeof requestAnimationFrame === 'function') requestAnimationFrame(() => cb())
  else setTimeout(cb, 16)
}

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

/**
 * One shared WebSocket to the engine with reference-counted subscriptions.
 *
 * - `retain(symbols, mode)` counts interest per (symbol, mode); the first holder subscribes,
 *   the last release unsubscribes with the same mode.
 * - An unclean close reconnects after `reconnectBaseMs` (3 s), doubling up to 30 s; after
 *   re-authenticating every retained symbol is subscribed again.
 * - While the socket is down, retained symbols are polled over REST multiquotes.
 * - Incoming ticks are merged per symbol and published once per animation frame.
 */
export class MarketDataSocket {
  private opts: Required<Omit<ManagerOptions, 'pollQuotes'>> & { pollQuotes: PollQuotes | null }
  private socket: SocketLike | null = null
  private intentionalClose = false
  private authFailed = false
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null
  private pollTimer: ReturnType<typeof setInterval> | null = null
  private flushQueued = false
  private subsQueued = false

  /** `${mode}|${exchange}:${symbol}` -> holders. */
  private wanted = new Map<string, number>()
  /** Subscriptions the server currently holds for us. */
  private sent = new Set<string>()
  private orderListeners = new Set<(u: OrderUpdate) => void>()
  private ordersSent = false

  private entries = new Map<string, MarketEntry>()
  private pending = new Map<string, MarketEntry>()
  private dataListeners = new Set<DataListener>()
  private statusListeners = new Set<() => void>()
  private status: SocketStatus = {
    isConnected: false,
    isAuthenticated: false,
    error: null,
    polling: false,
    reconnectAttempt: 0,
    nextReconnectMs: null,
  }
  /** Ticks received over the socket, for the bench page and diagnostics. */
  ticksReceived = 0

  constructor(options: ManagerOptions) {
    this.opts = {
      url: options.url,
      apiKey: options.apiKey,
      socketFactory: options.socketFactory ?? defaultFactory,
      pollQuotes: options.pollQuotes ?? null,
      pollIntervalMs: options.pollIntervalMs ?? 3000,
      reconnectBaseMs: options.reconnectBaseMs ?? 3000,
      reconnectMaxMs: options.reconnectMaxMs ?? 30000,
      scheduleFrame: options.scheduleFrame ?? defaultScheduler,
      now: options.now ?? (() => Date.now()),
    }
  }

  // ---- public API -------------------------------------------------------------------

  retain(symbols: readonly SymbolRef[], mode: Mode): () => void {
    const keys = symbols.map((s) => `${MODE_NUMBER[mode]}|${symbolKey(s)}`)
    for (const k of keys) this.wanted.set(k, (this.wanted.get(k) ?? 0) + 1)
    this.queueSubs()
    this.ensureConnected()
    if (!this.status.isAuthenticated && this.socket === null && this.reconnectTimer !== null) {
      this.startPolling()
    }
    let released = false
    return () => {
      if (released) return
      released = true
      for (const k of keys) {
        const n = (this.wanted.get(k) ?? 0) - 1
        if (n <= 0) this.wanted.delete(k)
        else this.wanted.set(k, n)
      }
      this.queueSubs()
      if (this.polledSymbols().length === 0) this.stopPolling()
    }
  }

  /** Holder count for a symbol in a mode (tests and diagnostics). */
  refCount(symbol: SymbolRef, mode: Mode): number {
    return this.wanted.get(`${MODE_NUMBER[mode]}|${symbolKey(symbol)}`) ?? 0
  }

  onOrderUpdate(listener: (u: OrderUpdate) => void): () => void {
    this.orderListeners.add(listener)
    this.queueSubs()
    this.ensureConnected()
    return () => {
      this.orderListeners.delete(listener)
      this.queueSubs()
    }
  }

  subscribeData(listener: DataListener): () => void {
    this.dataListeners.add(listener)
    return () => this.dataListeners.delete(listener)
  }

  getEntry(key: string): MarketEntry | undefined {
    return this.entries.get(key)
  }

  subscribeStatus = (listener: () => void): (() => void) => {
    this.statusListeners.add(listener)
    return () => this.statusListeners.delete(listener)
  }

  getStatus = (): SocketStatus => this.status

  setApiKey(key: string | null): void {
    if (key === this.opts.apiKey) return
    this.opts.apiKey = key
    this.authFailed = false
    this.setStatus({ error: null })
    if (this.socket) this.dropSocket()
    this.clearReconnect()
    this.ensureConnected()
  }

  dispose(): void {
    this.clearReconnect()
    this.stopPolling()
    if (this.socket) this.dropSocket()
    this.wanted.clear()
    this.orderListeners.clear()
    this.dataListeners.clear()
    this.statusListeners.clear()
  }

  // ---- connection -------------------------------------------------------------------

  private hasDemand(): boolean {
    return this.wanted.size > 0 || this.orderListeners.size > 0
  }

  private ensureConnected(): void {
    if (this.socket || this.reconnectTimer !== null) return
    if (!this.opts.apiKey || this.authFailed || !this.hasDemand()) return
    this.connect()
  }

  private connect(): void {
    this.reconnectTimer = null
    this.intentionalClose = false
    let ws: SocketLike
    try {
      ws = this.opts.socketFactory(this.opts.url)
    } catch (e) {
      this.setStatus({ error: `WebSocket: ${String(e)}` })
      this.scheduleReconnect()
      return
    }
    this.socket = ws
    ws.onopen = () => {
      if (this.socket !== ws) return
      this.setStatus({ isConnected: true })
      ws.send(JSON.stringify({ action: 'authenticate', api_key: this.opts.apiKey }))
    }
    ws.onmessage = (ev) => {
      if (this.socket !== ws) return
      this.handleMessage(ev.data)
    }
    ws.onerror = () => {
      /* the close event that follows decides what to do */
    }
    ws.onclose = (ev) => {
      if (this.socket !== ws) return
      this.socket = null
      this.sent.clear()
      this.ordersSent = false
      this.setStatus({ isConnected: false, isAuthenticated: false })
      if (this.intentionalClose || this.authFailed) return
      const retry = !ev.wasClean || RETRYABLE_CLEAN_CODES.has(ev.code)
      if (retry && this.hasDemand()) {
        this.scheduleReconnect()
        this.startPolling()
      }
    }
  }

  private dropSocket(): void {
    const ws = this.socket
    if (!ws) return
    this.intentionalClose = true
    this.socket = null
    this.sent.clear()
    this.ordersSent = false
    try {
      ws.close(1000, 'client closing')
    } catch {
      /* already closed */
    }
    this.setStatus({ isConnected: false, isAuthenticated: false })
  }

  /** 3 s, 6 s, 12 s, 24 s, then 30 s. */
  reconnectDelay(attempt: number): number {
    return Math.min(this.opts.reconnectBaseMs * 2 ** attempt, this.opts.reconnectMaxMs)
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer !== null) return
    const attempt = this.status.reconnectAttempt
    const delay = this.reconnectDelay(attempt)
    this.setStatus({ reconnectAttempt: attempt + 1, nextReconnectMs: delay })
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null
      this.setStatus({ nextReconnectMs: null })
      if (this.hasDemand() && !this.authFailed) this.connect()
    }, delay)
  }

  private clearReconnect(): void {
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer)
    this.reconnectTimer = null
    if (this.status.nextReconnectMs !== null) this.setStatus({ nextReconnectMs: null })
  }

  // ---- messages ---------------------------------------------------------------------

  private handleMessage(raw: unknown): void {
    if (typeof raw !== 'string') return
    let msg: Record<string, unknown>
    try {
      msg = JSON.parse(raw) as Record<string, unknown>
    } catch {
      return
    }
    const type = msg.type
    if (type === 'market_data') {
      this.onMarketData(msg)
      return
    }
    if (type === 'order_update') {
      const u = msg as unknown as OrderUpdate
      for (const l of this.orderListeners) l(u)
      return
    }
    if (type === 'auth') {
      if (msg.status === 'success') {
        this.setStatus({ isAuthenticated: true, error: null, reconnectAttempt: 0 })
        this.stopPolling()
        this.queueSubs()
      }
      return
    }
    if (msg.status === 'error') {
      const message = typeof msg.message === 'string' ? msg.message : 'WebSocket error'
      if (msg.code === 'AUTHENTICATION_ERROR') {
        this.authFailed = true
        this.setStatus({ error: message })
        this.stopPolling()
        this.dropSocket()
      } else {
        this.setStatus({ error: message })
      }
    }
  }

  private onMarketData(msg: Record<string, unknown>): void {
    const symbol = msg.symbol
    const exchange = msg.exchange
    const data = msg.data
    if (typeof symbol !== 'string' || typeof exchange !== 'string') return
    if (typeof data !== 'object' || data === null) return
    this.ticksReceived++
    this.stage({ symbol, exchange }, data as QuoteData, 'ws')
  }

  private stage(ref: SymbolRef, data: QuoteData, source: 'ws' | 'rest'): void {
    const key = symbolKey(ref)
    const prev = this.pending.get(key) ?? this.entries.get(key)
    this.pending.set(key, {
      symbol: ref.symbol,
      exchange: ref.exchange,
      data: prev ? { ...prev.data, ...data } : data,
      lastUpdate: this.opts.now(),
      source,
    })
    if (!this.flushQueued) {
      this.flushQueued = true
      this.opts.scheduleFrame(() => this.flush())
    }
  }

  /** Publishes everything staged since the last frame in one notification. */
  flush(): void {
    this.flushQueued = false
    if (this.pending.size === 0) return
    const changed = new Set<string>()
    for (const [k, e] of this.pending) {
      this.entries.set(k, e)
      changed.add(k)
    }
    this.pending.clear()
    for (const l of this.dataListeners) l(changed)
  }

  // ---- subscriptions ----------------------------------------------------------------

  private queueSubs(): void {
    if (this.subsQueued) return
    this.subsQueued = true
    queueMicrotask(() => {
      this.subsQueued = false
      this.syncSubs()
    })
  }

  /** Sends the difference between wanted and sent, one frame per mode. */
  private syncSubs(): void {
    const ws = this.socket
    if (!ws || ws.readyState !== OPEN || !this.status.isAuthenticated) return
    const add = new Map<number, SymbolRef[]>()
    const remove: Array<SymbolRef & { mode: number }> = []
    for (const k of this.wanted.keys()) {
      if (this.sent.has(k)) continue
      const [m, key] = splitSub(k)
      const list = add.get(m) ?? []
      list.push(parseSymbolKey(key))
      add.set(m, list)
      this.sent.add(k)
    }
    for (const k of [...this.sent]) {
      if (this.wanted.has(k)) continue
      const [m, key] = splitSub(k)
      remove.push({ ...parseSymbolKey(key), mode: m })
      this.sent.delete(k)
    }
    for (const [mode, symbols] of add) {
      ws.send(JSON.stringify({ action: 'subscribe', symbols, mode, depth: 5 }))
    }
    if (remove.length > 0) ws.send(JSON.stringify({ action: 'unsubscribe', symbols: remove }))
    const wantOrders = this.orderListeners.size > 0
    if (wantOrders && !this.ordersSent) {
      ws.send(JSON.stringify({ action: 'subscribe_orders' }))
      this.ordersSent = true
    } else if (!wantOrders && this.ordersSent) {
      ws.send(JSON.stringify({ action: 'unsubscribe_orders' }))
      this.ordersSent = false
    }
  }

  // ---- REST fallback ----------------------------------------------------------------

  private polledSymbols(): SymbolRef[] {
    const keys = new Set<string>()
    for (const k of this.wanted.keys()) keys.add(splitSub(k)[1])
    return [...keys].map(parseSymbolKey)
  }

  private startPolling(): void {
    if (this.pollTimer !== null || !this.opts.pollQuotes || this.authFailed) return
    if (this.polledSymbols().length === 0) return
    this.setStatus({ polling: true })
    void this.pollOnce()
    this.pollTimer = setInterval(() => void this.pollOnce(), this.opts.pollIntervalMs)
  }

  private stopPolling(): void {
    if (this.pollTimer !== null) clearInterval(this.pollTimer)
    this.pollTimer = null
    if (this.status.polling) this.setStatus({ polling: false })
  }

  private async pollOnce(): Promise<void> {
    const poll = this.opts.pollQuotes
    const symbols = this.polledSymbols()
    if (!poll || symbols.length === 0) return
    try {
      const results = await poll(symbols)
      if (this.status.isAuthenticated) return // the socket came back meanwhile
      for (const r of results) {
        if (r.data && typeof r.symbol === 'string' && typeof r.exchange === 'string') {
          this.stage({ symbol: r.symbol, exchange: r.exchange }, quoteFromRest(r.data), 'rest')
        }
      }
    } catch (e) {
      this.setStatus({ error: `Quote polling failed: ${e instanceof Error ? e.message : String(e)}` })
    }
  }

  private setStatus(patch: Partial<SocketStatus>): void {
    let changed = false
    for (const [k, v] of Object.entries(patch)) {
      if (this.status[k as keyof SocketStatus] !== v) changed = true
    }
    if (!changed) return
    this.status = { ...this.status, ...patch }
    for (const l of this.statusListeners) l()
  }
}

function splitSub(k: string): [number, string] {
  const i = k.indexOf('|')
  return [Number(k.slice(0, i)), k.slice(i + 1)]
}
