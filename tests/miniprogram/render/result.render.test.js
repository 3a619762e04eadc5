'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { renderPage, waitFor } = require('../support/render')
const { createFakeWx } = require('../support/fake-wx')
const { createFakeService } = require('../support/fake-service')
const { loadModules } = require('../support/mp')

const FAST = { poll: { attempts: 3, initialDelayMs: 0, maxDelayMs: 0 } }

async function envWithOrder() {
  const service = createFakeService()
  const fake = createFakeWx({ service })
  const [checkout] = loadModules(['services/checkout'], { wx: fake.wx })
  const order = await checkout.placeOrder(checkout.newAttempt([{ product_id: 'p-coffee', quantity: 1 }]))
  return { service, fake, wx: fake.wx, config: FAST, orderId: order.id }
}

function stateOf(r) {
  return r.one('result-state').getAttribute('data-state')
}

test('paid: shown only once the server says PAID', async () => {
  const e = await envWithOrder()
  let queries = 0
  e.service.onRefresh = (order) => { if (++queries === 2) e.service.setStatus(order.id, 'PAID') }
  const r = renderPage('pages/result/index', e)
  const loading = r.instance.onLoad({ orderId: e.orderId })
  assert.equal(stateOf(r), 'checking')
  await loading
  assert.equal(stateOf(r), 'paid')
  assert.equal(r.text('result-title'), 'Payment successful')
  assert.equal(r.text('result-amount'), '¥19.90')
  assert.equal(r.text('result-status'), 'Paid')
  assert.equal(r.one('refresh-button'), null, 'nothing to refresh once paid')
  assert.deepEqual(r.consoleErrors, [])
  r.detach()
})

test('pending: said honestly, and the refresh button asks the server again', async () => {
  const e = await envWithOrder()
  const r = renderPage('pages/result/index', e)
  await r.instance.onLoad({ orderId: e.orderId })
  assert.equal(stateOf(r), 'pending')
  assert.equal(r.text('result-title'), 'Payment not confirmed yet')
  assert.match(r.text('result-pending-note'), /not confirmed/)
  assert.equal(r.text('result-status'), 'Awaiting payment')
  assert.ok(r.one('refresh-button'))
  // the notification arrives late; the user taps Refresh
  e.service.onRefresh = (order) => e.service.setStatus(order.id, 'PAID')
  await r.tap('refresh-button')
  await waitFor(() => stateOf(r) === 'paid', { message: 'paid after refresh' })
  assert.equal(r.text('result-title'), 'Payment successful')
  assert.deepEqual(r.consoleErrors, [])
  r.detach()
})

test('closed: no payment was taken', async () => {
  const e = await envWithOrder()
  e.service.setStatus(e.orderId, 'CLOSED')
  const r = renderPage('pages/result/index', e)
  await r.instance.onLoad({ orderId: e.orderId })
  assert.equal(stateOf(r), 'closed')
  assert.equal(r.text('result-title'), 'Order closed')
  r.detach()
})

test('an error is shown as an error, with a refresh button', async () => {
  const e = await envWithOrder()
  const r = renderPage('pages/result/index', e)
  await r.instance.onLoad({ orderId: 'missing' })
  assert.equal(stateOf(r), 'error')
  assert.equal(r.text('result-error'), 'Order not found')
  assert.ok(r.one('refresh-button'))
  r.detach()
})
