'use strict'
// The pages, driven like the platform would (onLoad, taps) with a stub Page(), the fake wx and
// the fake service. Pages only orchestrate: these tests check what the user sees and which
// platform calls happen in which order.
const test = require('node:test')
const { describe } = require('node:test')
const assert = require('node:assert/strict')
const { createFakeWx } = require('../support/fake-wx')
const { createFakeService } = require('../support/fake-service')
const { loadPage } = require('../support/mp')

const FAST = { poll: { attempts: 3, initialDelayMs: 0, maxDelayMs: 0 }, createOrderRetryDelayMs: 0 }

function env(wxOptions = {}, serviceOptions = {}) {
  const service = createFakeService(serviceOptions)
  const fake = createFakeWx({ service, ...wxOptions })
  return { service, fake, wx: fake.wx, config: FAST }
}

function tapEvent(dataset) {
  return { type: 'tap', currentTarget: { dataset }, target: { dataset }, detail: {} }
}

function navigations(fake) {
  return fake.calls.filter((c) => ['navigateTo', 'redirectTo', 'reLaunch'].includes(c.api))
    .map((c) => `${c.api} ${c.options.url}`)
}

async function confirmPageWithOrder(e, quantity = 1) {
  const page = loadPage('pages/confirm/index', e)
  await page.onLoad({ productId: 'p-coffee' })
  for (let i = 1; i < quantity; i++) page.onPlusTap()
  await page.onPlaceOrderTap()
  assert.ok(page.data.order, 'order created')
  return page
}

describe('products page', () => {
  test('lists the products with prices formatted from fen', async () => {
    const e = env()
    const page = loadPage('pages/products/index', e)
    assert.equal(page.data.status, 'loading')
    await page.onLoad({})
    assert.equal(page.data.status, 'ready')
    assert.deepEqual(page.data.products.map((p) => [p.name, p.priceText]), [
      ['Coffee', '¥19.90'], ['Cookie', '¥0.01'], ['Sample', '¥0.00'],
    ])
  })

  test('an HTTP error is shown, not an empty list; retry recovers', async () => {
    const e = env()
    e.service.inject('GET /api/products', { status: 500, body: { code: 'INTERNAL', message: 'Catalog unavailable', request_id: 'r' } })
    const page = loadPage('pages/products/index', e)
    await page.onLoad({})
    assert.equal(page.data.status, 'error')
    assert.equal(page.data.errorMessage, 'Catalog unavailable')
    await page.onRetryTap()
    assert.equal(page.data.status, 'ready')
  })

  test('the list is public: no wx.login, no token', async () => {
    const e = env()
    const page = loadPage('pages/products/index', e)
    await page.onLoad({})
    assert.equal(e.fake.callsTo('login').length, 0)
    assert.equal(e.service.requests[0].header.Authorization, undefined)
  })

  test('tapping a product opens its confirmation page', async () => {
    const e = env()
    const page = loadPage('pages/products/index', e)
    await page.onLoad({})
    page.onProductTap(tapEvent({ id: 'p-coffee' }))
    page.onOrdersTap()
    assert.deepEqual(navigations(e.fake), [
      'navigateTo /pages/confirm/index?productId=p-coffee',
      'navigateTo /pages/orders/index',
    ])
  })
})

