import { createContext, useContext } from 'react'
import type { ApiClient } from './client'
import type { AppConfig } from '../config'

export interface Session {
  api: ApiClient
  config: AppConfig
  signOut: () => void
}

export const SessionContext = createContext<Session | null>(null)

export function useSession(): Session {
  const s = useContext(SessionContext)
  if (!s) throw new Error('no session')
  return s
}
