// Orders on the service. Every amount and status shown comes from these responses.
//
//   POST /api/orders                 {"items":[{"product_id","quantity"}]} (+ Idempotency-Key) -> 201 order
//   POST /api/orders/{id}/pay        -> {"order_id","params":{timeStamp,nonceStr,package,signType,paySign}}
//   GET  /api/orders/{id}[?refresh=true]
//   GET  /api/orders?limit=&cursor=  -> {"items":[order...],"next_cursor": string|null}
//   POST /api/orders/{id}/cancel     -> the order

const api = require('../utils/request')
const format = require('../utils/format')
const shipping = require('./shipping')

const PAY_PARAM_KEYS = ['timeStamp', 'nonceStr', 'package', 'signType', 'paySign']

/**
 * @typedef {{product_id: string | number, quantity: number}} OrderItemInput
 * @typedef {{id: string, outTradeNo: string, status: string, statusText: string,
 *   amountFen: number, amountText: string, refundedText: string, createdText: string,
 *   paidText: string, transactionId: string,
 *   items: {key: string, name: string, quantity: number, amountText: string}[],
 *   canCancel: boolean, canPay: boolean, isFinal: boolean,
 *   shipping: import('./shipping').ShippingView | null}} OrderView
 */

/** @param {string | number} id */
function orderPath(id) {
  return '/api/orders/' + encodeURIComponent(String(id))
}

/**
 * @param {any} data
 * @param {string} what
 */
function requireOrder(data, what) {
  if (!data || typeof data !== 'object' || data.id === undefined || typeof data.status !== 'string') {
    throw new api.ApiError({ status: 200, code: 'BAD_RESPONSE', message: 'The server sent an unexpected ' + what, data: data })
  }
  return data
}

/**
 * @param {OrderItemInput[]} items
 * @param {string} idempotencyKey the same key for every retry of one checkout attempt
 * @returns {Promise<any>} the order JSON as the service sent it
 */
async function createOrder(items, idempotencyKey) {
  const body = {
    items: items.map(function (item) { return { product_id: item.product_id, quantity: item.quantity } })
  }
  const data = await api.request({
    method: 'POST',
    path: '/api/orders',
    data: body,
    header: { 'Idempotency-Key': idempotencyKey }
  })
  return requireOrder(data, 'order')
}

/**
 * The signed parameters for wx.requestPayment, exactly as the service sent them.
 * Nothing is converted or re-signed; parameters that are not all strings are refused rather
 * than "fixed" (research P12).
 * @param {string | number} orderId
 * @returns {Promise<{timeStamp: string, nonceStr: string, package: string, signType: 'MD5' | 'HMAC-SHA256' | 'RSA', paySign: string}>}
 */
async function getPayParams(orderId) {
  const data = await api.request({ method: 'POST', path: orderPath(orderId) + '/pay' })
  const params = data && data.params
  const complete = !!params && typeof params === 'object' && PAY_PARAM_KEYS.every(function (key) {
    return typeof params[key] === 'string' && params[key] !== ''
  })
  if (!complete) {
    throw new api.ApiError({ status: 200, code: 'BAD_PAY_PARAMS', message: 'The server sent incomplete payment parameters', data: data })
  }
  return params
}

/**
 * @param {string | number} orderId
 * @param {{refresh?: boolean}} [opts] refresh: ask the service to query WeChat Pay first
 * @returns {Promise<any>}
 */
async function getOrder(orderId, opts) {
  const refresh = !!(opts && opts.refresh)
  const data = await api.request({
    method: 'GET',
    path: orderPath(orderId),
    query: refresh ? { refresh: 'true' } : undefined
  })
  return requireOrder(data, 'order')
}

/**
 * The caller's own orders, newest first.
 * @param {{limit?: number, cursor?: string | null}} [opts]
 * @returns {Promise<{items: any[], nextCursor: string | null}>}
 */
async function listOrders(opts) {
  const data = await api.request({
    method: 'GET',
    path: '/api/orders',
    query: { limit: opts && opts.limit, cursor: opts && opts.cursor }
  })
  // A plain array (an unpaginated service) is accepted as a single page.
  if (Array.isArray(data)) return { items: data, nextCursor: null }
  if (!data || !Array.isArray(data.items)) {
    throw new api.ApiError({ status: 200, code: 'BAD_RESPONSE', message: 'The server sent an unexpected order list', data: data })
  }
  const next = data.next_cursor
  return { items: data.items, nextCursor: typeof next === 'string' && next ? next : null }
}

/**
 * @param {string | number} orderId
 * @returns {Promise<any>} the order after the cancel
 */
async function cancelOrder(orderId) {
  const data = await api.request({ method: 'POST', path: orderPath(orderId) + '/cancel' })
  if (data && typeof data === 'object' && typeof data.status === 'string') return data
  // The service acknowledged without the order body: read the order's real state.
  return getOrder(orderId)
}

/**
 * Everything a page shows about an order, derived from the server's JSON only.
 * @param {any} order
 * @returns {OrderView}
 */
function toOrderView(order) {
  const items = Array.isArray(order.items) ? order.items : []
  const final = order.status !== 'PENDING'
  return {
    id: String(order.id),
    outTradeNo: String(order.out_trade_no || ''),
    status: order.status,
    statusText: format.statusText(order.status),
    amountFen: order.amount_total_fen,
    amountText: format.priceOrEmpty(order.amount_total_fen),
    refundedText: order.refunded_fen ? format.priceOrEmpty(order.refunded_fen) : '',
    createdText: format.formatTime(order.created_at),
    paidText: format.formatTime(order.paid_at),
    transactionId: String(order.transaction_id || ''),
    items: items.map(function (/** @type {any} */ item, /** @type {number} */ index) {
      return {
        key: String(index),
        name: String(item.name || item.product_id || ''),
        quantity: item.quantity,
        amountText: format.priceOrEmpty(item.line_total_fen)
      }
    }),
    canCancel: order.status === 'PENDING',
    canPay: order.status === 'PENDING',
    isFinal: final,
    shipping: shipping.toShippingView(order.shipping)
  }
}

module.exports = {
  createOrder: createOrder,
  getPayParams: getPayParams,
  getOrder: getOrder,
  listOrders: listOrders,
  cancelOrder: cancelOrder,
  toOrderView: toOrderView,
  PAY_PARAM_KEYS: PAY_PARAM_KEYS
}
