import { parseFrame, type ServerFrame } from './messages'
import type { StatusStore } from './status'

/** The part of the browser's WebSocket this client uses; tests inject a double. */
export interface SocketLike {
  readonly readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
  onopen: ((ev: unknown) => void) | null
  onclose: ((ev: { code: number; wasClean: boolean; reason?: string }) => void) | null
  onmessage: ((ev: { data: unknown }) => void) | null
  onerror: ((ev: unknown) => void) | null
}

export type SocketFactory = (url: string) => SocketLike

export interface TransportOptions {
  url: string
  apiKey: string | null
  socketFactory: SocketFactory
  reconnectBaseMs: number
  reconnectMaxMs: number
}

export interface TransportEvents {
  /** Whether anyone wants the socket (subscriptions or order listeners). */
  hasDemand(): boolean
  /** A checked market data or order update frame. */
  onFrame(frame: Extract<ServerFrame, { kind: 'market_data' | 'order_update' }>): void
  onAuthenticated(): void
  /** The socket is gone (closed, dropped or refused); nothing the server held is held now. */
  onClosed(): void
  /** An unexpected close: a reconnect is scheduled. */
  onLost(): void
  /** The key was refused: no reconnect until it changes. */
  onAuthFailed(): void
}

const OPEN = 1

/** Close codes after which the server asks us to come back even though the close was clean. */
const RETRYABLE_CLEAN_CODES = new Set([1001, 1012, 1013])

export function browserSocketFactory(url: string): SocketLike {
  return new WebSocket(url) as unknown as SocketLike
}

/**
 * The socket itself: connect on demand, authenticate with the key, reconnect after an unclean
 * close (or a clean 1001/1012/1013) with a delay doubling from 3 s to 30 s, stop on a refused key.
 */
export class Transport {
  private socket: SocketLike | null = null
  private intentionalClose = false
  private authFailed = false
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null
  /** Frames that failed their check, for diagnostics. */
  invalidFrames = 0

  constructor(
    private opts: TransportOptions,
    private status: StatusStore,
    private events: TransportEvents,
  ) {}

  /** Open and authenticated: frames can be sent. */
  get ready(): boolean {
    return this.socket !== null && this.socket.readyState === OPEN && this.status.get().isAuthenticated
  }

  /** Down with a reconnect scheduled. */
  get waitingToReconnect(): boolean {
    return this.socket === null && this.reconnectTimer !== null
  }

  get refused(): boolean {
    return this.authFailed
  }

  send(frame: Record<string, unknown>): void {
    this.socket?.send(JSON.stringify(frame))
  }

  ensureConnected(): void {
    if (this.socket || this.reconnectTimer !== null) return
    if (!this.opts.apiKey || this.authFailed || !this.events.hasDemand()) return
    this.connect()
  }

  setApiKey(key: string | null): void {
    if (key === this.opts.apiKey) return
    this.opts.apiKey = key
    this.authFailed = false
    this.status.patch({ error: null })
    if (this.socket) this.drop()
    this.clearReconnect()
    this.ensureConnected()
  }

  /** 3 s, 6 s, 12 s, 24 s, then 30 s. */
  reconnectDelay(attempt: number): number {
    return Math.min(this.opts.reconnectBaseMs * 2 ** attempt, this.opts.reconnectMaxMs)
  }

  dispose(): void {
    this.clearReconnect()
    if (this.socket) this.drop()
  }

  private connect(): void {
    this.reconnectTimer = null
    this.intentionalClose = false
    let ws: SocketLike
    try {
      ws = this.opts.socketFactory(this.opts.url)
    } catch (e) {
      this.status.patch({ error: `WebSocket: ${String(e)}` })
      this.scheduleReconnect()
      return
    }
    this.socket = ws
    ws.onopen = () => {
      if (this.socket !== ws) return
      this.status.patch({ isConnected: true })
      ws.send(JSON.stringify({ action: 'authenticate', api_key: this.opts.apiKey }))
    }
    ws.onmessage = (ev) => {
      if (this.socket !== ws) return
      this.handle(parseFrame(ev.data))
    }
    ws.onerror = () => {
      /* the close event that follows decides what to do */
    }
    ws.onclose = (ev) => {
      if (this.socket !== ws) return
      this.socket = null
      this.status.patch({ isConnected: false, isAuthenticated: false })
      this.events.onClosed()
      if (this.intentionalClose || this.authFailed) return
      const retry = !ev.wasClean || RETRYABLE_CLEAN_CODES.has(ev.code)
      if (retry && this.events.hasDemand()) {
        this.scheduleReconnect()
        this.events.onLost()
      }
    }
  }

  private handle(msg: ServerFrame): void {
    switch (msg.kind) {
      case 'market_data':
      case 'order_update':
        this.events.onFrame(msg)
        return
      case 'auth':
        if (msg.frame.status === 'success') {
          this.status.patch({ isAuthenticated: true, error: null, reconnectAttempt: 0 })
          this.events.onAuthenticated()
        }
        return
      case 'error': {
        const message = msg.frame.message ?? 'WebSocket error'
        this.status.patch({ error: message })
        if (msg.frame.code === 'AUTHENTICATION_ERROR') {
          this.authFailed = true
          this.events.onAuthFailed()
          this.drop()
        }
        return
      }
      case 'invalid':
        this.invalidFrames++
        return
      case 'other':
        return
    }
  }

  private drop(): void {
    const ws = this.socket
    if (!ws) return
    this.intentionalClose = true
    this.socket = null
    try {
      ws.close(1000, 'client closing')
    } catch {
      /* already closed */
    }
    this.status.patch({ isConnected: false, isAuthenticated: false })
    this.events.onClosed()
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer !== null) return
    const attempt = this.status.get().reconnectAttempt
    const delay = this.reconnectDelay(attempt)
    this.status.patch({ reconnectAttempt: attempt + 1, nextReconnectMs: delay })
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null
      this.status.patch({ nextReconnectMs: null })
      if (this.events.hasDemand() && !this.authFailed) this.connect()
    }, delay)
  }

  private clearReconnect(): void {
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer)
    this.reconnectTimer = null
    this.status.patch({ nextReconnectMs: null })
  }
}
