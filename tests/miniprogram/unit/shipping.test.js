'use strict'
// Shipping on the order detail: the state and tracking numbers come from the server; "confirm
// receipt" opens WeChat's page (wx.openBusinessView 'weappOrderConfirm') and then shows what
// the server says, whatever the page answered.
const test = require('node:test')
const assert = require('node:assert/strict')
const { createFakeWx } = require('../support/fake-wx')
const { loadModules, loadPage } = require('../support/mp')

const SHIPPED = {
  state: 'UPLOADED',
  logistics_type: 1,
  merchant_id: '1900000109',
  tracking: [{ express_company: 'YTO', tracking_no: 'YT100' }]
}

function order(shipping) {
  return {
    id: 'o1',
    out_trade_no: 'MP1',
    status: 'PAID',
    amount_total_fen: 1800,
    items: [{ name: 'Latte', quantity: 1, line_total_fen: 1800 }],
    transaction_id: '4200000001',
    refunded_fen: 0,
    shipping: shipping
  }
}

/** A service that answers login, the order, and the shipping refresh (`after` the confirm). */
function shippingService(before, after) {
  const requests = []
  return {
    requests,
    async handle(req) {
      requests.push(`${req.method} ${req.path}${req.query.refresh ? '?refresh=' + req.query.refresh : ''}`)
      if (req.path === '/api/login') return { statusCode: 200, data: { token: 't', expires_at: '2030-01-01T00:00:00Z' } }
      if (req.path === '/api/orders/o1') return { statusCode: 200, data: order(before) }
      if (req.path === '/api/orders/o1/shipping') return { statusCode: 200, data: after }
      return { statusCode: 404, data: { code: 'NOT_FOUND', message: req.path } }
    }
  }
}

test('the shipping view shows the state, the method and the tracking numbers', () => {
  const fake = createFakeWx()
  const [shipping] = loadModules(['services/shipping'], { wx: fake.wx })
  const view = shipping.toShippingView(SHIPPED)
  assert.equal(view.stateText, 'Shipped')
  assert.equal(view.logisticsText, 'Express')
  assert.deepEqual(view.tracking, [{ key: '0', text: 'YTO YT100' }])
  assert.equal(view.canConfirm, true)
  assert.equal(shipping.toShippingView({ ...SHIPPED, state: 'PENDING_UPLOAD' }).canConfirm, false)
  assert.equal(shipping.toShippingView(undefined), null)
})

test('confirm receipt opens WeChat\'s page with the order\'s keys, then shows the server\'s state', async () => {
  const service = shippingService(SHIPPED, { ...SHIPPED, state: 'SETTLED' })
  const fake = createFakeWx({ service })
  const page = loadPage('pages/order-detail/index', { wx: fake.wx })
  await page.onLoad({ id: 'o1' })
  assert.equal(page.data.order.shipping.state, 'UPLOADED')
  await page.onConfirmReceiptTap()
  const opened = fake.calls.filter((c) => c.api === 'openBusinessView')
  assert.equal(opened.length, 1)
  assert.equal(opened[0].options.businessType, 'weappOrderConfirm')
  assert.deepEqual(opened[0].options.extraData, {
    merchant_id: '1900000109',
    merchant_trade_no: 'MP1',
    transaction_id: '4200000001'
  })
  assert.ok(service.requests.includes('GET /api/orders/o1/shipping?refresh=true'))
  assert.equal(page.data.order.shipping.state, 'SETTLED')
  assert.equal(page.data.order.shipping.canConfirm, false)
})

test('when WeChat\'s page fails, the server still decides what is shown', async () => {
  const service = shippingService(SHIPPED, SHIPPED)
  const fake = createFakeWx({ service, businessView: 'not supported' })
  const page = loadPage('pages/order-detail/index', { wx: fake.wx })
  await page.onLoad({ id: 'o1' })
  await page.onConfirmReceiptTap()
  assert.equal(page.data.order.shipping.state, 'UPLOADED', 'no local "received" without the server')
  assert.ok(fake.calls.some((c) => c.api === 'showToast'))
})

test('an order that is not shipped yet has no confirm button', async () => {
  const pending = { ...SHIPPED, state: 'PENDING_UPLOAD', tracking: [] }
  const service = shippingService(pending, pending)
  const fake = createFakeWx({ service })
  const page = loadPage('pages/order-detail/index', { wx: fake.wx })
  await page.onLoad({ id: 'o1' })
  await page.onConfirmReceiptTap()
  assert.equal(fake.calls.filter((c) => c.api === 'openBusinessView').length, 0)
})
