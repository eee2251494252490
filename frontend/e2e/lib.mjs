// Shared helpers for the browser tests: Debian chromium through playwright-core, axe, frame timing.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { AxeBuilder } from '@axe-core/playwright'

export const HERE = dirname(fileURLToPath(import.meta.url))
export const ARTIFACTS = join(HERE, 'artifacts')
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium'

/** Flags from .library/env/machines/rust.md: the machine's network is closed. */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
]

export async function launch() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get update && apt-get install -y chromium`)
  }
  mkdirSync(ARTIFACTS, { recursive: true })
  const userDataDir = mkdtempSync(join(tmpdir(), 'tickfill-chromium-'))
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1400, height: 900 },
  })
  return {
    context,
    async close() {
      await context.close()
      rmSync(userDataDir, { recursive: true, force: true })
    },
  }
}

export async function screenshot(page, name) {
  const path = join(ARTIFACTS, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  return path
}

/** WCAG 2 A/AA rules; returns the violations (empty when clean). */
export async function axe(page, name) {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze()
  const violations = result.violations.map((v) => ({
    page: name,
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
  }))
  writeFileSync(join(ARTIFACTS, `axe-${name}.json`), JSON.stringify(violations, null, 2))
  return violations
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i]
}

/**
 * Loads the `?bench=1` page (n positions + n watched symbols fed at `rate` ticks/s through the
 * real client path) and measures requestAnimationFrame deltas. Reports; never asserts on time.
 */
export async function measureFrames(page, baseUrl, { n = 1000, rate = 100, warmupMs = 3000, durationMs = 10000 } = {}) {
  const url = new URL(baseUrl)
  url.search = `?bench=1&n=${n}&rate=${rate}`
  url.hash = ''
  await page.goto(url.toString())
  await page.waitForFunction(() => window.__tickfillBench?.ready === true, null, { timeout: 30000 })
  await page.waitForTimeout(warmupMs)
  const r = await page.evaluate(async (ms) => {
    const ticks0 = window.__tickfillBench.ticks()
    const deltas = []
    let longTasks = 0
    let obs
    try {
      obs = new PerformanceObserver((list) => {
        longTasks += list.getEntries().length
      })
      obs.observe({ type: 'longtask', buffered: false })
    } catch {
      obs = null
    }
    const t0 = performance.now()
    await new Promise((resolve) => {
      let last = t0
      const step = (t) => {
        deltas.push(t - last)
        last = t
        if (t - t0 < ms) requestAnimationFrame(step)
        else resolve()
      }
      requestAnimationFrame(step)
    })
    obs?.disconnect()
    const elapsed = performance.now() - t0
    return { deltas, elapsed, ticks: window.__tickfillBench.ticks() - ticks0, longTasks }
  }, durationMs)
  const sorted = [...r.deltas.slice(1)].sort((a, b) => a - b)
  const round = (v) => (v === null ? null : Math.round(v * 100) / 100)
  return {
    kind: 'frame_times',
    positions: n,
    watched_symbols: n,
    target_ticks_per_s: rate,
    measured_ticks_per_s: round((r.ticks * 1000) / r.elapsed),
    duration_ms: Math.round(r.elapsed),
    frames: sorted.length,
    p50_ms: round(percentile(sorted, 50)),
    p90_ms: round(percentile(sorted, 90)),
    p99_ms: round(percentile(sorted, 99)),
    max_ms: round(sorted[sorted.length - 1] ?? null),
    frames_over_50ms: sorted.filter((d) => d > 50).length,
    long_tasks: r.longTasks,
    user_agent: await page.evaluate(() => navigator.userAgent),
  }
}

/** `vite preview` of the built app on a free port, for runs without an engine. */
export async function startPreview(port = 4173) {
  const root = join(HERE, '..')
  if (!existsSync(join(root, 'dist', 'index.html'))) throw new Error('frontend/dist is missing: run npm run build first')
  const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js')
  const proc = spawn(process.execPath, [vite, 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const url = `http://127.0.0.1:${port}/`
  const deadline = Date.now() + 20000
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url)
      if (res.ok) return { url, stop: () => proc.kill('SIGTERM') }
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  proc.kill('SIGTERM')
  throw new Error('vite preview did not start')
}

export async function waitFor(fn, { timeout = 15000, interval = 250, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout
  let last
  while (Date.now() < deadline) {
    try {
      last = await fn()
      if (last) return last
    } catch (e) {
      last = e
    }
    await new Promise((r) => setTimeout(r, interval))
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`)
}
