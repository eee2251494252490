import { useQueryClient } from '@tanstack/react-query'
import { useEffect } from 'react'
import { num } from '../lib/num'
import type { PnlHistory } from '../lib/pnlHistory'
import { qk } from './queries'
import { FundsSchema, PositionSchema } from './schemas'
import { z } from 'zod'

const Positions = z.array(PositionSchema)

/**
 * Samples the session's P&L whenever a positionbook or funds reply arrives (whatever page
 * asked for it): realized = today's realized, unrealized = open positions' P&L.
 */
export function usePnlRecorder(history: PnlHistory): void {
  const qc = useQueryClient()
  useEffect(() => {
    return qc.getQueryCache().subscribe((event) => {
      if (event.type !== 'updated' || event.action.type !== 'success') return
      const key = event.query.queryKey[0]
      const t = Math.floor(Date.now() / 1000)
      const data: unknown = event.query.state.data
      if (key === qk.positions[0]) {
        const rows = Positions.safeParse(data)
        if (!rows.success) return
        let realized = 0
        let unrealized = 0
        for (const p of rows.data) {
          realized += num(p.today_realized_pnl)
          unrealized += num(p.unrealized_pnl, num(p.pnl) - num(p.today_realized_pnl))
        }
        history.record({ t, realized, unrealized })
      } else if (key === qk.funds[0]) {
        const f = FundsSchema.safeParse(data)
        if (!f.success || f.data.m2mrealized === undefined || f.data.m2munrealized === undefined) return
        history.record({ t, realized: num(f.data.m2mrealized), unrealized: num(f.data.m2munrealized) })
      }
    })
  }, [qc, history])
}
