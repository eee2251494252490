import { describe, expect, it } from 'vitest'
import { HEARTBEAT_S, MAX_POINTS, PnlHistory } from './pnlHistory'

describe('PnlHistory', () => {
  it('records changes, skips repeats inside the heartbeat, keeps one point per second', () => {
    const h = new PnlHistory()
    let heard = 0
    h.subscribe(() => heard++)
    h.record({ t: 100, realized: 0, unrealized: 5 })
    h.record({ t: 101, realized: 0, unrealized: 5 }) // same, skipped
    h.record({ t: 102, realized: 0, unrealized: 7.5 })
    h.record({ t: 102, realized: 1, unrealized: 7.5 }) // same second: replaces
    h.record({ t: 102 + HEARTBEAT_S, realized: 1, unrealized: 7.5 }) // heartbeat
    h.record({ t: 50, realized: 9, unrealized: 9 }) // out of order, dropped
    expect(h.getSnapshot()).toEqual([
      { t: 100, realized: 0, unrealized: 5 },
      { t: 102, realized: 1, unrealized: 7.5 },
      { t: 102 + HEARTBEAT_S, realized: 1, unrealized: 7.5 },
    ])
    expect(heard).toBe(4)
  })

  it('keeps the newest MAX_POINTS samples', () => {
    const h = new PnlHistory()
    for (let i = 0; i < MAX_POINTS + 5; i++) h.record({ t: i, realized: i, unrealized: 0 })
    const pts = h.getSnapshot()
    expect(pts).toHaveLength(MAX_POINTS)
    expect(pts[0]?.t).toBe(5)
  })
})
