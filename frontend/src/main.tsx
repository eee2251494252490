import { StrictMode, Suspense, lazy } from 'react'
import { createRoot } from 'react-dom/client'
import './styles.css'
import { App } from './App'
import { browserConfig } from './config'
import { applyInitialTheme } from './lib/theme'

applyInitialTheme()

const BenchPage = lazy(() => import('./bench/BenchPage'))

const host = document.getElementById('root')
if (!host) throw new Error('missing #root')
const root = createRoot(host)
const params = new URLSearchParams(window.location.search)

root.render(
  <StrictMode>
    {params.get('bench') === '1' ? (
      <Suspense fallback={<p>Loading bench…</p>}>
        <BenchPage />
      </Suspense>
    ) : (
      <App config={browserConfig()} />
    )}
  </StrictMode>,
)
