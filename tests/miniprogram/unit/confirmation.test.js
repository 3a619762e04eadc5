'use strict'
// services/confirmation: poll the server until a final state, with backoff; give up honestly.
const test = require('node:test')
const assert = require('node:assert/strict')
const { createFakeWx } = require('../support/fake-wx')
const { createFakeService } = require('../support/fake-service')
const { loadModules } = require('../support/mp')

async function setup() {
  const service = createFakeService()
  const fake = createFakeWx({ service })
  const [confirmation, checkout] = loadModules(['services/confirmation', 'services/checkout'], { wx: fake.wx })
  const order = await checkout.placeOrder(checkout.newAttempt([{ product_id: 'p-coffee', quantity: 1 }]))
  const delays = []
  const sleep = async (ms) => { delays.push(ms) }
  return { service, fake, confirmation, order, delays, sleep }
}

function refreshes(service, orderId) {
  return service.requestsTo('GET', `/api/orders/${orderId}`)
}

test('polls with ?refresh=true and stops at PAID', async () => {
  const ctx = await setup()
  let queries = 0
  ctx.service.onRefresh = (order) => { if (++queries === 3) ctx.service.setStatus(order.id, 'PAID') }
  const result = await ctx.confirmation.confirm(ctx.order.id, { attempts: 6, sleep: ctx.sleep })
  assert.equal(result.state, 'paid')
  assert.equal(result.order.status, 'PAID')
  assert.equal(result.attempts, 3)
  const gets = refreshes(ctx.service, ctx.order.id)
  assert.equal(gets.length, 3, 'no query after the final state')
  for (const req of gets) assert.deepEqual(req.query, { refresh: 'true' })
})

test('CLOSED is final too', async () => {
  const ctx = await setup()
  ctx.service.setStatus(ctx.order.id, 'CLOSED')
  const result = await ctx.confirmation.confirm(ctx.order.id, { sleep: ctx.sleep })
  assert.equal(result.state, 'closed')
  assert.equal(result.attempts, 1)
  assert.deepEqual(ctx.delays, [])
})

test('REFUNDED and PARTIALLY_REFUNDED are final (it was paid)', async () => {
  for (const status of ['REFUNDED', 'PARTIALLY_REFUNDED']) {
    const ctx = await setup()
    ctx.service.setStatus(ctx.order.id, status, { refunded_fen: 100 })
    const result = await ctx.confirmation.confirm(ctx.order.id, { sleep: ctx.sleep })
    assert.equal(result.state, 'refunded', status)
  }
})

test('gives up after the attempts and says "pending", never "paid"', async () => {
  const ctx = await setup()
  const result = await ctx.confirmation.confirm(ctx.order.id, { attempts: 4, sleep: ctx.sleep })
  assert.equal(result.state, 'pending')
  assert.equal(result.order.status, 'PENDING')
  assert.equal(result.attempts, 4)
  assert.equal(refreshes(ctx.service, ctx.order.id).length, 4)
})

test('backs off exponentially up to a ceiling', async () => {
  const ctx = await setup()
  await ctx.confirmation.confirm(ctx.order.id, {
    attempts: 6, initialDelayMs: 500, factor: 2, maxDelayMs: 3000, sleep: ctx.sleep,
  })
  assert.deepEqual(ctx.delays, [500, 1000, 2000, 3000, 3000])
})

test('default timing comes from config.poll', async () => {
  const ctx = await setup()
  const config = require('../../../miniprogram/config')
  await ctx.confirmation.confirm(ctx.order.id, { sleep: ctx.sleep })
  assert.equal(ctx.delays.length, config.poll.attempts - 1)
  assert.equal(ctx.delays[0], config.poll.initialDelayMs)
  assert.ok(ctx.delays.every((d) => d <= config.poll.maxDelayMs))
})

test('network errors and 5xx while polling are retried', async () => {
  const ctx = await setup()
  ctx.service.inject(`GET /api/orders/${ctx.order.id}`, { network: true })
  ctx.service.inject(`GET /api/orders/${ctx.order.id}`, { status: 503, body: { code: 'BUSY', message: 'busy', request_id: 'r' } })
  ctx.service.onRefresh = (order) => ctx.service.setStatus(order.id, 'PAID')
  const result = await ctx.confirmation.confirm(ctx.order.id, { attempts: 5, sleep: ctx.sleep })
  assert.equal(result.state, 'paid')
  assert.equal(result.attempts, 3)
})

test('only network errors until the end -> pending with the last error, not a guess', async () => {
  const ctx = await setup()
  for (let i = 0; i < 3; i++) ctx.service.inject(`GET /api/orders/${ctx.order.id}`, { network: true })
  const result = await ctx.confirmation.confirm(ctx.order.id, { attempts: 3, sleep: ctx.sleep })
  assert.equal(result.state, 'pending')
  assert.equal(result.order, null)
  assert.equal(result.error.network, true)
})

test('a definite error (404) stops polling at once', async () => {
  const ctx = await setup()
  const result = await ctx.confirmation.confirm('does-not-exist', { attempts: 5, sleep: ctx.sleep })
  assert.equal(result.state, 'error')
  assert.equal(result.error.status, 404)
  assert.equal(result.attempts, 1)
})

test('shouldStop ends polling (the page went away)', async () => {
  const ctx = await setup()
  let stop = false
  const sleep = async (ms) => { ctx.delays.push(ms); stop = true }
  const result = await ctx.confirmation.confirm(ctx.order.id, { attempts: 5, sleep, shouldStop: () => stop })
  assert.equal(result.state, 'stopped')
  assert.equal(refreshes(ctx.service, ctx.order.id).length, 1)
})

test('stateOf maps only the server\'s statuses', () => {
  const [confirmation] = loadModules(['services/confirmation'], { wx: createFakeWx().wx })
  assert.equal(confirmation.stateOf({ status: 'PAID' }), 'paid')
  assert.equal(confirmation.stateOf({ status: 'PENDING' }), 'pending')
  assert.equal(confirmation.stateOf({ status: 'SOMETHING_NEW' }), 'pending')
  assert.equal(confirmation.stateOf(null), 'pending')
})
