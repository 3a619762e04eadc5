'use strict'
// The operations console in Debian's Chromium against a real `mppay serve --sandbox`:
// sign in as the sandbox operator, find an order paid through the sandbox, refund part of it
// (confirmation step), see the refund notification arrive on its timeline; a viewer is refused
// the refund (403), a forged CSRF token is refused (403), an idle session expires.
// Screenshots go to test-artifacts/e2e/console-*.png, and to docs/console/*.png with
// MPPAY_UPDATE_DOCS_SCREENSHOTS=1 (how the committed ones were made).
const test = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const e2e = require('../../miniprogram/support/e2e')

const DOCS = path.join(e2e.REPO, 'docs', 'console')
const MPPAY = path.join(e2e.REPO, '.venv', 'bin', 'mppay')

async function shot(page, name) {
  await e2e.screenshot(page, `console-${name}`)
  if (process.env.MPPAY_UPDATE_DOCS_SCREENSHOTS === '1') {
    fs.mkdirSync(DOCS, { recursive: true })
    await page.screenshot({ path: path.join(DOCS, `${name}.png`), fullPage: true })
  }
}

async function json(method, url, body, headers = {}) {
  const res = await fetch(url, {
    method,
    headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${url} -> ${res.status}: ${text}`)
  return JSON.parse(text)
}

/** What the README's walk-through does: log in, order, prepay, confirm in the cashier, PAID. */
async function paidOrder(info, items) {
  const login = await json('POST', `${info.emulator_url}/sandbox/login`, { appid: info.appid })
  const { token } = await json('POST', `${info.service_url}/api/login`, { code: login.code })
  const auth = { authorization: `Bearer ${token}` }
  const order = await json('POST', `${info.service_url}/api/orders`, { items }, auth)
  const { params } = await json('POST', `${info.service_url}/api/orders/${order.id}/pay`, undefined, auth)
  const paid = await json('POST', `${info.emulator_url}/sandbox/requestPayment`, { ...params, appId: info.appid, openid: login.openid, action: 'confirm' })
  assert.equal(paid.errMsg, 'requestPayment:ok')
  for (let i = 0; i < 200; i++) {
    const now = await json('GET', `${info.service_url}/api/orders/${order.id}`, undefined, auth)
    if (now.status === 'PAID') return now
    await e2e.sleep(50)
  }
  throw new Error(`order ${order.id} was never PAID`)
}

async function signIn(page, info, username, password) {
  await page.goto(info.console_url)
  await page.waitForURL(/\/console\/sign-in/)
  await page.getByTestId('username').fill(username)
  await page.getByTestId('password').fill(password)
  await page.getByTestId('sign-in').click()
  await page.getByTestId('whoami').waitFor()
}

function addOperator(info, username, role, password) {
  const run = spawnSync(MPPAY, ['operators', 'add', username, '--role', role, '--password-stdin'], {
    cwd: e2e.REPO,
    input: `${password}\n`,
    env: { ...process.env, MPPAY_DATABASE_URL: info.database },
    encoding: 'utf8'
  })
  assert.equal(run.status, 0, run.stderr)
}

test('console: find a sandbox payment, refund part of it, see the refund notification; roles and CSRF hold', async (t) => {
  const stack = await e2e.startStack({ name: 'console' })
  t.after(() => stack.stop())
  const browser = await e2e.launchBrowser()
  t.after(() => browser.close())
  const { info } = stack
  assert.match(stack.log(), /operations console\s+http:\/\/127\.0\.0\.1:\d+\/console\//)
  assert.match(stack.log(), /console sign-in\s+sandbox \/ sandbox-operator/)
  const order = await paidOrder(info, [{ product_id: 'latte', quantity: 2 }])

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const page = await context.newPage()
  const errors = []
  page.on('pageerror', (err) => errors.push(String(err)))
  await page.goto(info.console_url)
  await page.waitForURL(/\/console\/sign-in/)
  await shot(page, 'sign-in')
  await signIn(page, info, info.console_operator, info.console_password)
  assert.match(await page.getByTestId('sandbox-banner').textContent(), /沙箱/)
  assert.equal(await page.getByTestId('sandbox-banner').locator('a').getAttribute('href'), `${info.emulator_url}/sandbox/`)
  assert.match(await page.getByTestId('paid-today').textContent(), /¥36\.00/)
  await shot(page, 'overview')

  // find it by its out_trade_no, as an operator answering "I paid" would
  await page.getByRole('link', { name: '订单' }).first().click()
  await page.getByTestId('order-q').fill(order.out_trade_no)
  await page.getByTestId('order-search-submit').click()
  await assert.doesNotReject(page.getByTestId('order-row').filter({ hasText: order.out_trade_no }).waitFor())
  assert.equal(await page.getByTestId('order-row').count(), 1)
  await shot(page, 'orders')
  await page.getByRole('link', { name: order.id }).click()
  assert.equal((await page.getByTestId('order-status').textContent()).trim(), 'PAID')

  // refund ¥10.00 of ¥36.00: the form, the confirmation, the refund
  await page.getByTestId('refund-amount').fill('10')
  await page.getByTestId('refund-reason').fill('one cup was cold')
  await page.getByTestId('refund-continue').click()
  assert.equal((await page.getByTestId('confirm-amount').textContent()).trim(), '¥10.00')
  await shot(page, 'refund-confirm')
  await page.getByTestId('refund-confirm-button').click()
  await page.getByTestId('notice').waitFor()

  // the emulator settles it after a few seconds and notifies; the timeline shows it arrive
  const notified = page.getByTestId('timeline-item').filter({ hasText: 'refund notification verified' })
  for (let i = 0; i < 40 && (await notified.count()) === 0; i++) {
    await e2e.sleep(500)
    await page.reload()
  }
  assert.equal(await notified.count(), 1, 'the refund notification is on the timeline')
  assert.equal((await page.getByTestId('order-status').textContent()).trim(), 'PARTIALLY_REFUNDED')
  assert.match(await page.getByTestId('order-refunded').textContent(), /¥10\.00/)
  await shot(page, 'order')

  // a forged CSRF token: refused before anything happens
  const forged = await page.evaluate(async (id) => {
    const res = await fetch(`/console/orders/${id}/refund`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'csrf_token=forged&amount=1.00&idempotency_key=x'
    })
    return res.status
  }, order.id)
  assert.equal(forged, 403)

  for (const [name, label] of [['refunds', '退款'], ['reconciliation', '对账'], ['notifications', '回调通知'], ['jobs', '后台任务'], ['audit', '操作日志']]) {
    await page.locator('nav').getByRole('link', { name: label, exact: true }).click()
    await page.waitForURL(new RegExp(`/console/${name}`))
    await shot(page, name)
  }
  const audit = await page.getByTestId('audit-row').allTextContents()
  assert.ok(audit.some((row) => row.includes('refund') && row.includes(order.id) && row.includes('ok')), audit.join('\n'))
  assert.ok(audit.some((row) => row.includes('sign_in') && row.includes('127.0.0.1')))

  // English on request
  await page.getByTestId('lang-switch').click()
  await page.waitForURL(/\/console\/audit/)
  assert.match(await page.locator('h1').textContent(), /Audit log/)
  await page.goto(`${info.service_url}/console/orders/${order.id}`)
  await shot(page, 'order-en')

  // a viewer sees the order but may not refund it: the button is off, and a forced submit is 403
  addOperator(info, 'viewer', 'viewer', 'viewer-password-1')
  const viewerContext = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const viewer = await viewerContext.newPage()
  await signIn(viewer, info, 'viewer', 'viewer-password-1')
  await viewer.goto(`${info.service_url}/console/orders/${order.id}`)
  assert.equal(await viewer.getByTestId('refund-continue').isDisabled(), true)
  await viewer.evaluate(() => {
    const form = document.querySelector('[data-testid="refund-form"]')
    form.querySelector('button').disabled = false
    form.requestSubmit()
  })
  await viewer.getByTestId('message').waitFor()
  assert.match(await viewer.getByTestId('message').textContent(), /无权限/)
  await shot(viewer, 'viewer-refused')
  assert.equal(await viewer.locator('nav').getByRole('link', { name: '操作日志' }).count(), 0)
  assert.deepEqual(errors, [])
})

test('console: an idle session expires and the operator is asked to sign in again', async (t) => {
  const stack = await e2e.startStack({ name: 'console-idle', env: { MPPAY_CONSOLE_IDLE_TIMEOUT_SECONDS: '2' } })
  t.after(() => stack.stop())
  const browser = await e2e.launchBrowser()
  t.after(() => browser.close())
  const { info } = stack
  const page = await (await browser.newContext()).newPage()
  await signIn(page, info, info.console_operator, info.console_password)
  await page.goto(`${info.service_url}/console/jobs`)
  assert.equal(await page.getByTestId('whoami').count(), 1)
  await e2e.sleep(2500)
  await page.goto(`${info.service_url}/console/refunds`)
  await page.waitForURL(/\/console\/sign-in\?next=\/console\/refunds&expired=1/)
  assert.match(await page.getByTestId('sign-in-message').textContent(), /会话已过期/)
  // signing in again lands where the operator was going
  await page.getByTestId('username').fill(info.console_operator)
  await page.getByTestId('password').fill(info.console_password)
  await page.getByTestId('sign-in').click()
  await page.waitForURL(/\/console\/refunds$/)
})
