import { createContext, useContext } from 'react'
import type { Theme } from './theme'

/** The current theme, for charts that draw with the theme's colours. */
export const ThemeContext = createContext<Theme>('light')

export function useThemeName(): Theme {
  return useContext(ThemeContext)
}
