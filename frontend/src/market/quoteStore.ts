import { Fanout } from './fanout'
import { symbolKey, type MarketEntry, type QuoteData, type SymbolRef } from './types'

/**
 * The latest quote per symbol. Updates are merged per symbol as they arrive and published
 * once per animation frame; an entry that did not change keeps its identity.
 */
export class QuoteStore {
  private entries = new Map<string, MarketEntry>()
  private pending = new Map<string, MarketEntry>()
  private flushQueued = false
  private listeners = new Fanout<ReadonlySet<string>>()

  constructor(
    private scheduleFrame: (cb: () => void) => void,
    private now: () => number,
  ) {}

  get(key: string): MarketEntry | undefined {
    return this.entries.get(key)
  }

  subscribe(listener: (changed: ReadonlySet<string>) => void): () => void {
    return this.listeners.add(listener)
  }

  stage(ref: SymbolRef, data: QuoteData, source: 'ws' | 'rest'): void {
    const key = symbolKey(ref)
    const prev = this.pending.get(key) ?? this.entries.get(key)
    this.pending.set(key, {
      symbol: ref.symbol,
      exchange: ref.exchange,
      data: prev ? { ...prev.data, ...data } : data,
      lastUpdate: this.now(),
      source,
    })
    if (!this.flushQueued) {
      this.flushQueued = true
      this.scheduleFrame(() => this.flush())
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
    this.listeners.emit(changed)
  }

  clear(): void {
    this.listeners.clear()
  }
}
