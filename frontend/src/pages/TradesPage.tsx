import { createColumnHelper, type ColumnFiltersState } from '@tanstack/react-table'
import { useCallback, useMemo, useState } from 'react'
import { useTrades } from '../api/queries'
import type { Trade } from '../api/types'
import { DataTable } from '../components/DataTable'
import { ErrorNote } from '../components/ErrorNote'
import { downloadText, toCsv } from '../lib/csv'
import { int, money, num } from '../lib/num'

const col = createColumnHelper<Trade>()

const tradePrice = (t: Trade) => num(t.average_price ?? t.price)
const tradeValue = (t: Trade) => (t.trade_value !== undefined ? num(t.trade_value) : num(t.average_price) * num(t.quantity))

const columns = [
  col.accessor((t) => t.tradeid ?? '—', { id: 'tradeid', header: 'Trade id', meta: { rowHeader: true } }),
  col.accessor('orderid', { header: 'Order id' }),
  col.accessor((t) => t.timestamp ?? '', { id: 'time', header: 'Time' }),
  col.accessor('symbol', { header: 'Symbol', filterFn: 'includesString' }),
  col.accessor('exchange', { header: 'Exchange' }),
  col.accessor('action', { header: 'Side', filterFn: 'equalsString', meta: { cellClass: (t) => (t.action === 'BUY' ? 'gain' : 'loss') } }),
  col.accessor((t) => num(t.quantity), { id: 'quantity', header: 'Quantity', cell: (c) => int(c.getValue()), meta: { numeric: true } }),
  col.accessor(tradePrice, { id: 'price', header: 'Price', cell: (c) => money(c.getValue()), meta: { numeric: true } }),
  col.accessor(tradeValue, { id: 'value', header: 'Value', cell: (c) => money(c.getValue()), meta: { numeric: true } }),
  col.accessor('product', { header: 'Product', filterFn: 'equalsString' }),
]

const CSV_HEADER = ['tradeid', 'orderid', 'timestamp', 'symbol', 'exchange', 'action', 'quantity', 'price', 'trade_value', 'product', 'strategy']

/** The trades shown (filtered and sorted) as CSV, in the tradebook's own field names. */
export function tradesCsv(trades: readonly Trade[]): string {
  return toCsv(
    CSV_HEADER,
    trades.map((t) => [
      t.tradeid ?? '',
      t.orderid,
      t.timestamp ?? '',
      t.symbol,
      t.exchange,
      t.action,
      num(t.quantity),
      tradePrice(t),
      tradeValue(t),
      t.product,
      t.strategy ?? '',
    ]),
  )
}

function TradeFilters({
  symbol,
  side,
  product,
  onChange,
}: {
  symbol: string
  side: string
  product: string
  onChange: (f: { symbol?: string; side?: string; product?: string }) => void
}) {
  return (
    <form className="inline-form filters" aria-label="Filter trades" onSubmit={(e) => e.preventDefault()}>
      <label htmlFor="trade-symbol">Symbol</label>
      <input id="trade-symbol" type="search" value={symbol} onChange={(e) => onChange({ symbol: e.target.value })} autoComplete="off" />
      <label htmlFor="trade-side">Side</label>
      <select id="trade-side" value={side} onChange={(e) => onChange({ side: e.target.value })}>
        <option value="">Any</option>
        <option>BUY</option>
        <option>SELL</option>
      </select>
      <label htmlFor="trade-product">Product</label>
      <select id="trade-product" value={product} onChange={(e) => onChange({ product: e.target.value })}>
        <option value="">Any</option>
        <option>MIS</option>
        <option>CNC</option>
        <option>NRML</option>
      </select>
    </form>
  )
}

export function TradesPage() {
  const trades = useTrades()
  const list = useMemo(() => trades.data ?? [], [trades.data])
  const [filter, setFilter] = useState({ symbol: '', side: '', product: '' })
  const [filtered, setShown] = useState<readonly Trade[]>([])
  const shown = list.length === 0 ? list : filtered
  const onRowsChange = useCallback((rows: readonly Trade[]) => setShown(rows), [])

  const columnFilters = useMemo<ColumnFiltersState>(
    () =>
      [
        { id: 'symbol', value: filter.symbol.trim() },
        { id: 'action', value: filter.side },
        { id: 'product', value: filter.product },
      ].filter((f) => f.value !== ''),
    [filter],
  )

  const exportCsv = () => {
    const day = new Date().toISOString().slice(0, 10)
    downloadText(`tickfill-trades-${day}.csv`, tradesCsv(shown))
  }

  return (
    <section aria-labelledby="trades-title">
      <div className="page-head">
        <h1 id="trades-title">Trades</h1>
        <span className="muted" data-testid="trade-count">
          {columnFilters.length > 0 ? `${shown.length} of ${list.length} trades` : `${list.length} trades`}
        </span>
        <button type="button" className="secondary" onClick={exportCsv} disabled={shown.length === 0}>
          Export CSV
        </button>
      </div>
      <ErrorNote error={trades.error} />
      <TradeFilters {...filter} onChange={(f) => setFilter((old) => ({ ...old, ...f }))} />
      {trades.isPending ? (
        <p>Loading trades…</p>
      ) : list.length === 0 ? (
        <p>No trades today.</p>
      ) : (
        <DataTable
          label="Tradebook"
          data={list}
          columns={columns}
          getRowId={(t) => t.tradeid ?? `${t.orderid}-${t.timestamp ?? ''}`}
          columnFilters={columnFilters}
          onRowsChange={onRowsChange}
        />
      )}
    </section>
  )
}