describe('confirm page', () => {
  test('shows the SERVER\'s total once the order exists, not a client computation', async () => {
    const e = env()
    e.service.priceOverride = 3500 // e.g. a server-side discount: 2 x 19.90 would be 39.80
    const page = await confirmPageWithOrder(e, 2)
    assert.equal(page.data.quantity, 2)
    assert.equal(page.data.order.amountText, '¥35.00')
    const post = e.service.requestsTo('POST', '/api/orders')[0]
    assert.deepEqual(post.data, { items: [{ product_id: 'p-coffee', quantity: 2 }] })
  })

  test('the quantity stepper stays within bounds and locks once the order exists', async () => {
    const e = env()
    const page = loadPage('pages/confirm/index', e)
    await page.onLoad({ productId: 'p-coffee' })
    page.onMinusTap()
    assert.equal(page.data.quantity, 1)
    for (let i = 0; i < 120; i++) page.onPlusTap()
    assert.equal(page.data.quantity, 99)
    await page.onPlaceOrderTap()
    page.onMinusTap()
    assert.equal(page.data.quantity, 99)
  })

  test('an unknown product says so', async () => {
    const e = env()
    const page = loadPage('pages/confirm/index', e)
    await page.onLoad({ productId: 'gone' })
    assert.equal(page.data.status, 'missing')
  })

  test('pay: loading is hidden before the cashier, then the result page asks the server', async () => {
    const e = env()
    const page = await confirmPageWithOrder(e)
    await page.onPayTap()
    assert.deepEqual(
      e.fake.apiSequence(['showLoading', 'hideLoading', 'requestPayment', 'showToast', 'showModal', 'redirectTo']),
      ['showLoading', 'hideLoading', // creating the order
        'showLoading', 'hideLoading', 'requestPayment', // getting params, then the cashier
        'redirectTo'],
    )
    assert.deepEqual(e.fake.violations, [])
    assert.deepEqual(navigations(e.fake), [`redirectTo /pages/result/index?orderId=${page.data.order.id}`])
  })

  test('a double tap on Pay starts exactly one payment', async () => {
    const e = env()
    const page = await confirmPageWithOrder(e)
    await Promise.all([page.onPayTap(), page.onPayTap(), page.onPayTap()])
    assert.equal(e.service.requestsTo('POST', `/api/orders/${page.data.order.id}/pay`).length, 1)
    assert.equal(e.fake.callsTo('requestPayment').length, 1)
    assert.equal(e.fake.callsTo('redirectTo').length, 1)
  })

  test('a double tap on Place order creates one order', async () => {
    const e = env()
    const page = loadPage('pages/confirm/index', e)
    await page.onLoad({ productId: 'p-coffee' })
    await Promise.all([page.onPlaceOrderTap(), page.onPlaceOrderTap()])
    assert.equal(e.service.requestsTo('POST', '/api/orders').length, 1)
    assert.equal(e.service.orders.size, 1)
  })

  test('cancel in the cashier: a toast, the Pay button is usable again', async () => {
    const e = env({ pay: 'cancel' })
    const page = await confirmPageWithOrder(e)
    await page.onPayTap()
    assert.equal(page.data.paying, false)
    const toasts = e.fake.callsTo('showToast')
    assert.equal(toasts.length, 1)
    assert.equal(toasts[0].options.title, 'Payment cancelled')
    assert.deepEqual(navigations(e.fake), [])
    e.fake.options.pay = 'ok'
    await page.onPayTap()
    assert.equal(e.fake.callsTo('requestPayment').length, 2)
    assert.equal(e.fake.callsTo('redirectTo').length, 1)
  })

  test('a cashier failure is shown with the platform message', async () => {
    const e = env({ pay: 'sign error' })
    const page = await confirmPageWithOrder(e)
    await page.onPayTap()
    const modal = e.fake.callsTo('showModal')[0]
    assert.equal(modal.options.title, 'Payment failed')
    assert.match(modal.options.content, /requestPayment:fail sign error/)
    assert.equal(page.data.paying, false)
    assert.deepEqual(e.fake.violations, [])
  })

  test('a 500 from /pay: no cashier, the loading is gone, the message is shown', async () => {
    const e = env()
    const page = await confirmPageWithOrder(e)
    e.service.inject('POST /api/orders/', { status: 500, body: { code: 'INTERNAL', message: 'Prepay failed', request_id: 'r' } })
    await page.onPayTap()
    assert.equal(e.fake.callsTo('requestPayment').length, 0)
    assert.equal(e.fake.loadingVisible, false)
    assert.equal(e.fake.callsTo('showModal')[0].options.content, 'Prepay failed')
  })

  test('a network error placing the order: the next tap reuses the key; a new quantity gets a new key', async () => {
    const e = env()
    const page = loadPage('pages/confirm/index', e)
    await page.onLoad({ productId: 'p-coffee' })
    for (let i = 0; i < 3; i++) e.service.inject('POST /api/orders', { network: true }) // 1 try + 2 retries
    await page.onPlaceOrderTap()
    assert.equal(page.data.order, null)
    assert.match(e.fake.callsTo('showModal')[0].options.content, /network/i)
    const keyOf = (c) => c.options.header['Idempotency-Key']
    const posts = () => e.fake.callsTo('request').filter((c) => c.options.method === 'POST' && c.options.url.endsWith('/api/orders'))
    const firstKey = keyOf(posts()[0])
    assert.ok(posts().every((c) => keyOf(c) === firstKey))
    // the user taps again: same attempt
    e.service.inject('POST /api/orders', { network: true })
    e.service.inject('POST /api/orders', { network: true })
    e.service.inject('POST /api/orders', { network: true })
    await page.onPlaceOrderTap()
    assert.ok(posts().every((c) => keyOf(c) === firstKey))
    // a different quantity is a different body: a new attempt with a new key
    page.onPlusTap()
    await page.onPlaceOrderTap()
    assert.ok(page.data.order)
    assert.notEqual(keyOf(posts().at(-1)), firstKey)
    assert.equal(e.service.orders.size, 1)
  })

  test('paying an order that is already paid goes to the result page', async () => {
    const e = env()
    const page = await confirmPageWithOrder(e)
    e.service.setStatus(page.data.order.id, 'PAID')
    await page.onPayTap()
    assert.equal(e.fake.callsTo('requestPayment').length, 0)
    assert.equal(e.fake.callsTo('redirectTo').length, 1)
  })
})

