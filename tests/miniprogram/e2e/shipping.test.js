'use strict'
// Shipping information: pay -> the operator ships through the admin API -> the buyer confirms
// receipt in the preview (wx.openBusinessView 'weappOrderConfirm') -> the order settles, as
// the service says (WeChat's settlement push, or its get_order when the page asks).
const test = require('node:test')
const assert = require('node:assert/strict')
const e2e = require('../support/e2e')

async function until(what, check, seconds = 20) {
  const deadline = Date.now() + seconds * 1000
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`)
    await e2e.sleep(200)
  }
}

test('ship and confirm: the operator ships, the buyer confirms in the preview, the order settles', async (t) => {
  const stack = await e2e.startStack({ name: 'shipping' })
  t.after(() => stack.stop())
  const { info } = stack
  // A just-paid payment is invisible to WeChat's shipping API for a minute; not in this test.
  const settings = await fetch(`${info.emulator_url}/sandbox/shipping/settings`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ visible_delay_seconds: 0 })
  })
  assert.equal(settings.status, 200)
  const browser = await e2e.launchBrowser()
  t.after(() => browser.close())
  const { page, consoleErrors } = await e2e.openPreview(browser, info)

  const order = await e2e.placeFirstOrder(page)
  await e2e.tap(page, 'pay-button')
  const sheet = await e2e.cashier(page)
  await sheet.getByTestId('cashier-pay').click()
  await e2e.waitForRoute(page, 'pages/result/index')
  await page.waitForSelector('[data-testid="result-state"][data-state="paid"]', { timeout: 15000 })

  // The operator ships (the shipment exists once the worker ran the job the payment wrote).
  const shipUrl = `${info.service_url}/admin/api/orders/${encodeURIComponent(order.id)}/shipments`
  await until('the shipment to accept a shipping request', async () => {
    const res = await fetch(shipUrl, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${info.admin_token}`,
        'content-type': 'application/json',
        'idempotency-key': 'e2e-ship-1'
      },
      body: JSON.stringify({ packages: [{ express_company: 'YTO', tracking_no: 'YT2026E2E' }] })
    })
    if (res.status === 409) return false
    assert.equal(res.status, 202, await res.text())
    return true
  })
  const token = await e2e.userToken(page, info)
  await until('the upload to WeChat', async () => {
    const current = await e2e.userOrder(info, token, order.id)
    return current.shipping && current.shipping.state === 'UPLOADED'
  })

  await e2e.tap(page, 'view-order')
  await e2e.waitForRoute(page, 'pages/order-detail/index')
  await page.waitForSelector('[data-testid="detail-shipping"][data-state="UPLOADED"]', { timeout: 10000 })
  assert.match(await page.getByTestId('detail-tracking').first().textContent(), /YTO YT2026E2E/)
  await e2e.screenshot(page, 'shipping-1-shipped')
  await e2e.tap(page, 'detail-confirm-receipt')
  await page.waitForSelector('[data-testid="detail-shipping"][data-state="SETTLED"]', { timeout: 15000 })
  await e2e.screenshot(page, 'shipping-2-settled')

  // The service's own word, and WeChat's push that told it.
  assert.equal((await e2e.userOrder(info, token, order.id)).shipping.state, 'SETTLED')
  await until('the settlement push on the timeline', async () => {
    const dossier = await e2e.adminOrder(info, order.id)
    return dossier.timeline.some((entry) => entry.type === 'shipping.settled')
  })
  const calls = await e2e.wxCalls(page)
  assert.equal(calls.filter((c) => c === 'openBusinessView').length, 1)
  assert.deepEqual(await e2e.previewErrors(page), [])
  assert.deepEqual(consoleErrors, [])
})
