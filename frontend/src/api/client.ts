/** POST `/api/v1/<endpoint>` with the key in the JSON body (OPENALGO.md section 2). */
export class ApiError extends Error {
  readonly status: number
  /** The request field the engine's message names, if any. */
  readonly field: string | null
  constructor(status: number, message: string) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.field = fieldFromMessage(message)
  }
}

const FIELD_PATTERNS: Array<[RegExp, string]> = [
  [/trigger/i, 'trigger_price'],
  [/price\s*type|pricetype/i, 'pricetype'],
  [/quantity|lot size/i, 'quantity'],
  [/product|\b(NRML|CNC|MIS)\b/, 'product'],
  [/symbol/i, 'symbol'],
  [/exchange/i, 'exchange'],
  [/price/i, 'price'],
  [/\baction\b/i, 'action'],
  [/strategy/i, 'strategy'],
]

/** The engine's validation messages name the offending field; find which one. */
export function fieldFromMessage(message: string): string | null {
  for (const [re, field] of FIELD_PATTERNS) if (re.test(message)) return field
  return null
}

export interface ApiClient {
  post<T>(endpoint: string, body?: Record<string, unknown>): Promise<T>
}

export function createApiClient(apiBase: string, getKey: () => string | null, fetchImpl: typeof fetch = fetch): ApiClient {
  return {
    async post<T>(endpoint: string, body: Record<string, unknown> = {}): Promise<T> {
      const res = await fetchImpl(`${apiBase}/api/v1/${endpoint}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ ...body, apikey: getKey() ?? '' }),
      })
      let json: unknown = null
      try {
        json = await res.json()
      } catch {
        /* not JSON */
      }
      const obj = (json ?? {}) as { status?: string; message?: string }
      if (!res.ok || obj.status === 'error') {
        const fallback =
          res.status === 403 ? 'Invalid API key' : res.status === 429 ? 'Rate limited, try again shortly' : `HTTP ${res.status}`
        throw new ApiError(res.status, typeof obj.message === 'string' && obj.message ? obj.message : fallback)
      }
      return json as T
    },
  }
}
