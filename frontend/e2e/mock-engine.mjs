// A throwaway stand-in for the engine and simulator, used only to develop journeys.mjs before the
// Rust server existed. It is NOT the contract: OPENALGO.md is. It serves frontend/dist, a small
// part of /api/v1, /health, the WebSocket protocol, and /sim/control.
//   node e2e/mock-engine.mjs   (REST :15000, WS :18765, sim :15001, key "mock-key")
import { readFileSync, existsSync } from 'node:fs'
import { createServer } from 'node:http'
import { extname, join, normalize } from 'node:path'
import { WebSocketServer } from 'ws'
import { HERE } from './lib.mjs'

const REST_PORT = Number(process.env.MOCK_REST_PORT || 15000)
const WS_PORT = Number(process.env.MOCK_WS_PORT || 18765)
const SIM_PORT = Number(process.env.MOCK_SIM_PORT || 15001)
const KEY = 'mock-key'
const DIST = join(HERE, '..', 'dist')

const prices = new Map([['NSE:SBIN', 800], ['NSE:RELIANCE', 1400], ['NSE:TCS', 3500], ['NSE:INFY', 1500], ['NSE:HDFCBANK', 1700], ['NSE:ICICIBANK', 1200]])
let muted = false
let ticks = 0
let lastTick = Date.now()
let seq = 0
const orders = []
const trades = []
const positions = new Map()
const clients = new Set()

function quote(key) {
  const ltp = prices.get(key)
  return { ltp, bid: ltp - 0.05, ask: ltp + 0.05, open: ltp, high: ltp * 1.1, low: ltp * 0.9, prev_close: 790, volume: 1000, oi: 0 }
}

function pushOrder(o) {
  const msg = JSON.stringify({ type: 'order_update', user_id: 'mock', mode: 'analyze', broker: 'sandbox', ...o })
  for (const c of clients) if (c.orders) c.ws.send(msg)
}

function fill(o, price) {
  o.order_status = 'complete'
  o.average_price = price
  o.filled_quantity = o.quantity
  o.pending_quantity = 0
  trades.push({ tradeid: `T${o.orderid}`, orderid: o.orderid, symbol: o.symbol, exchange: o.exchange, action: o.action, quantity: o.quantity, average_price: price, price, trade_value: price * o.quantity, product: o.product, strategy: o.strategy, timestamp: o.timestamp })
  const k = `${o.exchange}:${o.symbol}:${o.product}`
  const p = positions.get(k) ?? { symbol: o.symbol, exchange: o.exchange, product: o.product, quantity: 0, average_price: 0, today_realized_pnl: 0 }
  const signed = o.action === 'BUY' ? o.quantity : -o.quantity
  if (p.quantity === 0 || Math.sign(p.quantity) === Math.sign(signed)) {
    p.average_price = (Math.abs(p.quantity) * p.average_price + Math.abs(signed) * price) / (Math.abs(p.quantity) + Math.abs(signed))
    p.quantity += signed
  } else {
    const reduced = Math.min(Math.abs(signed), Math.abs(p.quantity))
    p.today_realized_pnl += (p.quantity > 0 ? price - p.average_price : p.average_price - price) * reduced
    p.quantity += signed
    if (p.quantity === 0) p.average_price = 0
  }
  positions.set(k, p)
  pushOrder(o)
}

function onTick(key) {
  ticks++
  lastTick = Date.now()
  const ltp = prices.get(key)
  for (const o of orders) {
    if (o.order_status !== 'open' || `${o.exchange}:${o.symbol}` !== key) continue
    if (o.pricetype === 'LIMIT' && ((o.action === 'BUY' && ltp <= o.price) || (o.action === 'SELL' && ltp >= o.price))) fill(o, o.price)
  }
  const [exchange, symbol] = key.split(':')
  for (const c of clients) {
    const mode = c.subs.get(key)
    if (!mode) continue
    const q = quote(key)
    c.ws.send(JSON.stringify({ type: 'market_data', symbol, exchange, mode, data: { ltp, ltt: Date.now(), timestamp: Date.now(), bid_price: q.bid, ask_price: q.ask, change: ltp - 790, change_percent: ((ltp - 790) / 790) * 100, depth: { buy: [1, 2, 3, 4, 5].map((i) => ({ price: ltp - 0.05 * i, quantity: 10 * i, orders: i })), sell: [1, 2, 3, 4, 5].map((i) => ({ price: ltp + 0.05 * i, quantity: 10 * i, orders: i })) } }, broker: 'sandbox' }))
  }
}
setInterval(() => {
  if (!muted) for (const k of prices.keys()) onTick(k)
}, 250)

