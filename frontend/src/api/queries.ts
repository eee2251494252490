import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useSession } from './context'
import { loadKey } from '../auth'
import type { Funds, Health, Instrument, LatencyStage, Order, Position, Trade } from './types'

export const qk = {
  positions: ['positions'] as const,
  orders: ['orders'] as const,
  trades: ['trades'] as const,
  funds: ['funds'] as const,
  health: ['health'] as const,
  latency: ['latency'] as const,
  instruments: ['instruments'] as const,
}

function asArray<T>(v: unknown): T[] {
  return Array.isArray(v) ? (v as T[]) : []
}

export function usePositions(refetchInterval: number) {
  const { api } = useSession()
  return useQuery({
    queryKey: qk.positions,
    queryFn: async () => asArray<Position>((await api.post<{ data?: unknown }>('positionbook')).data),
    refetchInterval,
  })
}

export function useOrders() {
  const { api } = useSession()
  return useQuery({
    queryKey: qk.orders,
    queryFn: async () => {
      const r = await api.post<{ data?: { orders?: unknown } }>('orderbook')
      return asArray<Order>(r.data?.orders)
    },
    refetchInterval: 30_000,
  })
}

export function useTrades() {
  const { api } = useSession()
  return useQuery({
    queryKey: qk.trades,
    queryFn: async () => asArray<Trade>((await api.post<{ data?: unknown }>('tradebook')).data),
    refetchInterval: 30_000,
  })
}

export function useFunds() {
  const { api } = useSession()
  return useQuery({
    queryKey: qk.funds,
    queryFn: async () => (await api.post<{ data?: Funds }>('funds')).data ?? {},
    refetchInterval: 30_000,
  })
}

/** `GET /health`: the status alone without the key; the details (feed, engine) need it,
 * sent as the `X-API-KEY` header. */
export function useHealth(refetchInterval = 2000) {
  const { config } = useSession()
  return useQuery({
    queryKey: qk.health,
    queryFn: async (): Promise<Health> => {
      const key = loadKey(window.sessionStorage)
      const headers: Record<string, string> = { Accept: 'application/json' }
      if (key) headers['X-API-KEY'] = key
      const res = await fetch(`${config.apiBase}/health`, { headers })
      if (!res.ok) throw new Error(`health: HTTP ${res.status}`)
      return (await res.json()) as Health
    },
    refetchInterval,
    retry: false,
  })
}

export function useLatency(refetchInterval = 3000) {
  const { api } = useSession()
  return useQuery({
    queryKey: qk.latency,
    queryFn: async () => {
      const r = await api.post<{ data?: { stages?: unknown } }>('latency')
      return asArray<LatencyStage>(r.data?.stages).filter((s) => typeof s.hop === 'string')
    },
    refetchInterval,
    retry: false,
  })
}

export const FALLBACK_INSTRUMENTS: Instrument[] = [
  { symbol: 'SBIN', exchange: 'NSE', name: 'State Bank of India' },
  { symbol: 'RELIANCE', exchange: 'NSE', name: 'Reliance Industries' },
  { symbol: 'TCS', exchange: 'NSE', name: 'Tata Consultancy Services' },
  { symbol: 'INFY', exchange: 'NSE', name: 'Infosys' },
  { symbol: 'HDFCBANK', exchange: 'NSE', name: 'HDFC Bank' },
  { symbol: 'ICICIBANK', exchange: 'NSE', name: 'ICICI Bank' },
  { symbol: 'NIFTY29DEC26FUT', exchange: 'NFO', name: 'NIFTY Dec 2026 future' },
]

/** The instrument master: `GET /instruments.json` when the engine serves it, else a built-in list. */
export function useInstruments() {
  const { config } = useSession()
  return useQuery({
    queryKey: qk.instruments,
    queryFn: async (): Promise<Instrument[]> => {
      try {
        const res = await fetch(config.instrumentsUrl, { headers: { Accept: 'application/json' } })
        if (!res.ok) return FALLBACK_INSTRUMENTS
        const json: unknown = await res.json()
        const list = asArray<Instrument>(Array.isArray(json) ? json : (json as { data?: unknown }).data).filter(
          (i) => typeof i.symbol === 'string' && typeof i.exchange === 'string',
        )
        return list.length > 0 ? list : FALLBACK_INSTRUMENTS
      } catch {
        return FALLBACK_INSTRUMENTS
      }
    },
    staleTime: Infinity,
    retry: false,
  })
}

/** A REST action that refreshes the books afterwards. */
export function useEngineAction<V extends Record<string, unknown>>(endpoint: string) {
  const { api } = useSession()
  const qc = useQueryClient()
  return useMutation({
    mutationFn: (vars: V) => api.post<{ status: string; message?: string; orderid?: string }>(endpoint, vars),
    onSettled: () => {
      void qc.invalidateQueries({ queryKey: qk.orders })
      void qc.invalidateQueries({ queryKey: qk.positions })
      void qc.invalidateQueries({ queryKey: qk.trades })
      void qc.invalidateQueries({ queryKey: qk.funds })
    },
  })
}
