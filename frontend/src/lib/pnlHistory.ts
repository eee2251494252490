import { createContext, useContext } from 'react'

/** One sample of the session's P&L (rupees) at `t` (epoch seconds). */
export interface PnlPoint {
  t: number
  realized: number
  unrealized: number
}

/** Samples kept; at one a second that is over an hour and a half of session. */
export const MAX_POINTS = 6000
/** An unchanged P&L is still sampled this often (s), so the curve reaches the present. */
export const HEARTBEAT_S = 10

/**
 * The session's equity curve, sampled in the browser from what the engine reports
 * (positionbook and funds replies, and the Positions page's stream-priced totals).
 * A sample equal to the last one within the heartbeat is skipped.
 */
export class PnlHistory {
  private points: readonly PnlPoint[] = []
  private listeners = new Set<() => void>()

  record(p: PnlPoint): void {
    if (!Number.isFinite(p.realized) || !Number.isFinite(p.unrealized)) return
    const last = this.points[this.points.length - 1]
    if (last) {
      if (p.t < last.t) return
      const same = Math.abs(last.realized - p.realized) < 0.005 && Math.abs(last.unrealized - p.unrealized) < 0.005
      if (same && p.t - last.t < HEARTBEAT_S) return
      if (p.t === last.t) {
        this.points = [...this.points.slice(0, -1), p]
        this.emit()
        return
      }
    }
    const next = [...this.points, p]
    this.points = next.length > MAX_POINTS ? next.slice(next.length - MAX_POINTS) : next
    this.emit()
  }

  subscribe = (l: () => void): (() => void) => {
    this.listeners.add(l)
    return () => this.listeners.delete(l)
  }

  getSnapshot = (): readonly PnlPoint[] => this.points

  clear(): void {
    this.points = []
    this.emit()
  }

  private emit(): void {
    for (const l of this.listeners) l()
  }
}

export const PnlHistoryContext = createContext<PnlHistory | null>(null)

export function usePnlHistoryStore(): PnlHistory {
  const h = useContext(PnlHistoryContext)
  if (!h) throw new Error('no <PnlHistoryContext.Provider>')
  return h
}
