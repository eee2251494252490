/** Numbers from the wire may arrive as numeric strings; anything else becomes the fallback. */
export function num(v: unknown, fallback = 0): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v)
    if (Number.isFinite(n)) return n
  }
  return fallback
}

export function optNum(v: unknown): number | null {
  const n = num(v, Number.NaN)
  return Number.isNaN(n) ? null : n
}

const fmt2 = new Intl.NumberFormat('en-IN', { minimumFractionDigits: 2, maximumFractionDigits: 2 })
const fmt0 = new Intl.NumberFormat('en-IN', { maximumFractionDigits: 0 })

export function money(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : fmt2.format(v)
}

export function signedMoney(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—'
  return (v > 0 ? '+' : '') + fmt2.format(v)
}

export function int(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : fmt0.format(v)
}

export function toneOf(v: number): 'gain' | 'loss' | 'flat' {
  return v > 0 ? 'gain' : v < 0 ? 'loss' : 'flat'
}