function positionRows() {
  return [...positions.values()].map((p) => {
    const ltp = prices.get(`${p.exchange}:${p.symbol}`)
    const unreal = (ltp - p.average_price) * p.quantity
    const pnl = p.today_realized_pnl + unreal
    const basis = Math.abs(p.average_price * p.quantity)
    return { ...p, ltp, unrealized_pnl: unreal, pnl, pnlpercent: basis ? (pnl / basis) * 100 : 0 }
  })
}

const api = {
  ping: () => ({ data: { message: 'pong', broker: 'sandbox' } }),
  positionbook: () => ({ data: positionRows() }),
  orderbook: () => ({ data: { orders: [...orders].reverse(), statistics: {} } }),
  tradebook: () => ({ data: trades }),
  funds: () => ({ data: { availablecash: 1e7 } }),
  quotes: (b) => ({ data: quote(`${b.exchange}:${b.symbol}`) }),
  multiquotes: (b) => ({ results: b.symbols.map((s) => ({ ...s, data: quote(`${s.exchange}:${s.symbol}`) })) }),
  latency: () => ({ data: { stages: [{ hop: 'feed->ring', count: 1000, p50_ns: 800, p90_ns: 1500, p99_ns: 4000, p999_ns: 9000, max_ns: 20000 }, { hop: 'ring->exec', count: 1000, p50_ns: 300, p90_ns: 600, p99_ns: 2000, p999_ns: 5000, max_ns: 12000 }] } }),
  placeorder: (b) => {
    const key = `${b.exchange}:${b.symbol}`
    if (!prices.has(key)) return [400, `Symbol ${b.symbol} not found on ${b.exchange}`]
    const quantity = Number(b.quantity)
    if (!(quantity > 0)) return [400, 'Quantity must be a positive integer']
    const pricetype = b.pricetype ?? 'MARKET'
    const price = Number(b.price ?? 0)
    if ((pricetype === 'LIMIT' || pricetype === 'SL') && !(price > 0)) return [400, 'Price must be greater than 0 for LIMIT orders']
    const o = { orderid: String(26112600000000 + ++seq), symbol: b.symbol, exchange: b.exchange, action: String(b.action).toUpperCase(), quantity, price, trigger_price: Number(b.trigger_price ?? 0), pricetype, product: b.product ?? 'MIS', order_status: 'open', average_price: 0, filled_quantity: 0, pending_quantity: quantity, rejection_reason: '', timestamp: new Date().toISOString().slice(0, 19).replace('T', ' '), strategy: b.strategy }
    orders.push(o)
    pushOrder(o)
    if (pricetype === 'MARKET') fill(o, prices.get(key))
    else onTick(key)
    return { orderid: o.orderid }
  },
  cancelorder: (b) => {
    const o = orders.find((x) => x.orderid === b.orderid)
    if (!o) return [404, 'Order not found']
    if (o.order_status !== 'open') return [400, `Cannot cancel order in ${o.order_status} status`]
    o.order_status = 'cancelled'
    pushOrder(o)
    return { orderid: o.orderid, message: 'Order cancelled successfully' }
  },
  modifyorder: (b) => {
    const o = orders.find((x) => x.orderid === b.orderid)
    if (!o) return [404, 'Order not found']
    Object.assign(o, { quantity: Number(b.quantity), price: Number(b.price), trigger_price: Number(b.trigger_price) })
    pushOrder(o)
    return { orderid: o.orderid, message: 'Order modified successfully' }
  },
  closeposition: () => {
    let n = 0
    for (const p of positions.values()) {
      if (p.quantity === 0) continue
      api.placeorder({ symbol: p.symbol, exchange: p.exchange, action: p.quantity > 0 ? 'SELL' : 'BUY', quantity: Math.abs(p.quantity), pricetype: 'MARKET', product: p.product })
      n++
    }
    return { message: `Closed ${n} positions`, closed_positions: n, failed_closures: 0 }
  },
}

function send(res, code, obj) {
  res.writeHead(code, { 'Content-Type': 'application/json' })
  res.end(JSON.stringify(obj))
}

