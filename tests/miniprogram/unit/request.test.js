'use strict'
// utils/request + utils/http + services/auth against the fake wx and the fake service.
const test = require('node:test')
const assert = require('node:assert/strict')
const { createFakeWx } = require('../support/fake-wx')
const { createFakeService } = require('../support/fake-service')
const { loadModules } = require('../support/mp')

function setup(options = {}) {
  const service = options.service || createFakeService()
  const fake = options.fake || createFakeWx({ service, ...options.wx })
  const [api, auth, http] = loadModules(['utils/request', 'services/auth', 'utils/http'], { wx: fake.wx })
  return { service, fake, api, auth, http }
}

function bearer(req) {
  return req.header.Authorization
}

test('the first request logs in, later ones reuse the stored token', async () => {
  const { service, fake, api } = setup()
  await api.request({ path: '/api/orders' })
  await api.request({ path: '/api/orders' })
  await api.request({ path: '/api/products' })
  assert.equal(fake.callsTo('login').length, 1, 'wx.login once')
  assert.equal(service.requestsTo('POST', '/api/login').length, 1, 'POST /api/login once')
  assert.deepEqual(service.requests[0].data, { code: 'code-1' }, 'the wx.login code is sent as {code}')
  const stored = fake.storage.get('mppay_session')
  assert.equal(stored.token, 'tok-1-code-1')
  assert.ok(stored.expires_at)
})

test('the token is sent as a Bearer Authorization header', async () => {
  const { service, api } = setup()
  await api.request({ path: '/api/orders' })
  const req = service.requestsTo('GET', '/api/orders')[0]
  assert.equal(bearer(req), 'Bearer tok-1-code-1')
})

test('concurrent requests before any login share ONE login', async () => {
  const { service, fake, api } = setup()
  const results = await Promise.all([
    api.request({ path: '/api/orders' }),
    api.request({ path: '/api/products' }),
    api.request({ path: '/api/orders' }),
  ])
  assert.equal(results.length, 3)
  assert.equal(fake.callsTo('login').length, 1)
  assert.equal(service.requestsTo('POST', '/api/login').length, 1)
  for (const req of service.requests.filter((r) => r.path !== '/api/login')) {
    assert.equal(bearer(req), 'Bearer tok-1-code-1')
  }
})

test('a token stored by an earlier launch is reused without logging in', async () => {
  const service = createFakeService()
  const fake = createFakeWx({ service })
  let { api } = setup({ service, fake })
  await api.request({ path: '/api/orders' })
  // a new launch: fresh module graph, same storage
  ;({ api } = setup({ service, fake }))
  await api.request({ path: '/api/orders' })
  assert.equal(fake.callsTo('login').length, 1)
})

test('an expired stored token is replaced before it is used', async () => {
  const { service, fake, api } = setup()
  fake.storage.set('mppay_session', { token: 'old', expires_at: '2000-01-01T00:00:00Z' })
  await api.request({ path: '/api/orders' })
  assert.equal(fake.callsTo('login').length, 1)
  assert.equal(bearer(service.requestsTo('GET', '/api/orders')[0]), 'Bearer tok-1-code-1')
})

test('expires_at is understood as ISO text, unix seconds or unix ms', () => {
  const { auth } = setup()
  assert.equal(auth.expiryMs('2024-05-01T08:00:00Z'), Date.parse('2024-05-01T08:00:00Z'))
  assert.equal(auth.expiryMs('2024-05-01T08:00:00.123456+00:00'), Date.parse('2024-05-01T08:00:00.123Z'))
  assert.equal(auth.expiryMs(1714550400), 1714550400000)
  assert.equal(auth.expiryMs(1714550400000), 1714550400000)
  assert.equal(auth.expiryMs(undefined), null)
  assert.equal(auth.expiryMs('soon'), null)
})

test('HTTP 500 arrives in wx.request success and still becomes an ApiError', async () => {
  const { service, fake, api, http } = setup()
  service.inject('GET /api/orders', { status: 500, body: { code: 'INTERNAL', message: 'Database down', request_id: 'req-42' } })
  await assert.rejects(api.request({ path: '/api/orders' }), (err) => {
    assert.ok(err instanceof http.ApiError)
    assert.equal(err.status, 500)
    assert.equal(err.code, 'INTERNAL')
    assert.equal(err.message, 'Database down')
    assert.equal(err.requestId, 'req-42')
    assert.equal(err.network, false)
    return true
  })
  // the platform reported the 500 through `success`: only statusCode tells
  const last = fake.callsTo('request').at(-1)
  assert.equal(last.outcome, 'success')
  assert.equal(last.result.statusCode, 500)
})

test('an error body that is not {code, message} maps to HTTP_<status> with a generic message', async () => {
  const { service, api } = setup()
  service.inject('GET /api/orders', { status: 502, body: '<html>Bad gateway</html>', header: { 'X-Request-ID': 'edge-1' } })
  await assert.rejects(api.request({ path: '/api/orders' }), (err) => {
    assert.equal(err.code, 'HTTP_502')
    assert.equal(err.status, 502)
    assert.match(err.message, /unreachable|try again/)
    assert.equal(err.requestId, 'edge-1')
    return true
  })
})

