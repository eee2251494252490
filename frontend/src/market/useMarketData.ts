import { useEffect, useMemo, useSyncExternalStore } from 'react'
import { useMarketDataSocket } from './context'
import { parseSymbolKey, symbolKey, type MarketEntry, type Mode, type SymbolRef } from './types'
import type { MarketDataSocket, SocketStatus } from './MarketDataSocket'

export interface UseMarketDataOptions {
  symbols: readonly SymbolRef[]
  mode?: Mode
  enabled?: boolean
}

export interface UseMarketDataResult {
  /** Keyed `EXCHANGE:SYMBOL`; a new Map only when one of these symbols changed. */
  data: ReadonlyMap<string, MarketEntry>
  isConnected: boolean
  isAuthenticated: boolean
  error: string | null
  status: SocketStatus
}

/** A store over the shared socket limited to one caller's symbols. */
export function createSymbolStore(socket: MarketDataSocket, keys: readonly string[]) {
  const wanted = new Set(keys)
  let snapshot = build()
  function build(): ReadonlyMap<string, MarketEntry> {
    const m = new Map<string, MarketEntry>()
    for (const k of wanted) {
      const e = socket.getEntry(k)
      if (e) m.set(k, e)
    }
    return m
  }
  return {
    subscribe(onChange: () => void): () => void {
      return socket.subscribeData((changed) => {
        for (const k of changed) {
          if (wanted.has(k)) {
            snapshot = build()
            onChange()
            return
          }
        }
      })
    },
    getSnapshot(): ReadonlyMap<string, MarketEntry> {
      return snapshot
    },
  }
}

/**
 * Live market data for `symbols` over the one shared WebSocket (OPENALGO.md section 1).
 * Subscriptions are reference counted across callers; updates arrive at most once per frame.
 */
export function useMarketData({ symbols, mode = 'LTP', enabled = true }: UseMarketDataOptions): UseMarketDataResult {
  const socket = useMarketDataSocket()
  const signature = useMemo(() => [...new Set(symbols.map(symbolKey))].sort().join(','), [symbols])

  useEffect(() => {
    if (!enabled || signature === '') return
    const refs = signature.split(',').map(parseSymbolKey)
    return socket.retain(refs, mode)
  }, [socket, signature, mode, enabled])

  const store = useMemo(
    () => createSymbolStore(socket, signature === '' ? [] : signature.split(',')),
    [socket, signature],
  )
  const data = useSyncExternalStore(store.subscribe, store.getSnapshot)
  const status = useSyncExternalStore(socket.subscribeStatus, socket.getStatus)
  return {
    data,
    isConnected: status.isConnected,
    isAuthenticated: status.isAuthenticated,
    error: status.error,
    status,
  }
}

/** The socket's connection state alone. */
export function useSocketStatus(): SocketStatus {
  const socket = useMarketDataSocket()
  return useSyncExternalStore(socket.subscribeStatus, socket.getStatus)
}
