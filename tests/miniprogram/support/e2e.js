'use strict'
// Shared by the browser end-to-end tests (tests/miniprogram/e2e/*.test.js):
// - startStack(): a real `mppay serve --sandbox` on free ports with a temporary state dir,
//   started from the repo's venv; resolves with its ready-file info, stop() ends it;
// - launchBrowser() / openPreview(): Debian's chromium through playwright-core (never a
//   downloaded browser), a touch context, the preview page booted;
// - small helpers: tap by data-testid, the service's API as the user or the admin, the
//   emulator's sandbox controls, screenshots into test-artifacts/e2e/.

const { spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const REPO = path.resolve(__dirname, '../../..')
const MPPAY = path.join(REPO, '.venv', 'bin', 'mppay')
const CHROMIUM = process.env.MPPAY_CHROMIUM || '/usr/bin/chromium'
const ARTIFACTS = path.join(REPO, 'test-artifacts', 'e2e')
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage'
]

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * This environment without MPPAY_* settings (a developer's database URL or admin token must
 * not leak into the sandbox), except MPPAY_API_VERSION: `MPPAY_API_VERSION=v2 npm run
 * test:e2e` runs the scenarios on API v2.
 */
function serviceEnv() {
  const env = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('MPPAY_') || key === 'MPPAY_API_VERSION') env[key] = value
  }
  return env
}

/**
 * Starts `mppay serve --sandbox --port 0 --emulator-port 0` with a fresh state dir.
 * @param {{name: string, env?: Record<string, string>}} opts
 * @returns {Promise<{info: any, stop: () => Promise<void>, log: () => string}>}
 */
async function startStack(opts) {
  if (!fs.existsSync(MPPAY)) throw new Error(`${MPPAY} is missing: run \`make test\` (or pip install -e .) first`)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mppay-e2e-${opts.name}-`))
  const readyFile = path.join(dir, 'ready.json')
  let output = ''
  const child = spawn(
    MPPAY,
    ['serve', '--sandbox', '--port', '0', '--emulator-port', '0', '--state-dir', path.join(dir, 'state'), '--ready-file', readyFile],
    {
      cwd: REPO,
      env: { ...serviceEnv(), MPPAY_LOG_LEVEL: 'WARNING', COLUMNS: '120', ...(opts.env || {}) },
      stdio: ['ignore', 'pipe', 'pipe']
    }
  )
  child.stdout.on('data', (chunk) => { output += chunk })
  child.stderr.on('data', (chunk) => { output += chunk })
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  let stopped = false

  async function stop() {
    if (stopped) return
    stopped = true
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }
    fs.mkdirSync(ARTIFACTS, { recursive: true })
    fs.writeFileSync(path.join(ARTIFACTS, `${opts.name}.server.log`), output)
    fs.rmSync(dir, { recursive: true, force: true })
  }

  const deadline = Date.now() + 30000
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop()
      throw new Error(`mppay serve exited before it was ready:\n${output}`)
    }
    if (fs.existsSync(readyFile)) {
      const text = fs.readFileSync(readyFile, 'utf8')
      if (text.trim()) {
        try {
          return { info: JSON.parse(text), stop, log: () => output }
        } catch (e) {
          // written but not complete yet
        }
      }
    }
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`mppay serve was not ready after 30 s:\n${output}`)
    }
    await sleep(50)
  }
}

async function launchBrowser() {
  const { chromium } = require('playwright-core')
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
}

/**
 * A fresh touch context on the preview; resolves once the first page (products) is ready.
 * @param {import('playwright-core').Browser} browser
 * @param {any} info the stack's ready info
 * @param {{search?: string, fakeClock?: boolean}} [opts] e.g. {search: '?tamper=paySign'}
 */
async function openPreview(browser, info, opts = {}) {
  const context = await browser.newContext({ hasTouch: true, viewport: { width: 1000, height: 820 } })
  // A page clock that runs in real time until the test fast-forwards it (context.clock).
  if (opts.fakeClock) await context.clock.install()
  const page = await context.newPage()
  const consoleErrors = []
  page.on('console', (msg) => {
    // chromium's own resource errors are not the app's; everything else is kept
    if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) consoleErrors.push(msg.text())
  })
  page.on('pageerror', (err) => consoleErrors.push(String(err && err.stack || err)))
  await page.goto(info.preview_url + (opts.search || ''))
  await page.waitForSelector('body[data-ready="1"]', { timeout: 15000 })
  return { context, page, consoleErrors }
}

/** Taps (touch events: mouse clicks do not fire WXML `tap`) the index-th [data-testid=id]. */
async function tap(page, testid, index = 0) {
  await page.getByTestId(testid).nth(index).tap()
}

async function waitForRoute(page, route) {
  await page.waitForSelector(`body[data-route="${route}"]`, { timeout: 10000 })
}

async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true })
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) })
}

/** The cashier iframe (the emulator's /sandbox/cashier page) once it shows the amount. */
async function cashier(page) {
  const frame = page.frameLocator('[data-testid="wx-cashier"]')
  try {
    await frame.getByTestId('cashier-amount').filter({ hasText: /\d/ }).waitFor({ timeout: 10000 })
  } catch (err) {
    throw await explain(page, 'no-cashier', err)
  }
  return frame
}

/** err, with the wx calls and the preview's errors appended and a screenshot taken. */
async function explain(page, name, err) {
  try {
    await screenshot(page, `failure-${name}`)
    const calls = await page.evaluate(() => window.__wxCalls)
    const errors = await previewErrors(page)
    err.message += `\nwx calls: ${JSON.stringify(calls)}\npreview errors: ${JSON.stringify(errors)}`
  } catch (e) {
    err.message += `\n(could not collect diagnostics: ${e})`
  }
  return err
}

/** The data of the page on top of the preview's stack (the page instance's `this.data`). */
function topPageData(page) {
  return page.evaluate(() => {
    const pages = window.getCurrentPages()
    return JSON.parse(JSON.stringify(pages[pages.length - 1].data))
  })
}

/** The session token the Mini Program stored (wx storage is localStorage, per appid). */
async function userToken(page, info) {
  const raw = await page.evaluate((key) => window.localStorage.getItem(key), `mp:${info.appid}:mppay_session`)
  if (!raw) throw new Error('the Mini Program has not stored a session token')
  return JSON.parse(raw).token
}

async function http(method, url, { token, body } = {}) {
  const headers = {}
  if (token) headers.authorization = `Bearer ${token}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  let data = text
  try { data = JSON.parse(text) } catch (e) { /* not JSON */ }
  if (!res.ok) throw new Error(`${method} ${url} -> HTTP ${res.status}: ${text}`)
  return data
}

