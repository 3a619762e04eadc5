'use strict'
// Scenario (d): the paySign is altered on the way (the preview's test-only ?tamper=paySign
// switch). The cashier must refuse with requestPayment:fail, the page must say the payment
// failed, and nothing may be paid anywhere.
const test = require('node:test')
const assert = require('node:assert/strict')
const e2e = require('../support/e2e')

test('bad signature: the cashier refuses, nothing is paid', async (t) => {
  const stack = await e2e.startStack({ name: 'bad-signature' })
  t.after(() => stack.stop())
  const browser = await e2e.launchBrowser()
  t.after(() => browser.close())
  const { info } = stack
  const { page, consoleErrors } = await e2e.openPreview(browser, info, { search: '?tamper=paySign' })
  assert.equal(await page.getByTestId('tamper-banner').isVisible(), true, 'the switch is announced')

  const order = await e2e.placeFirstOrder(page)
  await e2e.tap(page, 'pay-button')
  const sheet = await e2e.cashier(page)
  // Like WeChat's client, the sheet refuses before the user can pay; dismissing it reports why.
  await sheet.getByTestId('cashier-error').filter({ hasText: '支付验证签名失败' }).waitFor({ timeout: 10000 })
  assert.equal(await sheet.getByTestId('cashier-pay').isDisabled(), true)
  await sheet.getByTestId('cashier-close').click()

  const modal = page.getByTestId('wx-modal')
  await modal.waitFor({ timeout: 10000 })
  assert.equal((await page.getByTestId('wx-modal-title').textContent()).trim(), 'Payment failed')
  const content = (await page.getByTestId('wx-modal-content').textContent()).trim()
  assert.match(content, /requestPayment:fail 支付验证签名失败/)
  await e2e.screenshot(page, 'bad-signature-1-refused')

  // what the shim sent was not what the server signed, and the cashier said so
  const sent = await page.evaluate(() => window.__wxCalls.filter((c) => c.api === 'requestPayment:result').map((c) => c.detail.errMsg))
  assert.deepEqual(sent, ['requestPayment:fail 支付验证签名失败'])

  await e2e.tap(page, 'wx-modal-confirm')
  await modal.waitFor({ state: 'detached' })
  assert.equal(await page.getAttribute('body', 'data-route'), 'pages/confirm/index')

  const token = await e2e.userToken(page, info)
  assert.equal((await e2e.userOrder(info, token, order.id)).status, 'PENDING')
  const dossier = await e2e.adminOrder(info, order.id)
  assert.equal(dossier.order.status, 'PENDING')
  assert.equal(dossier.timeline.some((entry) => entry.type === 'order.paid'), false)
  assert.deepEqual(await e2e.deliveries(info, order.outTradeNo), [])
  assert.deepEqual(await e2e.previewErrors(page), [])
  assert.deepEqual(consoleErrors, [])
})
