// Browser journeys of issue 5 against the real engine and simulator, in Debian chromium.
//
//   TICKFILL_URL      engine REST address serving the built frontend (default http://127.0.0.1:5000)
//   TICKFILL_KEY      API key (required; never printed)
//   TICKFILL_SIM_URL  simulator control endpoint (default http://127.0.0.1:5001/sim/control)
//   TICKFILL_SYMBOL / TICKFILL_EXCHANGE   instrument to trade (default SBIN / NSE)
//   BENCH_MS          frame-time measurement length (default 10000; 0 skips it)
//
// Screenshots, axe reports and frame-times.json go to frontend/e2e/artifacts/. Prints one JSON
// summary; exits 1 when a journey fails or axe finds serious/critical violations.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ARTIFACTS, axe, launch, measureFrames, screenshot, waitFor } from './lib.mjs'

const BASE = (process.env.TICKFILL_URL || 'http://127.0.0.1:5000').replace(/\/+$/, '')
const KEY = process.env.TICKFILL_KEY || ''
const SIM_RAW = process.env.TICKFILL_SIM_URL || 'http://127.0.0.1:5001/sim/control'
const SIM = new URL(SIM_RAW).pathname === '/' ? `${SIM_RAW.replace(/\/+$/, '')}/sim/control` : SIM_RAW
const SYMBOL = process.env.TICKFILL_SYMBOL || 'SBIN'
const EXCHANGE = process.env.TICKFILL_EXCHANGE || 'NSE'
// CNC: valid at any hour (MIS is refused from the 15:15 IST square-off until 09:00).
const PRODUCT = 'CNC'
const QTY = 10
const BENCH_MS = Number(process.env.BENCH_MS ?? 10000)

if (!KEY) {
  console.error('TICKFILL_KEY is required')
  process.exit(2)
}

/** Keeps the key out of everything this script prints. */
const redact = (s) => String(s).split(KEY).join('***').split(encodeURIComponent(KEY)).join('***')

async function rest(endpoint, body = {}) {
  const res = await fetch(`${BASE}/api/v1/${endpoint}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ ...body, apikey: KEY }),
  })
  const json = await res.json().catch(() => ({}))
  if (!res.ok || json.status === 'error') throw new Error(`${endpoint}: HTTP ${res.status} ${json.message ?? ''}`)
  return json
}

async function sim(body) {
  const res = await fetch(SIM, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ apikey: KEY, ...body }) })
  if (!res.ok) throw new Error(`sim ${body.action}: HTTP ${res.status} ${await res.text().catch(() => '')}`)
}

const setPrice = (price) => sim({ action: 'set_price', symbol: SYMBOL, exchange: EXCHANGE, ltp: price })

async function positionQty() {
  const r = await rest('positionbook')
  const p = (r.data ?? []).find((x) => x.symbol === SYMBOL && x.exchange === EXCHANGE && x.product === PRODUCT)
  return p ? Number(p.quantity) : 0
}

const tick = (p) => Math.round(p * 20) / 20

const summary = { kind: 'journeys', base_url: BASE, symbol: `${EXCHANGE}:${SYMBOL}`, steps: [], axe_violations: [] }
const state = {}
const browser = await launch()
const page = await browser.context.newPage()
page.setDefaultTimeout(20000)

const badge = () => page.getByTestId('feed-badge')
async function nav(label) {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label, exact: true }).click()
  await page.locator('main h1', { hasText: label }).first().waitFor()
}

async function step(name, fn) {
  const t0 = Date.now()
  try {
    const detail = await fn()
    summary.steps.push({ name, ok: true, ms: Date.now() - t0, ...(detail ? { detail } : {}) })
  } catch (e) {
    summary.steps.push({ name, ok: false, ms: Date.now() - t0, error: redact(e?.message ?? e) })
    await screenshot(page, `failed-${name}`).catch(() => {})
  }
}

await step('sign-in', async () => {
  await page.goto(BASE)
  await page.getByLabel('API key').waitFor()
  await screenshot(page, 'signin')
  summary.axe_violations.push(...(await axe(page, 'signin')))
  await page.getByLabel('API key').fill('wrong-key-for-the-test')
  await page.getByRole('button', { name: 'Sign in' }).click()
  const err = await page.locator('#apikey-error').innerText()
  if (!/invalid api key/i.test(err)) throw new Error(`wrong key message: ${err}`)
  await page.getByLabel('API key').fill(KEY)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.locator('main h1', { hasText: 'Positions' }).waitFor()

  // The sign-in link form: the key moves from the fragment to sessionStorage.
  const p2 = await browser.context.newPage()
  await p2.goto(`${BASE}/#key=${encodeURIComponent(KEY)}`).catch((e) => {
    throw new Error(redact(e.message))
  })
  await p2.getByRole('navigation', { name: 'Main' }).waitFor()
  const href = await p2.evaluate(() => location.href)
  await p2.close()
  if (href.includes(KEY) || href.includes(encodeURIComponent(KEY))) throw new Error('key left in the URL')
  return { wrong_key_message: err }
})

