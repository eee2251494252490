import { PingReply } from '../api/schemas'
import { useState } from 'react'
import { ApiError, createApiClient } from '../api/client'
import { useSession } from '../api/context'

/** Asks for the OpenAlgo API key and checks it with `POST /api/v1/ping`. */
export function SignInPage({ notice, onSignedIn }: { notice: string | null; onSignedIn: (key: string) => void }) {
  const { config } = useSession()
  const [key, setKey] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  const submit = async () => {
    const k = key.trim()
    if (!k) {
      setError('Enter your API key.')
      return
    }
    setBusy(true)
    setError(null)
    try {
      await createApiClient(config.apiBase, () => k).post('ping', {}, PingReply)
      onSignedIn(k)
    } catch (e) {
      if (e instanceof ApiError && e.status === 403) setError('Invalid API key. Check the key the engine printed.')
      else if (e instanceof ApiError) setError(e.message)
      else setError(`Cannot reach the engine at ${config.apiBase}.`)
    } finally {
      setBusy(false)
    }
  }

  return (
    <main id="main" className="signin">
      <h1>tickfill</h1>
      <p>Paper trading with live prices. Sign in with the API key the engine printed at start.</p>
      {notice && (
        <p className="error" role="alert">
          {notice}
        </p>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault()
          void submit()
        }}
      >
        <label htmlFor="apikey">API key</label>
        <input
          id="apikey"
          name="apikey"
          type="password"
          autoComplete="current-password"
          value={key}
          onChange={(e) => setKey(e.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'apikey-error' : undefined}
        />
        {error && (
          <p id="apikey-error" className="field-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  )
}
