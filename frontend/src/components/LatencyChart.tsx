import { useEffect, useRef } from 'react'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import type { LatencyStage } from '../api/types'
import { PERCENTILES, hasSamples, stageCurve } from '../lib/latency'

const COLOURS = ['#1f5fbf', '#8a4b00', '#7a1fa2', '#b3261e', '#0b6b2e', '#5b6270', '#a0306e', '#00707a']

/** The percentile placed at x (positions are floats). */
function labelAt(x: number): string {
  return PERCENTILES.find((p) => Math.abs(p.x - x) < 0.01)?.label ?? ''
}

function decades(min: number, max: number): number[] {
  const out: number[] = []
  for (let e = Math.floor(Math.log10(Math.max(min, 1e-6))); e <= Math.ceil(Math.log10(Math.max(max, 1e-6))); e++) {
    const v = 10 ** e
    if (v >= min * 0.999 && v <= max * 1.001) out.push(Number(v.toPrecision(1)))
  }
  return out
}

/** One percentile curve per stage that has samples, both axes logarithmic. */
export function LatencyChart({ stages }: { stages: readonly LatencyStage[] }) {
  const host = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const sampled = stages.filter(hasSamples)
  const empty = stages.filter((s) => !hasSamples(s)).map((s) => s.hop)
  const hopKey = sampled.map((s) => s.hop).join('|')

  useEffect(() => {
    const el = host.current
    if (!el || hopKey === '') return
    const hops = hopKey.split('|')
    const styles = getComputedStyle(document.documentElement)
    const fg = styles.getPropertyValue('--fg').trim() || '#222'
    const grid = styles.getPropertyValue('--line').trim() || '#ddd'
    const opts: uPlot.Options = {
      width: Math.max(320, el.clientWidth || 640),
      height: 300,
      scales: { x: { time: false, range: () => [0.1, 4.2] }, y: { distr: 3 } },
      axes: [
        {
          label: 'percentile',
          stroke: fg,
          grid: { stroke: grid },
          splits: () => PERCENTILES.map((p) => p.x),
          values: (_u, splits) => splits.map((v: number | null) => (v === null ? '' : labelAt(v))),
        },
        {
          label: 'latency (µs, log)',
          stroke: fg,
          grid: { stroke: grid },
          size: 80,
          // one grid line per power of ten
          splits: (_u, _i, min, max) => decades(min, max),
          values: (_u, vs) => vs.map((v: number | null) => (v === null ? '' : v >= 1 ? v.toLocaleString('en-IN') : String(v))),
        },
      ],
      series: [
        { label: 'percentile', value: (_u, v) => (v === null ? '' : labelAt(v)) },
        ...hops.map((hop, i) => ({
          label: hop,
          stroke: COLOURS[i % COLOURS.length] ?? '#444',
          width: 2,
          points: { show: true, size: 6 },
          spanGaps: false,
          value: (_u: uPlot, v: number | null) => (v === null ? '—' : `${v.toFixed(2)} µs`),
        })),
      ],
    }
    plot.current = new uPlot(opts, [[]], el)
    const onResize = () => plot.current?.setSize({ width: Math.max(320, el.clientWidth), height: 300 })
    window.addEventListener('resize', onResize)
    return () => {
      window.removeEventListener('resize', onResize)
      plot.current?.destroy()
      plot.current = null
    }
  }, [hopKey])

  useEffect(() => {
    if (!plot.current) return
    const xs = PERCENTILES.map((p) => p.x)
    plot.current.setData([xs, ...stages.filter(hasSamples).map(stageCurve)] as uPlot.AlignedData)
  }, [stages, hopKey])

  return (
    <figure className="chart-figure">
      {hopKey === '' ? (
        <p data-testid="latency-no-samples">No stage has samples yet.</p>
      ) : (
        <div
          ref={host}
          className="chart"
          role="img"
          aria-label={`Latency percentile curves per stage (log scale): ${sampled.map((s) => s.hop).join(', ')}`}
        />
      )}
      {empty.length > 0 && (
        <figcaption data-testid="stages-without-samples">No samples: {empty.join(', ')}</figcaption>
      )}
    </figure>
  )
}
