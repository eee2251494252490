import { z } from 'zod'
import { ErrorBody } from './schemas'

const StatusError = z.looseObject({ status: z.literal('error') })

/** POST `/api/v1/<endpoint>` with the key in the JSON body (OPENALGO.md section 2). */
export class ApiError extends Error {
  readonly status: number
  /** The request field the engine's error names, if any. */
  readonly field: string | null
  /** Seconds to wait, from a 429 reply. */
  readonly retryAfter: number | null
  constructor(status: number, message: string, field: string | null = fieldFromMessage(message), retryAfter: number | null = null) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.field = field
    this.retryAfter = retryAfter
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

/**
 * The order endpoints answer validation errors in OpenAlgo's shape B, a sentence naming the
 * field ("Price must be greater than 0 for LIMIT orders") with no field key; only for those is
 * the field read from the words. Shapes A and C name it as a key (`errorFromBody`).
 */
export function fieldFromMessage(message: string): string | null {
  for (const [re, field] of FIELD_PATTERNS) if (re.test(message)) return field
  return null
}

function fallbackMessage(status: number): string {
  return status === 403 ? 'Invalid API key' : status === 429 ? 'Rate limited, try again shortly' : `HTTP ${status}`
}

/** An ApiError from an error reply in any of OpenAlgo's three shapes (OPENALGO.md 2b). */
export function errorFromBody(status: number, json: unknown): ApiError {
  const parsed = ErrorBody.safeParse(json)
  if (!parsed.success) return new ApiError(status, fallbackMessage(status), null)
  const body = parsed.data
  const retry = body.retry_after ?? null
  // Shape A {message: {field: [msgs]}} and C {message: "Validation error", errors: {...}}.
  const perField = typeof body.message === 'object' ? body.message : body.errors
  if (perField) {
    const entries = Object.entries(perField)
    const first = entries[0]
    if (first) {
      const text = entries
        .map(([f, m]) => `${f}: ${(Array.isArray(m) ? m : [m]).join(' ')}`)
        .join('; ')
      return new ApiError(status, text, first[0], retry)
    }
  }
  const text = typeof body.message === 'string' && body.message ? body.message : fallbackMessage(status)
  return new ApiError(status, text, fieldFromMessage(text), retry)
}

/** A reply that does not match what the endpoint promises. */
export class ReplyShapeError extends Error {
  constructor(endpoint: string, error: z.ZodError) {
    const issue = error.issues[0]
    const where = issue ? `${issue.path.join('.') || '(reply)'}: ${issue.message}` : 'unexpected shape'
    super(`Unexpected reply from ${endpoint}: ${where}`)
    this.name = 'ReplyShapeError'
  }
}

export interface ApiClient {
  /** The reply, checked against `schema` (and transformed by it). */
  post<S extends z.ZodType>(endpoint: string, body: Record<string, unknown>, schema: S): Promise<z.output<S>>
}

export function createApiClient(apiBase: string, getKey: () => string | null, fetchImpl: typeof fetch = fetch): ApiClient {
  return {
    async post<S extends z.ZodType>(endpoint: string, body: Record<string, unknown>, schema: S): Promise<z.output<S>> {
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
      const isError = StatusError.safeParse(json).success
      if (!res.ok || isError) throw errorFromBody(res.status, json)
      const parsed = schema.safeParse(json)
      if (!parsed.success) throw new ReplyShapeError(endpoint, parsed.error)
      return parsed.data
    },
  }
}

/** `GET` a JSON document (health, instruments), checked against `schema`. */
export async function getJson<S extends z.ZodType>(
  url: string,
  schema: S,
  what: string,
  headers: Record<string, string> = {},
): Promise<z.output<S>> {
  const res = await fetch(url, { headers: { Accept: 'application/json', ...headers } })
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status}`)
  const parsed = schema.safeParse(await res.json())
  if (!parsed.success) throw new ReplyShapeError(what, parsed.error)
  return parsed.data
}
