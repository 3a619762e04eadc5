'use strict'
// Scenario (a): buy, confirm in the WeChat-style cashier, the result page says "paid", and the
// service itself says PAID (learnt from the notification the emulator delivered).
const test = require('node:test')
const assert = require('node:assert/strict')
const e2e = require('../support/e2e')

test('pay: the cashier confirms, the result page and the service both say PAID', async (t) => {
  const stack = await e2e.startStack({ name: 'pay' })
  t.after(() => stack.stop())
  const browser = await e2e.launchBrowser()
  t.after(() => browser.close())
  const { info } = stack
  const { page, consoleErrors } = await e2e.openPreview(browser, info)

  await e2e.screenshot(page, 'pay-1-products')
  const order = await e2e.placeFirstOrder(page)
  await e2e.tap(page, 'pay-button')
  const sheet = await e2e.cashier(page)
  // the loading indicator is gone before the cashier shows (it would cover it on a phone)
  assert.equal(await page.getByTestId('wx-loading').count(), 0)
  assert.equal(await sheet.getByTestId('cashier-amount').textContent(), order.amountText.replace('¥', ''))
  await e2e.screenshot(page, 'pay-2-cashier')
  await sheet.getByTestId('cashier-pay').click()

  await e2e.waitForRoute(page, 'pages/result/index')
  await page.waitForSelector('[data-testid="result-state"][data-state="paid"]', { timeout: 15000 })
  assert.equal((await page.getByTestId('result-title').textContent()).trim(), 'Payment successful')
  assert.equal((await page.getByTestId('result-amount').textContent()).trim(), order.amountText)
  await e2e.screenshot(page, 'pay-3-paid')

  // the service's own word, as the user and as the admin
  const token = await e2e.userToken(page, info)
  assert.equal((await e2e.userOrder(info, token, order.id)).status, 'PAID')
  const dossier = await e2e.adminOrder(info, order.id)
  assert.equal(dossier.order.status, 'PAID')
  const paid = dossier.timeline.find((entry) => entry.type === 'order.paid')
  assert.ok(paid, 'the timeline has order.paid')
  assert.equal(paid.source, `notify_${info.api_version}`, 'paid by the notification')
  assert.ok(dossier.notifications.some((n) => n.verified), JSON.stringify(dossier.notifications))

  // the client's side of the contract: one login, loading hidden before requestPayment
  const calls = await e2e.wxCalls(page)
  assert.equal(calls.filter((c) => c === 'login').length, 1)
  assert.equal(calls.filter((c) => c === 'requestPayment').length, 1)
  const payAt = calls.indexOf('requestPayment')
  assert.equal(calls.lastIndexOf('hideLoading', payAt) > calls.lastIndexOf('showLoading', payAt), true)
  assert.deepEqual(await e2e.previewErrors(page), [])
  assert.deepEqual(consoleErrors, [])
})
