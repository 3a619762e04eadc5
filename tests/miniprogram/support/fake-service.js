'use strict'
// An in-memory stand-in for the mppay service's Mini Program API (issue 4), just faithful
// enough for the client's unit and render tests:
//
//   POST /api/login {code} -> {token, expires_at}
//   GET  /api/products -> [{id, name, description, price_fen}]
//   POST /api/orders (Bearer, Idempotency-Key) {items:[{product_id, quantity}]} -> 201 order
//   POST /api/orders/{id}/pay -> {order_id, params:{timeStamp, nonceStr, package, signType, paySign}}
//   GET  /api/orders/{id}[?refresh=true]
//   GET  /api/orders?limit=&cursor= -> {items, next_cursor}
//   POST /api/orders/{id}/cancel -> order
//   errors: HTTP status + {code, message, request_id}
//
// Knobs: `inject(match, fault)` queues a one-shot fault for the next matching request:
//   {network: true}        no HTTP answer; the server never saw the request
//   {loseResponse: true}   the server handled the request, then the answer was lost
//   {status, body}         answer with this status / body instead
// `requests` logs every request that reached the server (method, path, query, header, data).

const { TransportError } = require('./fake-wx')

const DEFAULT_PRODUCTS = [
  { id: 'p-coffee', name: 'Coffee', description: 'A cup of drip coffee', price_fen: 1990 },
  { id: 'p-cookie', name: 'Cookie', description: 'Oat and raisin', price_fen: 1 },
  { id: 'p-free', name: 'Sample', description: 'Free sample', price_fen: 0 },
]

function error(statusCode, code, message) {
  return { statusCode, data: { code, message, request_id: `req-${Math.random().toString(16).slice(2, 10)}` } }
}

