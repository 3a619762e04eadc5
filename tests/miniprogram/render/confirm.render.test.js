'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { renderPage, waitFor } = require('../support/render')
const { createFakeWx } = require('../support/fake-wx')
const { createFakeService } = require('../support/fake-service')

function env(wxOptions = {}) {
  const service = createFakeService()
  const fake = createFakeWx({ service, ...wxOptions })
  return { service, fake, wx: fake.wx, config: { createOrderRetryDelayMs: 0 } }
}

test('stepper, place order, server total, pay: the whole page through taps', async () => {
  const e = env()
  e.service.priceOverride = 3500
  const r = renderPage('pages/confirm/index', e)
  await r.instance.onLoad({ productId: 'p-coffee' })
  assert.equal(r.text('product-name'), 'Coffee')
  assert.equal(r.text('unit-price'), '¥19.90')
  await r.tap('qty-plus')
  await waitFor(() => r.text('qty-value') === '2', { message: 'quantity 2' })
  assert.equal(r.one('order-total'), null, 'no total before the server computed one')

  await r.tap('place-order')
  await waitFor(() => r.one('order-total'), { message: 'the order total' })
  assert.equal(r.text('order-total'), '¥35.00', 'the server\'s amount, not 2 x 19.90')
  assert.match(r.text('pay-button'), /Pay ¥35.00/)

  // a double tap on Pay
  await Promise.all([r.tap('pay-button'), r.tap('pay-button')])
  await waitFor(() => e.fake.callsTo('redirectTo').length === 1, { message: 'redirect to the result page' })
  assert.equal(e.fake.callsTo('requestPayment').length, 1)
  assert.deepEqual(e.fake.apiSequence(['showLoading', 'hideLoading', 'requestPayment']),
    ['showLoading', 'hideLoading', 'showLoading', 'hideLoading', 'requestPayment'])
  assert.deepEqual(e.fake.violations, [])
  assert.deepEqual(r.consoleErrors, [])
  r.detach()
})
