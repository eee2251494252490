import { useHealth } from './queries'

/** Whether the engine itself is on its REST fallback (from `GET /health`). */
export function useEngineFeed() {
  const health = useHealth()
  const feed = health.data?.feed
  const enginePolling = feed?.mode === 'polling' || feed?.connected === false
  return { health, feed, enginePolling }
}
