import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { useEffect, useMemo, useState } from 'react'
import { ApiError, createApiClient } from './api/client'
import { SessionContext, type Session } from './api/context'
import type { AppConfig } from './config'
import { clearKey, loadKey, saveKey, takeKeyFromFragment } from './auth'
import { MarketDataSocket } from './market/MarketDataSocket'
import { MultiQuotesReply } from './api/schemas'
import { MarketDataContext } from './market/context'
import { SignInPage } from './pages/SignInPage'
import { Shell } from './Shell'

export function App({ config }: { config: AppConfig }) {
  const [apiKey, setApiKey] = useState<string | null>(
    () => takeKeyFromFragment(window.location, window.history, window.sessionStorage) ?? loadKey(window.sessionStorage),
  )
  const [notice, setNotice] = useState<string | null>(null)

  // The key lives in sessionStorage; every request reads it from there.
  const api = useMemo(() => createApiClient(config.apiBase, () => loadKey(window.sessionStorage)), [config])

  const queryClient = useMemo(() => {
    const onError = (e: unknown) => {
      if (e instanceof ApiError && e.status === 403) {
        clearKey(window.sessionStorage)
        setApiKey(null)
        setNotice('The engine refused the API key. Sign in again.')
      }
    }
    return new QueryClient({
      queryCache: new QueryCache({ onError }),
      mutationCache: new MutationCache({ onError }),
      defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false } },
    })
  }, [])

  const socket = useMemo(
    () =>
      new MarketDataSocket({
        url: config.wsUrl,
        apiKey: null,
        pollQuotes: (symbols) => api.post('multiquotes', { symbols }, MultiQuotesReply),
      }),
    [config, api],
  )
  // A sign-in link opened in a tab that already shows the app is only a fragment change.
  useEffect(() => {
    const onHash = () => {
      const key = takeKeyFromFragment(window.location, window.history, window.sessionStorage)
      if (key) {
        setNotice(null)
        setApiKey(key)
      }
    }
    window.addEventListener('hashchange', onHash)
    return () => window.removeEventListener('hashchange', onHash)
  }, [])

  useEffect(() => {
    socket.setApiKey(apiKey)
  }, [socket, apiKey])
  useEffect(() => () => socket.dispose(), [socket])

  const session: Session = useMemo(
    () => ({
      api,
      config,
      signOut: () => {
        clearKey(window.sessionStorage)
        queryClient.clear()
        setApiKey(null)
        setNotice(null)
      },
    }),
    [api, config, queryClient],
  )

  return (
    <QueryClientProvider client={queryClient}>
      <SessionContext.Provider value={session}>
        <MarketDataContext.Provider value={socket}>
          {apiKey ? (
            <Shell />
          ) : (
            <SignInPage
              notice={notice}
              onSignedIn={(key) => {
                saveKey(window.sessionStorage, key)
                setNotice(null)
                setApiKey(key)
              }}
            />
          )}
        </MarketDataContext.Provider>
      </SessionContext.Provider>
    </QueryClientProvider>
  )
}
