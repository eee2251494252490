/**
 * The API key arrives once in the URL fragment (`#key=...`), is moved to sessionStorage and
 * the fragment is cleared. It never goes into a query string, a log, or localStorage.
 */
export const KEY_STORAGE = 'tickfill.apikey'

export function takeKeyFromFragment(loc: Location, hist: History, storage: Storage): string | null {
  const hash = loc.hash.startsWith('#') ? loc.hash.slice(1) : loc.hash
  if (!hash) return null
  const params = new URLSearchParams(hash)
  const key = params.get('key')
  if (key === null) return null
  params.delete('key')
  const rest = params.toString()
  hist.replaceState(hist.state, '', `${loc.pathname}${loc.search}${rest ? `#${rest}` : ''}`)
  if (key.trim() === '') return null
  storage.setItem(KEY_STORAGE, key.trim())
  return key.trim()
}

export function loadKey(storage: Storage): string | null {
  return storage.getItem(KEY_STORAGE)
}

export function saveKey(storage: Storage, key: string): void {
  storage.setItem(KEY_STORAGE, key)
}

export function clearKey(storage: Storage): void {
  storage.removeItem(KEY_STORAGE)
}
