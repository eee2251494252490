import { Fanout } from './fanout'
import { QuotePoller, type PollQuotes } from './polling'
import { QuoteStore } from './quoteStore'
import { StatusStore, type SocketStatus } from './status'
import { Subscriptions } from './subscriptions'
import { Transport, browserSocketFactory, type SocketFactory } from './transport'
import type { MarketEntry, Mode, OrderUpdate, SymbolRef } from './types'

export type { SocketStatus } from './status'
export type { SocketFactory, SocketLike } from './transport'
export { quoteFromRest, type PolledQuote, type PollQuotes } from './polling'

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

function defaultScheduler(cb: () => void): void {
  if (typeof requestAnimationFrame === 'function') requestAnimationFrame(() => cb())
  else setTimeout(cb, 16)
}

/**
 * One shared WebSocket to the engine, put together from its parts:
 * `Transport` (connect, authenticate, reconnect), `Subscriptions` (reference counts, one frame
 * per mode), `QuotePoller` (REST multiquotes while the socket is down), `QuoteStore` (merge per
 * symbol, publish once per frame) and a fan-out of order updates.
 */
export class MarketDataSocket {
  private status = new StatusStore()
  private subs = new Subscriptions()
  private orders = new Fanout<OrderUpdate>()
  private quotes: QuoteStore
  private transport: Transport
  private poller: QuotePoller
  private subsQueued = false
  /** Ticks received over the socket, for the bench page and diagnostics. */
  ticksReceived = 0

  constructor(options: ManagerOptions) {
    this.quotes = new QuoteStore(options.scheduleFrame ?? defaultScheduler, options.now ?? (() => Date.now()))
    this.transport = new Transport(
      {
        url: options.url,
        apiKey: options.apiKey,
        socketFactory: options.socketFactory ?? browserSocketFactory,
        reconnectBaseMs: options.reconnectBaseMs ?? 3000,
        reconnectMaxMs: options.reconnectMaxMs ?? 30000,
      },
      this.status,
      {
        hasDemand: () => !this.subs.isEmpty || this.orders.size > 0,
        onFrame: (msg) => {
          if (msg.kind === 'market_data') {
            this.ticksReceived++
            const f = msg.frame
            this.quotes.stage({ symbol: f.symbol, exchange: f.exchange }, f.data, 'ws')
          } else {
            this.orders.emit(msg.frame)
          }
        },
        onAuthenticated: () => {
          this.poller.stop()
          this.queueSubs()
        },
        onClosed: () => this.subs.reset(),
        onLost: () => this.poller.start(),
        onAuthFailed: () => this.poller.stop(),
      },
    )
    this.poller = new QuotePoller(
      {
        poll: options.pollQuotes ?? null,
        intervalMs: options.pollIntervalMs ?? 3000,
        symbols: () => (this.transport.refused ? [] : this.subs.symbols()),
        isLive: () => this.status.get().isAuthenticated,
        onQuote: (ref, data) => this.quotes.stage(ref, data, 'rest'),
      },
      this.status,
    )
  }

  /** Holds `symbols` in `mode` until the returned release is called (once). */
  retain(symbols: readonly SymbolRef[], mode: Mode): () => void {
    const keys = this.subs.retain(symbols, mode)
    this.queueSubs()
    this.transport.ensureConnected()
    if (this.transport.waitingToReconnect) this.poller.start()
    let released = false
    return () => {
      if (released) return
      released = true
      this.subs.release(keys)
      this.queueSubs()
      if (this.subs.isEmpty) this.poller.stop()
    }
  }

  /** Holder count for a symbol in a mode (tests and diagnostics). */
  refCount(symbol: SymbolRef, mode: Mode): number {
    return this.subs.refCount(symbol, mode)
  }

  onOrderUpdate(listener: (u: OrderUpdate) => void): () => void {
    const off = this.orders.add(listener)
    this.queueSubs()
    this.transport.ensureConnected()
    return () => {
      off()
      this.queueSubs()
    }
  }

  subscribeData(listener: (changed: ReadonlySet<string>) => void): () => void {
    return this.quotes.subscribe(listener)
  }

  getEntry(key: string): MarketEntry | undefined {
    return this.quotes.get(key)
  }

  subscribeStatus = (listener: () => void): (() => void) => this.status.subscribe(listener)

  getStatus = (): SocketStatus => this.status.get()

  /** Frames dropped because they failed their check. */
  get invalidFrames(): number {
    return this.transport.invalidFrames
  }

  setApiKey(key: string | null): void {
    this.transport.setApiKey(key)
  }

  reconnectDelay(attempt: number): number {
    return this.transport.reconnectDelay(attempt)
  }

  /** Publishes staged updates now (the frame scheduler calls this). */
  flush(): void {
    this.quotes.flush()
  }

  dispose(): void {
    this.poller.stop()
    this.transport.dispose()
    this.subs.clear()
    this.orders.clear()
    this.quotes.clear()
    this.status.clear()
  }

  /** Sends the difference between wanted and sent once per tick of the event loop. */
  private queueSubs(): void {
    if (this.subsQueued) return
    this.subsQueued = true
    queueMicrotask(() => {
      this.subsQueued = false
      if (!this.transport.ready) return
      for (const frame of this.subs.diff(this.orders.size > 0)) this.transport.send(frame)
    })
  }
}
