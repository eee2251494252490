import { useEffect, useRef } from 'react'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import type { LatencyStage } from '../api/types'
import { num } from '../lib/num'

const SERIES: Array<{ field: keyof LatencyStage; label: string; stroke: string }> = [
  { field: 'p50_ns', label: 'p50', stroke: '#1f5fbf' },
  { field: 'p99_ns', label: 'p99', stroke: '#8a4b00' },
  { field: 'p999_ns', label: 'p99.9', stroke: '#7a1fa2' },
  { field: 'max_ns', label: 'max', stroke: '#b3261e' },
]

/** Per-stage percentiles in microseconds on a log scale; the table beside it carries the same figures. */
export function LatencyChart({ stages }: { stages: readonly LatencyStage[] }) {
  const host = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const hops = stages.map((s) => s.hop)
  const hopKey = hops.join('|')

  useEffect(() => {
    const el = host.current
    if (!el) return
    const labels = hopKey.split('|')
    const opts: uPlot.Options = {
      width: Math.max(320, el.clientWidth || 640),
      height: 260,
      scales: { x: { time: false, range: (_u, min, max) => [min - 0.5, max + 0.5] }, y: { distr: 3 } },
      axes: [
        {
          splits: () => labels.map((_, i) => i),
          values: (_u, splits) => splits.map((v) => labels[v] ?? ''),
          stroke: '#222',
          grid: { show: false },
        },
        { label: 'µs', stroke: '#222' },
      ],
      series: [
        { label: 'stage', value: (_u, v) => (v === null ? '' : (labels[v] ?? '')) },
        ...SERIES.map((s) => ({
          label: s.label,
          stroke: s.stroke,
          width: 2,
          points: { show: true, size: 7 },
          value: (_u: uPlot, v: number | null) => (v === null ? '—' : `${v.toFixed(2)} µs`),
        })),
      ],
    }
    plot.current = new uPlot(opts, [[]], el)
    const onResize = () => plot.current?.setSize({ width: Math.max(320, el.clientWidth), height: 260 })
    window.addEventListener('resize', onResize)
    return () => {
      window.removeEventListener('resize', onResize)
      plot.current?.destroy()
      plot.current = null
    }
  }, [hopKey])

  useEffect(() => {
    const xs = stages.map((_, i) => i)
    const ys = SERIES.map((s) => stages.map((st) => Math.max(num(st[s.field]) / 1000, 0.001)))
    plot.current?.setData([xs, ...ys] as uPlot.AlignedData)
  }, [stages, hopKey])

  return <div ref={host} className="chart" role="img" aria-label={`Latency percentiles per stage: ${hops.join(', ')}`} />
}
