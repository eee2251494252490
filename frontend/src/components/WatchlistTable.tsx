import { createColumnHelper } from '@tanstack/react-table'
import { useMemo } from 'react'
import type { MarketEntry, SymbolRef } from '../market/types'
import { money, signedMoney, toneOf } from '../lib/num'
import { DataTable } from './DataTable'

interface QuoteRow {
  key: string
  symbol: string
  exchange: string
  ltp: number | undefined
  change: number | undefined
  changePercent: number | undefined
  bid: number | undefined
  ask: number | undefined
}

/** Entries are immutable, so a row built from one can be reused while the entry is current. */
const byEntry = new WeakMap<MarketEntry, QuoteRow>()

/** One row per watched symbol; a symbol whose quote did not change keeps its row object. */
function useQuoteRows(symbols: readonly SymbolRef[], data: ReadonlyMap<string, MarketEntry>): QuoteRow[] {
  return useMemo(
    () =>
      symbols.map((s) => {
        const key = `${s.exchange}:${s.symbol}`
        const entry = data.get(key)
        const cached = entry ? byEntry.get(entry) : undefined
        if (cached) return cached
        const d = entry?.data
        const row: QuoteRow = {
          key,
          symbol: s.symbol,
          exchange: s.exchange,
          ltp: d?.ltp,
          change: d?.change,
          changePercent: d?.change_percent,
          bid: d?.bid_price ?? d?.depth?.buy[0]?.price,
          ask: d?.ask_price ?? d?.depth?.sell[0]?.price,
        }
        if (entry) byEntry.set(entry, row)
        return row
      }),
    [symbols, data],
  )
}

const col = createColumnHelper<QuoteRow>()

export function WatchlistTable({
  symbols,
  data,
  selected,
  onSelect,
  onRemove,
}: {
  symbols: readonly SymbolRef[]
  data: ReadonlyMap<string, MarketEntry>
  selected?: string
  onSelect?: (s: SymbolRef) => void
  onRemove?: (s: SymbolRef) => void
}) {
  const rows = useQuoteRows(symbols, data)
  const columns = useMemo(() => {
    const cols = [
      col.accessor('symbol', {
        header: 'Symbol',
        meta: { rowHeader: true },
        cell: (c) => {
          const r = c.row.original
          return onSelect ? (
            <button type="button" className="link" aria-pressed={selected === r.key} onClick={() => onSelect(r)}>
              {r.symbol}
            </button>
          ) : (
            r.symbol
          )
        },
      }),
      col.accessor('exchange', { header: 'Exchange' }),
      col.accessor('ltp', { header: 'LTP', cell: (c) => money(c.getValue()), meta: { numeric: true, flash: (r) => r.ltp } }),
      col.accessor('change', {
        header: 'Change',
        cell: (c) => signedMoney(c.getValue()),
        meta: { numeric: true, cellClass: (r) => toneOf(r.change ?? 0) },
      }),
      col.accessor('changePercent', {
        header: 'Change %',
        cell: (c) => (c.getValue() === undefined ? '—' : `${signedMoney(c.getValue())}%`),
        meta: { numeric: true, cellClass: (r) => toneOf(r.change ?? 0) },
      }),
      col.accessor('bid', { header: 'Bid', cell: (c) => money(c.getValue()), meta: { numeric: true } }),
      col.accessor('ask', { header: 'Ask', cell: (c) => money(c.getValue()), meta: { numeric: true } }),
    ]
    if (!onRemove) return cols
    return [
      ...cols,
      col.display({
        id: 'actions',
        header: () => <span className="visually-hidden">Actions</span>,
        cell: (c) => (
          <button
            type="button"
            className="small secondary"
            aria-label={`Remove ${c.row.original.symbol} from the watchlist`}
            onClick={() => onRemove(c.row.original)}
          >
            Remove
          </button>
        ),
      }),
    ]
  }, [onSelect, onRemove, selected])
  const rowProps = useMemo(
    () => (r: QuoteRow) => ({
      'data-symbol': r.symbol,
      ...(onSelect ? { 'aria-selected': selected === r.key } : {}),
    }),
    [onSelect, selected],
  )
  return <DataTable label="Watchlist quotes" data={rows} columns={columns} getRowId={(r) => r.key} rowProps={rowProps} />
}
