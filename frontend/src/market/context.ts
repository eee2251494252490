import { createContext, useContext } from 'react'
import type { MarketDataSocket } from './MarketDataSocket'

export const MarketDataContext = createContext<MarketDataSocket | null>(null)

export function useMarketDataSocket(): MarketDataSocket {
  const m = useContext(MarketDataContext)
  if (!m) throw new Error('useMarketData needs a <MarketDataContext.Provider>')
  return m
}
