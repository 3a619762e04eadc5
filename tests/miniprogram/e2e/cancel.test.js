'use strict'
// Scenario (b): the user closes the cashier with Cancel. Nothing is paid, the order stays
// PENDING, and the page says the payment was cancelled (and lets the user pay again).
const test = require('node:test')
const assert = require('node:assert/strict')
const e2e = require('../support/e2e')

test('cancel: the order stays PENDING and the page says cancelled', async (t) => {
  const stack = await e2e.startStack({ name: 'cancel' })
  t.after(() => stack.stop())
  const browser = await e2e.launchBrowser()
  t.after(() => browser.close())
  const { info } = stack
  const { page, consoleErrors } = await e2e.openPreview(browser, info)

  const order = await e2e.placeFirstOrder(page)
  await e2e.tap(page, 'pay-button')
  const sheet = await e2e.cashier(page)
  await sheet.getByTestId('cashier-cancel').click()

  const toast = page.getByTestId('wx-toast')
  await toast.waitFor({ timeout: 5000 })
  assert.equal((await page.getByTestId('wx-toast-title').textContent()).trim(), 'Payment cancelled')
  await e2e.screenshot(page, 'cancel-1-cancelled')
  assert.equal(await page.getByTestId('wx-cashier').count(), 0, 'the cashier is closed')
  // still on the confirmation page, the order can be paid again
  assert.equal(await page.getAttribute('body', 'data-route'), 'pages/confirm/index')
  assert.equal(await page.getByTestId('pay-button').count(), 1)
  assert.equal((await e2e.topPageData(page)).paying, false)

  const token = await e2e.userToken(page, info)
  assert.equal((await e2e.userOrder(info, token, order.id)).status, 'PENDING')
  const dossier = await e2e.adminOrder(info, order.id)
  assert.equal(dossier.timeline.some((entry) => entry.type === 'order.paid'), false)
  assert.deepEqual(await e2e.deliveries(info, order.outTradeNo), [], 'WeChat Pay sent no notification')

  const calls = await e2e.wxCalls(page)
  assert.equal(calls.includes('redirectTo'), false, 'no result page for a cancelled payment')
  assert.deepEqual(await e2e.previewErrors(page), [])
  assert.deepEqual(consoleErrors, [])
})
