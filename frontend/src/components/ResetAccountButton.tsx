import { useState } from 'react'
import { useEngineAction } from '../api/queries'
import { ConfirmDialog } from './ConfirmDialog'
import { ErrorNote } from './ErrorNote'

/**
 * The sandbox reset (OpenAlgo's reset button): POST /api/v1/sandbox/reset after a
 * confirmation. Funds go back to the starting capital; positions and holdings are
 * removed; orders and trades stay. The engine journals the reset.
 */
export function ResetAccountButton() {
  const [asking, setAsking] = useState(false)
  const reset = useEngineAction<Record<string, never>>('sandbox/reset')
  return (
    <>
      <button type="button" className="danger" onClick={() => setAsking(true)}>
        Reset account
      </button>
      <ErrorNote error={reset.error} />
      <ConfirmDialog
        open={asking}
        title="Reset the sandbox account?"
        confirmLabel="Reset account"
        busy={reset.isPending}
        onConfirm={() => reset.mutate({}, { onSettled: () => setAsking(false) })}
        onCancel={() => setAsking(false)}
      >
        <p>
          Funds go back to the starting capital, working orders are cancelled, and every position and
          holding is removed. Orders and trades stay in the books.
        </p>
      </ConfirmDialog>
    </>
  )
}