describe('result page', () => {
  async function resultPage(e, setupOrder) {
    const confirm = await confirmPageWithOrder(e)
    const id = confirm.data.order.id
    if (setupOrder) setupOrder(id)
    const page = loadPage('pages/result/index', e)
    await page.onLoad({ orderId: id })
    return { page, id }
  }

  test('shows paid only when the server says PAID', async () => {
    const e = env()
    e.service.onRefresh = (order) => e.service.setStatus(order.id, 'PAID')
    const { page } = await resultPage(e)
    assert.equal(page.data.state, 'paid')
    assert.equal(page.data.order.status, 'PAID')
    assert.equal(page.data.order.amountText, '¥19.90')
  })

  test('not confirmed in time: an honest "pending", and refresh asks again', async () => {
    const e = env()
    const { page, id } = await resultPage(e)
    assert.equal(page.data.state, 'pending')
    assert.equal(page.data.order.status, 'PENDING')
    assert.equal(e.service.requestsTo('GET', `/api/orders/${id}`).length, FAST.poll.attempts)
    e.service.onRefresh = (order) => e.service.setStatus(order.id, 'PAID')
    await page.onRefreshTap()
    assert.equal(page.data.state, 'paid')
  })

  test('a closed order is shown as closed', async () => {
    const e = env()
    const { page } = await resultPage(e, (id) => e.service.setStatus(id, 'CLOSED'))
    assert.equal(page.data.state, 'closed')
  })

  test('a 404 is an error state, not "paid" and not "pending"', async () => {
    const e = env()
    const page = loadPage('pages/result/index', e)
    await page.onLoad({ orderId: 'nope' })
    assert.equal(page.data.state, 'error')
    assert.equal(page.data.errorMessage, 'Order not found')
  })

  test('a double tap on refresh polls once', async () => {
    const e = env()
    const { page, id } = await resultPage(e)
    const before = e.service.requestsTo('GET', `/api/orders/${id}`).length
    await Promise.all([page.onRefreshTap(), page.onRefreshTap()])
    assert.equal(e.service.requestsTo('GET', `/api/orders/${id}`).length - before, FAST.poll.attempts)
  })

  test('leaving the page stops the polling', async () => {
    const e = env()
    e.config = { ...FAST, poll: { attempts: 5, initialDelayMs: 5, maxDelayMs: 5 } }
    const confirm = await confirmPageWithOrder(e)
    const page = loadPage('pages/result/index', e)
    const done = page.onLoad({ orderId: confirm.data.order.id })
    page.onUnload()
    await done
    assert.ok(e.service.requestsTo('GET', `/api/orders/${confirm.data.order.id}`).length <= 1)
  })
})

