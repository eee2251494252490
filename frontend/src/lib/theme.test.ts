import { describe, expect, it } from 'vitest'
import { initialTheme } from './theme'

const store = (v: string | null) => ({ getItem: () => v })

describe('initialTheme', () => {
  it('keeps the saved choice over the system preference', () => {
    expect(initialTheme(store('light'), true)).toBe('light')
    expect(initialTheme(store('dark'), false)).toBe('dark')
  })
  it('follows the system without a (valid) saved choice', () => {
    expect(initialTheme(store(null), true)).toBe('dark')
    expect(initialTheme(store('purple'), false)).toBe('light')
  })
})
