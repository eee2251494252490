// Browser smoke run without an engine: serves frontend/dist with `vite preview`, loads the app in
// Debian chromium, checks the key-in-fragment sign-in, screenshots and axe-checks every page, and
// runs the frame-time bench (synthetic feed built into the app). Usage: npm run build && npm run e2e:smoke
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ARTIFACTS, axe, launch, measureFrames, screenshot, startPreview } from './lib.mjs'

const PAGES = ['positions', 'orders', 'trades', 'ticket', 'watchlist', 'options', 'engine']
const failures = []
const preview = await startPreview(Number(process.env.PREVIEW_PORT || 4173))
const browser = await launch()
const summary = { kind: 'smoke', base_url: preview.url, pages: [], axe_violations: [] }
try {
  const page = await browser.context.newPage()
  await page.goto(preview.url)
  await page.getByLabel('API key').waitFor()
  await screenshot(page, 'smoke-signin')
  summary.axe_violations.push(...(await axe(page, 'signin')))

  // Sign-in with an engine that is not there: the form says it cannot reach it.
  await page.getByLabel('API key').fill('not-a-real-key')
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.locator('#apikey-error').waitFor()
  summary.signin_error = await page.locator('#apikey-error').innerText()

  // The key in the fragment moves to sessionStorage and the fragment is cleared.
  await page.goto(`${preview.url}#key=smoke-test-key`)
  await page.getByRole('navigation', { name: 'Main' }).waitFor()
  const after = await page.evaluate(() => ({ href: location.href, stored: sessionStorage.getItem('tickfill.apikey') }))
  if (after.href.includes('smoke-test-key') || after.stored !== 'smoke-test-key') failures.push(`fragment key handling: ${JSON.stringify(after)}`)
  summary.fragment_cleared = !after.href.includes('smoke-test-key')

  for (const view of PAGES) {
    await page.goto(`${preview.url}?view=${view}`)
    await page.locator('main h1').first().waitFor()
    await page.waitForTimeout(300)
    summary.pages.push({ view, heading: await page.locator('main h1').first().innerText(), screenshot: await screenshot(page, `smoke-${view}`) })
    summary.axe_violations.push(...(await axe(page, view)))
  }

  // Keyboard: the skip link is the first tab stop.
  await page.keyboard.press('Tab')
  summary.first_tab_stop = await page.evaluate(() => document.activeElement?.textContent)

  const bench = await measureFrames(page, preview.url, {
    durationMs: Number(process.env.BENCH_MS || 10000),
  })
  await screenshot(page, 'bench')
  writeFileSync(join(ARTIFACTS, 'frame-times.json'), JSON.stringify(bench, null, 2))
  summary.bench = bench
} catch (e) {
  failures.push(String(e?.stack || e))
} finally {
  await browser.close()
  preview.stop()
}
const serious = summary.axe_violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
if (serious.length > 0) failures.push(`${serious.length} serious axe violations`)
summary.failures = failures
console.log(JSON.stringify(summary, null, 2))
process.exit(failures.length === 0 ? 0 : 1)
