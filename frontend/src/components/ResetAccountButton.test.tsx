import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react'
import type { ReactNode } from 'react'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { ApiClient } from '../api/client'
import { SessionContext } from '../api/context'
import { ResetAccountButton } from './ResetAccountButton'

function wrap(api: ApiClient) {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } })
  const config = { apiBase: 'http://t', wsUrl: 'ws://t', instrumentsUrl: 'http://t/instruments.json' }
  return ({ children }: { children: ReactNode }) => (
    <QueryClientProvider client={qc}>
      <SessionContext.Provider value={{ api, config, signOut: () => {} }}>{children}</SessionContext.Provider>
    </QueryClientProvider>
  )
}

afterEach(cleanup)

describe('ResetAccountButton', () => {
  it('asks first, and resets only on confirm', async () => {
    const post = vi.fn(async () => ({ status: 'success', data: { reset_count: 1 } }))
    render(<ResetAccountButton />, { wrapper: wrap({ post } as unknown as ApiClient) })
    fireEvent.click(screen.getByRole('button', { name: 'Reset account' }))
    expect(screen.getByText('Reset the sandbox account?')).toBeTruthy()
    fireEvent.click(screen.getByRole('button', { name: 'Cancel' }))
    expect(post).not.toHaveBeenCalled()
    fireEvent.click(screen.getByRole('button', { name: 'Reset account' }))
    const confirm = screen.getAllByRole('button', { name: 'Reset account' }).at(-1)
    if (!confirm) throw new Error('the dialog has its confirm button')
    await act(async () => {
      fireEvent.click(confirm)
    })
    expect(post).toHaveBeenCalledWith('sandbox/reset', {}, expect.anything())
  })
})
