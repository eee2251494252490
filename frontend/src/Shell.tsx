import { Suspense, lazy, useRef, useState, type KeyboardEvent } from 'react'
import { PnlHistory, PnlHistoryContext } from './lib/pnlHistory'
import { useSession } from './api/context'
import { useOrderUpdates } from './api/useOrderUpdates'
import { usePnlRecorder } from './api/usePnlRecorder'
import { useTheme } from './lib/theme'
import { ThemeContext } from './lib/themeContext'
import { VIEWS, VIEW_LABELS, useView, type View } from './lib/view'
import { PositionsPage } from './pages/PositionsPage'
import { OrdersPage } from './pages/OrdersPage'
import { TradesPage } from './pages/TradesPage'
import { OrderTicketPage } from './pages/OrderTicketPage'
import { WatchlistPage } from './pages/WatchlistPage'

// The chart library loads only with the Engine page.
const EnginePage = lazy(() => import('./pages/EnginePage').then((m) => ({ default: m.EnginePage })))
const OptionChainPage = lazy(() => import('./pages/OptionChainPage').then((m) => ({ default: m.OptionChainPage })))

function Page({ view, go }: { view: View; go: (v: View) => void }) {
  switch (view) {
    case 'positions':
      return <PositionsPage />
    case 'orders':
      return <OrdersPage />
    case 'trades':
      return <TradesPage />
    case 'ticket':
      return <OrderTicketPage onPlaced={() => go('orders')} />
    case 'watchlist':
      return <WatchlistPage />
    case 'options':
      return (
        <Suspense fallback={<p>Loading…</p>}>
          <OptionChainPage />
        </Suspense>
      )
    case 'engine':
      return (
        <Suspense fallback={<p>Loading…</p>}>
          <EnginePage />
        </Suspense>
      )
  }
}

/** Header, main navigation and the current page. Arrow keys move along the navigation. */
export function Shell() {
  const [view, go] = useView()
  const { signOut } = useSession()
  useOrderUpdates()
  // The session's equity curve: the shell mounts once per sign-in.
  const [pnlHistory] = useState(() => new PnlHistory())
  usePnlRecorder(pnlHistory)
  const [theme, toggleTheme] = useTheme()
  const navRef = useRef<HTMLUListElement>(null)

  const onNavKey = (e: KeyboardEvent<HTMLUListElement>) => {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft' && e.key !== 'Home' && e.key !== 'End') return
    const links = [...(navRef.current?.querySelectorAll<HTMLAnchorElement>('a') ?? [])]
    const i = links.indexOf(document.activeElement as HTMLAnchorElement)
    const next =
      e.key === 'Home' ? 0 : e.key === 'End' ? links.length - 1 : (i + (e.key === 'ArrowRight' ? 1 : -1) + links.length) % links.length
    links[next]?.focus()
    e.preventDefault()
  }

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="app-header">
        <span className="brand">tickfill</span>
        <span className="mode-tag" title="Paper trading: orders never reach a broker">
          paper
        </span>
        <nav aria-label="Main">
          <ul ref={navRef} onKeyDown={onNavKey}>
            {VIEWS.map((v) => (
              <li key={v}>
                <a
                  href={`?view=${v}`}
                  aria-current={v === view ? 'page' : undefined}
                  onClick={(e) => {
                    e.preventDefault()
                    go(v)
                  }}
                >
                  {VIEW_LABELS[v]}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <button type="button" className="secondary theme-toggle" aria-pressed={theme === 'dark'} onClick={toggleTheme}>
          Dark theme
        </button>
        <button type="button" className="secondary" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <ThemeContext.Provider value={theme}>
          <PnlHistoryContext.Provider value={pnlHistory}>
            <Page view={view} go={go} />
          </PnlHistoryContext.Provider>
        </ThemeContext.Provider>
      </main>
    </>
  )
}
