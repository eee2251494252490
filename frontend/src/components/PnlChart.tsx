import { useEffect, useRef, useSyncExternalStore } from 'react'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { signedMoney } from '../lib/num'
import { usePnlHistoryStore, type PnlPoint } from '../lib/pnlHistory'

const clock = new Intl.DateTimeFormat('en-IN', { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false })

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback
}

function columns(points: readonly PnlPoint[]): uPlot.AlignedData {
  return [
    points.map((p) => p.t),
    points.map((p) => p.realized + p.unrealized),
    points.map((p) => p.realized),
    points.map((p) => p.unrealized),
  ]
}

/** The session's equity curve: total, realized and unrealized P&L over time. */
export function PnlChart({ theme }: { theme: string }) {
  const history = usePnlHistoryStore()
  const points = useSyncExternalStore(history.subscribe, history.getSnapshot)
  const host = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const hasPoints = points.length > 0

  useEffect(() => {
    const el = host.current
    if (!el || !hasPoints) return
    const fg = cssVar('--fg', '#222')
    const grid = cssVar('--line', '#ddd')
    const money = (_u: uPlot, v: number | null) => (v === null ? '—' : signedMoney(v))
    const opts: uPlot.Options = {
      width: Math.max(320, el.clientWidth || 640),
      height: 220,
      scales: { x: { time: true } },
      axes: [
        { stroke: fg, grid: { stroke: grid }, values: (_u, vs) => vs.map((v) => clock.format(new Date(v * 1000))) },
        { stroke: fg, grid: { stroke: grid }, size: 70, values: (_u, vs) => vs.map((v) => signedMoney(v)) },
      ],
      series: [
        {},
        { label: 'Total P&L', stroke: cssVar('--accent', '#1546a0'), width: 2, value: money },
        { label: 'Realized', stroke: cssVar('--gain', '#0b6b2e'), width: 1.5, dash: [6, 4], value: money },
        { label: 'Unrealized', stroke: cssVar('--loss', '#b3261e'), width: 1.5, dash: [2, 3], value: money },
      ],
    }
    plot.current = new uPlot(opts, columns(history.getSnapshot()), el)
    const onResize = () => plot.current?.setSize({ width: Math.max(320, el.clientWidth), height: 220 })
    window.addEventListener('resize', onResize)
    return () => {
      window.removeEventListener('resize', onResize)
      plot.current?.destroy()
      plot.current = null
    }
  }, [hasPoints, theme, history])

  useEffect(() => {
    plot.current?.setData(columns(points))
  }, [points])

  const last = points[points.length - 1]
  return (
    <figure className="pnl-chart-panel" aria-labelledby="pnl-chart-title">
      <figcaption id="pnl-chart-title">
        <strong>P&amp;L over the session</strong>{' '}
        <span className="muted">
          {last
            ? `total ${signedMoney(last.realized + last.unrealized)}, ${points.length} samples since this page opened`
            : 'no samples yet'}
        </span>
      </figcaption>
      {hasPoints && (
        <div
          ref={host}
          className="chart"
          role="img"
          data-testid="pnl-chart"
          aria-label={`Equity curve: total P&L ${last ? signedMoney(last.realized + last.unrealized) : ''}, realized and unrealized over ${points.length} samples`}
        />
      )}
    </figure>
  )
}
