import { useCallback, useState } from 'react'

export type Theme = 'light' | 'dark'
const STORAGE = 'tickfill.theme'

/** The saved choice, else the system's preference. */
export function initialTheme(storage: Pick<Storage, 'getItem'>, prefersDark: boolean): Theme {
  const saved = storage.getItem(STORAGE)
  if (saved === 'light' || saved === 'dark') return saved
  return prefersDark ? 'dark' : 'light'
}

export function applyTheme(theme: Theme): void {
  document.documentElement.dataset.theme = theme
}

function systemPrefersDark(): boolean {
  return typeof window.matchMedia === 'function' && window.matchMedia('(prefers-color-scheme: dark)').matches
}

/** Sets the theme before the first render (no flash of the other one). */
export function applyInitialTheme(): void {
  applyTheme(initialTheme(window.localStorage, systemPrefersDark()))
}

/** The light/dark theme, kept in localStorage and on `<html data-theme>`. */
export function useTheme(): [Theme, () => void] {
  const [theme, setTheme] = useState<Theme>(() => initialTheme(window.localStorage, systemPrefersDark()))
  const toggle = useCallback(() => {
    setTheme((t) => {
      const next: Theme = t === 'dark' ? 'light' : 'dark'
      window.localStorage.setItem(STORAGE, next)
      applyTheme(next)
      return next
    })
  }, [])
  return [theme, toggle]
}