describe('orders page', () => {
  test('lists my orders newest first, one page at a time', async () => {
    const e = env()
    e.config = { ...FAST, ordersPageSize: 10 }
    const first = loadPage('pages/orders/index', e) // logs in (empty list)
    await first.onLoad({})
    const token = e.fake.storage.get('mppay_session').token
    e.service.seedOrders(token, 23)
    const page = loadPage('pages/orders/index', e)
    await page.onLoad({})
    assert.equal(page.data.items.length, 10)
    assert.equal(page.data.items[0].id, '23')
    assert.equal(page.data.hasMore, true)
    await page.onReachBottom()
    await page.onLoadMoreTap()
    assert.equal(page.data.items.length, 23)
    assert.equal(page.data.hasMore, false)
    assert.deepEqual(page.data.items.map((o) => o.id), Array.from({ length: 23 }, (_, i) => String(23 - i)))
    const lists = e.service.requestsTo('GET', '/api/orders').filter((r) => r.path === '/api/orders')
    assert.deepEqual(lists.map((r) => r.query), [{ limit: '10' }, { limit: '10' }, { limit: '10', cursor: '13' }, { limit: '10', cursor: '3' }])
    await page.onLoadMoreTap() // nothing more to load
    assert.equal(e.service.requestsTo('GET', '/api/orders').filter((r) => r.path === '/api/orders').length, 4)
  })

  test('no orders: an empty state', async () => {
    const e = env()
    const page = loadPage('pages/orders/index', e)
    await page.onLoad({})
    assert.equal(page.data.status, 'empty')
  })

  test('the first onShow (right after onLoad) does not load twice; coming back reloads', async () => {
    const e = env()
    const page = loadPage('pages/orders/index', e)
    const loading = page.onLoad({})
    page.onShow()
    await loading
    const lists = () => e.service.requestsTo('GET', '/api/orders').filter((r) => r.path === '/api/orders').length
    assert.equal(lists(), 1)
    await page.onShow()
    assert.equal(lists(), 2)
  })

  test('tapping an order opens its detail', async () => {
    const e = env()
    const page = loadPage('pages/orders/index', e)
    await page.onLoad({})
    page.onOrderTap(tapEvent({ id: '7' }))
    assert.deepEqual(navigations(e.fake), ['navigateTo /pages/order-detail/index?id=7'])
  })
})

describe('order detail page', () => {
  async function detailPage(e) {
    const confirm = await confirmPageWithOrder(e)
    const page = loadPage('pages/order-detail/index', e)
    await page.onLoad({ id: confirm.data.order.id })
    return page
  }

  test('shows the order from the server', async () => {
    const e = env()
    const page = await detailPage(e)
    assert.equal(page.data.status, 'ready')
    assert.equal(page.data.order.statusText, 'Awaiting payment')
    assert.equal(page.data.order.canCancel, true)
    assert.deepEqual(page.data.order.items.map((i) => [i.name, i.quantity, i.amountText]), [['Coffee', 1, '¥19.90']])
  })

  test('cancel an unpaid order after confirming', async () => {
    const e = env()
    const page = await detailPage(e)
    await page.onCancelTap()
    assert.equal(e.service.requestsTo('POST', `/api/orders/${page.data.order.id}/cancel`).length, 1)
    assert.equal(page.data.order.status, 'CLOSED')
    assert.equal(page.data.order.canCancel, false)
    assert.equal(e.fake.callsTo('showToast')[0].options.title, 'Order cancelled')
    assert.deepEqual(e.fake.violations, [])
  })

  test('declining the confirmation cancels nothing', async () => {
    const e = env({ modalConfirm: false })
    const page = await detailPage(e)
    await page.onCancelTap()
    assert.equal(e.service.requestsTo('POST', `/api/orders/${page.data.order.id}/cancel`).length, 0)
    assert.equal(page.data.order.status, 'PENDING')
  })

  test('a refused cancel (already paid meanwhile) shows the server\'s reason and the real state', async () => {
    const e = env()
    const page = await detailPage(e)
    e.service.setStatus(page.data.order.id, 'PAID')
    await page.onCancelTap()
    const modals = e.fake.callsTo('showModal')
    assert.equal(modals.at(-1).options.title, 'Could not cancel the order')
    assert.equal(modals.at(-1).options.content, 'Order is PAID')
    assert.equal(page.data.order.status, 'PAID')
  })

  test('pay from the detail page: one payment, then the result page', async () => {
    const e = env()
    const page = await detailPage(e)
    await Promise.all([page.onPayTap(), page.onPayTap()])
    assert.equal(e.fake.callsTo('requestPayment').length, 1)
    assert.deepEqual(navigations(e.fake), [`redirectTo /pages/result/index?orderId=${page.data.order.id}`])
    assert.deepEqual(e.fake.violations, [])
  })

  test('refresh asks the server to check with WeChat Pay', async () => {
    const e = env()
    const page = await detailPage(e)
    e.service.onRefresh = (order) => e.service.setStatus(order.id, 'PAID')
    await page.onRefreshTap()
    assert.equal(page.data.order.status, 'PAID')
    assert.equal(page.data.order.canPay, false)
    assert.ok(page.data.order.paidText)
  })
})
