import { describe, expect, it } from 'vitest'
import { hasSamples, stageCurve } from './latency'

describe('latency curves', () => {
  it('a stage without samples is not drawn as zeros', () => {
    const idle = { hop: 'journal', count: 0, p50_ns: 0, p90_ns: 0, p99_ns: 0, p999_ns: 0, max_ns: 0 }
    expect(hasSamples(idle)).toBe(false)
    expect(stageCurve(idle)).toEqual([null, null, null, null, null])
  })
  it('a sampled stage plots its percentiles in microseconds', () => {
    const s = { hop: 'match', count: 10, p50_ns: 1500, p90_ns: 2000, p99_ns: 8000, p999_ns: 12000, max_ns: 40000 }
    expect(hasSamples(s)).toBe(true)
    expect(stageCurve(s)).toEqual([1.5, 2, 8, 12, 40])
  })
})
