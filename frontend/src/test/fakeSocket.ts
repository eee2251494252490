import type { SocketLike } from '../market/transport'

/** A test double of the browser WebSocket: records frames, lets the test play the server. */
export class FakeSocket implements SocketLike {
  static all: FakeSocket[] = []
  readyState = 0
  sent: Array<Record<string, unknown>> = []
  onopen: ((ev: unknown) => void) | null = null
  onclose: ((ev: { code: number; wasClean: boolean; reason?: string }) => void) | null = null
  onmessage: ((ev: { data: unknown }) => void) | null = null
  onerror: ((ev: unknown) => void) | null = null
  readonly url: string

  constructor(url: string) {
    this.url = url
    FakeSocket.all.push(this)
  }

  static factory = (url: string): SocketLike => new FakeSocket(url)

  static latest(): FakeSocket {
    const s = FakeSocket.all[FakeSocket.all.length - 1]
    if (!s) throw new Error('no socket opened')
    return s
  }

  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>)
  }

  close(code = 1000): void {
    this.readyState = 3
    this.onclose?.({ code, wasClean: true })
  }

  // ---- server side ----
  open(): void {
    this.readyState = 1
    this.onopen?.({})
  }

  push(msg: unknown): void {
    this.onmessage?.({ data: JSON.stringify(msg) })
  }

  acceptAuth(): void {
    this.push({ type: 'auth', status: 'success', message: 'Authentication successful', broker: 'sandbox' })
  }

  drop(code = 1006): void {
    this.readyState = 3
    this.onclose?.({ code, wasClean: false })
  }

  frames(action: string): Array<Record<string, unknown>> {
    return this.sent.filter((f) => f.action === action)
  }
}
