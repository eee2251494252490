import { useState } from 'react'
import { useLatency } from '../api/queries'
import { useEngineFeed } from '../api/useEngineFeed'
import { ErrorNote } from '../components/ErrorNote'
import { DataTable } from '../components/DataTable'
import { LatencyChart } from '../components/LatencyChart'
import { hasSamples } from '../lib/latency'
import type { LatencyStage } from '../api/types'
import { createColumnHelper } from '@tanstack/react-table'
import { int, num } from '../lib/num'
import { useSocketStatus } from '../market/useMarketData'

function micros(ns: unknown): string {
  const v = num(ns, Number.NaN)
  if (Number.isNaN(v)) return '—'
  return v >= 1_000_000 ? `${(v / 1_000_000).toFixed(2)} ms` : `${(v / 1000).toFixed(2)} µs`
}

const col = createColumnHelper<LatencyStage>()
const percentile = (field: 'p50_ns' | 'p90_ns' | 'p99_ns' | 'p999_ns' | 'max_ns', header: string) =>
  col.accessor((s) => s[field], {
    id: field,
    header,
    cell: (c) => (hasSamples(c.row.original) ? micros(c.getValue()) : <span className="muted">no samples</span>),
    meta: { numeric: true },
  })
const latencyColumns = [
  col.accessor('hop', { header: 'Stage', meta: { rowHeader: true } }),
  col.accessor((s) => s.count ?? 0, { id: 'count', header: 'Count', cell: (c) => int(c.getValue()), meta: { numeric: true } }),
  percentile('p50_ns', 'p50'),
  percentile('p90_ns', 'p90'),
  percentile('p99_ns', 'p99'),
  percentile('p999_ns', 'p99.9'),
  percentile('max_ns', 'max'),
]

function LatencyTable({ stages }: { stages: readonly LatencyStage[] }) {
  return <DataTable label="Latency percentiles per stage" data={stages} columns={latencyColumns} getRowId={(s) => s.hop} />
}

/** Ticks per second from successive `feed.ticks` readings. */
function useTickRate(ticks: number | undefined, at: number): number | null {
  const [state, setState] = useState<{ ticks: number; at: number; rate: number | null } | null>(null)
  if (ticks !== undefined && (state === null || state.at !== at)) {
    const rate = state && at > state.at && ticks >= state.ticks ? ((ticks - state.ticks) * 1000) / (at - state.at) : state?.rate ?? null
    setState({ ticks, at, rate })
  }
  return state?.rate ?? null
}

export function EnginePage() {
  const { health, feed } = useEngineFeed()
  const latency = useLatency(3000)
  const socket = useSocketStatus()
  const rate = useTickRate(feed?.ticks, health.dataUpdatedAt)
  const stages = latency.data ?? []
  const age = feed?.last_data_age_ms

  return (
    <section aria-labelledby="engine-title">
      <div className="page-head">
        <h1 id="engine-title">Engine</h1>
        <span className="muted">refreshed every 2–3 s</span>
      </div>
      <ErrorNote error={health.error} />
      <dl className="stats" aria-label="Feed health">
        <div>
          <dt>Engine</dt>
          <dd data-testid="engine-healthy">
            {health.data?.engine?.healthy === undefined ? '—' : health.data.engine.healthy ? 'healthy' : 'unhealthy'}
          </dd>
        </div>
        <div>
          <dt>Feed mode</dt>
          <dd data-testid="feed-mode">{feed?.mode ?? '—'}</dd>
        </div>
        <div>
          <dt>Upstream</dt>
          <dd>
            {feed?.connected === undefined ? '—' : feed.connected ? 'connected' : 'disconnected'}
            {feed?.authenticated === false ? ', not authenticated' : ''}
          </dd>
        </div>
        <div>
          <dt>Data age</dt>
          <dd data-testid="data-age">{age === null || age === undefined ? '—' : `${(num(age) / 1000).toFixed(1)} s`}</dd>
        </div>
        <div>
          <dt>Reconnects</dt>
          <dd>{feed?.reconnects === undefined ? '—' : int(num(feed.reconnects))}</dd>
        </div>
        <div>
          <dt>Validation errors</dt>
          <dd>{feed?.validation_errors === undefined ? '—' : int(num(feed.validation_errors))}</dd>
        </div>
        <div>
          <dt>Ticks</dt>
          <dd>{feed?.ticks === undefined ? '—' : int(num(feed.ticks))}</dd>
        </div>
        <div>
          <dt>Ticks/s</dt>
          <dd data-testid="ticks-per-second">{rate === null ? '—' : rate.toFixed(1)}</dd>
        </div>
        <div>
          <dt>This page's socket</dt>
          <dd>
            {socket.isAuthenticated ? 'authenticated' : socket.isConnected ? 'connected' : 'down'}
            {socket.polling ? ', polling REST' : ''}
            {socket.nextReconnectMs !== null ? `, retry in ${socket.nextReconnectMs / 1000} s` : ''}
          </dd>
        </div>
      </dl>
      <h2>Latency per stage</h2>
      <ErrorNote error={latency.error} />
      {stages.length === 0 ? (
        <p>No latency samples yet.</p>
      ) : (
        <>
          <LatencyTable stages={stages} />
          <LatencyChart stages={stages} />
        </>
      )}
    </section>
  )
}
