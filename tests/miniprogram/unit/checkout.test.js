'use strict'
// services/checkout: order creation with idempotency keys, pay params passed through
// untouched, cashier outcome classification, loading hidden before the cashier.
const test = require('node:test')
const assert = require('node:assert/strict')
const { createFakeWx } = require('../support/fake-wx')
const { createFakeService } = require('../support/fake-service')
const { loadModules } = require('../support/mp')

function setup(wxOptions = {}, serviceOptions = {}) {
  const service = createFakeService(serviceOptions)
  const fake = createFakeWx({ service, ...wxOptions })
  const [checkout, orders] = loadModules(['services/checkout', 'services/orders'], {
    wx: fake.wx,
    config: { createOrderRetryDelayMs: 0 },
  })
  return { service, fake, checkout, orders }
}

async function pendingOrder(ctx, quantity = 1) {
  return ctx.checkout.placeOrder(ctx.checkout.newAttempt([{ product_id: 'p-coffee', quantity }]))
}

const PAY_KEYS = ['nonceStr', 'package', 'paySign', 'signType', 'timeStamp']

test('the server\'s params reach wx.requestPayment unchanged', async () => {
  const ctx = setup()
  const params = {
    timeStamp: '1714550400',
    nonceStr: '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
    package: 'prepay_id=wx201410272009395522657a690389285100',
    signType: 'RSA',
    paySign: 'oR9d8PuhnIc+YZ8cBHFCwfgpaK9gd7vaRvkYD7rthRAZ/X+QBhcCYL21N7cHCTUxbQ+EAt6Uy+lwSN22f5YZvI45MLko8Pfso0jm46v5hqcVwrk6uddkGuT+Cdvu4WBqDzaDjnNa5UK3GfE1Wfl2gHxIIY5lLdUgWFts17D4WuolLLkiFZV+JSHMvH7eaLdT9N5GBovBwu5yYKUR7skR8Fu+LozcSqQixnlEZUfyE55feLOQTUYzLmR9pNtPbPsu6WVhbNHMS3Ss2+AehHvz+n64GDmXxbX++IOBvm2olHu3PsOUGRwhudhVf7UcGcunXt8cqNjKNqZLhLw4jq/xDg==',
  }
  ctx.service.payParams = params
  const order = await pendingOrder(ctx)
  const result = await ctx.checkout.pay(order.id)
  assert.equal(result.status, 'ok')
  const calls = ctx.fake.callsTo('requestPayment')
  assert.equal(calls.length, 1)
  const sent = calls[0].options
  assert.deepEqual(Object.keys(sent).sort(), PAY_KEYS, 'no key added or dropped')
  for (const key of PAY_KEYS) {
    assert.equal(typeof sent[key], 'string', `${key} stays a string`)
    assert.equal(sent[key], params[key], `${key} is byte-for-byte the server's`)
  }
  assert.deepEqual(sent, params)
})

test('cashier ok -> ok (which still needs the server\'s confirmation)', async () => {
  const ctx = setup({ pay: 'ok' })
  const order = await pendingOrder(ctx)
  const result = await ctx.checkout.pay(order.id)
  assert.equal(result.status, 'ok')
  assert.equal(result.stage, 'cashier')
  assert.equal(result.errMsg, 'requestPayment:ok')
  assert.equal(ctx.service.orders.get(order.id).status, 'PENDING', 'the client changed nothing on the server')
})

test('"requestPayment:fail cancel" -> cancel', async () => {
  const ctx = setup({ pay: 'cancel' })
  const result = await ctx.checkout.pay((await pendingOrder(ctx)).id)
  assert.equal(result.status, 'cancel')
  assert.equal(result.errMsg, 'requestPayment:fail cancel')
})

test('the historical "requestPayment:cancel" (complete only, no fail) -> cancel', async () => {
  const ctx = setup({ pay: 'legacy-cancel' })
  const result = await ctx.checkout.pay((await pendingOrder(ctx)).id)
  assert.equal(result.status, 'cancel')
  assert.equal(result.errMsg, 'requestPayment:cancel')
})