await step('live-badge', async () => {
  await waitFor(async () => (await badge().innerText()) === 'Live', { timeout: 30000, what: 'Live badge' })
  await screenshot(page, 'positions-live')
})

await step('limit-order-open-then-complete', async () => {
  const q = await rest('quotes', { symbol: SYMBOL, exchange: EXCHANGE })
  const ltp = Number(q.data?.ltp)
  if (!(ltp > 0)) throw new Error(`no LTP for ${SYMBOL}`)
  const base = tick(ltp)
  const limit = tick(base * 0.99)
  state.limit = limit
  state.qtyBefore = await positionQty()
  await setPrice(base)

  await nav('Order ticket')
  await page.getByLabel('Symbol', { exact: true }).fill(SYMBOL)
  await page.getByLabel('Exchange', { exact: true }).selectOption(EXCHANGE)
  await page.getByRole('radio', { name: 'BUY' }).check()
  await page.getByLabel('Quantity', { exact: true }).fill(String(QTY))
  await page.getByRole('radio', { name: 'LIMIT', exact: true }).check()
  await page.getByLabel('Price', { exact: true }).fill(String(limit))
  await page.getByLabel('Product', { exact: true }).selectOption(PRODUCT)
  await screenshot(page, 'ticket')
  summary.axe_violations.push(...(await axe(page, 'ticket')))
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.url().includes('/api/v1/placeorder')),
    page.getByRole('button', { name: /Place BUY order/ }).click(),
  ])
  const body = await resp.json()
  if (body.status !== 'success' || !body.orderid) throw new Error(`placeorder: ${body.message ?? resp.status()}`)
  state.orderid = String(body.orderid)
  await page.locator('main h1', { hasText: 'Orders' }).waitFor()
  const status = page.locator(`tr[data-orderid="${state.orderid}"] [data-testid=order-status]`)
  await waitFor(async () => (await status.innerText()) === 'open', { what: 'order open' })
  await screenshot(page, 'orders-open')

  await setPrice(tick(limit - 1))
  await waitFor(async () => (await status.innerText()) === 'complete', { timeout: 20000, what: 'order complete' })
  await screenshot(page, 'orders-complete')
  summary.axe_violations.push(...(await axe(page, 'orders')))
  return { orderid: state.orderid, limit }
})

await step('pnl-moves-with-ticks', async () => {
  await nav('Positions')
  const pnl = page.locator(`tr[data-symbol="${SYMBOL}"]`, { hasText: PRODUCT }).locator('[data-testid=pnl]').first()
  await pnl.waitFor()
  const seen = [await pnl.innerText()]
  for (const offset of [5, 10]) {
    await setPrice(tick(state.limit + offset))
    const prev = seen[seen.length - 1]
    await waitFor(async () => (await pnl.innerText()) !== prev, { timeout: 10000, what: `P&L to move at +${offset}` })
    seen.push(await pnl.innerText())
  }
  await screenshot(page, 'positions-pnl')
  summary.axe_violations.push(...(await axe(page, 'positions')))
  return { pnl_values: seen }
})

