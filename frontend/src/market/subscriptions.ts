import { MODE_NUMBER, parseSymbolKey, symbolKey, type Mode, type SymbolRef } from './types'

/**
 * Reference-counted `(symbol, mode)` interest and what the server currently holds for us.
 * `diff` turns the difference into frames: one subscribe per mode, one unsubscribe carrying
 * each symbol's mode, and subscribe_orders / unsubscribe_orders.
 */
export class Subscriptions {
  /** `${mode}|${exchange}:${symbol}` -> holders. */
  private wanted = new Map<string, number>()
  /** Subscriptions the server currently holds for us. */
  private sent = new Set<string>()
  private ordersSent = false

  /** Counts one more holder of each symbol in `mode`; returns the keys to release. */
  retain(symbols: readonly SymbolRef[], mode: Mode): string[] {
    const keys = symbols.map((s) => `${MODE_NUMBER[mode]}|${symbolKey(s)}`)
    for (const k of keys) this.wanted.set(k, (this.wanted.get(k) ?? 0) + 1)
    return keys
  }

  release(keys: readonly string[]): void {
    for (const k of keys) {
      const n = (this.wanted.get(k) ?? 0) - 1
      if (n <= 0) this.wanted.delete(k)
      else this.wanted.set(k, n)
    }
  }

  refCount(symbol: SymbolRef, mode: Mode): number {
    return this.wanted.get(`${MODE_NUMBER[mode]}|${symbolKey(symbol)}`) ?? 0
  }

  get isEmpty(): boolean {
    return this.wanted.size === 0
  }

  /** Every symbol wanted in any mode, once. */
  symbols(): SymbolRef[] {
    const keys = new Set<string>()
    for (const k of this.wanted.keys()) keys.add(splitSub(k)[1])
    return [...keys].map(parseSymbolKey)
  }

  /** The server dropped everything (the socket closed). */
  reset(): void {
    this.sent.clear()
    this.ordersSent = false
  }

  clear(): void {
    this.wanted.clear()
    this.reset()
  }

  /** The frames that bring the server to what is wanted; marks them as sent. */
  diff(wantOrders: boolean): Array<Record<string, unknown>> {
    const frames: Array<Record<string, unknown>> = []
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
    for (const [mode, symbols] of add) frames.push({ action: 'subscribe', symbols, mode, depth: 5 })
    if (remove.length > 0) frames.push({ action: 'unsubscribe', symbols: remove })
    if (wantOrders && !this.ordersSent) {
      frames.push({ action: 'subscribe_orders' })
      this.ordersSent = true
    } else if (!wantOrders && this.ordersSent) {
      frames.push({ action: 'unsubscribe_orders' })
      this.ordersSent = false
    }
    return frames
  }
}

function splitSub(k: string): [number, string] {
  const i = k.indexOf('|')
  return [Number(k.slice(0, i)), k.slice(i + 1)]
}