test('a 4xx with the service error body keeps its code and message', async () => {
  const { api } = setup()
  await assert.rejects(api.request({ path: '/api/orders/999' }), (err) => {
    assert.equal(err.status, 404)
    assert.equal(err.code, 'ORDER_NOT_FOUND')
    assert.equal(err.message, 'Order not found')
    assert.ok(err.requestId)
    return true
  })
})

test('a transport failure becomes a network ApiError with the platform errMsg', async () => {
  const { service, api } = setup()
  await api.request({ path: '/api/products' }) // logged in
  service.inject('GET /api/orders', { network: true, errMsg: 'request:fail timeout' })
  await assert.rejects(api.request({ path: '/api/orders' }), (err) => {
    assert.equal(err.network, true)
    assert.equal(err.status, 0)
    assert.equal(err.code, 'NETWORK_ERROR')
    assert.equal(err.errMsg, 'request:fail timeout')
    assert.match(err.message, /timed out/)
    return true
  })
})

test('401: logs in again once and retries once with the new token', async () => {
  const { service, fake, api } = setup()
  await api.request({ path: '/api/orders' })
  service.revokeAllTokens()
  const data = await api.request({ path: '/api/orders', query: { limit: 5 } })
  assert.deepEqual(data.items, [])
  assert.equal(fake.callsTo('login').length, 2)
  const lists = service.requestsTo('GET', '/api/orders')
  assert.equal(lists.length, 3, 'first ok, then 401, then the retry')
  assert.equal(bearer(lists[1]), 'Bearer tok-1-code-1')
  assert.equal(bearer(lists[2]), 'Bearer tok-2-code-2')
  assert.deepEqual(lists[2].query, { limit: '5' })
})

test('a second 401 is thrown: no endless re-login loop', async () => {
  const { service, fake, api } = setup()
  const always401 = { status: 401, body: { code: 'UNAUTHORIZED', message: 'Token revoked', request_id: 'r' } }
  service.inject('GET /api/orders', always401)
  service.inject('GET /api/orders', always401)
  service.inject('GET /api/orders', always401)
  await assert.rejects(api.request({ path: '/api/orders' }), (err) => err.status === 401 && err.code === 'UNAUTHORIZED')
  assert.equal(fake.callsTo('login').length, 2, 'the first login plus exactly one re-login')
  assert.equal(service.requestsTo('GET', '/api/orders').length, 2, 'the request plus exactly one retry')
})

test('concurrent 401s share one re-login', async () => {
  const { service, fake, api } = setup()
  await api.request({ path: '/api/products' })
  service.revokeAllTokens()
  await Promise.all([
    api.request({ path: '/api/orders' }),
    api.request({ path: '/api/orders' }),
    api.request({ path: '/api/orders' }),
  ])
  assert.equal(fake.callsTo('login').length, 2)
})

test('the retry after a 401 repeats the same method, body and headers', async () => {
  const { service, api } = setup()
  await api.request({ path: '/api/products' })
  service.revokeAllTokens()
  await api.request({
    method: 'POST',
    path: '/api/orders',
    data: { items: [{ product_id: 'p-coffee', quantity: 2 }] },
    header: { 'Idempotency-Key': 'key-1' },
  })
  const posts = service.requestsTo('POST', '/api/orders')
  assert.equal(posts.length, 2)
  assert.deepEqual(posts[0].data, posts[1].data)
  assert.equal(posts[0].header['Idempotency-Key'], 'key-1')
  assert.equal(posts[1].header['Idempotency-Key'], 'key-1')
  assert.equal(service.orders.size, 1)
})

test('wx.login failing is reported and no login request is sent', async () => {
  const { service, api } = setup({ wx: { loginFail: 'login:fail network error' } })
  await assert.rejects(api.request({ path: '/api/orders' }), (err) => {
    assert.equal(err.code, 'WX_LOGIN_FAILED')
    assert.equal(err.errMsg, 'login:fail network error')
    return true
  })
  assert.equal(service.requests.length, 0)
})

test('a failed login is not cached: the next call logs in again', async () => {
  const { service, fake, api } = setup()
  service.inject('POST /api/login', { status: 503, body: { code: 'UPSTREAM', message: 'code2session failed', request_id: 'x' } })
  await assert.rejects(api.request({ path: '/api/orders' }), (err) => err.status === 503)
  await api.request({ path: '/api/orders' })
  assert.equal(fake.callsTo('login').length, 2)
})

test('query values are URL-encoded and empty ones dropped', () => {
  const { http } = setup()
  assert.equal(http.buildUrl('/api/orders', { limit: 10, cursor: 'a b&c', x: null, y: undefined, z: '' }),
    'https://api.example.com/api/orders?limit=10&cursor=a%20b%26c')
})
