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
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
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

await step('pnl-chart', async () => {
  // The equity curve samples the stream-priced totals each second on this page.
  const chart = page.getByTestId('pnl-chart')
  await chart.waitFor()
  await waitFor(async () => (await chart.locator('canvas').count()) > 0, { what: 'chart drawn' })
  const caption = await page.locator('#pnl-chart-title').innerText()
  const samples = Number(/(\d+) samples/.exec(caption)?.[1] ?? 0)
  if (samples < 2) throw new Error(`P&L chart has ${samples} samples: ${caption}`)
  await page.waitForTimeout(1500)
  const shot = await screenshot(page, 'positions-pnl-chart')
  // The README's quick start shows this one (docs/positions.png).
  const docs = join(dirname(ARTIFACTS), '..', '..', 'docs', 'positions.png')
  if (process.env.TICKFILL_DOCS_SCREENSHOT === '1') {
    mkdirSync(dirname(docs), { recursive: true })
    copyFileSync(shot, docs)
  }
  summary.axe_violations.push(...(await axe(page, 'positions-pnl-chart')))
  return { caption }
})

await step('trades-filter-and-csv', async () => {
  await nav('Trades')
  const rowOf = page.locator('tbody tr', { hasText: state.orderid })
  await rowOf.first().waitFor()
  const count = page.getByTestId('trade-count')
  await page.getByLabel('Symbol', { exact: true }).fill(SYMBOL)
  await waitFor(async () => / of /.test(await count.innerText()), { what: 'filtered count' })
  if ((await rowOf.count()) === 0) throw new Error('symbol filter hid the trade')
  await page.getByLabel('Side', { exact: true }).selectOption('SELL')
  await waitFor(async () => (await rowOf.count()) === 0, { what: 'SELL filter hides the BUY trade' })
  await page.getByLabel('Side', { exact: true }).selectOption('BUY')
  await rowOf.first().waitFor()
  await screenshot(page, 'trades-filtered')
  summary.axe_violations.push(...(await axe(page, 'trades-filtered')))
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Export CSV' }).click(),
  ])
  const path = join(ARTIFACTS, download.suggestedFilename())
  await download.saveAs(path)
  const lines = readFileSync(path, 'utf8').trim().split(/\r\n/)
  if (!lines[0]?.startsWith('tradeid,orderid,timestamp,symbol,exchange,action,quantity,price,trade_value,product'))
    throw new Error(`CSV header: ${lines[0]}`)
  const ours = lines.slice(1).filter((l) => l.includes(state.orderid))
  if (ours.length === 0) throw new Error('the trade is missing from the CSV')
  if (lines.slice(1).some((l) => !l.includes(`,${SYMBOL},`) || !l.includes(',BUY,')))
    throw new Error('the CSV holds rows the filters hide')
  await page.getByLabel('Symbol', { exact: true }).fill('')
  await page.getByLabel('Side', { exact: true }).selectOption('')
  await nav('Positions')
  return { file: download.suggestedFilename(), rows: lines.length - 1 }
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
    ['Option chain', 'options'],
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

await step('option-chain', async () => {
  await nav('Option chain')
  const table = page.getByRole('table', { name: /^Option chain, NIFTY/ })
  await table.waitFor({ timeout: 30000 })
  const atm = table.locator('tbody tr.atm')
  await atm.waitFor()
  const strike = await atm.getAttribute('data-strike')
  // Greeks of the ATM call: the chain row, then the optiongreeks panel.
  const ceDelta = atm.locator('td').nth(3)
  await waitFor(async () => /^-?\d/.test(await ceDelta.innerText()), { timeout: 20000, what: 'ATM CE delta' })
  await atm.getByRole('button', { name: /\(call\)/ }).click()
  const panel = page.getByTestId('option-greeks')
  await panel.waitFor()
  const delta = Number(await panel.locator('div', { hasText: 'Delta' }).locator('dd').innerText())
  if (!(delta > 0 && delta < 1)) throw new Error(`ATM call delta ${delta}`)
  await screenshot(page, 'option-chain')
  summary.axe_violations.push(...(await axe(page, 'option-chain')))
  return { atm_strike: strike, atm_call_delta: delta, ce_delta_cell: await ceDelta.innerText() }
})

await step('engine-latency-curves', async () => {
  await nav('Engine')
  const curves = page.getByRole('img', { name: /Latency percentile curves per stage/ })
  const none = page.getByTestId('latency-no-samples')
  await waitFor(async () => (await curves.count()) + (await none.count()) > 0, { timeout: 20000, what: 'latency chart' })
  const empty = page.getByTestId('stages-without-samples')
  const emptyText = (await empty.count()) > 0 ? await empty.innerText() : null
  // No stage is drawn at 0.00 µs: a stage without samples says so in its row.
  const zeros = await page.locator('table[aria-label="Latency percentiles per stage"] td', { hasText: /^0\.00 µs$/ }).count()
  if (zeros > 0) throw new Error(`${zeros} latency cells read 0.00 µs`)
  await screenshot(page, 'engine-curves')
  return { curves: await curves.count(), without_samples: emptyText }
})

await step('depth-fits-at-1400px', async () => {
  await nav('Watchlist')
  await page.locator('tbody tr').first().waitFor()
  const fit = await page.evaluate(() => {
    const panel = document.querySelector('.depth-panel')
    const last = document.querySelector('.depth-panel thead th:last-child')
    if (!panel || !last) return null
    const p = panel.getBoundingClientRect()
    const l = last.getBoundingClientRect()
    return { panelRight: p.right, lastRight: l.right, scroll: panel.scrollWidth, client: panel.clientWidth, viewport: window.innerWidth }
  })
  if (!fit) throw new Error('no depth table')
  if (fit.lastRight > fit.panelRight + 1 || fit.scroll > fit.client + 1 || fit.lastRight > fit.viewport)
    throw new Error(`depth table cut off: ${JSON.stringify(fit)}`)
  await screenshot(page, 'watchlist-depth')
  return fit
})

await step('theme-toggle', async () => {
  await nav('Positions')
  const toggle = page.getByRole('button', { name: 'Dark theme' })
  await toggle.click()
  await waitFor(async () => (await page.evaluate(() => document.documentElement.dataset.theme)) === 'dark', { what: 'dark theme' })
  if ((await toggle.getAttribute('aria-pressed')) !== 'true') throw new Error('toggle not pressed')
  await page.waitForTimeout(800)
  await screenshot(page, 'positions-dark')
  summary.axe_violations.push(...(await axe(page, 'positions-dark')))
  await page.reload()
  await page.getByRole('navigation', { name: 'Main' }).waitFor()
  const kept = await page.evaluate(() => document.documentElement.dataset.theme)
  await page.getByRole('button', { name: 'Dark theme' }).click()
  if (kept !== 'dark') throw new Error(`theme after reload: ${kept}`)
  return { kept_after_reload: kept }
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
