import type { LatencyStage } from '../api/types'

/**
 * The percentiles the engine reports, placed as an HDR histogram plot places them: x is
 * log10(1 / (1 - p)), so 50 % sits at 0.3, 90 % at 1, 99 % at 2, 99.9 % at 3; max at 4.
 */
export const PERCENTILES: Array<{ field: 'p50_ns' | 'p90_ns' | 'p99_ns' | 'p999_ns' | 'max_ns'; label: string; x: number }> = [
  { field: 'p50_ns', label: '50%', x: Math.log10(2) },
  { field: 'p90_ns', label: '90%', x: 1 },
  { field: 'p99_ns', label: '99%', x: 2 },
  { field: 'p999_ns', label: '99.9%', x: 3 },
  { field: 'max_ns', label: 'max', x: 4 },
]

/** A stage has samples when it counted some and reports a positive median. */
export function hasSamples(s: LatencyStage): boolean {
  return (s.count ?? 0) > 0 && (s.p50_ns ?? 0) > 0
}

/** The y values (µs) of one stage's curve; null where the engine gave no figure. */
export function stageCurve(s: LatencyStage): Array<number | null> {
  return PERCENTILES.map((p) => {
    const v = s[p.field]
    return v !== undefined && v > 0 ? v / 1000 : null
  })
}

