import { useCallback, useEffect, useState } from 'react'

export const ROW_HEIGHT = 30
/** Tables longer than this render only the rows in view (plus overscan). */
export const WINDOW_THRESHOLD = 150

/**
 * Row windowing for long tables: the scroll container keeps its full height through spacer
 * rows, and only the visible slice is in the DOM, so a tick re-lays out ~40 rows, not 1,000.
 */
export function useWindowedRows(count: number, overscan = 10) {
  // a callback ref kept in state: the effect below re-runs when the element mounts
  const [el, attach] = useState<HTMLDivElement | null>(null)
  const enabled = count > WINDOW_THRESHOLD
  const [range, setRange] = useState({ start: 0, end: Math.min(count, 60) })

  const update = useCallback(() => {
    if (!el) return
    const first = Math.floor(el.scrollTop / ROW_HEIGHT)
    const visible = Math.ceil(el.clientHeight / ROW_HEIGHT)
    const start = Math.max(0, first - overscan)
    const end = Math.min(count, first + visible + overscan)
    setRange((r) => (r.start === start && r.end === end ? r : { start, end }))
  }, [el, count, overscan])

  useEffect(() => {
    if (!enabled || !el) return
    el.addEventListener('scroll', update, { passive: true })
    // fires once on observe, then on every size change
    const ro = typeof ResizeObserver === 'function' ? new ResizeObserver(update) : null
    ro?.observe(el)
    return () => {
      el.removeEventListener('scroll', update)
      ro?.disconnect()
    }
  }, [enabled, el, update])

  if (!enabled) return { attach, enabled, start: 0, end: count, padTop: 0, padBottom: 0 }
  const end = Math.min(range.end, count)
  const start = Math.min(range.start, end)
  return { attach, enabled, start, end, padTop: start * ROW_HEIGHT, padBottom: (count - end) * ROW_HEIGHT }
}