await step('mute-then-recover', async () => {
  await waitFor(async () => (await badge().innerText()) === 'Live', { timeout: 30000, what: 'Live before mute' })
  await sim({ action: 'mute' })
  try {
    await waitFor(async () => (await badge().innerText()) === 'Polling', { timeout: 30000, what: 'Polling badge' })
    await screenshot(page, 'positions-polling')
  } finally {
    await sim({ action: 'resume' })
  }
  await setPrice(tick(state.limit + 10)).catch(() => {})
  await waitFor(async () => (await badge().innerText()) === 'Live', { timeout: 60000, what: 'Live after resume' })
  await screenshot(page, 'positions-recovered')
})

await step('close-position', async () => {
  await page.getByRole('button', { name: `Close ${SYMBOL} ${EXCHANGE} ${PRODUCT}` }).click()
  const dialog = page.getByRole('dialog')
  await dialog.waitFor()
  await screenshot(page, 'close-confirm')
  await dialog.getByRole('button', { name: 'Close position' }).click()
  await waitFor(async () => (await positionQty()) === 0, { timeout: 20000, what: 'position flat' })
  const qtyCell = page.locator(`tr[data-symbol="${SYMBOL}"]`, { hasText: PRODUCT }).locator('td').nth(2)
  await waitFor(async () => (await qtyCell.innerText()) === '0', { timeout: 35000, what: 'UI quantity 0' })
  await screenshot(page, 'positions-closed')
})

await step('every-page', async () => {
  const seen = {}
  for (const [label, file] of [
    ['Trades', 'trades'],
    ['Watchlist', 'watchlist'],
    ['Engine', 'engine'],
    ['Orders', 'orders'],
    ['Positions', 'positions'],
  ]) {
    await nav(label)
    await page.waitForTimeout(file === 'engine' ? 4000 : 1500)
    await screenshot(page, file)
    summary.axe_violations.push(...(await axe(page, file)))
    seen[file] = true
  }
  await nav('Trades')
  if (state.orderid && (await page.locator('td', { hasText: state.orderid }).count()) === 0) {
    throw new Error('the filled order is missing from the tradebook page')
  }
  await nav('Engine')
  seen.feed_mode = await page.getByTestId('feed-mode').innerText()
  return seen
})

await step('keyboard-navigation', async () => {
  await page.goto(`${BASE}/?view=positions`)
  await page.getByRole('navigation', { name: 'Main' }).waitFor()
  await page.keyboard.press('Tab')
  const first = await page.evaluate(() => document.activeElement?.textContent)
  if (first !== 'Skip to content') throw new Error(`first tab stop: ${first}`)
  await page.getByRole('link', { name: 'Positions' }).focus()
  await page.keyboard.press('ArrowRight')
  await page.keyboard.press('Enter')
  await page.locator('main h1', { hasText: 'Orders' }).waitFor()
})

if (BENCH_MS > 0) {
  await step('frame-times', async () => {
    const r = await measureFrames(page, BASE, { durationMs: BENCH_MS })
    await screenshot(page, 'bench')
    writeFileSync(join(ARTIFACTS, 'frame-times.json'), JSON.stringify(r, null, 2))
    summary.frame_times = r
  })
}

await browser.close()
const serious = summary.axe_violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
summary.ok = summary.steps.every((s) => s.ok) && serious.length === 0
writeFileSync(join(ARTIFACTS, 'journeys.json'), redact(JSON.stringify(summary, null, 2)))
console.log(redact(JSON.stringify(summary, null, 2)))
process.exit(summary.ok ? 0 : 1)
