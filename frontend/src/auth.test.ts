import { beforeEach, describe, expect, it } from 'vitest'
import { KEY_STORAGE, takeKeyFromFragment } from './auth'
import { resolveConfig } from './config'

describe('API key from the URL fragment', () => {
  beforeEach(() => {
    window.sessionStorage.clear()
    window.history.replaceState(null, '', '/')
  })

  it('moves #key= to sessionStorage and clears the fragment', () => {
    window.history.replaceState(null, '', '/?view=orders#key=abc123')
    expect(takeKeyFromFragment(window.location, window.history, window.sessionStorage)).toBe('abc123')
    expect(window.sessionStorage.getItem(KEY_STORAGE)).toBe('abc123')
    expect(window.location.hash).toBe('')
    expect(window.location.href).not.toContain('abc123')
    expect(window.location.search).toBe('?view=orders')
  })

  it('leaves other fragments alone', () => {
    window.history.replaceState(null, '', '/#section')
    expect(takeKeyFromFragment(window.location, window.history, window.sessionStorage)).toBeNull()
    expect(window.location.hash).toBe('#section')
  })
})

describe('resolveConfig', () => {
  const loc = { protocol: 'http:', hostname: '127.0.0.1', origin: 'http://127.0.0.1:5000', search: '' }
  it('derives the socket from the page address', () => {
    expect(resolveConfig(loc)).toEqual({
      apiBase: 'http://127.0.0.1:5000',
      wsUrl: 'ws://127.0.0.1:8765',
      instrumentsUrl: 'http://127.0.0.1:5000/instruments.json',
    })
    expect(resolveConfig({ ...loc, protocol: 'https:', origin: 'https://x' }).wsUrl).toBe('wss://127.0.0.1:8765')
  })
  it('takes ?ws= and ?api= overrides, then the config object', () => {
    const c = resolveConfig({ ...loc, search: '?ws=ws%3A%2F%2Fh%3A9000&api=http%3A%2F%2Fh%3A7000%2F' })
    expect(c.wsUrl).toBe('ws://h:9000')
    expect(c.apiBase).toBe('http://h:7000')
    expect(resolveConfig(loc, { wsUrl: 'ws://o:1' }).wsUrl).toBe('ws://o:1')
  })
})
