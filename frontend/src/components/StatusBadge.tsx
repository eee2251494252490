export type FeedState = 'live' | 'polling'

/** "Live" while the socket is authenticated and prices are fresh, else "Polling". */
export function StatusBadge({ state, detail }: { state: FeedState; detail?: string }) {
  return (
    <span className={`badge badge-${state}`} role="status" aria-live="polite" data-testid="feed-badge" title={detail}>
      {state === 'live' ? 'Live' : 'Polling'}
    </span>
  )
}

export function feedState(args: {
  isAuthenticated: boolean
  enginePolling: boolean
  symbolCount: number
  freshestAgeMs: number | null
  maxAgeMs?: number
}): FeedState {
  const { isAuthenticated, enginePolling, symbolCount, freshestAgeMs, maxAgeMs = 5000 } = args
  if (!isAuthenticated || enginePolling) return 'polling'
  if (symbolCount === 0) return 'live'
  return freshestAgeMs !== null && freshestAgeMs <= maxAgeMs ? 'live' : 'polling'
}