test('any other cashier failure -> fail, with the platform errMsg', async () => {
  const ctx = setup({ pay: 'sign error' })
  const result = await ctx.checkout.pay((await pendingOrder(ctx)).id)
  assert.equal(result.status, 'fail')
  assert.equal(result.stage, 'cashier')
  assert.equal(result.errMsg, 'requestPayment:fail sign error')
  assert.match(result.message, /sign error/)
})

test('classifyPaymentError covers the documented errMsg forms', () => {
  const { checkout } = setup()
  const cases = {
    'requestPayment:fail cancel': 'cancel',
    'requestPayment:cancel': 'cancel',
    'requestPayment:fail:cancel': 'cancel',
    'requestPayment:fail (detail message)': 'fail',
    'requestPayment:fail': 'fail',
    'requestPayment:fail cancelled order is not payable': 'fail',
  }
  for (const [errMsg, status] of Object.entries(cases)) {
    assert.equal(checkout.classifyPaymentError({ errMsg }).status, status, errMsg)
  }
  assert.equal(checkout.classifyPaymentError(undefined).status, 'fail')
})

test('the loading overlay is hidden BEFORE the cashier opens', async () => {
  const ctx = setup()
  const order = await pendingOrder(ctx)
  await ctx.checkout.pay(order.id)
  const ui = ctx.fake.apiSequence(['showLoading', 'hideLoading', 'requestPayment', 'showToast'])
  assert.deepEqual(ui, ['showLoading', 'hideLoading', 'requestPayment'])
  assert.deepEqual(ctx.fake.violations, [])
})

test('the pay params request failing (HTTP 500) never opens the cashier', async () => {
  const ctx = setup()
  const order = await pendingOrder(ctx)
  ctx.service.inject('POST /api/orders/', { status: 500, body: { code: 'WECHATPAY_UNAVAILABLE', message: 'WeChat Pay did not answer', request_id: 'r1' } })
  const result = await ctx.checkout.pay(order.id)
  assert.equal(result.status, 'fail')
  assert.equal(result.stage, 'prepare')
  assert.equal(result.message, 'WeChat Pay did not answer')
  assert.equal(result.orderSettled, false)
  assert.equal(ctx.fake.callsTo('requestPayment').length, 0)
  assert.equal(ctx.fake.loadingVisible, false, 'the loading overlay is not left up')
})

test('a network error getting the params never opens the cashier', async () => {
  const ctx = setup()
  const order = await pendingOrder(ctx)
  ctx.service.inject('POST /api/orders/', { network: true })
  const result = await ctx.checkout.pay(order.id)
  assert.equal(result.status, 'fail')
  assert.equal(result.stage, 'prepare')
  assert.equal(result.error.network, true)
  assert.equal(ctx.fake.callsTo('requestPayment').length, 0)
  assert.equal(ctx.fake.loadingVisible, false)
})

test('409 on pay (already paid or closed) is flagged so the page asks the server', async () => {
  const ctx = setup()
  const order = await pendingOrder(ctx)
  ctx.service.setStatus(order.id, 'PAID')
  const result = await ctx.checkout.pay(order.id)
  assert.equal(result.status, 'fail')
  assert.equal(result.orderSettled, true)
  assert.equal(ctx.fake.callsTo('requestPayment').length, 0)
})

test('params that are not all strings are refused, not converted', async () => {
  const ctx = setup()
  ctx.service.payParams = { timeStamp: 1714550400, nonceStr: 'n', package: 'prepay_id=x', signType: 'RSA', paySign: 's' }
  const result = await ctx.checkout.pay((await pendingOrder(ctx)).id)
  assert.equal(result.status, 'fail')
  assert.equal(result.error.code, 'BAD_PAY_PARAMS')
  assert.equal(ctx.fake.callsTo('requestPayment').length, 0)
})

