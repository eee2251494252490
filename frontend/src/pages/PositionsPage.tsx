import { Suspense, lazy, useCallback, useEffect, useMemo, useState } from 'react'
import { usePositions, useEngineAction } from '../api/queries'
import { STRATEGY, type Position } from '../api/types'
import { useEngineFeed } from '../api/useEngineFeed'
import { ConfirmDialog } from '../components/ConfirmDialog'
import { ErrorNote } from '../components/ErrorNote'
import { PositionsTable, TotalsBar, usePositionViews } from '../components/PositionsTable'
import { ResetAccountButton } from '../components/ResetAccountButton'
import { StatusBadge, feedState } from '../components/StatusBadge'
import { num } from '../lib/num'
import { freshestAge } from '../lib/pnl'
import { useNow } from '../lib/view'
import { useMarketData } from '../market/useMarketData'
import { usePnlHistoryStore } from '../lib/pnlHistory'
import { useThemeName } from '../lib/themeContext'

// The chart library loads after the table.
const PnlChart = lazy(() => import('../components/PnlChart').then((m) => ({ default: m.PnlChart })))

export const REFRESH_LIVE_MS = 30_000
export const REFRESH_FALLBACK_MS = 10_000

type Pending = { kind: 'one'; position: Position } | { kind: 'all' } | null

export function PositionsPage() {
  const [live, setLive] = useState(true)
  const positionsQuery = usePositions(live ? REFRESH_LIVE_MS : REFRESH_FALLBACK_MS)
  const positions = useMemo(() => positionsQuery.data ?? [], [positionsQuery.data])
  const symbols = useMemo(() => positions.map((p) => ({ symbol: p.symbol, exchange: p.exchange })), [positions])
  const { data, isAuthenticated, error } = useMarketData({ symbols, mode: 'LTP', enabled: true })
  const { enginePolling } = useEngineFeed()
  const now = useNow(1000)
  const { views, totals } = usePositionViews(positions, data, now)
  const history = usePnlHistoryStore()
  const theme = useThemeName()
  // The stream-priced totals, once a second, on the session's equity curve.
  useEffect(() => {
    if (positionsQuery.isSuccess) history.record({ t: Math.floor(now / 1000), realized: totals.realized, unrealized: totals.open })
  }, [history, now, totals, positionsQuery.isSuccess])

  const state = feedState({
    isAuthenticated,
    enginePolling,
    symbolCount: symbols.length,
    freshestAgeMs: freshestAge(data.values(), now),
  })
  if ((state === 'live') !== live) setLive(state === 'live')

  const [pending, setPending] = useState<Pending>(null)
  const placeOrder = useEngineAction<Record<string, unknown>>('placeorder')
  const closeAll = useEngineAction<Record<string, unknown>>('closeposition')

  const onClose = useCallback(
    (key: string) => {
      const p = positions.find((x) => `${x.exchange}:${x.symbol}:${x.product}` === key)
      if (p) setPending({ kind: 'one', position: p })
    },
    [positions],
  )

  const confirm = () => {
    if (!pending) return
    if (pending.kind === 'all') {
      closeAll.mutate({ strategy: STRATEGY }, { onSettled: () => setPending(null) })
      return
    }
    const p = pending.position
    const qty = num(p.quantity)
    placeOrder.mutate(
      {
        strategy: STRATEGY,
        symbol: p.symbol,
        exchange: p.exchange,
        action: qty > 0 ? 'SELL' : 'BUY',
        quantity: Math.abs(qty),
        pricetype: 'MARKET',
        product: p.product,
      },
      { onSettled: () => setPending(null) },
    )
  }

  const openCount = views.filter((v) => v.quantity !== 0).length

  return (
    <section aria-labelledby="positions-title">
      <div className="page-head">
        <h1 id="positions-title">Positions</h1>
        <StatusBadge
          state={state}
          detail={state === 'live' ? 'Streaming prices' : `REST refresh every ${REFRESH_FALLBACK_MS / 1000} s`}
        />
        <button
          type="button"
          className="danger"
          disabled={openCount === 0}
          onClick={() => setPending({ kind: 'all' })}
        >
          Close all
        </button>
        <ResetAccountButton />
      </div>
      <TotalsBar totals={totals} />
      <Suspense fallback={<p className="muted">Loading chart…</p>}>
        <PnlChart theme={theme} />
      </Suspense>
      <ErrorNote error={positionsQuery.error ?? (error ? new Error(error) : null)} />
      <ErrorNote error={placeOrder.error ?? closeAll.error} />
      {positionsQuery.isPending ? (
        <p>Loading positions…</p>
      ) : views.length === 0 ? (
        <p>No positions yet. Place an order from the order ticket.</p>
      ) : (
        <PositionsTable views={views} onClose={onClose} />
      )}
      <ConfirmDialog
        open={pending !== null}
        title={pending?.kind === 'all' ? 'Close all positions?' : `Close ${pending?.kind === 'one' ? pending.position.symbol : ''}?`}
        confirmLabel={pending?.kind === 'all' ? 'Close all' : 'Close position'}
        busy={placeOrder.isPending || closeAll.isPending}
        onConfirm={confirm}
        onCancel={() => setPending(null)}
      >
        {pending?.kind === 'one' ? (
          <p>
            A MARKET order to {num(pending.position.quantity) > 0 ? 'sell' : 'buy'} {Math.abs(num(pending.position.quantity))}{' '}
            {pending.position.symbol} ({pending.position.product}) will be placed.
          </p>
        ) : (
          <p>Every open position will be closed at market.</p>
        )}
      </ConfirmDialog>
    </section>
  )
}