/** GET /api/orders/{id} as the Mini Program's user (no refresh: what the service knows). */
function userOrder(info, token, orderId) {
  return http('GET', `${info.service_url}/api/orders/${encodeURIComponent(orderId)}`, { token })
}

/** GET /admin/api/orders/{id}: the order, its notifications and its timeline. */
function adminOrder(info, orderId) {
  return http('GET', `${info.service_url}/admin/api/orders/${encodeURIComponent(orderId)}`, { token: info.admin_token })
}

/** PUT /sandbox/faults on the emulator (replaces the global fault settings). */
function setFaults(info, settings) {
  return http('PUT', `${info.emulator_url}/sandbox/faults`, { body: settings })
}

/** The emulator's delivery attempts for one order. */
async function deliveries(info, outTradeNo) {
  const answer = await http('GET', `${info.emulator_url}/sandbox/notifications?out_trade_no=${encodeURIComponent(outTradeNo)}`)
  return answer.data
}

/**
 * From the product list: open the first product, place the order, and wait for the Pay button.
 * @returns {Promise<{id: string, outTradeNo: string, amountText: string}>} the created order
 */
async function placeFirstOrder(page) {
  await page.getByTestId('product-item').first().waitFor()
  await tap(page, 'product-item', 0)
  await waitForRoute(page, 'pages/confirm/index')
  await page.getByTestId('place-order').waitFor()
  await tap(page, 'place-order')
  await page.getByTestId('pay-button').waitFor({ timeout: 10000 })
  const data = await topPageData(page)
  return { id: data.order.id, outTradeNo: data.order.outTradeNo, amountText: data.order.amountText }
}

/** The wx API names the shim saw, in order. */
function wxCalls(page) {
  return page.evaluate(() => window.__wxCalls.map((c) => c.api))
}

function previewErrors(page) {
  return page.evaluate(() => window.__previewErrors.slice())
}

module.exports = {
  ARTIFACTS,
  CHROMIUM,
  REPO,
  adminOrder,
  cashier,
  explain,
  deliveries,
  launchBrowser,
  openPreview,
  placeFirstOrder,
  previewErrors,
  screenshot,
  setFaults,
  sleep,
  startStack,
  tap,
  topPageData,
  userOrder,
  userToken,
  waitForRoute,
  wxCalls
}