function createFakeService(options = {}) {
  const products = options.products || DEFAULT_PRODUCTS
  const tokens = new Map() // token -> openid
  const orders = new Map() // id -> order (with .openid)
  const idempotency = new Map() // openid + key -> {body, orderId}
  const faults = []
  const requests = []
  let seq = 0
  let clock = Date.parse('2024-05-01T08:00:00Z')

  const service = {
    products,
    orders,
    requests,
    tokens,
    logins: 0,
    /** Called on GET ?refresh=true for a PENDING order (e.g. to turn it PAID on the 3rd query). */
    onRefresh: null,
    /** Overrides the amount the server computes (to prove the client shows the server's). */
    priceOverride: null,
    /** Overrides the pay params (e.g. to send malformed ones). */
    payParams: null,

    inject(match, fault) {
      faults.push({ match, fault })
    },
    revokeAllTokens() {
      tokens.clear()
    },
    setStatus(orderId, status, extra = {}) {
      const order = orders.get(String(orderId))
      Object.assign(order, { status }, extra)
      if (status === 'PAID' && !order.paid_at) {
        order.paid_at = new Date(clock).toISOString()
        order.transaction_id = `4200000${order.id.padStart(6, '0')}`
      }
    },
    requestsTo(method, pathPrefix) {
      return requests.filter((r) => r.method === method && r.path.startsWith(pathPrefix))
    },
    /** Creates orders directly (for pagination tests). */
    seedOrders(token, count) {
      const openid = tokens.get(token)
      for (let i = 0; i < count; i++) createOrder(openid, [{ product_id: 'p-coffee', quantity: 1 }])
    },

    async handle(req) {
      const route = `${req.method} ${req.path}`
      const i = faults.findIndex((f) => (typeof f.match === 'function' ? f.match(req) : route.startsWith(f.match)))
      const fault = i >= 0 ? faults.splice(i, 1)[0].fault : null
      if (fault && fault.network) throw new TransportError(fault.errMsg || 'request:fail timeout')
      requests.push(req)
      if (fault && fault.status) return { statusCode: fault.status, data: fault.body, header: fault.header }
      const res = route_(req)
      if (fault && fault.loseResponse) throw new TransportError('request:fail timeout')
      return res
    },
  }

  function publicOrder(order) {
    const { openid, ...rest } = order
    return JSON.parse(JSON.stringify(rest))
  }

  function createOrder(openid, items) {
    seq++
    clock += 1000
    const lines = items.map((item) => {
      const product = products.find((p) => p.id === item.product_id)
      return {
        product_id: product.id,
        name: product.name,
        quantity: item.quantity,
        unit_price_fen: product.price_fen,
        line_total_fen: product.price_fen * item.quantity,
      }
    })
    const total = lines.reduce((sum, line) => sum + line.line_total_fen, 0)
    const order = {
      id: String(seq),
      out_trade_no: `MP2024050100${String(seq).padStart(4, '0')}`,
      status: 'PENDING',
      amount_total_fen: service.priceOverride != null ? service.priceOverride : total,
      currency: 'CNY',
      items: lines,
      created_at: new Date(clock).toISOString(),
      paid_at: null,
      transaction_id: null,
      refunded_fen: 0,
      expires_at: new Date(clock + 30 * 60 * 1000).toISOString(),
      openid,
    }
    orders.set(order.id, order)
    return order
  }

  function authed(req) {
    const header = Object.keys(req.header).find((k) => k.toLowerCase() === 'authorization')
    const value = header ? req.header[header] : ''
    const m = /^Bearer (.+)$/.exec(value)
    return m && tokens.has(m[1]) ? tokens.get(m[1]) : null
  }

  function ownOrder(openid, id) {
    const order = orders.get(id)
    return order && order.openid === openid ? order : null
  }

  function route_(req) {
    const { method, path, query } = req
    if (method === 'POST' && path === '/api/login') {
      if (!req.data || typeof req.data.code !== 'string') return error(400, 'INVALID_REQUEST', 'code is required')
      service.logins++
      const token = `tok-${service.logins}-${req.data.code}`
      tokens.set(token, `openid-${options.sameUser === false ? service.logins : 'alice'}`)
      return { statusCode: 200, data: { token, expires_at: new Date(Date.now() + 2 * 3600 * 1000).toISOString() } }
    }
    if (method === 'GET' && path === '/api/products') {
      return { statusCode: 200, data: products }
    }
    const openid = authed(req)
    if (!openid) return error(401, 'UNAUTHORIZED', 'Missing or invalid token')

    if (method === 'POST' && path === '/api/orders') {
      const items = req.data && req.data.items
      if (!Array.isArray(items) || items.length === 0) return error(422, 'INVALID_REQUEST', 'items is required')
      for (const item of items) {
        if (!products.some((p) => p.id === item.product_id)) return error(422, 'UNKNOWN_PRODUCT', 'Unknown product')
        if (!Number.isInteger(item.quantity) || item.quantity < 1) return error(422, 'INVALID_QUANTITY', 'Bad quantity')
      }
      const keyHeader = Object.keys(req.header).find((k) => k.toLowerCase() === 'idempotency-key')
      const key = keyHeader ? req.header[keyHeader] : null
      const body = JSON.stringify(req.data)
      if (key) {
        const seen = idempotency.get(`${openid}:${key}`)
        if (seen && seen.body !== body) return error(409, 'IDEMPOTENCY_KEY_REUSED', 'Idempotency-Key reused with a different body')
        if (seen) return { statusCode: 201, data: publicOrder(orders.get(seen.orderId)) }
      }
      const order = createOrder(openid, items)
      if (key) idempotency.set(`${openid}:${key}`, { body, orderId: order.id })
      return { statusCode: 201, data: publicOrder(order) }
    }

    if (method === 'GET' && path === '/api/orders') {
      const limit = Math.min(Number(query.limit) || 20, 100)
      const mine = [...orders.values()].filter((o) => o.openid === openid).sort((a, b) => Number(b.id) - Number(a.id))
      const start = query.cursor ? mine.findIndex((o) => o.id === query.cursor) : 0
      if (start < 0) return error(400, 'INVALID_CURSOR', 'Unknown cursor')
      const page = mine.slice(start, start + limit)
      const next = mine[start + limit]
      return { statusCode: 200, data: { items: page.map(publicOrder), next_cursor: next ? next.id : null } }
    }

    let m = /^\/api\/orders\/([^/]+)$/.exec(path)
    if (m && method === 'GET') {
      const order = ownOrder(openid, decodeURIComponent(m[1]))
      if (!order) return error(404, 'ORDER_NOT_FOUND', 'Order not found')
      if (query.refresh === 'true' && order.status === 'PENDING' && service.onRefresh) service.onRefresh(order)
      return { statusCode: 200, data: publicOrder(order) }
    }

    m = /^\/api\/orders\/([^/]+)\/pay$/.exec(path)
    if (m && method === 'POST') {
      const order = ownOrder(openid, decodeURIComponent(m[1]))
      if (!order) return error(404, 'ORDER_NOT_FOUND', 'Order not found')
      if (order.status !== 'PENDING') return error(409, 'ORDER_NOT_PAYABLE', `Order is ${order.status}`)
      const params = service.payParams || {
        timeStamp: '1714550400',
        nonceStr: `n0nce${order.id}Xy7`,
        package: `prepay_id=wx01080000${order.id.padStart(8, '0')}`,
        signType: 'RSA',
        paySign: 'bG9uZy1iYXNlNjQtc2lnbmF0dXJl+/AAAA==',
      }
      return { statusCode: 200, data: { order_id: order.id, params } }
    }

    m = /^\/api\/orders\/([^/]+)\/cancel$/.exec(path)
    if (m && method === 'POST') {
      const order = ownOrder(openid, decodeURIComponent(m[1]))
      if (!order) return error(404, 'ORDER_NOT_FOUND', 'Order not found')
      if (order.status !== 'PENDING') return error(409, 'ORDER_NOT_CANCELLABLE', `Order is ${order.status}`)
      order.status = 'CLOSED'
      return { statusCode: 200, data: publicOrder(order) }
    }

    return error(404, 'NOT_FOUND', `No route ${method} ${path}`)
  }

  return service
}

module.exports = { createFakeService, DEFAULT_PRODUCTS }
