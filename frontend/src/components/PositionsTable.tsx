import { memo, useMemo } from 'react'
import type { Position } from '../api/types'
import type { MarketEntry } from '../market/types'
import { int, money, signedMoney, toneOf } from '../lib/num'
import { positionView, totals, type PositionView, type Totals } from '../lib/pnl'
import { useWindowedRows } from './useWindowedRows'

interface RowProps {
  rowKey: string
  rowIndex: number
  symbol: string
  exchange: string
  product: string
  quantity: number
  averagePrice: number
  ltp: number
  pnl: number
  pnlPercent: number
  source: 'stream' | 'rest'
  onClose?: ((key: string) => void) | undefined
}

/** One position; memoized on primitive props, so a row re-renders only when its numbers change. */
const PositionRow = memo(function PositionRow(p: RowProps) {
  const tone = toneOf(p.pnl)
  return (
    <tr data-symbol={p.symbol} aria-rowindex={p.rowIndex}>
      <th scope="row">{p.symbol}</th>
      <td>{p.exchange}</td>
      <td>{p.product}</td>
      <td className="num">{int(p.quantity)}</td>
      <td className="num">{money(p.averagePrice)}</td>
      {/* keyed on the value: a new price remounts the cell and replays the highlight */}
      <td key={p.ltp} className="num flash" data-source={p.source}>
        {money(p.ltp)}
      </td>
      <td className={`num ${tone}`} data-testid="pnl">
        {signedMoney(p.pnl)}
      </td>
      <td className={`num ${tone}`}>{signedMoney(p.pnlPercent)}%</td>
      {p.onClose && (
        <td>
          <button
            type="button"
            className="small danger"
            disabled={p.quantity === 0}
            aria-label={`Close ${p.symbol} ${p.exchange} ${p.product}`}
            onClick={() => p.onClose?.(p.rowKey)}
          >
            Close
          </button>
        </td>
      )}
    </tr>
  )
})

export function usePositionViews(
  positions: readonly Position[],
  data: ReadonlyMap<string, MarketEntry>,
  now: number,
): { views: PositionView[]; totals: Totals } {
  return useMemo(() => {
    const views = positions.map((p) => positionView(p, data.get(`${p.exchange}:${p.symbol}`), now))
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

export function PositionsTable({
  views,
  onClose,
  caption = 'Open and closed positions',
}: {
  views: readonly PositionView[]
  onClose?: (key: string) => void
  caption?: string
}) {
  const { attach, enabled: windowed, start, end, padTop, padBottom } = useWindowedRows(views.length)
  const cols = onClose ? 9 : 8
  return (
    <div className={`table-wrap${windowed ? ' windowed' : ''}`} ref={attach} tabIndex={windowed ? 0 : undefined}>
      <table className="grid" aria-label={caption} aria-rowcount={views.length + 1}>
        <thead>
          <tr aria-rowindex={1}>
            <th scope="col">Symbol</th>
            <th scope="col">Exchange</th>
            <th scope="col">Product</th>
            <th scope="col" className="num">
              Quantity
            </th>
            <th scope="col" className="num">
              Average
            </th>
            <th scope="col" className="num">
              LTP
            </th>
            <th scope="col" className="num">
              P&amp;L
            </th>
            <th scope="col" className="num">
              P&amp;L %
            </th>
            {onClose && (
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {padTop > 0 && (
            <tr aria-hidden="true" className="spacer">
              <td colSpan={cols} style={{ height: padTop }} />
            </tr>
          )}
          {views.slice(start, end).map((v, i) => (
            <PositionRow
              key={v.key}
              rowKey={v.key}
              rowIndex={start + i + 2}
              symbol={v.symbol}
              exchange={v.exchange}
              product={v.product}
              quantity={v.quantity}
              averagePrice={v.averagePrice}
              ltp={v.ltp}
              pnl={Math.round(v.pnl * 100) / 100}
              pnlPercent={Math.round(v.pnlPercent * 100) / 100}
              source={v.source}
              onClose={onClose}
            />
          ))}
          {padBottom > 0 && (
            <tr aria-hidden="true" className="spacer">
              <td colSpan={cols} style={{ height: padBottom }} />
            </tr>
          )}
        </tbody>
      </table>
    </div>
  )
}
