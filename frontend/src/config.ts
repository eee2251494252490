/** Where the engine lives. Defaults follow the page's own address; `?ws=` / `?api=` override. */
export interface AppConfig {
  /** Origin (plus optional prefix) of the REST API; requests go to `${apiBase}/api/v1/...`. */
  apiBase: string
  wsUrl: string
  instrumentsUrl: string
}

interface LocationLike {
  protocol: string
  hostname: string
  origin: string
  search: string
}

declare global {
  interface Window {
    /** Optional deployment override, set by a script before the bundle loads. */
    TICKFILL_CONFIG?: Partial<AppConfig>
  }
}

export const DEFAULT_WS_PORT = 8765

export function resolveConfig(loc: LocationLike, override: Partial<AppConfig> = {}): AppConfig {
  const params = new URLSearchParams(loc.search)
  const wsScheme = loc.protocol === 'https:' ? 'wss:' : 'ws:'
  const host = loc.hostname.includes(':') ? `[${loc.hostname}]` : loc.hostname
  const apiBase = (params.get('api') ?? override.apiBase ?? loc.origin).replace(/\/+$/, '')
  return {
    apiBase,
    wsUrl: params.get('ws') ?? override.wsUrl ?? `${wsScheme}//${host}:${DEFAULT_WS_PORT}`,
    instrumentsUrl: override.instrumentsUrl ?? `${apiBase}/instruments.json`,
  }
}

export function browserConfig(): AppConfig {
  return resolveConfig(window.location, window.TICKFILL_CONFIG ?? {})
}
