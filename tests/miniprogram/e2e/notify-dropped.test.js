'use strict'
// Scenario (c): WeChat Pay's notification never arrives (the emulator drops every one).
// The result page polls GET /api/orders/{id}?refresh=true, so the service asks WeChat itself:
// - with the order query working, that query alone finds the payment;
// - with the order query down too, the page says "not confirmed yet" (never "paid"), the
//   service still says PENDING, and the Refresh button recovers PAID once WeChat answers.
const test = require('node:test')
const assert = require('node:assert/strict')
const e2e = require('../support/e2e')

const DROP_ALL = { notify_drop_rate: 1.0 }
// WeChat's order query (v3 and v2) answers 503; prepay, on other paths, still works
const QUERY_DOWN = {
  notify_drop_rate: 1.0,
  api_http_503_rate: 1.0,
  api_fault_paths: ['/v3/pay/transactions/out-trade-no/', '/v3/pay/transactions/id/', '/pay/orderquery']
}

let stack
let browser
test.before(async () => {
  stack = await e2e.startStack({ name: 'notify-dropped' })
  browser = await e2e.launchBrowser()
})
test.after(async () => {
  if (browser) await browser.close()
  if (stack) await stack.stop()
})

async function payInCashier(page) {
  const order = await e2e.placeFirstOrder(page)
  await e2e.tap(page, 'pay-button')
  const sheet = await e2e.cashier(page)
  await sheet.getByTestId('cashier-pay').click()
  await e2e.waitForRoute(page, 'pages/result/index')
  return order
}

function paidEvents(dossier) {
  return dossier.timeline.filter((entry) => entry.type === 'order.paid')
}

test('notification dropped: the refresh query alone finds the payment', async () => {
  const { info } = stack
  await e2e.setFaults(info, DROP_ALL)
  const { page, context, consoleErrors } = await e2e.openPreview(browser, info)
  const order = await payInCashier(page)

  await page.waitForSelector('[data-testid="result-state"][data-state="paid"]', { timeout: 15000 })
  await e2e.screenshot(page, 'notify-dropped-1-paid-by-query')
  const dossier = await e2e.adminOrder(info, order.id)
  assert.equal(dossier.order.status, 'PAID')
  assert.deepEqual(paidEvents(dossier).map((e) => e.source), ['user_refresh'])
  assert.equal(dossier.notifications.length, 0, 'the service never heard from WeChat Pay')
  const sent = await e2e.deliveries(info, order.outTradeNo)
  assert.ok(sent.length >= 1 && sent.every((a) => a.outcome === 'dropped'), JSON.stringify(sent))
  assert.deepEqual(await e2e.previewErrors(page), [])
  assert.deepEqual(consoleErrors, [])
  await context.close()
})

test('notification dropped and the query down: "pending" honestly, then Refresh recovers PAID', async () => {
  const { info } = stack
  await e2e.setFaults(info, QUERY_DOWN)
  const { page, context, consoleErrors } = await e2e.openPreview(browser, info, { fakeClock: true })
  const order = await payInCashier(page)

  // The whole polling schedule (about 15 s of backoff) runs out without an answer from WeChat
  // Pay. The page's clock is fast-forwarded through the waits; every poll still goes to the
  // service and from there to the emulator.
  const pending = '[data-testid="result-state"][data-state="pending"]'
  for (let i = 0; i < 40 && !(await page.locator(pending).count()); i++) {
    await context.clock.fastForward(1000)
    await e2e.sleep(50)
  }
  await page.waitForSelector(pending, { timeout: 5000 })
  const polls = await page.evaluate(() => window.__wxCalls.filter((c) => c.api === 'request' && /refresh=true/.test(c.detail.url)).length)
  assert.equal(polls, 6, 'config.poll.attempts queries before giving up')
  assert.equal((await page.getByTestId('result-title').textContent()).trim(), 'Payment not confirmed yet')
  assert.equal((await page.getByTestId('result-status').textContent()).trim(), 'Awaiting payment')
  await e2e.screenshot(page, 'notify-dropped-2-pending')
  const token = await e2e.userToken(page, info)
  assert.equal((await e2e.userOrder(info, token, order.id)).status, 'PENDING')

  // WeChat Pay answers queries again (notifications still dropped): Refresh asks once more
  await e2e.setFaults(info, DROP_ALL)
  await e2e.tap(page, 'refresh-button')
  await page.waitForSelector('[data-testid="result-state"][data-state="paid"]', { timeout: 15000 })
  await e2e.screenshot(page, 'notify-dropped-3-recovered')
  assert.equal((await e2e.userOrder(info, token, order.id)).status, 'PAID')
  const dossier = await e2e.adminOrder(info, order.id)
  assert.deepEqual(paidEvents(dossier).map((e) => e.source), ['user_refresh'])
  assert.equal(dossier.notifications.length, 0)
  assert.deepEqual(await e2e.previewErrors(page), [])
  assert.deepEqual(consoleErrors, [])
  await context.close()
})