const MIME = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.png': 'image/png', '.svg': 'image/svg+xml' }
createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x')
  if (url.pathname === '/health') {
    return send(res, 200, { engine: { healthy: true }, feed: { mode: 'websocket', connected: true, authenticated: true, last_data_age_ms: Date.now() - lastTick, reconnects: 0, validation_errors: 0, ticks } })
  }
  const m = url.pathname.match(/^\/api\/v1\/(\w+)\/?$/)
  if (m && req.method === 'POST') {
    let raw = ''
    for await (const c of req) raw += c
    const body = JSON.parse(raw || '{}')
    if (body.apikey !== KEY) return send(res, 403, { status: 'error', message: 'Invalid openalgo apikey' })
    const h = api[m[1]]
    if (!h) return send(res, 404, { status: 'error', message: 'not found' })
    const r = h(body)
    if (Array.isArray(r)) return send(res, r[0], { status: 'error', message: r[1] })
    return send(res, 200, { status: 'success', mode: 'analyze', ...r })
  }
  const file = normalize(join(DIST, url.pathname === '/' ? 'index.html' : url.pathname))
  if (!file.startsWith(DIST) || !existsSync(file)) return send(res, 404, { status: 'error', message: 'not found' })
  let content = readFileSync(file)
  if (file.endsWith('index.html')) {
    content = String(content).replace('<head>', `<head><script>window.TICKFILL_CONFIG={wsUrl:"ws://127.0.0.1:${WS_PORT}"}</script>`)
  }
  res.writeHead(200, { 'Content-Type': MIME[extname(file)] ?? 'application/octet-stream' })
  res.end(content)
}).listen(REST_PORT, '127.0.0.1')

new WebSocketServer({ port: WS_PORT, host: '127.0.0.1' }).on('connection', (ws) => {
  const c = { ws, auth: false, orders: false, subs: new Map() }
  clients.add(c)
  ws.on('close', () => clients.delete(c))
  ws.on('message', (raw) => {
    const msg = JSON.parse(String(raw))
    const action = msg.action ?? msg.type
    if (action === 'authenticate') {
      if ((msg.api_key ?? msg.apikey) !== KEY) return ws.send(JSON.stringify({ status: 'error', code: 'AUTHENTICATION_ERROR', message: 'Invalid API key' }))
      c.auth = true
      return ws.send(JSON.stringify({ type: 'auth', status: 'success', message: 'Authentication successful', broker: 'sandbox', user_id: 'mock' }))
    }
    if (!c.auth) return ws.send(JSON.stringify({ status: 'error', code: 'NOT_AUTHENTICATED', message: 'You must authenticate first' }))
    if (action === 'subscribe') {
      for (const s of msg.symbols ?? []) c.subs.set(`${s.exchange}:${s.symbol}`, Math.max(c.subs.get(`${s.exchange}:${s.symbol}`) ?? 0, msg.mode ?? 2))
      return ws.send(JSON.stringify({ type: 'subscribe', status: 'success', subscriptions: [], message: 'Subscription processing complete', broker: 'sandbox' }))
    }
    if (action === 'unsubscribe') {
      for (const s of msg.symbols ?? []) c.subs.delete(`${s.exchange}:${s.symbol}`)
      return ws.send(JSON.stringify({ type: 'unsubscribe', status: 'success', successful: [], failed: [], broker: 'sandbox' }))
    }
    if (action === 'subscribe_orders') {
      c.orders = true
      return ws.send(JSON.stringify({ type: 'subscribe_orders', status: 'success', message: 'Subscribed to order updates' }))
    }
  })
})

createServer(async (req, res) => {
  let raw = ''
  for await (const c of req) raw += c
  const b = JSON.parse(raw || '{}')
  if (b.action === 'set_price') {
    const key = `${b.exchange ?? 'NSE'}:${b.symbol}`
    prices.set(key, Number(b.price))
    if (!muted) onTick(key)
  } else if (b.action === 'mute') muted = true
  else if (b.action === 'resume') muted = false
  send(res, 200, { status: 'success' })
}).listen(SIM_PORT, '127.0.0.1')

console.log(`mock engine: http://127.0.0.1:${REST_PORT} ws://127.0.0.1:${WS_PORT} sim http://127.0.0.1:${SIM_PORT}/sim/control key=${KEY}`)
