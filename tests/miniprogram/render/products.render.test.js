'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { renderPage, waitFor } = require('../support/render')
const { createFakeWx } = require('../support/fake-wx')
const { createFakeService } = require('../support/fake-service')

function env() {
  const service = createFakeService()
  const fake = createFakeWx({ service })
  return { service, fake, wx: fake.wx }
}

test('the product list renders names and prices formatted from fen', async () => {
  const e = env()
  const r = renderPage('pages/products/index', e)
  assert.ok(r.one('products-loading'), 'a loading state first')
  await r.instance.onLoad({})
  await waitFor(() => r.all('product-item').length === 3, { message: 'three products' })
  assert.deepEqual(r.texts('product-name'), ['Coffee', 'Cookie', 'Sample'])
  assert.deepEqual(r.texts('product-price'), ['¥19.90', '¥0.01', '¥0.00'])
  assert.equal(r.one('products-loading'), null)
  assert.deepEqual(r.consoleErrors, [])
  r.detach()
})

test('tapping a product opens its confirmation page', async () => {
  const e = env()
  const r = renderPage('pages/products/index', e)
  await r.instance.onLoad({})
  await r.tap('product-item', 1)
  await waitFor(() => e.fake.callsTo('navigateTo').length === 1, { message: 'navigateTo' })
  assert.equal(e.fake.callsTo('navigateTo')[0].options.url, '/pages/confirm/index?productId=p-cookie')
  await r.tap('orders-link')
  await waitFor(() => e.fake.callsTo('navigateTo').length === 2, { message: 'second navigateTo' })
  assert.equal(e.fake.callsTo('navigateTo')[1].options.url, '/pages/orders/index')
  assert.deepEqual(r.consoleErrors, [])
  r.detach()
})

test('a server error is rendered with its message, and "Try again" recovers', async () => {
  const e = env()
  e.service.inject('GET /api/products', { status: 503, body: { code: 'UNAVAILABLE', message: 'Catalog is being updated', request_id: 'r' } })
  const r = renderPage('pages/products/index', e)
  await r.instance.onLoad({})
  assert.equal(r.text('products-error-message'), 'Catalog is being updated')
  assert.equal(r.all('product-item').length, 0)
  await r.tap('products-retry')
  await waitFor(() => r.all('product-item').length === 3, { message: 'products after retry' })
  assert.equal(r.one('products-error'), null)
  r.detach()
})
