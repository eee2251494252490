/** The connection state the pages show, written by the transport and the poller. */
export interface SocketStatus {
  isConnected: boolean
  isAuthenticated: boolean
  error: string | null
  /** True while the REST multiquotes fallback is running. */
  polling: boolean
  reconnectAttempt: number
  /** Delay (ms) of the reconnect that is scheduled, or null. */
  nextReconnectMs: number | null
}

export class StatusStore {
  private status: SocketStatus = {
    isConnected: false,
    isAuthenticated: false,
    error: null,
    polling: false,
    reconnectAttempt: 0,
    nextReconnectMs: null,
  }
  private listeners = new Set<() => void>()

  get = (): SocketStatus => this.status

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Applies `patch`; listeners hear of it only when a value changed. */
  patch(patch: Partial<SocketStatus>): void {
    let changed = false
    for (const [k, v] of Object.entries(patch)) {
      if (this.status[k as keyof SocketStatus] !== v) changed = true
    }
    if (!changed) return
    this.status = { ...this.status, ...patch }
    for (const l of this.listeners) l()
  }

  clear(): void {
    this.listeners.clear()
  }
}
