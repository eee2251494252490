import { createColumnHelper } from '@tanstack/react-table'
import { useMemo } from 'react'
import type { Position } from '../api/types'
import type { MarketEntry } from '../market/types'
import { int, money, signedMoney, toneOf } from '../lib/num'
import { positionView, totals, type PositionView, type Totals } from '../lib/pnl'
import { DataTable } from './DataTable'

function sameView(a: PositionView, b: PositionView): boolean {
  return (Object.keys(a) as Array<keyof PositionView>).every((k) => a[k] === b[k])
}

/** The last view per position key: an equal view is returned as the same object (identity cache only). */
const lastView = new Map<string, PositionView>()

/**
 * Position rows priced from the stream; a row whose figures did not change keeps its object,
 * so the table re-renders only the rows a tick moved.
 */
export function usePositionViews(
  positions: readonly Position[],
  data: ReadonlyMap<string, MarketEntry>,
  now: number,
): { views: PositionView[]; totals: Totals } {
  return useMemo(() => {
    const views = positions.map((p) => {
      const v = positionView(p, data.get(`${p.exchange}:${p.symbol}`), now)
      v.pnl = Math.round(v.pnl * 100) / 100
      v.pnlPercent = Math.round(v.pnlPercent * 100) / 100
      const old = lastView.get(v.key)
      if (old && sameView(old, v)) return old
      lastView.set(v.key, v)
      return v
    })
    return { views, totals: totals(views) }
  }, [positions, data, now])
}

export function TotalsBar({ totals: t }: { totals: Totals }) {
  return (
    <dl className="totals" aria-label="Totals">
      <div>
        <dt>Open P&amp;L</dt>
        <dd className={toneOf(t.open)} data-testid="total-open">
          {signedMoney(t.open)}
        </dd>
      </div>
      <div>
        <dt>Realized P&amp;L</dt>
        <dd className={toneOf(t.realized)} data-testid="total-realized">
          {signedMoney(t.realized)}
        </dd>
      </div>
      <div>
        <dt>Total P&amp;L</dt>
        <dd className={toneOf(t.total)} data-testid="total-pnl">
          {signedMoney(t.total)}
        </dd>
      </div>
    </dl>
  )
}

const col = createColumnHelper<PositionView>()

function positionColumns(onClose?: (key: string) => void) {
  const cols = [
    col.accessor('symbol', { header: 'Symbol', meta: { rowHeader: true } }),
    col.accessor('exchange', { header: 'Exchange' }),
    col.accessor('product', { header: 'Product' }),
    col.accessor('quantity', { header: 'Quantity', cell: (c) => int(c.getValue()), meta: { numeric: true } }),
    col.accessor('averagePrice', { header: 'Average', cell: (c) => money(c.getValue()), meta: { numeric: true } }),
    col.accessor('ltp', {
      header: 'LTP',
      cell: (c) => <span data-source={c.row.original.source}>{money(c.getValue())}</span>,
      meta: { numeric: true, flash: (v) => v.ltp },
    }),
    col.accessor('pnl', {
      header: 'P&L',
      cell: (c) => signedMoney(c.getValue()),
      meta: { numeric: true, cellClass: (v) => toneOf(v.pnl), testId: 'pnl' },
    }),
    col.accessor('pnlPercent', {
      header: 'P&L %',
      cell: (c) => `${signedMoney(c.getValue())}%`,
      meta: { numeric: true, cellClass: (v) => toneOf(v.pnl) },
    }),
  ]
  if (!onClose) return cols
  return [
    ...cols,
    col.display({
      id: 'actions',
      header: () => <span className="visually-hidden">Actions</span>,
      cell: (c) => {
        const v = c.row.original
        return (
          <button
            type="button"
            className="small danger"
            disabled={v.quantity === 0}
            aria-label={`Close ${v.symbol} ${v.exchange} ${v.product}`}
            onClick={() => onClose(v.key)}
          >
            Close
          </button>
        )
      },
    }),
  ]
}

const rowProps = (v: PositionView) => ({ 'data-symbol': v.symbol })

export function PositionsTable({
  views,
  onClose,
  caption = 'Open and closed positions',
}: {
  views: readonly PositionView[]
  onClose?: (key: string) => void
  caption?: string
}) {
  const columns = useMemo(() => positionColumns(onClose), [onClose])
  return <DataTable label={caption} data={views} columns={columns} getRowId={(v) => v.key} rowProps={rowProps} />
}
