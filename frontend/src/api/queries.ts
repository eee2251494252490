import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { getJson } from './client'
import { useSession } from './context'
import { loadKey } from '../auth'
import {
  ActionReply,
  ExpiryReply,
  FundsReply,
  HealthSchema,
  InstrumentsReply,
  LatencyReply,
  OptionChainReply,
  OrderBookReply,
  PositionBookReply,
  TradeBookReply,
} from './schemas'

export const qk = {
  positions: ['positions'] as const,
  orders: ['orders'] as const,
  trades: ['trades'] as const,
  funds: ['funds'] as const,
  health: ['health'] as const,
  latency: ['latency'] as const,
  instruments: ['instruments'] as const,
  expiries: (underlying: string, exchange: string) => ['expiries', underlying, exchange] as const,
  chain: (underlying: string, exchange: string, expiry: string, strikes: number) =>
    ['optionchain', underlying, exchange, expiry, strikes] as const,
}

export function usePositions(refetchInterval: number) {
  const { api } = useSession()
  return useQuery({
    queryKey: qk.positions,
    queryFn: () => api.post('positionbook', {}, PositionBookReply),
    refetchInterval,
  })
}

export function useOrders() {
  const { api } = useSession()
  return useQuery({ queryKey: qk.orders, queryFn: () => api.post('orderbook', {}, OrderBookReply), refetchInterval: 30_000 })
}

export function useTrades() {
  const { api } = useSession()
  return useQuery({ queryKey: qk.trades, queryFn: () => api.post('tradebook', {}, TradeBookReply), refetchInterval: 30_000 })
}

export function useFunds(refetchInterval = 30_000) {
  const { api } = useSession()
  return useQuery({ queryKey: qk.funds, queryFn: () => api.post('funds', {}, FundsReply), refetchInterval })
}

/** `GET /health`: the status alone without the key; the details (feed, engine) need it,
 * sent as the `X-API-KEY` header. */
export function useHealth(refetchInterval = 2000) {
  const { config } = useSession()
  return useQuery({
    queryKey: qk.health,
    queryFn: () => {
      const key = loadKey(window.sessionStorage)
      return getJson(`${config.apiBase}/health`, HealthSchema, 'health', key ? { 'X-API-KEY': key } : {})
    },
    refetchInterval,
    retry: false,
  })
}

export function useLatency(refetchInterval = 3000) {
  const { api } = useSession()
  return useQuery({
    queryKey: qk.latency,
    queryFn: () => api.post('latency', {}, LatencyReply),
    refetchInterval,
    retry: false,
  })
}

/**
 * The instrument master from `GET /instruments.json`. A failure is an error the pages show
 * (symbol search then works on what the user types); no built-in list stands in for it.
 */
export function useInstruments() {
  const { config } = useSession()
  return useQuery({
    queryKey: qk.instruments,
    queryFn: () => getJson(config.instrumentsUrl, InstrumentsReply, 'instrument master'),
    staleTime: Infinity,
    retry: 1,
  })
}

/** Option expiries of an underlying (`POST expiry`, instrumenttype options). */
export function useExpiries(underlying: string, exchange: string) {
  const { api } = useSession()
  return useQuery({
    queryKey: qk.expiries(underlying, exchange),
    queryFn: () => api.post('expiry', { symbol: underlying, exchange, instrumenttype: 'options' }, ExpiryReply),
    enabled: underlying !== '',
    staleTime: 60_000,
    retry: false,
    select: (r) => r.data,
  })
}

/** `POST optionchain` with greeks asked for; refreshed every 5 s. */
export function useOptionChain(underlying: string, exchange: string, expiry: string, strikes: number) {
  const { api } = useSession()
  return useQuery({
    queryKey: qk.chain(underlying, exchange, expiry, strikes),
    queryFn: () =>
      api.post(
        'optionchain',
        { underlying, exchange, expiry_date: expiry, strike_count: strikes, with_greeks: true },
        OptionChainReply,
      ),
    enabled: underlying !== '' && expiry !== '',
    refetchInterval: 5000,
    retry: false,
  })
}

/** A REST action that refreshes the books afterwards. */
export function useEngineAction<V extends Record<string, unknown>>(endpoint: string) {
  const { api } = useSession()
  const qc = useQueryClient()
  return useMutation({
    mutationFn: (vars: V) => api.post(endpoint, vars, ActionReply),
    onSettled: () => {
      void qc.invalidateQueries({ queryKey: qk.orders })
      void qc.invalidateQueries({ queryKey: qk.positions })
      void qc.invalidateQueries({ queryKey: qk.trades })
      void qc.invalidateQueries({ queryKey: qk.funds })
    },
  })
}
