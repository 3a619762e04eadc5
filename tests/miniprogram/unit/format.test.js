'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { createFakeWx } = require('../support/fake-wx')
const { loadModules } = require('../support/mp')

const [format, orders] = loadModules(['utils/format', 'services/orders'], { wx: createFakeWx().wx })

test('ISO timestamps with microseconds (Python isoformat) are understood', () => {
  assert.equal(format.parseIso('2024-05-01T08:00:00.123456+00:00'), Date.parse('2024-05-01T08:00:00.123Z'))
  assert.equal(format.parseIso('2024-05-01T08:00:00Z'), Date.parse('2024-05-01T08:00:00Z'))
  assert.equal(format.parseIso(null), null)
  assert.equal(format.parseIso('not a date'), null)
  assert.match(format.formatTime('2024-05-01T08:00:00.123456+00:00'), /^2024-05-0[12] \d\d:\d\d$/)
  assert.equal(format.formatTime(null), '')
})

test('status texts come from the server status, unknown ones shown as sent', () => {
  assert.equal(format.statusText('PENDING'), 'Awaiting payment')
  assert.equal(format.statusText('PARTIALLY_REFUNDED'), 'Partially refunded')
  assert.equal(format.statusText('NEW_STATUS'), 'NEW_STATUS')
})

test('an order view is built from the service\'s order JSON only', () => {
  const view = orders.toOrderView({
    id: 'o1', out_trade_no: 'MP1', status: 'PARTIALLY_REFUNDED', amount_total_fen: 3980, currency: 'CNY',
    items: [{ product_id: 'p', name: 'Coffee', unit_price_fen: 1990, quantity: 2, line_total_fen: 3980 }],
    created_at: '2024-05-01T08:00:00+00:00', paid_at: '2024-05-01T08:01:00+00:00',
    transaction_id: '4200001', refunded_fen: 990, expires_at: '2024-05-01T08:30:00+00:00',
  })
  assert.equal(view.amountText, '¥39.80')
  assert.equal(view.refundedText, '¥9.90')
  assert.equal(view.statusText, 'Partially refunded')
  assert.deepEqual(view.items, [{ key: '0', name: 'Coffee', quantity: 2, amountText: '¥39.80' }])
  assert.equal(view.canPay, false)
  assert.equal(view.canCancel, false)
  assert.equal(view.isFinal, true)
  const pending = orders.toOrderView({ id: 7, status: 'PENDING', amount_total_fen: 1 })
  assert.equal(pending.id, '7')
  assert.equal(pending.canPay, true)
  assert.equal(pending.amountText, '¥0.01')
  assert.deepEqual(pending.items, [])
})
