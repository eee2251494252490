import { memo } from 'react'
import type { MarketEntry, SymbolRef } from '../market/types'
import { money, signedMoney, toneOf } from '../lib/num'
import { useWindowedRows } from './useWindowedRows'

interface RowProps {
  symbol: string
  exchange: string
  rowIndex: number
  ltp: number | undefined
  change: number | undefined
  changePercent: number | undefined
  bid: number | undefined
  ask: number | undefined
  selected: boolean
  onSelect?: ((s: SymbolRef) => void) | undefined
  onRemove?: ((s: SymbolRef) => void) | undefined
}

const QuoteRow = memo(function QuoteRow(p: RowProps) {
  const tone = toneOf(p.change ?? 0)
  return (
    <tr aria-selected={p.onSelect ? p.selected : undefined} data-symbol={p.symbol} aria-rowindex={p.rowIndex}>
      <th scope="row">
        {p.onSelect ? (
          <button
            type="button"
            className="link"
            aria-pressed={p.selected}
            onClick={() => p.onSelect?.({ symbol: p.symbol, exchange: p.exchange })}
          >
            {p.symbol}
          </button>
        ) : (
          p.symbol
        )}
      </th>
      <td>{p.exchange}</td>
      <td key={p.ltp} className="num flash">
        {money(p.ltp)}
      </td>
      <td className={`num ${tone}`}>{signedMoney(p.change)}</td>
      <td className={`num ${tone}`}>{p.changePercent === undefined ? '—' : `${signedMoney(p.changePercent)}%`}</td>
      <td className="num">{money(p.bid)}</td>
      <td className="num">{money(p.ask)}</td>
      {p.onRemove && (
        <td>
          <button
            type="button"
            className="small secondary"
            aria-label={`Remove ${p.symbol} from the watchlist`}
            onClick={() => p.onRemove?.({ symbol: p.symbol, exchange: p.exchange })}
          >
            Remove
          </button>
        </td>
      )}
    </tr>
  )
})

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
  const { attach, enabled: windowed, start, end, padTop, padBottom } = useWindowedRows(symbols.length)
  const cols = onRemove ? 8 : 7
  return (
    <div className={`table-wrap${windowed ? ' windowed' : ''}`} ref={attach} tabIndex={windowed ? 0 : undefined}>
      <table className="grid" aria-label="Watchlist quotes" aria-rowcount={symbols.length + 1}>
        <thead>
          <tr aria-rowindex={1}>
            <th scope="col">Symbol</th>
            <th scope="col">Exchange</th>
            <th scope="col" className="num">LTP</th>
            <th scope="col" className="num">Change</th>
            <th scope="col" className="num">Change %</th>
            <th scope="col" className="num">Bid</th>
            <th scope="col" className="num">Ask</th>
            {onRemove && (
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
          {symbols.slice(start, end).map((s, i) => {
            const key = `${s.exchange}:${s.symbol}`
            const d = data.get(key)?.data
            return (
              <QuoteRow
                key={key}
                symbol={s.symbol}
                exchange={s.exchange}
                rowIndex={start + i + 2}
                ltp={d?.ltp}
                change={d?.change}
                changePercent={d?.change_percent}
                bid={d?.bid_price ?? d?.depth?.buy[0]?.price}
                ask={d?.ask_price ?? d?.depth?.sell[0]?.price}
                selected={selected === key}
                onSelect={onSelect}
                onRemove={onRemove}
              />
            )
          })}
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