test('the order body carries items only: no amount is ever sent', async () => {
  const ctx = setup()
  await pendingOrder(ctx, 3)
  const post = ctx.service.requestsTo('POST', '/api/orders')[0]
  assert.deepEqual(post.data, { items: [{ product_id: 'p-coffee', quantity: 3 }] })
})

test('a network error creating the order is retried with the SAME Idempotency-Key', async () => {
  const ctx = setup()
  const attempt = ctx.checkout.newAttempt([{ product_id: 'p-coffee', quantity: 2 }])
  // the server creates the order, then the answer is lost on the way back
  ctx.service.inject('POST /api/orders', { loseResponse: true })
  const order = await ctx.checkout.placeOrder(attempt)
  const posts = ctx.service.requestsTo('POST', '/api/orders')
  assert.equal(posts.length, 2)
  assert.equal(posts[0].header['Idempotency-Key'], attempt.key)
  assert.equal(posts[1].header['Idempotency-Key'], attempt.key)
  assert.equal(ctx.service.orders.size, 1, 'one order, not two')
  assert.equal(order.id, [...ctx.service.orders.keys()][0])
})

test('retries are bounded; the attempt keeps its key for a later retry', async () => {
  const ctx = setup()
  const attempt = ctx.checkout.newAttempt([{ product_id: 'p-coffee', quantity: 1 }])
  await ctx.checkout.placeOrder(attempt) // logs in first, so the faults below hit the order POST
  const again = ctx.checkout.newAttempt([{ product_id: 'p-cookie', quantity: 1 }])
  for (let i = 0; i < 3; i++) ctx.service.inject('POST /api/orders', { network: true })
  await assert.rejects(ctx.checkout.placeOrder(again, { retries: 2 }), (err) => {
    assert.equal(err.network, true)
    assert.equal(ctx.checkout.canRetrySameAttempt(err), true)
    return true
  })
  const sent = ctx.fake.callsTo('request').filter((c) => c.options.method === 'POST' && c.options.url.endsWith('/api/orders'))
  assert.equal(sent.length, 1 + 3, 'one for the first attempt, three tries for the second')
  for (const call of sent.slice(1)) assert.equal(call.options.header['Idempotency-Key'], again.key)
  // the user taps again: the same attempt, the same key, one order
  const order = await ctx.checkout.placeOrder(again)
  assert.equal(ctx.service.requestsTo('POST', '/api/orders').at(-1).header['Idempotency-Key'], again.key)
  assert.equal(order.items[0].product_id, 'p-cookie')
})

test('a new attempt gets a fresh key', () => {
  const { checkout } = setup()
  const items = [{ product_id: 'p-coffee', quantity: 1 }]
  const keys = new Set()
  for (let i = 0; i < 50; i++) keys.add(checkout.newAttempt(items).key)
  assert.equal(keys.size, 50)
  for (const key of keys) assert.match(key, /^[\w-]{8,64}$/)
})

test('definite refusals (4xx) are not retried; unknown outcomes (network, 5xx) are', async () => {
  const ctx = setup()
  const attempt = ctx.checkout.newAttempt([{ product_id: 'nope', quantity: 1 }])
  await assert.rejects(ctx.checkout.placeOrder(attempt), (err) => {
    assert.equal(err.status, 422)
    assert.equal(ctx.checkout.canRetrySameAttempt(err), false)
    return true
  })
  assert.equal(ctx.service.requestsTo('POST', '/api/orders').length, 1)
  assert.equal(ctx.checkout.canRetrySameAttempt({ status: 503 }), true)
  assert.equal(ctx.checkout.canRetrySameAttempt({ status: 409 }), false)
})

test('the created order is the server\'s: its amount is not recomputed', async () => {
  const ctx = setup()
  ctx.service.priceOverride = 1234
  const order = await pendingOrder(ctx, 2)
  assert.equal(order.amount_total_fen, 1234)
  assert.equal(ctx.orders.toOrderView(order).amountText, '¥12.34')
})
